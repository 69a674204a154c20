"""astrocut hook implementations for Roman ASDF images (level-2 detector images and
level-3 mosaics, each with a GWCS).

Only the magic bytes are read to recognise a file, so this module imports neither asdf nor
gwcs; a user without them gets one line naming the extra to install when a file is cut.
"""

from astrocut.hookspecs import hookimpl

from .reader import is_asdf

IMAGE = "roman.image"


@hookimpl
def astrocut_identify(path, hdulist):
    """An ASDF file (it starts with ``#ASDF``); FITS files are never ours."""
    if hdulist is None and is_asdf(path):
        return IMAGE
    return None


@hookimpl
def astrocut_cut_images(request):
    """Cut the stamp from ASDF inputs; ``None`` when the inputs are not ASDF."""
    from astrocut.errors import InvalidInputError

    kinds = [is_asdf(path) for path in request.files]
    if not any(kinds):
        return None
    if not all(kinds):
        others = [p for p, ok in zip(request.files, kinds) if not ok]
        raise InvalidInputError(f"input_files mixes ASDF and other files ({others[0]!r}): "
                                f"cut each kind in its own call")
    from .cutter import cut_asdf_images
    from .reader import require_asdf

    require_asdf()
    return cut_asdf_images(request)


@hookimpl
def astrocut_write(cutouts, format, path, options):
    """Write a GWCS cutout as ASDF (lite by default, ``options["lite"] = False`` for full)."""
    if format != "asdf":
        return None
    from .cutter import GwcsCutout

    if not cutouts or not all(isinstance(c, GwcsCutout) for c in cutouts):
        return None
    from .writer import write_asdf

    return write_asdf(cutouts, path, options)
