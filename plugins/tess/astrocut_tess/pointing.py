"""Which TESS sectors, cameras and CCDs saw a position, from tess-point's pointing tables.

tess-point (optional extra ``astrocut[pointing]``) holds every sector's spacecraft pointing
and focal-plane geometry, so the answer needs no cube and no network. A stamp is taken to
touch a CCD when its centre or one of the points sampled on its outline (its corners, edge
midpoints and, on long sides, points at most 64 pixels apart) lands on that CCD; tess-point
costs ~10 ms a point over all sectors, so the outline is not sampled more finely.

tess-point's pixels are SPOC FFI pixels, 1-based with 44 leading collateral columns, i.e.
the 1-based columns and rows of a cube; a cube's WCS may disagree with the tables (the
archived WCS shifts by ~2 pixels from sector 92 on, tesswcs#30), and
:func:`compare_with_cubes` says where they differ by more than a pixel.
"""

import functools
import warnings

import numpy as np

from astrocut.errors import DataWarning, InvalidInputError

#: TESS pixels are 21 arcsec on a side.
ARCSEC_PER_PX = 21.0
_OUTLINE_STEP = 64.0  # most pixels between sampled points of a stamp's outline


def _tess_point():
    try:
        import tess_stars2px
    except ImportError:
        raise InvalidInputError("get_tess_sectors needs tess-point: pip install "
                                "'astrocut[pointing]'") from None
    return tess_stars2px


@functools.lru_cache(maxsize=1)
def _spacecraft():
    """tess-point's pointing tables, loaded once per process (~0.1 s)."""
    return _tess_point().TESS_Spacecraft_Pointing_Data()


def _stamp_pixels(cutout_size, arcsec_per_px=ARCSEC_PER_PX):
    import astropy.units as u

    from astrocut.geometry import parse_cutout_size

    from .footprint import _size_or_point

    parsed = parse_cutout_size(_size_or_point(cutout_size))
    sides = []
    for side in (parsed.nx, parsed.ny):
        if isinstance(side, u.Quantity):
            side = (side.value if side.unit == u.pixel
                    else side.to_value(u.arcsec) / arcsec_per_px)
        sides.append(max(float(side), 1.0))
    return sides


def _outline(coord, nx, ny):
    """Sky points of the stamp's centre and outline."""
    import astropy.units as u

    half_x, half_y = nx / 2.0, ny / 2.0
    points = [(0.0, 0.0)]
    if nx > 1 or ny > 1:
        xs = np.linspace(-half_x, half_x, max(3, int(np.ceil(nx / _OUTLINE_STEP)) + 1))
        ys = np.linspace(-half_y, half_y, max(3, int(np.ceil(ny / _OUTLINE_STEP)) + 1))
        points += [(x, -half_y) for x in xs] + [(x, half_y) for x in xs]
        points += [(-half_x, y) for y in ys[1:-1]] + [(half_x, y) for y in ys[1:-1]]
    dx, dy = np.array(points).T * ARCSEC_PER_PX
    shifted = coord.spherical_offsets_by(dx * u.arcsec, dy * u.arcsec)
    return shifted.ra.deg, shifted.dec.deg


def _parse(coordinates):
    from .footprint import _coordinates

    return _coordinates(coordinates)


def _lookup(ra, dec):
    """tess-point's (ids, sectors, cameras, ccds, columns, rows) for positions (1-based)."""
    module = _tess_point()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tess-point's own numpy/astropy chatter
        result = module.tess_stars2px_function_entry(
            np.arange(len(ra)), ra, dec, scInfo=_spacecraft())
    ids, _, _, sectors, cameras, ccds, cols, rows, _ = result
    keep = sectors > 0
    return ids[keep], sectors[keep], cameras[keep], ccds[keep], cols[keep], rows[keep]


def crossmatch(coordinates, cutout_size=0, arcsec_per_px=ARCSEC_PER_PX):
    """tess-point's CCDs whose pixels hold a stamp: what ``ra_dec_crossmatch(None, ...)`` and
    so :func:`get_tess_sectors` answer. A Table of ``sectorName`` (``tess-s0001-4-4``),
    ``sector``, ``camera``, ``ccd``, one row per CCD, sorted by sector, camera and CCD."""
    from astropy.table import Table

    coord = _parse(coordinates)
    nx, ny = _stamp_pixels(cutout_size, arcsec_per_px)
    ra, dec = _outline(coord, nx, ny)
    _, sectors, cameras, ccds, _, _ = _lookup(ra, dec)
    found = sorted({(int(s), int(c), int(d)) for s, c, d in zip(sectors, cameras, ccds,
                                                                strict=True)})
    names = [f"tess-s{s:04d}-{c}-{d}" for s, c, d in found]
    columns = list(zip(*found, strict=True)) if found else [[], [], []]
    return Table([names, *columns], names=["sectorName", "sector", "camera", "ccd"],
                 dtype=["S20", "i4", "i4", "i4"])


def get_tess_sectors(coordinates, cutout_size=0):
    """The sectors, cameras and CCDs whose pixels hold a stamp (1.x name), offline.

    Parameters
    ----------
    coordinates : str or `~astropy.coordinates.SkyCoord`
    cutout_size : int, pair or `~astropy.units.Quantity`
        0 asks for the position itself; angles use TESS's 21 arcsec pixels.

    Returns
    -------
    `~astropy.table.Table`
        Columns ``sectorName`` (``tess-s0001-4-4``), ``sector``, ``camera``, ``ccd``, one row
        per CCD, sorted by sector, camera and CCD.
    """
    from . import footprint

    # As in 1.x, the answer is ra_dec_crossmatch's (here over tess-point's tables), looked up
    # on its module at call time.
    matches = footprint.ra_dec_crossmatch(None, coordinates, cutout_size)
    return matches[["sectorName", "sector", "camera", "ccd"]]


def compare_with_cubes(coordinates, collection, tolerance=1.0):
    """Compare tess-point's pixel of ``coordinates`` with each cube's WCS; warn where they
    differ by more than ``tolerance`` pixels or disagree on which cubes hold it.

    Returns an astropy Table: path, sector, camera, ccd, the WCS's 1-based column/row, the
    tables' column/row (NaN where the tables put the position elsewhere) and the distance.
    """
    from astropy.table import Table

    from .collection import load_collection

    coord = _parse(coordinates)
    cubes = load_collection(collection)
    _, sectors, cameras, ccds, cols, rows = _lookup(np.array([coord.ra.deg]),
                                                    np.array([coord.dec.deg]))
    tables = {(int(s), int(c), int(d)): (float(x), float(y))
              for s, c, d, x, y in zip(sectors, cameras, ccds, cols, rows, strict=True)}
    out = []
    for entry in cubes.find(coord):
        headers = cubes.footprint(entry)
        x, y = (float(v) + 1.0 for v in headers.wcs.world_to_pixel(coord))
        tx, ty = tables.get((entry.sector, entry.camera, entry.ccd), (np.nan, np.nan))
        distance = float(np.hypot(x - tx, y - ty))
        out.append((entry.path, entry.sector, entry.camera, entry.ccd, x, y, tx, ty, distance))
        if not np.isfinite(distance):
            warnings.warn(f"{entry.path}: its WCS puts {coord.ra.deg:.6f} {coord.dec.deg:.6f} "
                          f"at pixel ({x:.1f}, {y:.1f}), but tess-point's tables put it off "
                          f"sector {entry.sector} camera {entry.camera} CCD {entry.ccd}",
                          DataWarning, stacklevel=2)
        elif distance > tolerance:
            warnings.warn(f"{entry.path}: its WCS and tess-point's tables disagree by "
                          f"{distance:.2f} pixels at {coord.ra.deg:.6f} {coord.dec.deg:.6f} "
                          f"(WCS {x:.2f}, {y:.2f}; tables {tx:.2f}, {ty:.2f})",
                          DataWarning, stacklevel=2)
    return Table(rows=out or None, names=["path", "sector", "camera", "ccd", "wcs_column",
                                          "wcs_row", "table_column", "table_row", "distance"],
                 dtype=[str, int, int, int, float, float, float, float, float])
