"""The public face: thin functions that check arguments and dispatch through the hooks.

No mission knowledge lives here: which plugin builds a cube or cuts an image is decided by
the plugins themselves (``astrocut_identify``), so ``CubeFactory().make_cube(tess_ffis)`` finds
the TESS plugin without being told.
"""

import os
import shutil
import tempfile
import time

from .errors import InvalidInputError, InvalidQueryError, PluginError
from .geometry import parse_coordinates, parse_cutout_size
from .models import CubeCutRequest, CubeRequest, ImageCutRequest
from .output import prepare_directory
from .plugins import get_plugin_manager


# ---------------------------------------------------------------- identification

def _hook():
    return get_plugin_manager().hook


def check_input_file(path, parameter="input file"):
    """Return ``path`` as a string if it is an existing regular file, else raise."""
    if not isinstance(path, (str, os.PathLike)):
        raise InvalidInputError(f"{parameter} must be a path, not {type(path).__name__}")
    path = os.fspath(path)
    if not os.path.exists(path):
        raise InvalidInputError(f"{parameter} {path!r} does not exist")
    if not os.path.isfile(path):
        raise InvalidInputError(f"{parameter} {path!r} is not a file")
    return path


def identify(path):
    """Ask the plugins what ``path`` is; return the product name or ``None``."""
    from astropy.io import fits

    hdulist = None
    try:
        hdulist = fits.open(path, memmap=True, lazy_load_hdus=True)
    except Exception:  # not FITS (or unreadable as FITS): non-FITS plugins may still know it
        hdulist = None
    try:
        return _hook().astrocut_identify(path=path, hdulist=hdulist)
    except Exception as exc:
        # A plugin tripping over a damaged file is a problem with the file, not a crash.
        raise InvalidInputError(f"{path!r} could not be read: {type(exc).__name__}: {exc}") from None
    finally:
        if hdulist is not None:
            hdulist.close()


def identify_required(path, what):
    """Like :func:`identify` but raise a clear error when no plugin recognises the file."""
    product = identify(path)
    if product is None:
        names = [name for name, _ in get_plugin_manager().list_name_plugin()]
        raise InvalidInputError(f"{path!r} is not {what} that any installed plugin recognises "
                                f"(plugins: {', '.join(names)})")
    return product


def _file_list(file_list, parameter="file_list"):
    if isinstance(file_list, (str, os.PathLike)):
        file_list = [file_list]
    try:
        files = [os.fspath(f) for f in file_list]
    except TypeError:
        raise InvalidInputError(f"{parameter} must be a list of file paths") from None
    if not files:
        raise InvalidInputError(f"{parameter} is empty: give at least one file")
    return [check_input_file(f, parameter=f"{parameter} entry") for f in files]


def _check_max_memory(max_memory):
    try:
        value = float(max_memory)
    except (TypeError, ValueError):
        raise InvalidInputError(f"max_memory must be a number of GB, not {max_memory!r}") from None
    if not value > 0:
        raise InvalidInputError(f"max_memory must be positive (GB), got {max_memory}")
    return value


# ---------------------------------------------------------------- cubes

class CubeFactory:
    """Build cube files from sets of full-frame images.

    Parameters
    ----------
    max_memory : float
        Memory (GB) the image data may take while a cube is built; default 50.
    """

    def __init__(self, max_memory=50):
        self.max_memory = _check_max_memory(max_memory)

    def make_cube(self, file_list, cube_file="img-cube.fits", sector=None, max_memory=None,
                  verbose=True, executor=None):
        """Stack ``file_list`` into one cube file and return its path.

        The plugin that recognises the first file builds the cube. With ``executor`` (any
        :class:`concurrent.futures.Executor`), row bands are built by its workers.
        """
        files = _file_list(file_list)
        memory = self.max_memory if max_memory is None else _check_max_memory(max_memory)
        cube_file = os.fspath(cube_file)
        prepare_directory(os.path.dirname(cube_file) or ".", "cube_file's directory")
        product = identify_required(files[0], "an image")
        request = CubeRequest(files=tuple(files), cube_file=cube_file, product=product,
                              max_memory=memory, sector=sector, verbose=verbose,
                              executor=executor)
        result = _hook().astrocut_build_cube(request=request)
        if result is None:
            raise PluginError(f"no installed plugin builds cubes from {product!r} files "
                              f"such as {files[0]!r}")
        return result

    def update_cube(self, file_list, cube_file, max_memory=None, verbose=True):
        """Add the images in ``file_list`` to the existing ``cube_file``; return its path."""
        files = _file_list(file_list)
        cube_file = check_input_file(cube_file, "cube_file")
        memory = self.max_memory if max_memory is None else _check_max_memory(max_memory)
        product = identify_required(files[0], "an image")
        request = CubeRequest(files=tuple(files), cube_file=cube_file, product=product,
                              max_memory=memory, verbose=verbose)
        result = _hook().astrocut_update_cube(request=request)
        if result is None:
            raise PluginError(f"no installed plugin updates cubes with {product!r} files")
        return result


def open_cube(cube_file):
    """Open a cube through its plugin; the handle is a context manager."""
    cube_file = check_input_file(cube_file, "cube_file")
    product = identify_required(cube_file, "a cube")
    cube = _hook().astrocut_open_cube(path=cube_file, product=product)
    if cube is None:
        raise InvalidInputError(f"{cube_file!r} is a {product!r} file, not a cube that an "
                                f"installed plugin can cut")
    return cube


def cut_from_cube(cube, request):
    """Cut one stamp from an opened cube and fit its WCS (nothing is written)."""
    hook = _hook()
    cutout = hook.astrocut_cut_cube(cube=cube, request=request)
    if cutout is None:
        raise PluginError(f"no installed plugin cuts from {type(cube).__name__} handles")
    if cutout.fitted_wcs is None and cutout.image_wcs is not None:
        cutout.fitted_wcs = hook.astrocut_fit_wcs(wcs=cutout.image_wcs, corner=cutout.corner,
                                                  shape=cutout.shape)
    return cutout


def cube_base_name(cube_file):
    """The cube's file name without a trailing ``-cube.fits`` or ``.fits``."""
    name = os.path.basename(os.fspath(cube_file))
    for suffix in ("-cube.fits", ".fits"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def default_tpf_name(cube_file, center, shape):
    """``<cube base>_<ra>_<dec>_<nx>x<ny>_astrocut.fits`` as in the documented examples."""
    ny, nx = shape
    return f"{cube_base_name(cube_file)}_{center.ra.deg!r}_{center.dec.deg!r}_{nx}x{ny}_astrocut.fits"


def write_cutouts(cutouts, format, path, options=None):
    """Write ``cutouts`` through the writer hooks; return the path written."""
    written = _hook().astrocut_write(cutouts=list(cutouts), format=format, path=os.fspath(path),
                                     options=dict(options or {}))
    if written is None:
        kind = type(cutouts[0]).__name__ if cutouts else "empty"
        raise PluginError(f"no installed plugin writes {kind} cutouts as {format!r}")
    return written


def read_into_memory(cutouts, format, options=None):
    """Write ``cutouts`` through the writer hooks to a scratch file and return an in-memory HDUList.

    Going through the writer keeps one serialisation path, so an in-memory result is exactly
    what the file on disk would hold.
    """
    from astropy.io import fits

    scratch = tempfile.mkdtemp(prefix="astrocut-")
    try:
        path = write_cutouts(cutouts, format, os.path.join(scratch, "cutout.fits"), options)
        with fits.open(path, memmap=False) as hdulist:
            return fits.HDUList([hdu.copy() for hdu in hdulist])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


class CutoutFactory:
    """Cut target pixel files out of cube files."""

    def cube_cut(self, cube_file, coordinates, cutout_size, product="SPOC", target_pixel_file=None,
                 output_path=".", memory_only=False, verbose=False):
        """Cut a stamp around ``coordinates`` from ``cube_file`` and write a target pixel file.

        Parameters
        ----------
        cube_file : str
            A cube written by :meth:`CubeFactory.make_cube` (or the archive's tools).
        coordinates : str or `~astropy.coordinates.SkyCoord`
            The stamp centre; a string is ``"RA DEC"`` in degrees.
        cutout_size : int, [nx, ny] or `~astropy.units.Quantity`
            Columns by rows, in pixels or as angles.
        product : str
            The product the cube was made from (``"SPOC"``).
        target_pixel_file : str, optional
            Output file name; by default ``<cube base>_<ra>_<dec>_<nx>x<ny>_astrocut.fits``.
        output_path : str
            Directory for the file (created if missing); ignored if ``target_pixel_file``
            has a directory part.
        memory_only : bool
            Return an `~astropy.io.fits.HDUList` and write nothing.
        verbose : bool
            Print the stamp's limits, shapes and timings.

        Returns
        -------
        str or `~astropy.io.fits.HDUList`
        """
        started = time.perf_counter()
        center = parse_coordinates(coordinates)
        size = parse_cutout_size(cutout_size)
        if not memory_only:
            output_path = prepare_directory(output_path, "output_path")
        request = CubeCutRequest(center=center, size=size, product=product, verbose=verbose)
        with open_cube(cube_file) as cube:
            cutout = cut_from_cube(cube, request)
        (x0, y0), (ny, nx) = cutout.corner, cutout.shape
        if verbose:
            print(f"Cutout center coordinate: {center.ra.deg},{center.dec.deg}")
            print(f"xmin,xmax: [{x0} {x0 + nx}]")
            print(f"ymin,ymax: [{y0} {y0 + ny}]")
            print(f"Image cutout cube shape: {cutout.flux.shape}")
            print(f"Uncertainty cutout cube shape: {cutout.flux_err.shape}")
        write_started = time.perf_counter()
        if memory_only:
            result = read_into_memory([cutout], "tpf")
        else:
            name = target_pixel_file or default_tpf_name(cube_file, center, cutout.shape)
            path = name if os.path.dirname(name) else os.path.join(output_path, name)
            result = write_cutouts([cutout], "tpf", path)
            if verbose:
                print(f"Target pixel file: {result}")
        if verbose:
            print(f"Write time: {time.perf_counter() - write_started:.2g} sec")
            print(f"Total time: {time.perf_counter() - started:.2g} sec")
        return result


# ---------------------------------------------------------------- generic images

def _format_size(cutout):
    ny, nx = cutout.shape
    return f"{nx}-x-{ny}"


def _stem(path, drop_after):
    stem = os.path.basename(str(path).rstrip("/"))
    for suffix in (".gz", ".fz", ".fits", ".fit", ".fts"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
    if drop_after:
        stem = stem.split(drop_after)[0] or stem
    return stem


def _image_files(input_files):
    if isinstance(input_files, (str, os.PathLike)):
        input_files = [input_files]
    files = [os.fspath(f) for f in input_files]
    if not files:
        raise InvalidInputError("input_files is empty: give at least one FITS file")
    for path in files:
        if "://" not in path:
            check_input_file(path, "input file")
    return files


def _cut_images(input_files, coordinates, cutout_size, extension=None, correct_wcs=False,
                verbose=False):
    files = _image_files(input_files)
    request = ImageCutRequest(files=tuple(files), center=parse_coordinates(coordinates),
                              size=parse_cutout_size(cutout_size), extension=extension,
                              correct_wcs=correct_wcs, verbose=verbose)
    cutouts = _hook().astrocut_cut_images(request=request)
    if cutouts is None:
        raise PluginError(f"no installed plugin cuts images such as {files[0]!r}")
    if not cutouts:
        raise InvalidQueryError(f"the cutout at {request.center.ra.deg:.6f} "
                                f"{request.center.dec.deg:.6f} overlaps none of the inputs")
    return request, cutouts


def fits_cut(input_files, coordinates, cutout_size, correct_wcs=False, extension=None,
             single_outfile=True, cutout_prefix="cutout", output_dir=".", memory_only=False,
             drop_after=None, verbose=False):
    """Make the same cutout from each of several aligned FITS images.

    Returns the path of the one output file (``single_outfile=True``), a list of paths (one
    per input), or, with ``memory_only``, a list of `~astropy.io.fits.HDUList`.
    Names follow ``<prefix>_<ra>_<dec>_<nx>-x-<ny>_astrocut.fits`` (single file) or
    ``<input stem>_<ra>_<dec>_<nx>-x-<ny>_astrocut.fits`` (one per input).
    """
    request, cutouts = _cut_images(input_files, coordinates, cutout_size, extension, correct_wcs,
                                   verbose)
    center = request.center
    groups = [cutouts] if single_outfile else [[c] for c in cutouts]
    if memory_only:
        return [read_into_memory(group, "fits") for group in groups]
    output_dir = prepare_directory(output_dir, "output_dir")
    paths = []
    for group in groups:
        stem = cutout_prefix if single_outfile else _stem(group[0].source, drop_after)
        name = f"{stem}_{center.ra.deg:.6f}_{center.dec.deg:.6f}_{_format_size(group[0])}_astrocut.fits"
        paths.append(write_cutouts(group, "fits", os.path.join(output_dir, name)))
        if verbose:
            print(f"Cutout fits file(s): {paths[-1]}")
    return paths[0] if single_outfile else paths


def img_cut(input_files, coordinates, cutout_size, stretch="asinh", minmax_percent=None,
            minmax_value=None, invert=False, img_format="jpg", colorize=False,
            cutout_prefix="cutout", output_dir=".", drop_after=None, verbose=False):
    """Make the same cutout from each image and save it as a PNG or JPG.

    Returns a list of paths (one image per input), or with ``colorize=True`` the path of one
    colour image made from exactly three inputs (red, green, blue in that order).
    """
    from .normalize import check_scaling

    img_format = str(img_format).lower().lstrip(".")
    if img_format == "jpeg":
        img_format = "jpg"
    if img_format not in ("jpg", "png"):
        raise InvalidInputError(f"img_format {img_format!r} is not supported: use 'jpg' or 'png'")
    check_scaling(stretch, minmax_percent, minmax_value)
    files = _image_files(input_files)
    if colorize and len(files) != 3:
        raise InvalidInputError(f"colorize needs exactly three input files (red, green, blue), "
                                f"got {len(files)}")
    request, cutouts = _cut_images(files, coordinates, cutout_size, verbose=verbose)
    if colorize and len(cutouts) != 3:
        raise InvalidQueryError("colorize needs the cutout to overlap all three inputs")
    output_dir = prepare_directory(output_dir, "output_dir")
    center = request.center
    options = dict(stretch=stretch, minmax_percent=minmax_percent, minmax_value=minmax_value,
                   invert=invert, colorize=colorize)
    groups = [cutouts] if colorize else [[c] for c in cutouts]
    paths = []
    for group in groups:
        stem = cutout_prefix if colorize else _stem(group[0].source, drop_after)
        name = (f"{stem}_{center.ra.deg:.6f}_{center.dec.deg:.6f}_{_format_size(group[0])}"
                f"_astrocut.{img_format}")
        paths.append(write_cutouts(group, img_format, os.path.join(output_dir, name), options))
        if verbose:
            print(f"Cutout image: {paths[-1]}")
    return paths[0] if colorize else paths
