"""astrocut hook implementations for TESS (registered as entry point ``tess``).

This module only recognises TESS files and routes each hook to the module that does the
work: ``cube`` (building and updating cubes), ``cutout`` (cutting stamps), ``tpf`` (writing
target pixel files) and ``commands`` (the ``simulate`` and ``demo`` subcommands). Heavy
modules are imported inside the hooks, so loading the plugin stays cheap.
"""

from astrocut.plugin_api import CubeCutout, CubeRequest, Writer, hookimpl

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


def _unnamed_tess_layout(hdulist):
    # Files that name no telescope (the 1.x test suite's FFIs and the cubes built from them)
    # are TESS's when their layout is: a data-less primary with CAMERA and CCD, then the
    # cube's 4-D image and table, or the FFI's image and its same-shaped uncertainty image.
    primary = hdulist[0].header
    if "TELESCOP" in primary or primary.get("NAXIS", 0) != 0:
        return False
    if "CAMERA" not in primary or "CCD" not in primary:
        return False
    if _image_naxis(hdulist, 1) == 4:
        return True
    shapes = []
    for index in (1, 2):
        if _image_naxis(hdulist, index) != 2:
            return False
        header = hdulist[index].header
        shapes.append((header.get("NAXIS1"), header.get("NAXIS2")))
    return shapes[0] == shapes[1]


def identify_tess(hdulist):
    """``"tess.ffi"``, ``"tess.cube"`` or ``None`` for an opened (lazy) HDU list."""
    if hdulist is None or not (_is_tess(hdulist[0].header) or _unnamed_tess_layout(hdulist)):
        return None
    naxis = _image_naxis(hdulist, 1)
    if naxis == 4 and hdulist[1].header.get("NAXIS1") == 2:
        return CUBE
    if naxis == 2:
        return FFI
    return None


@hookimpl
def astrocut_identify(path: str, hdulist) -> str | None:
    """Recognise SPOC calibrated FFIs and TESS cubes from their headers."""
    return identify_tess(hdulist)


@hookimpl
def astrocut_build_cube(request: CubeRequest) -> str | None:
    """Build a TESS cube (archive layout) from SPOC FFIs; ``mission_options``: ``sector``."""
    if request.kind != FFI:
        return None
    from .cube import build_cube

    return build_cube(request)


@hookimpl
def astrocut_update_cube(request: CubeRequest) -> str | None:
    """Append SPOC FFIs to a TESS cube."""
    if request.kind != FFI:
        return None
    from .cube import update_cube

    return update_cube(request)


@hookimpl
def astrocut_open_cube(path: str, kind: str):
    """Open a TESS cube once for any number of cutouts (the handle cuts, names, and says
    its cutouts are written as ``"tpf"``); ``mission_options``: ``product`` (FFI type)."""
    if kind != CUBE:
        return None
    from .cutout import TessCube

    return TessCube.open(path)


def _is_tess_cutout(cutouts) -> bool:
    return (len(cutouts) == 1 and isinstance(cutouts[0], CubeCutout)
            and cutouts[0].source_kind == CUBE)


def _write_tpf(cutouts, path, options):
    from .tpf import write_tpf

    return write_tpf(cutouts[0], path)


@hookimpl
def astrocut_writers() -> list[Writer]:
    """Target pixel files, from TESS cube cutouts."""
    return [Writer(format="tpf", accepts=_is_tess_cutout, write=_write_tpf,
                   description="TESS target pixel file (one TESS cube cutout)")]


@hookimpl
def astrocut_register_commands(subparsers) -> None:
    """Add ``astrocut simulate``, ``demo``, ``index`` and ``find``."""
    from . import collection_commands
    from .commands import register

    register(subparsers)
    collection_commands.register(subparsers)


@hookimpl
def astrocut_public_api():
    """The TESS names importable from ``astrocut`` (astrocut 1.x compatibility)."""
    from .legacy import TessCubeCutout
    from .public_names import public_names

    return {**public_names(), "TessCubeCutout": TessCubeCutout}
