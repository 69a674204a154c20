"""Data passed between the API and the hooks.

Requests are frozen: a plugin reads them and must not change them. Cutouts hold arrays and
metadata but no open files, so they can travel between processes.
"""

from typing import Any, Optional

import attrs
import numpy as np


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
        from .geometry import side_in_pixels

        return side_in_pixels(self.nx, wcs, axis=0), side_in_pixels(self.ny, wcs, axis=1)


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
