"""Cubes and target pixel files: CubeFactory, CutoutFactory and the pieces bulk runs reuse."""

import logging
import os
import time

import numpy as np

from . import remote
from .dispatch import (check_input, check_input_file, check_max_memory, file_list_argument, hook,
                       identify_required, read_into_memory, write_cutouts)
from .errors import InvalidInputError, PluginError
from .geometry import parse_coordinates, parse_cutout_size
from .frames import frame_selection, with_name_part
from .models import CubeCutRequest, CubeRequest
from .output import check_path_text, prepare_directory, refuse_overwriting_inputs
from .runner import check_executor

_log = logging.getLogger(__name__)


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

    def update_cube(self, file_list, cube_file, sector=None, max_memory=None, verbose=True,
                    executor=None):
        """Add the images in ``file_list`` to the existing ``cube_file``; return its path.

        ``sector`` (as in 1.x) is checked like :meth:`make_cube`'s. With ``executor``, the
        rewritten cube's row bands are built by its workers.
        """
        files = file_list_argument(file_list)
        cube_file = check_input_file(cube_file, "cube_file")
        check_executor(executor)
        # update_cube rewrites cube_file on purpose; a new image must not be the cube itself.
        for path in files:
            refuse_overwriting_inputs(path, [cube_file], "file_list entry")
        memory = self.max_memory if max_memory is None else check_max_memory(max_memory)
        kind = identify_required(files[0], "an image")
        # As in make_cube: the 1.x ``sector`` is a mission option, passed through untouched.
        options = {} if sector is None else {"sector": sector}
        request = CubeRequest(files=tuple(files), cube_file=cube_file, kind=kind,
                              max_memory=memory, verbose=verbose, executor=executor,
                              mission_options=options)
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


def cut_options(placement="center", limit_rounding_method="round", time_correction="target",
                background=False, target=None):
    """Check the stamp options of ``cube_cut`` and ``cube_cut_many``; return the request's
    ``(placement, limit_rounding_method, options)``, ``options`` for ``mission_options``."""
    from .geometry import check_placement

    check_placement(placement, limit_rounding_method)
    # Its other values are the cube plugin's (which checks them).
    if not isinstance(time_correction, str):
        raise InvalidInputError(f"time_correction must be a string such as 'target', not "
                                f"{time_correction!r}")
    if not isinstance(background, (bool, np.bool_)):
        raise InvalidInputError(f"background must be True or False, not {background!r}")
    if target is not None and not hasattr(target, "items"):
        raise InvalidInputError(f"target must be a mapping of header keywords to values "
                                f"(e.g. {{'OBJECT': 'TIC 1', 'TICID': 1}}), not {target!r}")
    target = {str(key).upper(): value for key, value in (target or {}).items()}
    options = {"time_correction": time_correction, "background": bool(background),
               "target": target}
    return placement, limit_rounding_method.lower(), options


def target_keywords(row, names):
    """A targets-table row's header keywords: the named columns, upper-cased, blanks left out."""
    out = {}
    for name in names:
        value = row[name]
        if np.ma.is_masked(value):
            continue
        value = value.item() if hasattr(value, "item") else value
        if isinstance(value, bytes):
            value = value.decode("ascii", "replace")
        if isinstance(value, str) and not value.strip():
            continue
        out[name.upper()] = value
    return out


def default_cutout_name(cube, center, shape, selection=None):
    """The cube plugin's file name for a cutout at ``center`` of ``(ny, nx)`` ``shape``, with
    the frame ``selection``'s name part (:func:`astrocut.frames.name_part`)."""
    return with_name_part(cube.default_name(center, shape), selection)


def legacy_cutout_name(cube, cube_file, center, shape, selection=None):
    """1.x's ``legacy_filenames`` name: ``<base>_<ra:.6f>_<dec:.6f>_<nx>x<ny>_astrocut.fits``.

    ``<base>`` is the one the cube's plugin puts in front of the seed's name
    (``<base>_<ra>_<dec>_<nx>x<ny>_astrocut.fits``); failing that, the cube's file name
    without its extension.
    """
    ny, nx = shape
    default = default_cutout_name(cube, center, shape)
    for seed_tail in (f"_{float(center.ra.deg)!r}_{float(center.dec.deg)!r}_{nx}x{ny}_astrocut.fits",
                      f"_{round(float(center.ra.deg), 6)!r}_{round(float(center.dec.deg), 6)!r}"
                      f"_{nx}x{ny}_astrocut.fits"):
        if default.endswith(seed_tail) and len(default) > len(seed_tail):
            base = default[: -len(seed_tail)]
            break
    else:
        base = os.path.splitext(os.path.basename(os.fspath(cube_file).split("?")[0]))[0]
    return with_name_part(f"{base}_{center.ra.deg:.6f}_{center.dec.deg:.6f}_{nx}x{ny}"
                          "_astrocut.fits", selection)


def check_threads(threads):
    """``threads`` as 1.x accepts it: a positive integer or ``"auto"``."""
    if threads == "auto":
        return threads
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise InvalidInputError(f"threads must be a positive integer or 'auto', not {threads!r}")
    return threads


def _check_tpf_name(target_pixel_file):
    if target_pixel_file is None or isinstance(target_pixel_file, (str, os.PathLike)):
        return None if target_pixel_file is None else os.fspath(target_pixel_file)
    raise InvalidInputError(f"target_pixel_file must be a file name (str or path), not "
                            f"{target_pixel_file!r}")


def _report(message):
    # The seed's verbose output is printed; the same lines go to the astrocut logger as INFO
    # records, as 1.x logs them.
    print(message)
    _log.info(message)


class CutoutFactory:
    """Cut target pixel files out of cube files.

    After :meth:`cube_cut`, the 1.x attributes describe the last cut: ``cube_wcs`` (the
    cube's image WCS), ``center_coord`` (the stamp centre, ICRS), ``cutout_lims`` (0-based
    ``[[xmin, xmax], [ymin, ymax]]``, ends exclusive) and ``cutout_wcs`` (the stamp's fitted
    linear WCS).
    """

    cube_wcs = center_coord = cutout_lims = cutout_wcs = None

    def cube_cut(self, cube_file, coordinates, cutout_size, target_pixel_file=None,
                 output_path=".", memory_only=False, threads=1, verbose=False,
                 legacy_filenames=False, *, product=None, fsspec_kwargs=None, frames=None,
                 times=None, bin_size=None, bin_method="sum", placement="center",
                 limit_rounding_method="round", time_correction="target", background=False,
                 target=None):
        """Cut a stamp around ``coordinates`` from ``cube_file`` and write a target pixel file.

        Parameters
        ----------
        cube_file : str
            A cube written by :meth:`CubeFactory.make_cube` (or the archive's tools).
        coordinates : str or `~astropy.coordinates.SkyCoord`
            The stamp centre; a string is ``"RA DEC"`` in degrees.
        cutout_size : int, [nx, ny] or `~astropy.units.Quantity`
            Columns by rows, in pixels or as angles.
        target_pixel_file : str, optional
            Output file name (the 4th positional argument, as in the seed and 1.x); by
            default ``<cube base>_<ra>_<dec>_<nx>x<ny>_astrocut.fits``.
        output_path : str
            Directory for the file (created if missing); ignored if ``target_pixel_file``
            has a directory part.
        memory_only : bool
            Return an `~astropy.io.fits.HDUList` and write nothing.
        threads : int or "auto"
            Accepted as in 1.x (which used threads for cloud reads); checked, not needed.
        verbose : bool
            Print the stamp's limits, shapes and timings, and log them (INFO) through the
            ``astrocut`` logger.
        legacy_filenames : bool
            Name the file as 1.x did before 1.2: ``<ra:.6f>_<dec:.6f>_<nx>x<ny>``.
        product : str, optional
            Keyword only. Which pipeline made the cube's images: a mission option, passed to
            the cube's plugin untouched; by default the plugin's own.
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
        placement : str
            ``"center"``: the stamp is centred on the target (its first pixel is
            ``round(c - (n - 1) / 2)``: for odd ``n`` the target's pixel is the middle one).
            ``"reference"``: the pixels astrocut 1.x cuts (first pixel ``round(c - n / 2)``).
        limit_rounding_method : str
            ``"round"``, ``"ceil"`` or ``"floor"`` in place of ``round`` above, as in 1.x.
        time_correction : str
            ``"target"``: ``TIME`` and ``TIMECORR`` are corrected to the barycentre toward the
            target; the cube's plugin may offer others (e.g. keep the images' own times, as
            the archive's cutouts do).
        background : bool
            Estimate the sky per cadence from the background pixels (``FLUX_BKG``) and
            subtract it from ``FLUX``. Off by default: the images' flux is kept.
        target : dict, optional
            Target header keywords (``OBJECT``, ``TICID``, ``TESSMAG``, ``PMRA``, ...).

        Returns
        -------
        str or `~astropy.io.fits.HDUList`
        """
        started = time.perf_counter()
        target_pixel_file = _check_tpf_name(target_pixel_file)
        check_threads(threads)
        selection = frame_selection(frames, times, bin_size, bin_method)
        center = parse_coordinates(coordinates)
        size = parse_cutout_size(cutout_size)
        if not memory_only:
            output_path = prepare_directory(output_path, "output_path")
        # ``product`` is the 1.x name of a mission option (which pipeline made the cube).
        placement, rounding, options = cut_options(placement, limit_rounding_method,
                                                   time_correction, background, target)
        if product is not None:
            options["product"] = product
        request = CubeCutRequest(center=center, size=size, verbose=verbose,
                                 mission_options=options, frames=selection,
                                 placement=placement, limit_rounding_method=rounding)
        with remote.options(fsspec_kwargs), open_cube(cube_file) as cube:
            cutout = cut_from_cube(cube, request)
        (x0, y0), (ny, nx) = cutout.corner, cutout.shape
        self._remember(cutout)
        if verbose:
            _report(f"Cutout center coordinate: {center.ra.deg},{center.dec.deg}")
            _report(f"xmin,xmax: [{x0} {x0 + nx}]")
            _report(f"ymin,ymax: [{y0} {y0 + ny}]")
            _report(f"Image cutout cube shape: {cutout.flux.shape}")
            _report(f"Uncertainty cutout cube shape: {cutout.flux_err.shape}")
        write_started = time.perf_counter()
        if memory_only:
            result = read_into_memory([cutout], cube.output_format)
        else:
            if legacy_filenames:
                default = legacy_cutout_name(cube, cube_file, center, cutout.shape, selection)
            else:
                default = default_cutout_name(cube, center, cutout.shape, selection)
            name = target_pixel_file or default
            path = name if os.path.dirname(name) else os.path.join(output_path, name)
            prepare_directory(os.path.dirname(path) or ".", "target_pixel_file's directory")
            refuse_overwriting_inputs(path, [cube_file], "target_pixel_file")
            result = write_cutouts([cutout], cube.output_format, path)
            if verbose:
                _report(f"Target pixel file: {result}")
        if verbose:
            _report(f"Write time: {time.perf_counter() - write_started:.2g} sec")
            _report(f"Total time: {time.perf_counter() - started:.2g} sec")
        return result

    def _remember(self, cutout):
        (x0, y0), (ny, nx) = cutout.corner, cutout.shape
        self.cube_wcs = cutout.image_wcs
        self.center_coord = cutout.center
        self.cutout_lims = np.array([[x0, x0 + nx], [y0, y0 + ny]])
        self.cutout_wcs = cutout.fitted_wcs.wcs if cutout.fitted_wcs is not None else None


def cube_cut(cube_file, coordinates, cutout_size, target_pixel_file=None, output_path=".",
             memory_only=False, threads=1, verbose=False, legacy_filenames=False):
    """The 1.x module-level function: :meth:`CutoutFactory.cube_cut` on a new factory."""
    return CutoutFactory().cube_cut(cube_file, coordinates, cutout_size, target_pixel_file,
                                    output_path, memory_only, threads, verbose,
                                    legacy_filenames)
