"""Cubes and target pixel files: CubeFactory, CutoutFactory and the pieces bulk runs reuse."""

import os
import time

from . import remote
from .dispatch import (check_input, check_input_file, check_max_memory, file_list_argument, hook,
                       identify_required, read_into_memory, write_cutouts)
from .errors import InvalidInputError, PluginError
from .geometry import parse_coordinates, parse_cutout_size
from .frames import frame_selection
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
                  verbose=True, executor=None, mission_options=None):
        """Stack ``file_list`` into one cube file and return its path.

        ``mission_options`` (a dict) go to the cube's plugin untouched; the 1.x ``sector``
        argument is one of them.

        The plugin that recognises the first file builds the cube. With ``executor`` (any
        :class:`concurrent.futures.Executor`), row bands are built by its workers.
        """
        files = file_list_argument(file_list)
        memory = self.max_memory if max_memory is None else check_max_memory(max_memory)
        cube_file = check_path_text(cube_file, "cube_file")
        check_executor(executor)
        refuse_overwriting_inputs(cube_file, files, "cube_file")
        prepare_directory(os.path.dirname(cube_file) or ".", "cube_file's directory")
        kind = identify_required(files[0], "an image")
        # The 1.x ``sector`` argument is the mission's business: passed through untouched.
        options = dict(mission_options or {})
        if sector is not None:
            options["sector"] = sector
        request = CubeRequest(files=tuple(files), cube_file=cube_file, kind=kind,
                              max_memory=memory, verbose=verbose, executor=executor,
                              mission_options=options)
        result = hook().astrocut_build_cube(request=request)
        if result is None:
            raise InvalidInputError(f"file_list entry {files[0]!r} is a {kind!r} file: no "
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
        kind = identify_required(files[0], "an image")
        request = CubeRequest(files=tuple(files), cube_file=cube_file, kind=kind,
                              max_memory=memory, verbose=verbose, executor=executor)
        result = hook().astrocut_update_cube(request=request)
        if result is None:
            raise InvalidInputError(f"file_list entry {files[0]!r} is a {kind!r} file: no "
                                    f"installed plugin adds it to a cube (give images)")
        return result


def open_cube(cube_file):
    """Open a cube (a path or URL) through its plugin; the handle is a context manager.

    A URL is read with the ``fsspec_kwargs`` of the enclosing :func:`astrocut.remote.options`.
    """
    cube_file = check_input(cube_file, "cube_file")
    kind = identify_required(cube_file, "a cube")
    cube = hook().astrocut_open_cube(path=cube_file, kind=kind)
    if cube is None:
        raise InvalidInputError(f"{cube_file!r} is a {kind!r} file, not a cube that an "
                                f"installed plugin can cut")
    return cube


def cut_from_cube(cube, request):
    """Cut one stamp from an opened cube and fit its WCS (nothing is written).

    Cutting is the handle's own job (see docs/architecture.md); the core adds the WCS fit.
    """
    cutout = cube.cut(request)
    if cutout is None:
        raise PluginError(f"{type(cube).__name__}.cut returned nothing for {request.center}")
    if getattr(request, "frames", None) is not None and not cutout.metadata.get("frames_selected"):
        # A plugin that ignored the selection would hand back every frame unbinned.
        raise InvalidInputError(f"{cutout.source!r}: its plugin does not select or bin "
                                f"frames; cut without frames/times/bin_size")
    if cutout.fitted_wcs is None and cutout.image_wcs is not None:
        cutout.fitted_wcs = hook().astrocut_fit_wcs(wcs=cutout.image_wcs, corner=cutout.corner,
                                                  shape=cutout.shape)
    return cutout


def default_cutout_name(cube, center, shape):
    """The cube plugin's file name for a cutout at ``center`` of ``(ny, nx)`` ``shape``."""
    return cube.default_name(center, shape)


class CutoutFactory:
    """Cut target pixel files out of cube files."""

    def cube_cut(self, cube_file, coordinates, cutout_size, product=None, target_pixel_file=None,
                 output_path=".", memory_only=False, verbose=False, fsspec_kwargs=None,
                 frames=None, times=None, bin_size=None, bin_method="sum"):
        """Cut a stamp around ``coordinates`` from ``cube_file`` and write a target pixel file.

        Parameters
        ----------
        cube_file : str
            A cube written by :meth:`CubeFactory.make_cube` (or the archive's tools).
        coordinates : str or `~astropy.coordinates.SkyCoord`
            The stamp centre; a string is ``"RA DEC"`` in degrees.
        cutout_size : int, [nx, ny] or `~astropy.units.Quantity`
            Columns by rows, in pixels or as angles.
        product : str, optional
            Which pipeline made the cube's images: a mission option, passed to the cube's
            plugin untouched; by default the plugin's own (1.x callers may still pass it).
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
        frames : (int, int), slice or "START:STOP", optional
            Only these frames (0-based, stop excluded); only they are read.
        times : (float, float) or "START:STOP", optional
            Only the frames whose mid-time lies in this range (the cube's time system).
        bin_size : int, optional
            Bin consecutive frames by this many; a trailing partial bin is left out.
        bin_method : {"sum", "mean"}
            Sum (errors added in quadrature) or average the frames of a bin.

        Returns
        -------
        str or `~astropy.io.fits.HDUList`
        """
        started = time.perf_counter()
        selection = frame_selection(frames, times, bin_size, bin_method)
        center = parse_coordinates(coordinates)
        size = parse_cutout_size(cutout_size)
        if not memory_only:
            output_path = prepare_directory(output_path, "output_path")
        # ``product`` is the 1.x name of a mission option (which pipeline made the cube).
        options = {} if product is None else {"product": product}
        request = CubeCutRequest(center=center, size=size, verbose=verbose,
                                 mission_options=options, frames=selection)
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
            result = read_into_memory([cutout], cube.output_format)
        else:
            name = target_pixel_file or default_cutout_name(cube, center, cutout.shape)
            path = name if os.path.dirname(name) else os.path.join(output_path, name)
            prepare_directory(os.path.dirname(path) or ".", "target_pixel_file's directory")
            refuse_overwriting_inputs(path, [cube_file], "target_pixel_file")
            result = write_cutouts([cutout], cube.output_format, path)
            if verbose:
                print(f"Target pixel file: {result}")
        if verbose:
            print(f"Write time: {time.perf_counter() - write_started:.2g} sec")
            print(f"Total time: {time.perf_counter() - started:.2g} sec")
        return result
