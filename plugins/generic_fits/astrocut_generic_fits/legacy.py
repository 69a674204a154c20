"""The 1.x ``FITSCutout`` class, over the same cut and write hooks as ``fits_cut``/``img_cut``.

Exported as ``astrocut.FITSCutout`` through the ``astrocut_public_api`` hook. The stamps are
cut once, on creation; every output (HDULists, FITS files, pictures, a zip) goes through the
writer hooks, so a file written here equals the one ``fits_cut`` or ``img_cut`` writes.
"""

import os
import shutil
import tempfile
import warnings

import numpy as np

from astrocut import images
from astrocut.dispatch import read_into_memory, write_cutouts
from astrocut.errors import InputWarning, InvalidInputError
from astrocut.normalize import check_scaling, normalize_img
from astrocut.output import prepare_directory, staged_outputs, write_zip


def _picture_format(output_format):
    fmt = str(output_format).lower().lstrip(".")
    fmt = "jpg" if fmt == "jpeg" else fmt
    if fmt not in ("jpg", "png"):
        raise InvalidInputError(f"output_format {output_format!r} is not supported: use "
                                f"'.jpg' or '.png'")
    return fmt


class FITSCutout:
    """Cut the same region from one or more FITS images (1.x ``FITSCutout``).

    Parameters are :func:`astrocut.fits_cut`'s (``input_files``, ``coordinates``,
    ``cutout_size=25``, ``fill_value``, ``limit_rounding_method``, ``extension``,
    ``single_outfile``, ``verbose``, keyword-only ``fsspec_kwargs`` and ``allow_empty``).

    Attributes
    ----------
    cutouts, cutouts_by_file
        :class:`FITSCutout.CutoutInstance` objects (``data``, ``wcs``, ``shape``), a list and
        a dict of lists keyed by input file.
    fits_cutouts
        In-memory HDULists: one holding every stamp (``single_outfile``), else one per input.
    """

    class CutoutInstance:
        """One stamp: ``data`` (ny, nx), ``wcs`` (the input's, shifted), ``shape``, ``cutout``."""

        def __init__(self, cutout):
            self.cutout = cutout  # the plugin's astrocut.models.ImageCutout
            self.data = cutout.data
            self.wcs = cutout.wcs
            self.shape = cutout.data.shape

    normalize_img = staticmethod(normalize_img)

    def __init__(self, input_files, coordinates, cutout_size=25, fill_value=np.nan,
                 limit_rounding_method="round", extension=None, single_outfile=True,
                 verbose=False, *, fsspec_kwargs=None, allow_empty=False):
        files = images._image_files(input_files)
        self._single_outfile = bool(single_outfile)
        self._request, cutouts = images._cut_images(
            files, coordinates, cutout_size, extension=extension, verbose=verbose,
            fill_value=fill_value, limit_rounding_method=limit_rounding_method,
            fsspec_kwargs=fsspec_kwargs, allow_empty=allow_empty)
        self._groups = images._group_by_input(cutouts)
        self.cutouts_by_file = {group[0].source: [self.CutoutInstance(c) for c in group]
                                for group in self._groups}
        self._fits = None

    @property
    def cutouts(self):
        return [instance for group in self.cutouts_by_file.values() for instance in group]

    @property
    def fits_cutouts(self):
        if self._fits is None:
            groups = [sum(self._groups, [])] if self._single_outfile else self._groups
            self._fits = [read_into_memory(group, "fits") for group in groups]
        return self._fits

    def _fits_names(self, cutout_prefix):
        center = self._request.center
        if self._single_outfile:
            first = self._groups[0][0]
            return [images._output_name(cutout_prefix, center, first, "fits")]
        return [images._output_name(images._stem(group[0].source, None), center, group[0], "fits")
                for group in self._groups]

    def write_as_fits(self, output_dir=".", cutout_prefix="cutout"):
        """Write the FITS file(s) (one, or one per input); return a list of paths."""
        output_dir = prepare_directory(output_dir, "output_dir")
        groups = [sum(self._groups, [])] if self._single_outfile else self._groups
        with staged_outputs() as stage:  # all files, or none
            for group, name in zip(groups, self._fits_names(cutout_prefix)):
                write_cutouts(group, "fits", stage.path(os.path.join(output_dir, name)))
        return list(stage.finals)

    def write_as_zip(self, output_dir=".", filename=None):
        """Write the FITS file(s) into one zip archive; return its path."""
        center = self._request.center
        default = f"astrocut_{center.ra.deg:.7f}_{center.dec.deg:.7f}_{len(self.fits_cutouts)}"
        entries = ((name, hdulist) for hdulist, name
                   in zip(self.fits_cutouts, self._fits_names("cutout")))
        return write_zip(output_dir, filename, default, entries)

    def _picture_groups(self, colorize):
        cutouts = [instance.cutout for instance in self.cutouts]
        if not colorize:
            return [[cutout] for cutout in cutouts]
        if len(cutouts) > 3:
            warnings.warn("Too many inputs for a color cutout, only the first three will be "
                          "used (red, green, blue)", InputWarning, stacklevel=3)
        if len(cutouts) < 3:
            raise InvalidInputError(f"colorize needs three cutouts (red, green, blue), got "
                                    f"{len(cutouts)}")
        return [cutouts[:3]]

    def _options(self, stretch, minmax_percent, minmax_value, invert, colorize):
        check_scaling(stretch, minmax_percent, minmax_value)
        if minmax_percent is not None:
            minmax_value = None
        return dict(stretch=stretch, minmax_percent=minmax_percent, minmax_value=minmax_value,
                    invert=bool(invert), colorize=bool(colorize))

    def get_image_cutouts(self, stretch="asinh", minmax_percent=None, minmax_value=None,
                          invert=False, colorize=False, flip_orientation=True):
        """The stamps as :class:`PIL.Image.Image` pictures (one RGB picture with colorize).

        ``flip_orientation=True`` (the default) shows the first data row at the bottom, as
        astronomers view images; ``False`` keeps the array's order.
        """
        from PIL import Image, ImageOps

        options = self._options(stretch, minmax_percent, minmax_value, invert, colorize)
        scratch = tempfile.mkdtemp(prefix="astrocut-")
        try:
            pictures = []
            for index, group in enumerate(self._picture_groups(colorize)):
                path = write_cutouts(group, "png", os.path.join(scratch, f"{index}.png"), options)
                with Image.open(path) as picture:
                    picture.load()
                    pictures.append(picture if flip_orientation else ImageOps.flip(picture))
            return pictures
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    @property
    def image_cutouts(self):
        return self.get_image_cutouts()

    def write_as_img(self, stretch="asinh", minmax_percent=None, minmax_value=None,
                     invert=False, colorize=False, output_format=".jpg", output_dir=".",
                     cutout_prefix="cutout", flip_orientation=True):
        """Write the pictures; return the colour picture's path or a list of paths."""
        fmt = _picture_format(output_format)
        if not flip_orientation:
            pictures = self.get_image_cutouts(stretch, minmax_percent, minmax_value, invert,
                                              colorize, flip_orientation=False)
        options = self._options(stretch, minmax_percent, minmax_value, invert, colorize)
        output_dir = prepare_directory(output_dir, "output_dir")
        center = self._request.center
        with staged_outputs() as stage:  # all pictures, or none
            for index, group in enumerate(self._picture_groups(colorize)):
                stem = cutout_prefix if colorize else images._stem(group[0].source, None)
                if not colorize and len(self.cutouts_by_file[group[0].source]) > 1:
                    stem = f"{stem}_ext{group[0].extension}"
                path = os.path.join(output_dir, images._output_name(stem, center, group[0], fmt))
                if flip_orientation:
                    write_cutouts(group, fmt, stage.path(path), options)
                else:
                    pictures[index].save(stage.path(path),
                                         format="JPEG" if fmt == "jpg" else "PNG")
        paths = list(stage.finals)
        return paths[0] if colorize else paths
