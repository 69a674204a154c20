"""The 1.x class interface to cube cutouts (``CubeCutout``), over the same hooks as cube_cut.

A mission plugin subclasses :class:`CubeCutout` to give it its own options (the 1.x class
of a mission is such a subclass, exported by its plugin); the cutting, WCS fitting and
writing are the hooks' own, so a cutout made here equals the one
:meth:`~astrocut.CutoutFactory.cube_cut` writes.
"""

import logging
import os
import warnings

import numpy as np

from .cubes import (check_threads, cut_from_cube, default_cutout_name, legacy_cutout_name,
                    open_cube)
from .dispatch import read_into_memory, write_cutouts
from .errors import DataWarning, InvalidInputError, InvalidQueryError
from .geometry import parse_coordinates, parse_cutout_size
from .models import CubeCutRequest
from .output import prepare_directory, write_zip

log = logging.getLogger(__name__)


def _input_list(input_files):
    if isinstance(input_files, (str, os.PathLike)):
        return [os.fspath(input_files)]
    try:
        files = [os.fspath(f) if isinstance(f, os.PathLike) else f for f in input_files]
    except TypeError:
        raise InvalidInputError(f"input_files must be a cube file or a list of them, not "
                                f"{input_files!r}") from None
    if not files:
        raise InvalidInputError("input_files is empty: give at least one cube file")
    return files


class CubeCutout:
    """Cut the same stamp from one or more cubes (1.x ``CubeCutout``); cut on creation.

    Parameters
    ----------
    input_files : str or list of str
        Cube files.
    coordinates : str or `~astropy.coordinates.SkyCoord`
        The stamp centre.
    cutout_size : int, [nx, ny] or Quantity
        Columns by rows (default 25).
    fill_value : float
        Value of flux and uncertainty pixels off the image (default NaN).
    limit_rounding_method : {"round", "ceil", "floor"}
        How the stamp's first pixel is rounded.
    threads : int or "auto"
        Accepted as in 1.x (used there for cloud reads).
    verbose : bool
        Log progress (INFO) through the ``astrocut`` logger.

    Attributes
    ----------
    cutouts, cutouts_by_file
        :class:`CubeCutout.CubeCutoutInstance` objects (a list, and keyed by input file).
    tpf_cutouts, tpf_cutouts_by_file
        The same stamps as in-memory target pixel files (HDULists), made on first access.
    """

    #: Options passed to the cube's plugin untouched (a mission subclass sets its own).
    mission_options = {}

    class CubeCutoutInstance:
        """One cube's stamp: ``data``/``uncertainty`` (n, ny, nx), ``aperture``, ``wcs``."""

        def __init__(self, cutout, fill_value, names=(None, None), output_format=None):
            self.cutout = cutout  # the plugin's astrocut.models.CubeCutout, as written
            # The cube plugin's default file name for it, and 1.x's legacy one.
            self.name, self.legacy_name = names
            self.output_format = output_format
            on_image = cutout.aperture.astype(bool)
            self.data = np.where(on_image, cutout.flux, fill_value).astype(cutout.flux.dtype)
            self.uncertainty = np.where(on_image, cutout.flux_err,
                                        fill_value).astype(cutout.flux_err.dtype)
            self.aperture = cutout.aperture
            (x0, y0), (ny, nx) = cutout.corner, cutout.shape
            self.shape = self.data.shape
            self.cutout_lims = np.array([[x0, x0 + nx], [y0, y0 + ny]])
            fitted = cutout.fitted_wcs
            self.wcs = fitted.wcs if fitted is not None else None
            if self.wcs is not None:
                self.wcs.pixel_shape = (nx, ny)
            self.wcs_fit = {
                "WCS_MSEP": [fitted.max_separation if fitted else np.nan,
                             "[deg] Max offset between cutout WCS and image WCS"],
                "WCS_SIG": [fitted.sigma if fitted else np.nan,
                            "[deg] Error measurement of cutout WCS fit"],
            }

    def __init__(self, input_files, coordinates, cutout_size=25, fill_value=np.nan,
                 limit_rounding_method="round", threads=1, verbose=False):
        self._files = _input_list(input_files)
        self._coordinates = parse_coordinates(coordinates)
        self._size = parse_cutout_size(cutout_size, limit_rounding_method)
        if isinstance(fill_value, bool) or not isinstance(fill_value, (int, float, np.number)):
            raise InvalidInputError(f"Fill value must be an integer or a float. fill_value="
                                    f"{fill_value!r} is not")
        self._fill_value = fill_value
        check_threads(threads)
        self._verbose = verbose
        self.cutouts_by_file = {}
        self._tpfs = None
        self._cut()

    def _cut(self):
        request = CubeCutRequest(center=self._coordinates, size=self._size,
                                 verbose=self._verbose,
                                 mission_options=dict(self.mission_options))
        for path in self._files:
            try:
                with open_cube(path) as cube:
                    cutout = cut_from_cube(cube, request)
                    names = (default_cutout_name(cube, self._coordinates, cutout.shape),
                             legacy_cutout_name(cube, path, self._coordinates, cutout.shape))
                    output_format = cube.output_format
            except InvalidQueryError as exc:
                warnings.warn(f"Cutout footprint does not overlap with data in {path}, "
                              f"skipping: {exc}", DataWarning, stacklevel=3)
                continue
            self.cutouts_by_file[path] = self.CubeCutoutInstance(cutout, self._fill_value, names,
                                                                 output_format)
            if self._verbose:
                log.info("Completed file %s", path)
        if not self.cutouts_by_file:
            raise InvalidQueryError(f"Cube cutout contains no data! The stamp at "
                                    f"{self._coordinates.ra.deg:.6f} "
                                    f"{self._coordinates.dec.deg:.6f} overlaps none of "
                                    f"{len(self._files)} cube(s)")

    @property
    def cutouts(self):
        return list(self.cutouts_by_file.values())

    @property
    def tpf_cutouts_by_file(self):
        if self._tpfs is None:
            self._tpfs = {path: read_into_memory([instance.cutout], instance.output_format)
                          for path, instance in self.cutouts_by_file.items()}
        return self._tpfs

    @property
    def tpf_cutouts(self):
        return list(self.tpf_cutouts_by_file.values())

    def _name(self, path, instance, legacy_filenames):
        return instance.legacy_name if legacy_filenames else instance.name

    def write_as_tpf(self, output_dir=".", output_file=None, legacy_filenames=False):
        """Write one target pixel file per cube; return their paths.

        ``output_file`` names the file (with several cubes, each name gets the cube's own
        name before it, so none is overwritten); by default the seed's names, or 1.x's
        pre-1.2 names with ``legacy_filenames``.
        """
        output_dir = prepare_directory(output_dir, "output_dir")
        several = len(self.cutouts_by_file) > 1
        paths = []
        for path, instance in self.cutouts_by_file.items():
            if output_file is None:
                name = self._name(path, instance, legacy_filenames)
            elif several:
                stem = os.path.splitext(os.path.basename(path))[0]
                name = f"{stem}_{os.path.basename(output_file)}"
            else:
                name = os.path.basename(output_file)
            paths.append(write_cutouts([instance.cutout], instance.output_format,
                                       os.path.join(output_dir, name)))
        return paths

    def write_as_zip(self, output_dir=".", filename=None, legacy_filenames=False):
        """Write every target pixel file into one zip archive; return its path."""
        default = "astrocut_{:.7f}_{:.7f}_{}.zip".format(
            self._coordinates.ra.deg, self._coordinates.dec.deg, len(self.cutouts_by_file))
        entries = ((self._name(cube, self.cutouts_by_file[cube], legacy_filenames), hdulist)
                   for cube, hdulist in self.tpf_cutouts_by_file.items())
        return write_zip(output_dir, filename, default, entries)
