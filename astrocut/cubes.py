"""Cubes and target pixel files: CubeFactory, CutoutFactory and the pieces bulk runs reuse."""

import os
import time

from . import remote
from .dispatch import (check_input, check_input_file, check_max_memory, file_list_argument, hook,
                       identify_required, read_into_memory, write_cutouts)
from .errors import InvalidInputError, PluginError
from .geometry import parse_coordinates, parse_cutout_size
from .models import CubeCutRequest, CubeRequest
from .output import check_path_text, prepare_directory, refuse_overwriting_inputs
from .runner import check_executor


class CubeFactory:
    """Build cube files from sets of full-frame images.

    Parameters
    ----------
    max_memory : float
        Memory (GB) the image data may take while a cube is built; default 50.
    """

    def __init__(self, max_memory=50):
        self.max_memory = check_max_memory(max_memory)

    def make_cube(self, file_list, cube_file="img-cube.fits", sector=None, max_memory=None,
                  verbose=True, executor=None):
        """Stack ``file_list`` into one cube file and return its path.

        The plugin that recognises the first file builds the cube. With ``executor`` (any
        :class:`concurrent.futures.Executor`), row bands are built by its workers.
        """
        files = file_list_argument(file_list)
        memory = self.max_memory if max_memory is None else check_max_memory(max_memory)
        cube_file = check_path_text(cube_file, "cube_file")
        check_executor(executor)
        refuse_overwriting_inputs(cube_file, files, "cube_file")
        prepare_directory(os.path.dirname(cube_file) or ".", "cube_file's directory")
        product = identify_required(files[0], "an image")
        request = CubeRequest(files=tuple(files), cube_file=cube_file, product=product,
                              max_memory=memory, sector=sector, verbose=verbose,
                              executor=executor)
        result = hook().astrocut_build_cube(request=request)
        if result is None:
            raise InvalidInputError(f"file_list entry {files[0]!r} is a {product!r} file: no "
                                    f"installed plugin builds cubes from it (give images)")
        return result

    def update_cube(self, file_list, cube_file, max_memory=None, verbose=True, executor=None):
        """Add the images in ``file_list`` to the existing ``cube_file``; return its path.

        With ``executor``, the rewritten cube's row bands are built by its workers.
        """
        files = file_list_argument(file_list)
        cube_file = check_input_file(cube_file, "cube_file")
        check_executor(executor)
        # update_cube rewrites cube_file on purpose; a new image must not be the cube itself.
        for path in files:
            refuse_overwriting_inputs(path, [cube_file], "file_list entry")
        memory = self.max_memory if max_memory is None else check_max_memory(max_memory)
        product = identify_required(files[0], "an image")
        request = CubeRequest(files=tuple(files), cube_file=cube_file, product=product,
                              max_memory=memory, verbose=verbose, executor=executor)
        result = hook().astrocut_update_cube(request=request)
        if result is None:
            raise InvalidInputError(f"file_list entry {files[0]!r} is a {product!r} file: no "
                                    f"installed plugin adds it to a cube (give images)")
        return result


def open_cube(cube_file):
    """Open a cube (a path or URL) through its plugin; the handle is a context manager.

    A URL is read with the ``fsspec_kwargs`` of the enclosing :func:`astrocut.remote.options`.
    """
    cube_file = check_input(cube_file, "cube_file")
    product = identify_required(cube_file, "a cube")
    cube = hook().astrocut_open_cube(path=cube_file, product=product)
    if cube is None:
        raise InvalidInputError(f"{cube_file!r} is a {product!r} file, not a cube that an "
                                f"installed plugin can cut")
    return cube


def cut_from_cube(cube, request):
    """Cut one stamp from an opened cube and fit its WCS (nothing is written)."""
    hooks = hook()
    cutout = hooks.astrocut_cut_cube(cube=cube, request=request)
    if cutout is None:
        raise PluginError(f"no installed plugin cuts from {type(cube).__name__} handles")
    if cutout.fitted_wcs is None and cutout.image_wcs is not None:
        cutout.fitted_wcs = hooks.astrocut_fit_wcs(wcs=cutout.image_wcs, corner=cutout.corner,
                                                  shape=cutout.shape)
    return cutout


def cube_base_name(cube_file):
    """The cube's file name without a trailing ``-cube.fits`` or ``.fits``."""
    name = os.path.basename(os.fspath(cube_file).split("?")[0].rstrip("/"))
    for suffix in ("-cube.fits", ".fits"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def default_tpf_name(cube_file, center, shape):
    """``<cube base>_<ra>_<dec>_<nx>x<ny>_astrocut.fits`` as in the documented examples."""
    ny, nx = shape
    return (f"{cube_base_name(cube_file)}_{float(center.ra.deg)!r}_{float(center.dec.deg)!r}"
            f"_{nx}x{ny}_astrocut.fits")


class CutoutFactory:
    """Cut target pixel files out of cube files."""

    def cube_cut(self, cube_file, coordinates, cutout_size, product="SPOC", target_pixel_file=None,
                 output_path=".", memory_only=False, verbose=False, fsspec_kwargs=None):
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
        fsspec_kwargs : dict, optional
            For a ``cube_file`` URL (``s3://``, ``https://`` ...): fsspec options such as
            ``anon``, ``endpoint_url``, credentials, ``headers`` (needs ``astrocut[remote]``).

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
        with remote.options(fsspec_kwargs), open_cube(cube_file) as cube:
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
            prepare_directory(os.path.dirname(path) or ".", "target_pixel_file's directory")
            refuse_overwriting_inputs(path, [cube_file], "target_pixel_file")
            result = write_cutouts([cutout], "tpf", path)
            if verbose:
                print(f"Target pixel file: {result}")
        if verbose:
            print(f"Write time: {time.perf_counter() - write_started:.2g} sec")
            print(f"Total time: {time.perf_counter() - started:.2g} sec")
        return result
