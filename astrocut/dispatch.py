"""Finding the plugin for an input and calling the hooks: shared by every public function."""

import os
import shutil
import tempfile
import warnings

from .errors import InvalidInputError
from .plugins import get_plugin_manager
from .remote import is_url, local_path


def hook():
    return get_plugin_manager().hook


def check_input_file(path, parameter="input file"):
    """Return ``path`` as a string if it is an existing regular file, else raise."""
    from .output import check_path_text

    path = check_path_text(path, parameter)
    if not os.path.exists(path):
        raise InvalidInputError(f"{parameter} {path!r} does not exist")
    if not os.path.isfile(path):
        raise InvalidInputError(f"{parameter} {path!r} is not a file")
    return path


def check_input(path, parameter="input file"):
    """Like :func:`check_input_file`, but a URL (``https://``, ``s3://`` ...) is passed on
    unchecked: opening it (astrocut.remote) says whether it exists."""
    if isinstance(path, str) and is_url(path) and local_path(path) is None:
        return path
    return check_input_file(local_path(path) if isinstance(path, str) else path, parameter)


def _astropy_warning():
    from astropy.utils.exceptions import AstropyWarning

    return AstropyWarning


def identify(path):
    """Ask the plugins what ``path`` is; return its kind or ``None``."""
    if is_url(path) and local_path(path) is None:
        from . import remote

        # Asked once per process per file version: the headers are all a plugin looks at.
        reader = remote.open_ranged(path)
        return remote.memo(reader, "identify", lambda: _identify(path, reader))
    return _identify(path)


def _identify(path, reader=None):
    from astropy.io import fits

    hdulist = None
    with warnings.catch_warnings():
        # A damaged file makes astropy warn here; the plugin that owns it raises a clear error.
        warnings.simplefilter("ignore")
        try:
            if reader is None:
                hdulist = fits.open(path, memmap=True, lazy_load_hdus=True)
            else:
                from .remote import RangedFile

                hdulist = fits.open(RangedFile(reader), memmap=False, lazy_load_hdus=True)
        except Exception:  # not FITS (or unreadable as FITS): non-FITS plugins may still know it
            hdulist = None
    manager = get_plugin_manager()
    try:
        manager.isolated_failures()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=_astropy_warning())
            kind = manager.hook.astrocut_identify(path=path, hdulist=hdulist)
        failures = manager.isolated_failures()
        if kind is None and failures:
            # Each plugin was asked; none claimed the file and one tripped over it.
            raise InvalidInputError(f"{path!r} could not be read: {failures[0].error} "
                                    f"(plugin {failures[0].name!r})")
        return kind
    except InvalidInputError:
        raise
    except Exception as exc:
        # A plugin tripping over a damaged file is a problem with the file, not a crash.
        raise InvalidInputError(f"{path!r} could not be read: {type(exc).__name__}: {exc}") from None
    finally:
        if hdulist is not None:
            hdulist.close()


def identify_required(path, what):
    """Like :func:`identify` but raise a clear error when no plugin recognises the file."""
    kind = identify(path)
    if kind is None:
        raise InvalidInputError(f"{path!r} is not {what} that any installed plugin recognises; "
                                f"{installed_plugins_hint()}")
    return kind


def installed_plugins_hint():
    """Which plugins are installed, which are blocked or broken, and how to add one."""
    manager = get_plugin_manager()
    names = [name for name, plugin in manager.list_name_plugin() if plugin is not None]
    text = f"installed plugins: {', '.join(names) or 'none'}"
    blocked = [name for name, plugin in manager.list_name_plugin() if plugin is None]
    if blocked:
        text += f"; blocked by ASTROCUT_DISABLE_PLUGINS: {', '.join(blocked)}"
    broken = [error.name for error in getattr(manager, "load_errors", ())]
    if broken:
        text += f"; failed to load: {', '.join(broken)} (see 'astrocut plugins')"
    return (text + ". Install the plugin for this file's mission (a package with an "
            "'astrocut.plugins' entry point, see docs/plugins.md)")


def file_list_argument(file_list, parameter="file_list", entry=None, allow_urls=False):
    """``file_list`` (one path or a list of them) as a list of checked path strings.

    Each entry must be an existing file (named ``entry`` in errors, by default
    "<parameter> entry"); with ``allow_urls``, URLs are passed on unchecked for astropy.
    """
    if isinstance(file_list, (str, os.PathLike)):
        file_list = [file_list]
    try:
        files = [os.fspath(f) for f in file_list]
    except TypeError:
        raise InvalidInputError(f"{parameter} must be a file path or a list of them") from None
    if not files:
        raise InvalidInputError(f"{parameter} is empty: give at least one file")
    entry = entry or f"{parameter} entry"
    return [check_input(f, entry) if allow_urls else check_input_file(f, entry) for f in files]


def check_max_memory(max_memory):
    try:
        value = float(max_memory)
    except (TypeError, ValueError):
        raise InvalidInputError(f"max_memory must be a number of GB, not {max_memory!r}") from None
    if not (value > 0 and value != float("inf")):
        raise InvalidInputError(f"max_memory must be a positive, finite number of GB, got "
                                f"{max_memory}")
    if value > MAX_MEMORY_GB:
        # Band sizes are computed from it in bytes; 1e300 GB overflows them.
        raise InvalidInputError(f"max_memory {max_memory} GB is more than any machine has: "
                                f"give at most {MAX_MEMORY_GB:.0e} GB")
    return value


#: A petabyte: more memory than any machine this runs on.
MAX_MEMORY_GB = 1e6


def write_cutouts(cutouts, format, path, options=None):
    """Write ``cutouts`` with the registered writer of ``format``; return the path written."""
    from .writer_registry import write

    return write(get_plugin_manager(), list(cutouts), format, path, options)


def read_into_memory(cutouts, format, options=None):
    """Write ``cutouts`` through the writer hooks to a scratch file and return an in-memory HDUList.

    Going through the writer keeps one serialisation path, so an in-memory result is exactly
    what the file on disk would hold.
    """
    from astropy.io import fits

    scratch = tempfile.mkdtemp(prefix="astrocut-")
    try:
        path = write_cutouts(cutouts, format, os.path.join(scratch, "in-memory-cutout"), options)
        with fits.open(path, memmap=False) as hdulist:
            return fits.HDUList([hdu.copy() for hdu in hdulist])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
