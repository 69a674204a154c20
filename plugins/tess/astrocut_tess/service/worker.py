"""What runs in the cutting processes: cut one stamp from one cube, return the TPF bytes.

The TPF is made exactly as ``CutoutFactory.cube_cut`` makes it (the same open, cut, WCS fit
and writer hooks); it is written into this process's scratch directory, read back and
removed, so the bytes are what the library would have left on disk. Each process keeps its
cubes open between requests: opening reads a cube's headers and time table, which is most of
the work for a small stamp.
"""

import atexit
import os
import shutil
import signal
import tempfile
from collections import OrderedDict

_OPEN_CUBES = OrderedDict()  # path -> (identity, handle, stamp shapes cut from it)
_MAX_OPEN = 64
# A handle keeps per-stamp-shape parts of its TPFs (rows of n_frames x shape); a server sees
# any shape, so a handle is reopened after this many distinct ones to keep memory bounded.
_MAX_SHAPES = 32
_SCRATCH = None


def initialize(scratch_root):
    """Pool initializer: a private scratch directory, removed when the process exits."""
    global _SCRATCH
    # A signal to the whole process group (Ctrl-C, a container stop) must not kill a cut
    # half-way: the server finishes in-flight requests, then shuts this pool down itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _SCRATCH = tempfile.mkdtemp(prefix="worker-", dir=scratch_root)
    atexit.register(_close_all)
    # The plugin manager and the modules a cut uses load here, not in a first request
    # (seconds on a busy machine: astropy's coordinates and WCS, the TESS reader and writer).
    import astropy.coordinates  # noqa: F401
    import astropy.wcs  # noqa: F401

    import astrocut.cubes  # noqa: F401
    from astrocut.dispatch import hook

    from .. import cutout, tpf  # noqa: F401

    hook()


def warm(seconds):
    """Keep this process busy a moment, so that warming N processes starts all N."""
    import time

    time.sleep(seconds)
    return os.getpid()


def _close_all():
    while _OPEN_CUBES:
        _, (_, cube, _) = _OPEN_CUBES.popitem()
        cube.close()
    if _SCRATCH:
        shutil.rmtree(_SCRATCH, ignore_errors=True)


def _identity(path):
    # A cube replaced on the shared store (new inode or mtime) must be opened again.
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


def _cube(path):
    from astrocut.cubes import open_cube

    identity = _identity(path)
    cached = _OPEN_CUBES.get(path)
    if cached is not None and cached[0] == identity:
        _OPEN_CUBES.move_to_end(path)
        return cached[1]
    if cached is not None:
        _forget(path)
    cube = open_cube(path)
    _OPEN_CUBES[path] = (identity, cube, set())
    while len(_OPEN_CUBES) > _MAX_OPEN:
        _forget(next(iter(_OPEN_CUBES)))
    return cube


def _forget(path):
    _, cube, _ = _OPEN_CUBES.pop(path)
    cube.close()


def _note_shape(path, shape):
    shapes = _OPEN_CUBES[path][2]
    shapes.add(shape)
    if len(shapes) > _MAX_SHAPES:
        _forget(path)


def cut_tpf(path, ra, dec, cutout_size):
    """TPF bytes of the stamp around (ra, dec) from the cube at ``path``, and its shape."""
    from astropy.coordinates import SkyCoord

    from astrocut.cubes import cut_from_cube
    from astrocut.dispatch import write_cutouts
    from astrocut.geometry import parse_cutout_size
    from astrocut.models import CubeCutRequest

    request = CubeCutRequest(center=SkyCoord(ra, dec, unit="deg"),
                             size=parse_cutout_size(cutout_size))
    cutout = cut_from_cube(_cube(path), request)
    scratch = tempfile.mkdtemp(dir=_SCRATCH or None)
    try:
        written = write_cutouts([cutout], "tpf", os.path.join(scratch, "cutout.fits"))
        with open(written, "rb") as handle:
            data = handle.read()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    _note_shape(path, tuple(cutout.shape))
    return data, tuple(cutout.shape)


def cut_path_file(paths, rows, cutout_size):
    """Bytes of ``cube_cut_path``'s file for the path ``rows`` of (JD TDB, ra, dec)."""
    from astropy.coordinates import SkyCoord
    from astropy.table import Table
    from astropy.time import Time

    from ..path_cut import cube_cut_path

    jd, ra, dec = (list(column) for column in zip(*rows))
    path = Table({"time": Time(jd, format="jd", scale="tdb"),
                  "position": SkyCoord(ra, dec, unit="deg")})
    scratch = tempfile.mkdtemp(dir=_SCRATCH or None)
    try:
        written = cube_cut_path(list(paths), path, cutout_size,
                                output_file=os.path.join(scratch, "path.fits"))
        with open(written, "rb") as handle:
            return (handle.read(),)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
