"""Data passed between the API and the hooks.

Requests are frozen: a plugin reads them and must not change them. Cutouts hold arrays and
metadata but no open files, so they can travel between processes.
"""

from typing import Any, Callable, Mapping, Optional, Protocol, runtime_checkable

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
    rounding: str = "round"  # how the stamp's first pixel is rounded: round, ceil or floor

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
        # An angle below one pixel still asks for that pixel (as 1.x does).
        return max(int(np.round(value)), 1)
    else:
        value = side
    pixels = int(np.round(value))
    if pixels < 1:
        raise InvalidInputError(f"cutout_size side {side} is smaller than one pixel")
    return pixels


def _options(value):
    # A plain dict (not a read-only proxy) so requests still pickle for process pools.
    return dict(value or {})


@attrs.frozen
class CubeRequest:
    """A cube to build from image files, or (``update``) images to add to a cube.

    Attributes
    ----------
    files : tuple of str
        The images, as given (the plugin orders them, e.g. by time).
    cube_file : str
        The cube to write, or (update) the existing cube to extend.
    kind : str
        What :func:`~astrocut.hookspecs.astrocut_identify` called ``files[0]``
        (e.g. ``"toy.image"``); a plugin builds only from its own kinds.
    max_memory : float
        GB the image data may take while the cube is built.
    verbose : bool
        Log progress (INFO records on the ``astrocut`` logger, and a progress bar).
    executor : concurrent.futures.Executor or None
        Where to run parallel work (row bands ...); ``None`` for the plugin's own choice.
    mission_options : dict
        Options only the mission understands, passed through untouched by the core
        (a 1.x ``make_cube`` argument that only one mission knows arrives here by name).
    """

    files: tuple
    cube_file: str
    kind: str
    max_memory: float = 50.0
    verbose: bool = True
    executor: Any = None
    mission_options: Mapping[str, Any] = attrs.field(factory=dict, converter=_options)


@attrs.frozen
class FrameSelection:
    """Which frames of a cube to cut, and how to bin them (see :mod:`astrocut.frames`)."""

    frames: Any = None  # (start, stop) frame indices, stop excluded; either may be None
    times: Any = None  # (start, stop) mid-time range, inclusive; either may be None
    bin_size: int = 1
    bin_method: str = "sum"  # or "mean"


@attrs.frozen
class CubeCutRequest:
    """One stamp to cut from a cube.

    Attributes
    ----------
    center : astropy.coordinates.SkyCoord
        The stamp centre, scalar and ICRS.
    size : CutoutSize
        Columns by rows, in pixels or angles (:meth:`CutoutSize.to_pixels`).
    verbose : bool
        Log what is cut.
    mission_options : dict
        Options only the mission understands (a 1.x ``cube_cut`` argument that only one
        mission knows arrives here by name); the core passes them through untouched.
    placement : str
        ``"center"`` (the stamp centred on the target) or ``"reference"`` (astrocut 1.x's
        pixels); see :func:`astrocut.geometry.stamp_window`.
    limit_rounding_method : str
        ``"round"``, ``"ceil"`` or ``"floor"``, as in astrocut 1.x.
    """

    center: Any
    size: CutoutSize
    verbose: bool = False
    mission_options: Mapping[str, Any] = attrs.field(factory=dict, converter=_options)
    frames: Any = None  # a FrameSelection, or None for every frame unbinned
    placement: str = "center"  # or "reference" (astrocut 1.x's pixels): geometry.stamp_window
    limit_rounding_method: str = "round"


@attrs.frozen
class ImageCutRequest:
    """The same region to cut from each of several aligned images.

    Attributes
    ----------
    files : tuple of str
        The images (paths, or URLs for plugins that read them).
    center : astropy.coordinates.SkyCoord
        The stamp centre, scalar and ICRS.
    size : CutoutSize
        Columns by rows, in pixels or angles.
    extension : None, int, list of int or "all"
        HDUs to cut: ``None`` is the first image HDU with a celestial WCS.
    correct_wcs : bool
        Fit a linear WCS to each cutout (:func:`~astrocut.hookspecs.astrocut_fit_wcs`).
    fill_value : float
        Value of the stamp's pixels that fall off the image.
    verbose : bool
        Log what is cut.
    """

    files: tuple
    center: Any
    size: CutoutSize
    extension: Any = None
    correct_wcs: bool = False
    fill_value: float = np.nan
    verbose: bool = False
    # Image cutouts stay on astrocut 1.x's pixels for now (their tests compare them pixel for
    # pixel with it); "center" centres them as cube cutouts are (geometry.stamp_window).
    placement: str = "reference"
    limit_rounding_method: str = "round"


@attrs.frozen
class FittedWCS:
    """A linear WCS fitted to an image's full WCS over a stamp.

    Attributes
    ----------
    wcs : astropy.wcs.WCS
        The linear celestial WCS, in stamp pixel coordinates.
    max_separation : float
        Degrees: the largest angular separation between the fit and the full WCS at any
        stamp pixel.
    sigma : float
        Degrees: the root-sum-square of those separations.
    """

    wcs: Any
    max_separation: float
    sigma: float


@attrs.define
class CubeCutout:
    """A stamp time series cut from a cube, before it is written.

    Attributes
    ----------
    flux, flux_err : numpy.ndarray
        ``(n_frames, ny, nx)``; NaN where the stamp runs off the image.
    aperture : numpy.ndarray
        ``(ny, nx)`` int: 1 on image pixels, 0 off the image.
    corner : tuple of int
        0-based ``(x, y)`` image pixel of ``flux[:, 0, 0]``; may be negative.
    image_wcs : astropy.wcs.WCS or None
        The cube's full image WCS; the core fits :attr:`fitted_wcs` from it.
    center : astropy.coordinates.SkyCoord
        The requested centre.
    source : str
        The cube's path or URL.
    source_kind : str
        The identify kind of the cube it came from (e.g. ``"toy.cube"``); writers check it.
    fitted_wcs : FittedWCS or None
        Filled by the core (``astrocut_fit_wcs``) unless the plugin fitted its own.
    metadata : dict
        What the mission's writer needs (headers, time columns ...); the core never reads it.
    """

    flux: np.ndarray
    flux_err: np.ndarray
    aperture: np.ndarray
    corner: tuple
    image_wcs: Any
    center: Any
    source: str
    source_kind: str
    fitted_wcs: Optional[FittedWCS] = None
    metadata: dict = attrs.Factory(dict)

    @property
    def shape(self):
        """The stamp's ``(ny, nx)``."""
        return self.aperture.shape


@attrs.define
class ImageCutout:
    """A stamp cut from one image HDU, with the input header and its WCS moved onto it.

    Attributes
    ----------
    data : numpy.ndarray
        ``(ny, nx)`` pixels; the request's ``fill_value`` off the image.
    header : astropy.io.fits.Header
        The input HDU's header with its WCS keywords shifted to the cutout.
    wcs : astropy.wcs.WCS
        The cutout's celestial WCS.
    corner : tuple of int
        0-based ``(x, y)`` image pixel of ``data[0, 0]``; may be negative.
    center : astropy.coordinates.SkyCoord
        The requested centre (writers name files and record metadata from it).
    source : str
        The input file's path or URL.
    extension : int
        Index of the HDU it was cut from.
    """

    data: np.ndarray
    header: Any
    wcs: Any
    corner: tuple
    center: Any
    source: str
    extension: int

    @property
    def shape(self):
        """The stamp's ``(ny, nx)``."""
        return self.data.shape


@runtime_checkable
class CubeHandle(Protocol):
    """What ``astrocut_open_cube`` returns: an opened cube that cuts and names its outputs.

    Cutting is on the handle: only the plugin that opened a cube can cut it, so the handle
    does it directly (no hook round trip per target).
    """

    #: The :class:`Writer` format of this cube's cutouts (e.g. ``"toy.stamp"``).
    output_format: str

    def cut(self, request: CubeCutRequest) -> CubeCutout:
        """Cut ``request``; arrays and metadata only, nothing written."""

    def default_name(self, center: Any, shape: tuple) -> str:
        """File name for a cutout at ``center`` of ``(ny, nx)`` ``shape`` (no directory)."""

    def close(self) -> None:
        """Release the cube's file; handles are also context managers."""

    def __enter__(self): ...

    def __exit__(self, *exc_info): ...


@attrs.frozen
class Writer:
    """A registered output format (from ``astrocut_writers``).

    Attributes
    ----------
    format : str
        The name users and the core ask for (``"fits"``, ``"png"``, a mission's own); unique
        across plugins: a second writer of one format is refused.
    accepts : callable
        ``accepts(cutouts) -> bool``: may this writer write these cutouts.
    write : callable
        ``write(cutouts, path, options) -> str``: write atomically to ``path``, return it.
        ``options`` is an instance of :attr:`options` (or ``None`` when it is ``None``).
    options : type or None
        An attrs class of the format's typed options; the core builds it from the caller's
        keyword dict, so a misspelt option is an error naming the format.
    description : str
        One line for ``astrocut plugins``.
    """

    format: str
    accepts: Callable[[list], bool]
    write: Callable[[list, str, Any], str]
    options: Optional[type] = None
    description: str = ""
