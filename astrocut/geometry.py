"""Turning what users type into sky positions, stamp sizes and pixel windows.

Every cutter in every plugin goes through these functions, so a size or a coordinate means
the same thing for a mission's cube and for a drizzled image.
"""

import numbers
import re

import numpy as np

from .errors import InvalidInputError, InvalidQueryError
# side_in_pixels lives with CutoutSize (models imports nothing of ours but errors, so
# geometry -> models is the only direction); it stays importable from here.
from .models import CutoutSize, side_in_pixels  # noqa: F401


def parse_coordinates(coordinates):
    """Return an ICRS scalar :class:`~astropy.coordinates.SkyCoord` for ``coordinates``.

    Accepts a ``SkyCoord`` (any frame) or a string ``"ra dec"`` in degrees (sexagesimal with
    units also works, e.g. ``"10h00m00s +02d00m00s"``).
    """
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    if isinstance(coordinates, SkyCoord):
        coord = coordinates
    elif isinstance(coordinates, str) and (pair := _plain_pair(coordinates)) is not None:
        # astropy's angle parser builds its lexer on first use (~50 ms, a remote first
        # stamp's largest CPU cost); two plain decimals give the same numbers without it
        # (tests/core/test_geometry.py compares them with astropy's own parse).
        coord = SkyCoord(*pair, unit="deg", frame="icrs")
    elif isinstance(coordinates, str):
        try:
            coord = SkyCoord(coordinates, unit="deg")
        except Exception as exc:
            raise InvalidInputError(
                f"coordinates {coordinates!r} could not be read: give 'RA DEC' in degrees "
                f"(e.g. '251.51 32.36') or a SkyCoord ({exc})") from None
    else:
        raise InvalidInputError(
            f"coordinates must be a SkyCoord or an 'RA DEC' string in degrees, "
            f"not {type(coordinates).__name__}")
    if not coord.isscalar:
        raise InvalidInputError("coordinates must be a single position; use cube_cut_many "
                                "for many targets")
    try:
        coord = coord.icrs
    except Exception as exc:
        # e.g. an AltAz position without obstime or location: it has no place on the sky.
        raise InvalidInputError(f"coordinates in frame {coord.frame.name!r} cannot be turned "
                                f"into RA/Dec ({type(exc).__name__}: {exc}); give ICRS "
                                f"coordinates, or the frame's obstime and location") from None
    ra, dec = coord.ra.to_value(u.deg), coord.dec.to_value(u.deg)
    if not (np.isfinite(ra) and np.isfinite(dec)):
        raise InvalidInputError(f"coordinates are not finite (ra={ra}, dec={dec})")
    return coord


#: No image has sides this long: larger sizes are mistakes, refused before any arithmetic.
MAX_SIDE = 1e9


def parse_cutout_size(cutout_size, rounding="round"):
    """Return a :class:`CutoutSize` for an int, a pair ``[nx, ny]`` or a Quantity.

    ``[a, b]`` is ``a`` columns (x, FITS NAXIS1) by ``b`` rows (y, NAXIS2); a scalar is a square.
    ``rounding`` (``round``, ``ceil``, ``floor``) places the stamp's first pixel.
    """
    import astropy.units as u

    if isinstance(cutout_size, u.Quantity):
        sides = list(np.atleast_1d(cutout_size))
    elif isinstance(cutout_size, (str, bytes)) or cutout_size is None:
        raise InvalidInputError(f"cutout_size must be a number, a pair [nx, ny] or a "
                                f"Quantity, not {cutout_size!r}")
    elif isinstance(cutout_size, (list, tuple)):
        # Checked before np.ndim, which fails on Quantities of different units.
        sides = list(cutout_size)
    elif np.ndim(cutout_size) == 0:
        sides = [cutout_size]
    else:
        sides = list(cutout_size)
    if len(sides) == 1:
        sides = sides * 2
    if len(sides) > 2:
        import warnings

        from .errors import InputWarning

        # 1.x behaviour: a third value (a spectral or time axis) is ignored, with a warning.
        warnings.warn(f"Too many dimensions in cutout size, only the first two will be used "
                      f"(cutout_size has {len(sides)} values: columns, rows)", InputWarning,
                      stacklevel=3)
        sides = sides[:2]
    if len(sides) != 2:
        raise InvalidInputError(f"cutout_size must have one or two sides, got {len(sides)}")
    sides = [_check_side(side) for side in sides]
    return CutoutSize(sides[0], sides[1], check_rounding(rounding))


def _check_side(side):
    """The side as a Quantity or a plain int/float (a Fraction or numpy number becomes one)."""
    import astropy.units as u

    if isinstance(side, u.Quantity):
        if side.unit != u.pixel and side.unit.physical_type != "angle":
            raise InvalidInputError(f"cutout_size unit {side.unit} is not supported: use "
                                    f"pixels or an angle")
        value = side.value
    elif isinstance(side, numbers.Real) and not isinstance(side, (bool, np.bool_)):
        value = side
    else:
        raise InvalidInputError(f"cutout_size side {side!r} is not a number")
    try:
        value = float(value)
    except (OverflowError, TypeError, ValueError):
        raise InvalidInputError(f"cutout_size side {side!r} is not a usable number") from None
    if not np.isfinite(value) or value <= 0:
        raise InvalidInputError(f"cutout_size sides must be positive, got {side}")
    if value > MAX_SIDE:
        raise InvalidInputError(f"cutout_size side {side} is absurdly large (at most "
                                f"{MAX_SIDE:.0e} pixels or units a side)")
    if isinstance(side, u.Quantity):
        return side
    return int(value) if value.is_integer() else value


_ROUNDING = {"round": np.round, "ceil": np.ceil, "floor": np.floor}


def check_rounding(method):
    """``method`` lower-cased if it is one of ``round``, ``ceil``, ``floor``; raise otherwise."""
    if not isinstance(method, str) or method.lower() not in _ROUNDING:
        raise InvalidInputError(f"Limit rounding method {method} is not recognized. "
                                f"limit_rounding_method must be 'round', 'ceil' or 'floor'")
    return method.lower()


#: How a stamp is placed around its target (``placement``).
PLACEMENTS = ("center", "reference")
#: ``limit_rounding_method`` values, as in astrocut 1.x.
ROUNDING = _ROUNDING


def check_placement(placement, limit_rounding_method="round"):
    """Raise :class:`InvalidInputError` unless both are known values."""
    if placement not in PLACEMENTS:
        raise InvalidInputError(f"placement must be 'center' or 'reference', not {placement!r}")
    check_rounding(limit_rounding_method)


def stamp_corner(center_pixel, npix, rounding="round"):
    """First pixel (0-based) of a window of ``npix`` pixels centred on ``center_pixel``.

    ``round(c - (npix - 1) / 2)``: for odd ``npix`` the target's pixel is the middle one, for
    even ``npix`` the target lies between the two middle pixels (in the central 2x2 of a
    stamp). ``rounding`` replaces ``round`` with ``ceil`` or ``floor`` (``limit_rounding_method``).
    """
    return int(_ROUNDING[rounding.lower()](center_pixel - (npix - 1) / 2))


def reference_corner(center_pixel, npix, rounding="round"):
    """First pixel as the reference tool (astrocut 1.x) places a stamp: ``f(c - npix / 2)``.

    ``f`` is numpy's half-to-even ``round`` (or ``ceil``/``floor``), so the target sits 0-1 px
    from the stamp centre. The window keeps ``npix`` pixels; the reference's own last pixel,
    ``f(c + npix / 2)``, gives one pixel more or less when ``c`` falls exactly on a half pixel
    or the size is an angle, which no stamp here does on purpose.
    """
    return int(_ROUNDING[rounding.lower()](center_pixel - npix / 2))


def celestial_wcs(wcs):
    """``wcs`` itself when it is already a two-axis celestial WCS (longitude first), else
    ``wcs.celestial``: the same transformation without copying the WCS for every stamp."""
    if wcs.naxis == 2 and wcs.wcs.lng == 0 and wcs.wcs.lat == 1:
        return wcs
    return wcs.celestial


def is_icrs_wcs(celestial):
    """True when ``celestial`` (two axes) is an equatorial WCS in the ICRS frame."""
    # wcs_to_celestial_frame gives ICRS for equatorial axes with RADESYS ICRS: the frame an
    # ICRS position needs no transformation into.
    ctype = [str(c) for c in celestial.wcs.ctype]
    return (celestial.wcs.radesys == "ICRS" and ctype[0].startswith("RA-")
            and ctype[1].startswith("DEC-"))


def decimal_degrees(text):
    """``(ra, dec)`` of an "RA DEC" string of two plain numbers, else ``None``."""
    if isinstance(text, str):
        parts = text.split()
        if len(parts) == 2:
            try:
                return float(parts[0]), float(parts[1])
            except ValueError:
                return None
    return None


_DECIMALS = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)\s+[+-]?(\d+\.?\d*|\.\d+)\s*\Z",
                       re.ASCII)


def _plain_pair(text):
    """``(ra, dec)`` of "RA DEC" written as two plain decimals with Dec in [-90, 90]."""
    if not _DECIMALS.match(text):
        return None
    pair = decimal_degrees(text)
    return pair if pair is not None and abs(pair[1]) <= 90 else None


_RADEC = "_astrocut_radec_deg"


def radec_deg(coord):
    """``(coord.ra.deg, coord.dec.deg)`` as floats, remembered on an ICRS scalar SkyCoord.

    A SkyCoord's first ``.ra`` costs ~125 us (it builds its spherical representation) and
    each later one ~9 us, and a bulk target needs its position a dozen times. A scalar
    cannot be changed in place, so what is remembered stays true.
    """
    cached = vars(coord).get(_RADEC)
    if cached is None:
        cached = (float(coord.ra.deg), float(coord.dec.deg))
        if coord.isscalar and coord.frame.name == "icrs":
            vars(coord)[_RADEC] = cached
    return cached


def parse_coordinate_list(items):
    """:func:`parse_coordinates` of each item: a SkyCoord, or the error it raises.

    "RA DEC" strings of two plain decimals (digits, one point, a sign; Dec in [-90, 90])
    become one ICRS SkyCoord array, indexed per item: parsing a string costs ~150 us, taking
    a scalar from the array ~15 us, and both give the same numbers
    (``tests/core/test_geometry.py``). Other items are parsed one by one.
    """
    from astropy.coordinates import SkyCoord

    pairs = [_plain_pair(item) if isinstance(item, str) else None for item in items]
    batch = [index for index, pair in enumerate(pairs) if pair is not None]
    out = [None] * len(pairs)
    if batch:
        ra, dec = np.array([pairs[index] for index in batch], dtype=float).T
        coords = SkyCoord(ra, dec, unit="deg", frame="icrs")
        ras, decs = coords.ra.deg, coords.dec.deg  # once for all: see radec_deg
        for position, index in enumerate(batch):
            out[index] = coord = coords[position]
            vars(coord)[_RADEC] = (float(ras[position]), float(decs[position]))
    for index, item in enumerate(items):
        if out[index] is None:
            try:
                out[index] = parse_coordinates(item)
            except Exception as exc:  # reported in the item's own place
                out[index] = exc
    return out


def icrs_pixels(wcs, positions):
    """0-based pixel ``(xs, ys)`` of ICRS ``(ra, dec)`` degree pairs in one vectorised call
    (NaN where the inversion fails), or ``None`` when ``wcs`` is not an ICRS WCS."""
    import warnings

    celestial = celestial_wcs(wcs)
    if not is_icrs_wcs(celestial):
        return None
    ra, dec = np.array(positions, dtype=float).reshape(-1, 2).T
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # far outside, the SIP inversion warns
        return celestial.all_world2pix(ra, dec, 0, quiet=True)


def center_pixel(wcs, coord, source):
    """0-based ``(x, y)`` image pixel of ``coord`` through the full WCS (SIP included).

    For an ICRS position on an ICRS WCS this calls ``all_world2pix`` directly, which is what
    astropy's ``world_to_pixel`` does after finding the frame and converting the position
    (~1 ms a call, the largest fixed cost of a small cutout); ``tests/core`` checks both
    give the same pixel. Other frames go through ``world_to_pixel``.
    """
    import warnings

    import astropy.wcs

    celestial = celestial_wcs(wcs)
    try:
        with warnings.catch_warnings():
            # Far from the footprint the SIP inversion warns before giving NaN or raising;
            # the error below says what that means.
            warnings.simplefilter("ignore")
            if coord.frame.name == "icrs" and is_icrs_wcs(celestial) and not celestial.pixel_bounds:
                try:
                    x, y = celestial.all_world2pix(*radec_deg(coord), 0)
                except astropy.wcs.NoConvergence as exc:  # as world_to_pixel answers
                    x, y = np.asarray(exc.best_solution).reshape(-1)[:2]
            else:
                x, y = celestial.world_to_pixel(coord)
    except astropy.wcs.NoConvergence:
        x = y = np.nan
    x, y = float(x), float(y)
    if not (np.isfinite(x) and np.isfinite(y)):
        raise InvalidQueryError(f"{coord.ra.deg:.6f} {coord.dec.deg:.6f} is not in the "
                                f"footprint of {source}")
    return x, y


def stamp_window(wcs, coord, size, image_shape, source, placement="center",
                 limit_rounding_method=None, pixel=None):
    """Place a stamp: return ``(corner, (ny, nx))`` for ``coord`` and ``size`` on an image.

    ``image_shape`` is the image's ``(ny, nx)``. ``placement="center"`` centres the stamp on
    the target (:func:`stamp_corner`); ``"reference"`` starts it on the pixel astrocut 1.x
    starts it on (:func:`reference_corner`). The rounding is ``limit_rounding_method`` when
    given (not ``"round"``), else the size's own. Raises :class:`InvalidQueryError` naming
    ``source`` when no pixel of the stamp lies on the image.
    """
    check_placement(placement, limit_rounding_method or "round")
    # ``pixel``: center_pixel's answer, when the caller needs it too.
    x, y = pixel if pixel is not None else center_pixel(wcs, coord, source)
    nx, ny = size.to_pixels(wcs)
    # Padding a stamp past the edges is fine; a stamp many times the image is a typo.
    limit_x, limit_y = 4 * image_shape[1] + 100, 4 * image_shape[0] + 100
    if nx > limit_x or ny > limit_y:
        raise InvalidInputError(f"cutout_size {nx}x{ny} pixels is far larger than {source} "
                                f"({image_shape[1]}x{image_shape[0]}); at most "
                                f"{limit_x}x{limit_y}")
    rounding = (limit_rounding_method if limit_rounding_method not in (None, "round")
                else getattr(size, "rounding", "round"))
    corner = stamp_corner if placement == "center" else reference_corner
    x0, y0 = corner(x, nx, rounding), corner(y, ny, rounding)
    if x0 >= image_shape[1] or y0 >= image_shape[0] or x0 + nx <= 0 or y0 + ny <= 0:
        raise InvalidQueryError(
            f"the {nx}x{ny} stamp at {coord.ra.deg:.6f} {coord.dec.deg:.6f} (pixel "
            f"{x:.1f}, {y:.1f}) has no pixel on {source} ({image_shape[1]}x{image_shape[0]})")
    return (x0, y0), (ny, nx)


def overlap(corner, stamp_shape, image_shape):
    """Slices of the image and of the stamp where the two overlap.

    Returns ``(image_slices, stamp_slices)``, each a ``(rows, columns)`` pair of slices.
    """
    (x0, y0), (ny, nx) = corner, stamp_shape
    iy0, iy1 = max(y0, 0), min(y0 + ny, image_shape[0])
    ix0, ix1 = max(x0, 0), min(x0 + nx, image_shape[1])
    image = (slice(iy0, iy1), slice(ix0, ix1))
    stamp = (slice(iy0 - y0, iy1 - y0), slice(ix0 - x0, ix1 - x0))
    return image, stamp
