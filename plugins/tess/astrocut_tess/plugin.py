"""astrocut hook implementations for TESS (registered as entry point ``tess``).

This module only recognises TESS files and routes each hook to the module that does the
work: ``cube`` (building and updating cubes), ``cutout`` (cutting stamps), ``tpf`` (writing
target pixel files) and ``commands`` (the ``simulate`` and ``demo`` subcommands). Heavy
modules are imported inside the hooks, so loading the plugin stays cheap.
"""

import sys

from astrocut.hookspecs import hookimpl

FFI = "tess.ffi"
CUBE = "tess.cube"


def _is_tess(header):
    return str(header.get("TELESCOP", "")).strip().upper() == "TESS"


def _image_naxis(hdulist, index):
    try:
        header = hdulist[index].header
    except (IndexError, KeyError):
        return None
    if header.get("XTENSION", "IMAGE" if index == 0 else None) != "IMAGE":
        return None
    return header.get("NAXIS")


def identify_tess(hdulist):
    """``"tess.ffi"``, ``"tess.cube"`` or ``None`` for an opened (lazy) HDU list."""
    if hdulist is None or not _is_tess(hdulist[0].header):
        return None
    naxis = _image_naxis(hdulist, 1)
    if naxis == 4 and hdulist[1].header.get("NAXIS1") == 2:
        return CUBE
    if naxis == 2:
        return FFI
    return None


@hookimpl
def astrocut_identify(path, hdulist):
    """Recognise SPOC calibrated FFIs and TESS cubes from their headers."""
    return identify_tess(hdulist)


@hookimpl
def astrocut_build_cube(request):
    """Build a TESS cube (archive layout) from SPOC FFIs."""
    if request.product != FFI:
        return None
    from .cube import build_cube

    return build_cube(request)


@hookimpl
def astrocut_update_cube(request):
    """Append SPOC FFIs to a TESS cube."""
    if request.product != FFI:
        return None
    from .cube import update_cube

    return update_cube(request)


@hookimpl
def astrocut_open_cube(path, product):
    """Open a TESS cube once for any number of cutouts."""
    if product != CUBE:
        return None
    from .cutout import TessCube

    return TessCube.open(path)


@hookimpl
def astrocut_cut_cube(cube, request):
    """Cut a stamp time series from an opened TESS cube."""
    # Only handles made by astrocut_open_cube are ours; if that never imported the cutout
    # module, this cube is another mission's, and importing it here would be wasted work.
    cutout_module = sys.modules.get(f"{__package__}.cutout")
    if cutout_module is None or not isinstance(cube, cutout_module.TessCube):
        return None
    return cube.cut(request)


@hookimpl
def astrocut_write(cutouts, format, path, options):
    """Write a TESS cutout as a target pixel file."""
    if format != "tpf" or not cutouts or cutouts[0].product != CUBE:
        return None
    from .tpf import write_tpf

    return write_tpf(cutouts[0], path)


@hookimpl
def astrocut_register_commands(subparsers):
    """Add ``astrocut simulate``, ``demo``, ``index`` and ``find``."""
    from . import collection_commands
    from .commands import register

    register(subparsers)
    collection_commands.register(subparsers)


@hookimpl
def astrocut_public_api():
    """The TESS names importable from ``astrocut`` (astrocut 1.x compatibility)."""
    from .public_names import public_names

    return public_names()
