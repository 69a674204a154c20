"""Ranged reads of local files and of any fsspec URL (``http(s)://``, ``s3://``, ``gs://`` ...).

Every reader in astrocut opens its input with :func:`open_ranged` and reads only the byte
ranges it needs. A reader has ``size``, ``etag`` (``None`` for local files), ``identity``
(what the per-process cache is checked against), ``read_ranges([(offset, length), ...])``
returning one ``bytes`` per range, ``submit_ranges`` (the same, as a future, so requests can
stay in flight while the caller works) and ``close()``.

Remote reads need the optional extra ``astrocut[remote]`` (fsspec, aiohttp, s3fs). Options
that are not fsspec's (overall timeout, requests in flight, retries) and the ``fsspec_kwargs``
of a public call are set for a block of code with :func:`options`; public functions that
take ``fsspec_kwargs`` do this themselves, so hooks and plugins need no extra argument.
"""

import contextlib
import contextvars
import os
import re

import attrs

from astrocut.errors import AstrocutError

from . import cache
from .cache import memo
from .ranges import merge_ranges
from .rangedfile import RangedFile, remembered
from .readahead import ReadAhead

__all__ = ["open_ranged", "is_url", "options", "current_options", "RemoteOptions",
           "RemoteReadError", "RangedFile", "ReadAhead", "merge_ranges", "memo", "local_path",
           "remembered"]

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")


def _env_float(name, default):
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


@attrs.frozen
class RemoteOptions:
    """How remote reads behave; see :func:`options`."""

    fsspec_kwargs: dict = attrs.field(factory=dict, converter=lambda v: dict(v or {}))
    #: seconds one call (an open, one ``read_ranges``) may take, retries included
    timeout: float = attrs.field(factory=lambda: _env_float("ASTROCUT_REMOTE_TIMEOUT", 120.0))
    #: requests in flight at once, per open file
    max_in_flight: int = attrs.field(
        factory=lambda: int(_env_float("ASTROCUT_REMOTE_IN_FLIGHT", 32)))
    #: attempts after the first for a transient failure (5xx, 429, reset, short read)
    retries: int = attrs.field(factory=lambda: int(_env_float("ASTROCUT_REMOTE_RETRIES", 4)))
    #: remote files opened in this block, reused by later opens of the same URL in it (so
    #: one call asks for a file's size and ETag once); every :func:`options` block has its own
    opened: dict = attrs.field(factory=dict, eq=False, repr=False)


_CURRENT = contextvars.ContextVar("astrocut_remote_options", default=None)


def current_options():
    """The :class:`RemoteOptions` in force (defaults outside any :func:`options` block)."""
    return _CURRENT.get() or RemoteOptions()


@contextlib.contextmanager
def options(fsspec_kwargs=None, **settings):
    """Use ``fsspec_kwargs`` and ``settings`` (timeout, max_in_flight, retries) for every
    remote file opened inside the block; unset values keep the enclosing block's."""
    base = current_options()
    kwargs = base.fsspec_kwargs if fsspec_kwargs is None else fsspec_kwargs
    given = {k: v for k, v in settings.items() if v is not None}
    token = _CURRENT.set(attrs.evolve(base, fsspec_kwargs=kwargs, opened={}, **given))
    try:
        yield _CURRENT.get()
    finally:
        _CURRENT.reset(token)


def is_url(path):
    """True for ``scheme://...`` (``file://`` included), False for plain local paths."""
    return isinstance(path, str) and bool(_URL.match(path))


def local_path(path):
    """The local path of ``path`` (a plain path or a ``file://`` URL), or ``None``."""
    if isinstance(path, os.PathLike):
        return os.fspath(path)
    if not is_url(path):
        return path
    if path.lower().startswith("file://"):
        return path[len("file://"):]
    return None


class RemoteReadError(AstrocutError, OSError):
    """A remote file could not be read: retries used up, the overall timeout reached, or
    the file changed while being read."""


def open_ranged(path, fsspec_kwargs=None, *, timeout=None, max_in_flight=None, retries=None):
    """Open ``path`` (a local path or any fsspec URL) for ranged reads.

    Parameters
    ----------
    path : str or os.PathLike
        A local file, or a URL such as ``https://...``, ``s3://bucket/key``, ``gs://...``.
    fsspec_kwargs : dict, optional
        Options for the fsspec filesystem (``anon``, ``endpoint_url``, ``key``/``secret``,
        ``headers``, ``client_kwargs`` ...); by default those of the enclosing
        :func:`options` block.
    timeout, max_in_flight, retries
        Override :class:`RemoteOptions` for this file.

    Raises
    ------
    InvalidInputError
        The file does not exist or cannot be accessed (404, 403), or a URL is given and the
        ``remote`` extra is not installed.
    RemoteReadError
        The server kept failing, or did not answer within the timeout.
    """
    local = local_path(path)
    if local is not None:
        from .local import LocalReader

        return LocalReader(local)
    settings = current_options()
    if fsspec_kwargs is not None:
        settings = attrs.evolve(settings, fsspec_kwargs=fsspec_kwargs)
    given = dict(timeout=timeout, max_in_flight=max_in_flight, retries=retries)
    settings = attrs.evolve(settings, **{k: v for k, v in given.items() if v is not None})
    key = (str(path), repr(sorted(settings.fsspec_kwargs.items())), settings.timeout,
           settings.max_in_flight, settings.retries)
    reader = settings.opened.get(key)
    if reader is None:
        from .fsspec_reader import FsspecReader

        reader = settings.opened[key] = FsspecReader.open(str(path), settings)
    return reader
