"""Moving targets: one stamp per frame, centred on the target's pixel, from one or more cubes.

The path is an astropy Table with a :class:`~astropy.time.Time` column and a
:class:`~astropy.coordinates.SkyCoord` column (a JPL Horizons export or any ephemeris); it is
interpolated (linearly, on unit vectors) to each frame's spacecraft time, the mid-time minus
the frame's barycentric correction, since an ephemeris gives where the target is seen from
the spacecraft. Nothing is fetched online.

Each frame's stamp is placed with the same rounding as a fixed target's, on the target's
pixel at that frame (integer shifts, no resampling), and only that frame's bytes are read.
Frames of every cube are stacked in time in one file; each row names its cube (``CUBE``,
an index into the CUBES extension). A frame where the target is off the cube's image, or
outside the path's time span, keeps what the image holds (NaN off it) and is flagged in
QUALITY; where another cube holds the target at the same time, only that cube's row is kept.

Each frame's TIME and TIMECORR are corrected to the barycentre toward the target's position
at that frame (``time_correction="target"``, the default; :func:`astrocut_tess.barycentric.
apply_each`), as ``cube_cut`` does toward a fixed target; ``"ffi"`` keeps the FFI's values.
Frames outside the path's span keep the FFI's values (they are flagged OFF_PATH).
"""

import os

import numpy as np

from astrocut.errors import InvalidInputError, InvalidQueryError
from astrocut.geometry import parse_cutout_size, stamp_corner

#: QUALITY bits of this file (above SPOC's): the target is off this cube's image at this
#: frame; the frame lies outside the path's time span.
OFF_IMAGE = 1 << 24
OFF_PATH = 1 << 25
BTJD_ZERO = 2457000.0


def _path_columns(path):
    from astropy.coordinates import SkyCoord
    from astropy.table import Table
    from astropy.time import Time

    if isinstance(path, (str, os.PathLike)):
        try:
            path = Table.read(os.fspath(path), format="ascii.ecsv")
        except FileNotFoundError:
            raise InvalidInputError(f"path file {os.fspath(path)!r} does not exist") from None
        except Exception as exc:
            raise InvalidInputError(f"path file {os.fspath(path)!r} cannot be read as ECSV "
                                    f"({type(exc).__name__}: {exc})") from None
    if not isinstance(path, Table):
        raise InvalidInputError("path must be an astropy Table (or an .ecsv file) with a Time "
                                "column and a SkyCoord column")
    times = [c for c in path.itercols() if isinstance(c, Time)]
    positions = [c for c in path.itercols() if isinstance(c, SkyCoord)]
    if len(times) != 1 or len(positions) != 1:
        raise InvalidInputError(f"path needs exactly one Time and one SkyCoord column (found "
                                f"{len(times)} and {len(positions)}: {path.colnames})")
    if len(path) < 2:
        raise InvalidInputError("path needs at least two rows to interpolate")
    t = np.asarray(times[0].tdb.jd, dtype=float) - BTJD_ZERO
    order = np.argsort(t)
    icrs = positions[0].icrs
    vectors = icrs.cartesian.xyz.value.T / np.linalg.norm(icrs.cartesian.xyz.value.T, axis=1,
                                                          keepdims=True)
    return t[order], vectors[order]


def _interpolate(times, vectors, at):
    """ICRS (ra, dec) in degrees at BTJD ``at``; NaN outside the path's span."""
    # A frame at the path's last time must not fall out through rounding (Time's jd keeps
    # ~1e-10 d once 2457000 is taken off): the span is widened by 0.1 s.
    slack = 0.1 / 86400.0
    inside = (at >= times[0] - slack) & (at <= times[-1] + slack)
    xyz = np.stack([np.interp(at, times, vectors[:, k]) for k in range(3)], axis=-1)
    xyz /= np.linalg.norm(xyz, axis=-1, keepdims=True)
    ra = np.degrees(np.arctan2(xyz[..., 1], xyz[..., 0])) % 360.0
    dec = np.degrees(np.arcsin(np.clip(xyz[..., 2], -1, 1)))
    return np.where(inside, ra, np.nan), np.where(inside, dec, np.nan)


def _cut_one_cube(cube, times, vectors, nx, ny, index, time_correction="target"):
    from . import barycentric, science

    info = cube.info
    columns = info.columns
    mid = (columns["TSTART"] + columns["TSTOP"]) / 2.0
    spacecraft = mid - columns["BARYCORR"]
    ra, dec = _interpolate(times, vectors, spacecraft)
    corrected = barycentric.apply_each(science.cube_times(info, cube.wcs), ra, dec,
                                       time_correction)
    n = info.n_ffi
    rows, cols = info.image_shape
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    covered = np.isfinite(ra)
    if covered.any():
        px, py = cube.wcs.all_world2pix(ra[covered], dec[covered], 0, quiet=True)
        x[covered], y[covered] = px, py
    on = covered & (x >= -0.5) & (x < cols - 0.5) & (y >= -0.5) & (y < rows - 0.5)
    flux = np.full((n, ny, nx), np.nan, np.float32)
    error = np.full((n, ny, nx), np.nan, np.float32)
    corner = np.zeros((n, 2), np.int32)
    for frame in range(n):
        if not np.isfinite(x[frame]):
            continue
        x0, y0 = stamp_corner(x[frame], nx), stamp_corner(y[frame], ny)
        corner[frame] = (x0, y0)
        if x0 >= cols or y0 >= rows or x0 + nx <= 0 or y0 + ny <= 0:
            continue  # no pixel of the stamp on the image: nothing to read
        f, e, _ = cube.read_stamp((x0, y0), (ny, nx), (frame, frame + 1))
        flux[frame], error[frame] = f[0], e[0]
    quality = columns["DQUALITY"].astype(np.int32) | np.where(covered, 0, OFF_PATH) \
        | np.where(covered & ~on, OFF_IMAGE, 0)
    return {"TIME": corrected.time, "TIMECORR": corrected.timecorr.astype(np.float32),
            "CADENCENO": columns["CADENCENO"].astype(np.int32), "FLUX": flux,
            "FLUX_ERR": error, "QUALITY": quality.astype(np.int32),
            "FFI_FILE": columns["FFI_FILE"], "CUBE": np.full(n, index, np.int16),
            # astrocut 1.x's TGT_X/TGT_Y: the target's pixel within the stamp
            "TGT_X": x - corner[:, 0], "TGT_Y": y - corner[:, 1], "TGT_RA": ra, "TGT_DEC": dec,
            "CORNER_X": corner[:, 0], "CORNER_Y": corner[:, 1], "_on": on}, corrected


def _stack(parts):
    """Rows of every cube in time order; an off-image row is dropped where another cube
    holds the target at the same time."""
    merged = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    # One exposure seen by several cubes (cameras, CCDs) shares its spacecraft time, while
    # TIME differs by the cubes' barycentric corrections (and by float32 TIMECORR rounding):
    # rows within a second of spacecraft time are one cadence, ordered by cube.
    spacecraft = merged["TIME"] - merged["TIMECORR"].astype(np.float64)
    by_time = np.argsort(spacecraft, kind="stable")
    group = np.empty(len(spacecraft), np.int64)
    group[by_time] = np.cumsum(np.concatenate([[0], np.diff(spacecraft[by_time]) > 1 / 86400]))
    order = np.lexsort((merged["CUBE"], group))
    merged = {key: value[order] for key, value in merged.items()}
    group = group[order]
    keep = np.ones(len(order), bool)
    for value in np.unique(group):
        rows = np.flatnonzero(group == value)
        if merged["_on"][rows].any():
            keep[rows[~merged["_on"][rows]]] = False
    return {key: value[keep] for key, value in merged.items() if key != "_on"}


def cube_cut_path(cubes, path, cutout_size, output_file=None, memory_only=False,
                  fsspec_kwargs=None, time_correction="target"):
    """Cut a moving target's stamps from one or more cubes into one file.

    Parameters
    ----------
    cubes : str, list or CubeCollection
        A cube, a list of cubes (paths or URLs), a directory or an ``.ecsv`` index.
    path : `~astropy.table.Table` or str
        The ephemeris: a Time column and a SkyCoord column (or an ``.ecsv`` file of one).
    cutout_size : int or [nx, ny]
        Stamp size in pixels.
    output_file : str, optional
        Where to write (default ``path_<first cube>_<nx>x<ny>_astrocut.fits``).
    memory_only : bool
        Return the `~astropy.io.fits.HDUList` and write nothing.
    time_correction : {"target", "ffi"}
        ``"target"``: each frame's TIME and TIMECORR toward the target's position at that
        frame; ``"ffi"``: the FFI's values, as in ``cube_cut``.

    Returns
    -------
    str or HDUList
        HDU 1 ``PIXELS``: TIME, TIMECORR, CADENCENO, FLUX, FLUX_ERR, QUALITY, FFI_FILE,
        CUBE, TGT_X, TGT_Y (the target's 0-based pixel within the stamp, as in astrocut
        1.x), TGT_RA, TGT_DEC, CORNER_X, CORNER_Y (0-based image pixel of the stamp's
        first pixel: the target's image pixel is CORNER + TGT); HDU 2 ``CUBES``.
    """
    from astrocut import remote

    from .barycentric import check_mode
    from .collection import CubeCollection
    from .cutout import TessCube

    check_mode(time_correction)
    times, vectors = _path_columns(path)
    size = parse_cutout_size(cutout_size)
    sides = []
    for side in (size.nx, size.ny):
        if hasattr(side, "unit") and str(side.unit) not in ("pix", "pixel"):
            raise InvalidInputError("cutout_size: give the moving-target stamp in pixels")
        sides.append(max(1, int(round(float(getattr(side, "value", side))))))
    nx, ny = sides
    if isinstance(cubes, (str, os.PathLike)) and str(cubes).lower().endswith(".fits"):
        cubes = [os.fspath(cubes)]
    collection = CubeCollection.load(cubes, fsspec_kwargs=fsspec_kwargs)
    parts, used, corrections = [], [], []
    with remote.options(fsspec_kwargs):
        for entry in collection.entries:
            with TessCube.open(entry.path) as cube:
                part, corrected = _cut_one_cube(cube, times, vectors, nx, ny, len(used),
                                                time_correction)
            if not part["_on"].any():
                continue  # the path never crosses this cube's image
            parts.append(part)
            used.append(entry)
            corrections.append(corrected)
    if not parts:
        raise InvalidQueryError("the path does not cross the image of any of the "
                                f"{len(collection.entries)} cubes at their frames' times")
    hdulist = _hdulist(_stack(parts), used, nx, ny, corrections)
    if memory_only:
        return hdulist
    from astrocut.output import atomic_path

    if output_file is None:
        base = os.path.basename(used[0].path.split("?")[0].rstrip("/"))
        base = base[:-len("-cube.fits")] if base.endswith("-cube.fits") else base
        output_file = f"path_{base.removesuffix('.fits')}_{nx}x{ny}_astrocut.fits"
    output_file = os.fspath(output_file)
    with atomic_path(output_file) as temporary:
        hdulist.writeto(temporary, overwrite=True, checksum=True)
    return output_file


def _hdulist(rows, used, nx, ny, corrections=None):
    """The file; ``corrections`` (one :class:`~astrocut_tess.barycentric.TimeCorrection` per
    used cube, or None where TIME is the input's own) say what was done to the time."""
    from astropy.io import fits

    n = len(rows["TIME"])
    width = max(1, int(rows["FFI_FILE"].dtype.itemsize))
    columns = [
        fits.Column("TIME", "D", unit="BJD - 2457000, days", array=rows["TIME"]),
        fits.Column("TIMECORR", "E", unit="d", array=rows["TIMECORR"]),
        fits.Column("CADENCENO", "J", array=rows["CADENCENO"]),
        fits.Column("FLUX", f"{nx * ny}E", unit="e-/s", dim=f"({nx},{ny})",
                    array=rows["FLUX"]),
        fits.Column("FLUX_ERR", f"{nx * ny}E", unit="e-/s", dim=f"({nx},{ny})",
                    array=rows["FLUX_ERR"]),
        fits.Column("QUALITY", "J", array=rows["QUALITY"]),
        fits.Column("FFI_FILE", f"{width}A", array=rows["FFI_FILE"]),
        fits.Column("CUBE", "I", array=rows["CUBE"]),
        fits.Column("TGT_X", "D", unit="pixel", array=rows["TGT_X"]),
        fits.Column("TGT_Y", "D", unit="pixel", array=rows["TGT_Y"]),
        fits.Column("TGT_RA", "D", unit="deg", array=rows["TGT_RA"]),
        fits.Column("TGT_DEC", "D", unit="deg", array=rows["TGT_DEC"]),
        fits.Column("CORNER_X", "J", unit="pixel", array=rows["CORNER_X"]),
        fits.Column("CORNER_Y", "J", unit="pixel", array=rows["CORNER_Y"]),
    ]
    pixels = fits.BinTableHDU.from_columns(columns, name="PIXELS")
    pixels.header["OFFIMAGE"] = (OFF_IMAGE, "QUALITY bit: target off this cube's image")
    pixels.header["OFFPATH"] = (OFF_PATH, "QUALITY bit: frame outside the path's times")
    pixels.header["TGTPIX0"] = (0, "TGT_X/Y (in stamp), CORNER_X/Y (image) 0-based")
    reference_columns = _time_cards(pixels.header, corrections or [None] * len(used))
    cubes = fits.BinTableHDU.from_columns([
        fits.Column("PATH", f"{max(len(e.path) for e in used)}A", array=[e.path for e in used]),
        fits.Column("SECTOR", "J", array=[e.sector for e in used]),
        fits.Column("CAMERA", "J", array=[e.camera for e in used]),
        fits.Column("CCD", "J", array=[e.ccd for e in used]),
    ] + reference_columns, name="CUBES")
    primary = fits.PrimaryHDU()
    primary.header["TELESCOP"] = ("TESS", "telescope")
    primary.header["CREATOR"] = ("astrocut cube_cut_path", "moving-target stamps")
    primary.header["TIMESYS"] = ("TDB", "time system of TIME")
    primary.header["BJDREFI"] = (2457000, "integer part of BTJD zero point")
    primary.header["NCUBES"] = (len(used), "cubes the frames come from (HDU 2)")
    if n:
        primary.header["TSTART"] = (float(np.min(rows["TIME"])), "first mid-time (BTJD)")
        primary.header["TSTOP"] = (float(np.max(rows["TIME"])), "last mid-time (BTJD)")
    return fits.HDUList([primary, pixels, cubes])


def _time_cards(header, corrections):
    """TIME keywords of the PIXELS ``header`` (cube_cut's names) and the CUBES columns of
    each input's FFI reference point (TIMECORR's reference differs from cube to cube).

    ``corrections`` holds one TimeCorrection per input, or None where TIME and TIMECORR are
    the input file's own."""
    from astropy.io import fits

    known = [c for c in corrections if c is not None]
    modes = {c.mode.upper() for c in known} | ({"INPUT"} if len(known) < len(corrections)
                                               else set())
    mode = modes.pop() if len(modes) == 1 else "MIXED"
    header["TCORRTYP"] = (mode, "TIMECORR: TARGET per frame, FFI, INPUT or MIXED")
    if mode == "TARGET":
        header["BTC_POS"] = ("TGT_RA,TGT_DEC", "columns of the position TIMECORR is toward")
    delta = np.concatenate([c.delta for c in known]) if known else np.zeros(0)
    header["BTC_DMAX"] = (float(np.max(np.abs(delta), initial=0.0)) * 86400.0,
                          "[s] largest change of TIME and TIMECORR")
    if len(corrections) == 1 and known:
        for key, value, comment in known[0].reference_cards():
            header[key] = (value, comment)
    nan = float("nan")
    return [
        fits.Column("TCORRTYP", "6A", array=[c.mode.upper() if c else "INPUT"
                                             for c in corrections]),
        fits.Column("BTC_PIX1", "D", array=[c.reference_pixel[0] if c else nan
                                            for c in corrections]),
        fits.Column("BTC_PIX2", "D", array=[c.reference_pixel[1] if c else nan
                                            for c in corrections]),
        fits.Column("BTC_PSRC", "7A", array=[c.reference_source if c else ""
                                             for c in corrections]),
        fits.Column("BTC_REFR", "D", unit="deg", array=[c.reference[0] if c else nan
                                                        for c in corrections]),
        fits.Column("BTC_REFD", "D", unit="deg", array=[c.reference[1] if c else nan
                                                        for c in corrections])]

