"""The output formats plugins register (``astrocut_writers``), looked up by format name.

Formats are unique: when two plugins offer one format the core refuses to guess (the old
first-answer-wins dispatch let registration order decide silently).
"""

import os

import attrs

from .errors import InvalidInputError, PluginError
from .models import Writer


@attrs.frozen
class RegisteredWriter:
    """A writer and the plugin that registered it."""

    plugin: str
    writer: Writer


def collect_writers(manager):
    """``{format: RegisteredWriter}`` from every plugin; refuse a format offered twice."""
    found = {}
    caller = manager.hook.astrocut_writers
    for impl in caller.get_hookimpls():
        for writer in impl.function() or ():
            if not isinstance(writer, Writer):
                raise PluginError(f"plugin {impl.plugin_name!r} returned {writer!r} from "
                                  f"astrocut_writers: give astrocut.models.Writer objects")
            if writer.format in found:
                raise PluginError(f"output format {writer.format!r} is registered by two plugins, "
                                  f"{found[writer.format].plugin!r} and {impl.plugin_name!r}: "
                                  f"uninstall one or block it with ASTROCUT_DISABLE_PLUGINS")
            found[writer.format] = RegisteredWriter(impl.plugin_name, writer)
    return dict(sorted(found.items()))


def writers(manager):
    """The manager's writers, collected once."""
    cached = getattr(manager, "_astrocut_writers", None)
    if cached is None:
        cached = collect_writers(manager)
        manager._astrocut_writers = cached
    return cached


def _options(registered, options):
    writer = registered.writer
    options = dict(options or {})
    if writer.options is None:
        if options:
            raise InvalidInputError(f"output format {writer.format!r} takes no options, got "
                                    f"{', '.join(sorted(options))}")
        return None
    known = {field.name for field in attrs.fields(writer.options)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise InvalidInputError(f"output format {writer.format!r} has no option "
                                f"{', '.join(map(repr, unknown))} (options: "
                                f"{', '.join(sorted(known)) or 'none'})")
    return writer.options(**options)


def write(manager, cutouts, format, path, options=None):
    """Write ``cutouts`` with the writer registered for ``format``; return the path written."""
    registered = writers(manager).get(format)
    kind = type(cutouts[0]).__name__ if cutouts else "empty"
    if registered is None:
        raise PluginError(f"no installed plugin writes the output format {format!r} "
                          f"(formats: {', '.join(writers(manager)) or 'none'})")
    if not registered.writer.accepts(list(cutouts)):
        raise PluginError(f"output format {format!r} (plugin {registered.plugin!r}) does not "
                          f"write these {kind} cutouts")
    return registered.writer.write(list(cutouts), os.fspath(path),
                                   _options(registered, options))


def fits_extensions(manager, cutouts, hdulist):
    """The extension HDUs every plugin adds to a FITS file of ``cutouts`` (in hook order).

    Called by FITS writers (``astrocut_fits_extensions``) once ``hdulist`` holds the primary
    and the cutout HDUs; anything but an astropy extension HDU is refused, naming the plugin.
    """
    from astropy.io.fits.hdu.base import ExtensionHDU

    added = []
    caller = manager.hook.astrocut_fits_extensions
    for impl in reversed(caller.get_hookimpls()):
        hdus = impl.function(cutouts=list(cutouts), hdulist=hdulist)
        for hdu in hdus or ():
            if not isinstance(hdu, ExtensionHDU):
                raise PluginError(f"plugin {impl.plugin_name!r} returned {hdu!r} from "
                                  f"astrocut_fits_extensions: give astropy extension HDUs")
            added.append(hdu)
    return added
