"""Writing results so that a crash never leaves a half-written file under the final name."""

import contextlib
import os
import tempfile

from .errors import OutputError


def prepare_directory(directory, parameter="output_path"):
    """Create ``directory`` if needed; raise :class:`OutputError` naming ``parameter`` if not usable."""
    directory = os.fspath(directory) or "."
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise OutputError(f"{parameter} {directory!r} is a file, not a directory")
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {parameter} {directory!r}: {exc.strerror}") from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise OutputError(f"{parameter} {directory!r} is not writable")
    return directory


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; rename it to ``path`` if the block succeeds.

    An existing file at ``path`` is replaced atomically (readers see the old file or the new
    one, never a mixture). On any error the temporary file is removed.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise OutputError(f"cannot write {path!r}: a directory has that name")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise OutputError(f"cannot write {path!r}: directory {directory!r} does not exist")
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.",
                                             suffix=".part", dir=directory)
    except OSError as exc:
        raise OutputError(f"cannot write {path!r}: {exc.strerror}") from None
    os.close(handle)
    try:
        yield temporary
        os.chmod(temporary, 0o666 & ~_UMASK)
        try:
            os.replace(temporary, path)
        except OSError as exc:
            raise OutputError(f"cannot write {path!r}: {exc.strerror}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _read_umask():
    # os.umask can only be read by setting it; do it once, before any worker threads exist.
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()
