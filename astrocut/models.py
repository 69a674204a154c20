"""Data passed between the API and the hooks.

Requests are frozen: a plugin reads them and must not change them. Cutouts hold arrays and
metadata but no open files, so they can travel between processes.
"""

from typing import Any, Optional

import attrs
import numpy as np

from .errors import InvalidInputError


@attrs.frozen
class CutoutSize:
    """A requested stamp size: ``nx`` columns by ``ny`` rows, in pixels or as angles.

    Each side is an ``int`` (pixels) or an :class:`astropy.units.Quantity` in pixels or in an
    angle; angles are turned into pixels with the image's pixel scale by :meth:`to_pixels`.
    """

    nx: Any
    ny: Any

    def to_pixels(self, wcs):
        """Return ``(nx, ny)`` as whole pixels, converting angles with ``wcs``'s pixel scale."""
        return side_in_pixels(self.nx, wcs, axis=0), side_in_pixels(self.ny, wcs, axis=1)


def side_in_pixels(side, wcs, axis):
    """Whole pixels for one side of a stamp (angles use the WCS pixel scale along ``axis``)."""
    import astropy.units as u

    if isinstance(side, u.Quantity):
        if side.unit == u.pixel:
            value = side.value
        else:
            from astropy.wcs.utils import proj_plane_pixel_scales

            scale = proj_plane_pixel_scales(wcs.celestial)[axis] * u.Unit(wcs.celestial.wcs.cunit[axis] or "deg")
            value = (side / scale).decompose().value
    else:
        value = side
    pixels = int(np.round(value))
    if pixels < 1:
        raise InvalidInputError(f"cutout_size side {side} is smaller than one pixel")
    return pixels


@attrs.frozen
class CubeRequest:
    """A cube to build from image files, or (``update``) images to add to a cube."""

    files: tuple
    cube_file: str
    product: str
    max_memory: float = 50.0
    sector: Optional[int] = None
    verbose: bool = True
    executor: Any = None


@attrs.frozen
class CubeCutRequest:
    """One stamp to cut from a cube."""

    center: Any  # astropy SkyCoord (ICRS)
    size: CutoutSize
    product: str = "SPOC"
    verbose: bool = False


@attrs.frozen
class ImageCutRequest:
    """The same region to cut from each of several aligned images."""

    files: tuple
    center: Any  # astropy SkyCoord (ICRS)
    size: CutoutSize
    extension: Any = None  # None (first image HDU with data), an int, a list of ints, or "all"
    correct_wcs: bool = False
    fill_value: float = np.nan
    verbose: bool = False


@attrs.frozen
class FittedWCS:
    """A linear WCS fitted to an image's full WCS over a stamp.

    ``max_separation`` and ``sigma`` (degrees) compare the fit with the full WCS at every stamp
    pixel: the largest angular separation, and the root-sum-square of all of them.
    """

    wcs: Any  # astropy.wcs.WCS in stamp pixel coordinates
    max_separation: float
    sigma: float


@attrs.define
class CubeCutout:
    """A stamp time series cut from a cube, before it is written.

    ``corner`` is the 0-based ``(x, y)`` image pixel of ``flux[:, 0, 0]``; it may be negative,
    or the stamp may run past the image, where ``aperture`` is 0 and the data are NaN.
    ``metadata`` holds what the mission's writer needs (headers, time columns ...).
    """

    flux: np.ndarray
    flux_err: np.ndarray
    aperture: np.ndarray
    corner: tuple
    image_wcs: Any
    center: Any
    source: str
    product: str
    fitted_wcs: Optional[FittedWCS] = None
    metadata: dict = attrs.Factory(dict)

    @property
    def shape(self):
        """The stamp's ``(ny, nx)``."""
        return self.aperture.shape


@attrs.define
class ImageCutout:
    """A stamp cut from one image HDU, with the input header and its WCS moved onto it."""

    data: np.ndarray
    header: Any  # astropy.io.fits.Header, WCS keywords shifted to the cutout
    wcs: Any
    corner: tuple
    center: Any
    source: str
    extension: int

    @property
    def shape(self):
        """The stamp's ``(ny, nx)``."""
        return self.data.shape
