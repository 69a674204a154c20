"""Request parameters of the TESScut contract, checked into attrs objects.

Every check names the parameter it refuses, because that name is all a curl or browser
user gets back (astroquery replaces the message of a 400 with its own fixed text). Nothing
here ever becomes a file path: cubes are chosen by sector, camera and CCD from the
collection the server was started with.
"""

import math
import re

import attrs

from astrocut.errors import InvalidQueryError

#: TESS pixels are 21 arcsec; a size in degrees is turned into pixels with it for the limit.
PIXEL_SCALE_DEG = 21.0 / 3600.0
MAX_RADIUS_DEG = 30.0


class ParameterError(InvalidQueryError):
    """A request parameter is missing or unusable; the message names it."""

    def __init__(self, parameter, message):
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter


@attrs.frozen
class Limits:
    """What one server accepts; set from ``astrocut serve``'s options."""

    max_pixels: int = 10_000        # columns x rows of one stamp
    max_concurrent: int = 8         # cutouts cut at once over all requests
    timeout: float = 60.0           # seconds a request may wait for its cutouts
    max_sectors: int = 100          # cubes one request may cut from


@attrs.frozen
class SectorQuery:
    ra: float
    dec: float
    radius: float  # degrees


@attrs.frozen
class CutoutQuery:
    ra: float
    dec: float
    x: float            # columns (pixels, or degrees with units "d")
    y: float            # rows
    units: str          # "px" or "d"
    sectors: tuple      # requested sector numbers; empty means every sector holding it

    @property
    def cutout_size(self):
        """``[nx, ny]`` for cube_cut: ints in pixels, or an angular Quantity."""
        if self.units == "px":
            return [int(self.x), int(self.y)]
        import astropy.units as u

        return [self.x, self.y] * u.deg

    @property
    def pixels(self):
        """Columns x rows the stamp will have (degrees rounded up to TESS pixels)."""
        if self.units == "px":
            return int(self.x) * int(self.y)
        return (math.ceil(self.x / PIXEL_SCALE_DEG) * math.ceil(self.y / PIXEL_SCALE_DEG))


def _one(params, name, required=True):
    values = params.get(name)
    if values is None or (not values) or (len(values) == 1 and values[0].strip() == ""):
        if required:
            raise ParameterError(name, "missing (a number is required)")
        return None
    if len(values) > 1:
        raise ParameterError(name, f"given {len(values)} times; give it once")
    return values[0].strip()


def _number(params, name, required=True, default=None):
    text = _one(params, name, required)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ParameterError(name, f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise ParameterError(name, f"{text!r} is not a finite number")
    return value


def _position(params):
    ra = _number(params, "ra")
    dec = _number(params, "dec")
    if not -90.0 <= dec <= 90.0:
        raise ParameterError("dec", f"{dec!r} is out of range (degrees from -90 to 90)")
    if not -360.0 <= ra <= 720.0:
        raise ParameterError("ra", f"{ra!r} is out of range (degrees, 0 to 360)")
    return ra % 360.0, dec


def parse_sector_query(params):
    """``params`` maps each name to a list of strings (query string and form merged)."""
    ra, dec = _position(params)
    radius = _number(params, "radius", required=False, default=0.0)
    if not 0.0 <= radius <= MAX_RADIUS_DEG:
        raise ParameterError("radius", f"{radius!r} is out of range (degrees, 0 to "
                                       f"{MAX_RADIUS_DEG:g})")
    return SectorQuery(ra=ra, dec=dec, radius=radius)


def parse_sectors(params):
    """Sector numbers from ``sector=1&sector=2``, ``sector=[1, 2]`` or ``sector=1,2``."""
    values = params.get("sector") or []
    sectors = []
    for value in values:
        for part in re.split(r"[\s,]+", value.strip().strip("[]()")):
            if not part:
                continue
            try:
                number = float(part)
            except ValueError:
                raise ParameterError("sector", f"{part!r} is not a sector number") from None
            if not number.is_integer() or number < 1:
                raise ParameterError("sector", f"{part!r} is not a sector number (1, 2, ...)")
            sectors.append(int(number))
    return tuple(dict.fromkeys(sectors))


def parse_size(params, limits):
    units = (_one(params, "units", required=False) or "px").lower()
    if units not in ("px", "d"):
        raise ParameterError("units", f"{units!r} is not a unit of size: use px (pixels) or "
                                      f"d (degrees)")
    sizes = []
    for name in ("x", "y"):
        value = _number(params, name, required=False, default=5.0)
        if value <= 0:
            raise ParameterError(name, f"{value!r}: a size must be positive")
        if units == "px" and not value.is_integer():
            raise ParameterError(name, f"{value!r}: a size in pixels must be a whole number")
        sizes.append(value)
    return units, sizes


def parse_cutout_query(params, limits):
    """Check an ``astrocut`` request; raise :class:`ParameterError` naming what is wrong."""
    product = _one(params, "product", required=False)
    if product is not None and product.upper() != "SPOC":
        raise ParameterError("product", f"{product!r} is not served: only SPOC cubes are")
    ra, dec = _position(params)
    units, (x, y) = parse_size(params, limits)
    query = CutoutQuery(ra=ra, dec=dec, x=x, y=y, units=units, sectors=parse_sectors(params))
    if query.pixels > limits.max_pixels:
        raise ParameterError("x", f"a {x:g} x {y:g} {units} stamp is about {query.pixels} "
                                  f"pixels; this server allows {limits.max_pixels} per stamp")
    return query
