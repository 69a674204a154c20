"""Cutouts of aligned images: fits_cut and img_cut.

Both functions parse their arguments here, ask the plugins to cut (``astrocut_cut_images``)
and to write (the registered writer of the format); the names of the files are decided here, so every plugin
produces the names of the seed documentation:
``<prefix>_<ra:.6f>_<dec:.6f>_<nx>-x-<ny>_astrocut.fits`` for one file and
``<input stem>_<ra:.6f>_<dec:.6f>_<nx>-x-<ny>_astrocut.<fits|png|jpg>`` per input, where
``nx`` by ``ny`` is the stamp's size in pixels (columns by rows).
"""

import collections
import numbers
import os
import warnings

import numpy as np

from . import remote
from .dispatch import file_list_argument, hook, read_into_memory, write_cutouts
from .errors import DataWarning, InputWarning, InvalidInputError, InvalidQueryError, PluginError
from .geometry import parse_coordinates, parse_cutout_size
from .log import get_logger
from .models import ImageCutRequest
from .output import prepare_directory, refuse_overwriting_inputs, staged_outputs

logger = get_logger(__name__)

_FITS_SUFFIXES = (".gz", ".fz", ".bz2", ".fits", ".fit", ".fts")


def _format_size(cutout):
    ny, nx = cutout.shape
    return f"{nx}-x-{ny}"


def _stem(path, drop_after):
    """The input's file name without FITS/compression suffixes, cut at ``drop_after``."""
    stem = os.path.basename(str(path).rstrip("/"))
    if "://" in str(path):
        stem = stem.split("?")[0]
    changed = True
    while changed:
        changed = False
        for suffix in _FITS_SUFFIXES:
            if stem.lower().endswith(suffix) and len(stem) > len(suffix):
                stem = stem[: -len(suffix)]
                changed = True
    if drop_after:
        stem = stem.split(drop_after)[0] or stem
    return stem


def _output_name(stem, center, cutout, suffix):
    return (f"{stem}_{center.ra.deg:.6f}_{center.dec.deg:.6f}_{_format_size(cutout)}"
            f"_astrocut.{suffix}")


def _image_files(input_files):
    return file_list_argument(input_files, "input_files", entry="input file", allow_urls=True)


def _extension(extension):
    """``None``, ``"all"`` or a tuple of HDU indices; raise on anything else."""
    if extension is None:
        return None
    if isinstance(extension, str):
        if extension.lower() == "all":
            return "all"
        raise InvalidInputError(f"extension must be None, an HDU index, a list of them or "
                                f"'all', not {extension!r}")
    values = [extension] if isinstance(extension, numbers.Integral) else extension
    try:
        values = list(values)
    except TypeError:
        raise InvalidInputError(f"extension must be None, an HDU index, a list of them or "
                                f"'all', not {extension!r}") from None
    for value in values:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
            raise InvalidInputError(f"extension indices must be integers >= 0, got {value!r}")
    if not values:
        raise InvalidInputError("extension is an empty list: give at least one HDU index")
    return tuple(int(v) for v in values)


def _cut_images(files, coordinates, cutout_size, extension=None, correct_wcs=False,
                verbose=False, fill_value=np.nan, limit_rounding_method="round",
                fsspec_kwargs=None, allow_empty=False):
    """Cut ``files`` (already checked by :func:`_image_files`) through the plugins."""
    request = ImageCutRequest(files=tuple(files), center=parse_coordinates(coordinates),
                              size=parse_cutout_size(cutout_size, limit_rounding_method),
                              extension=_extension(extension), correct_wcs=bool(correct_wcs),
                              fill_value=_fill_value(fill_value), verbose=bool(verbose))
    with remote.options(_fsspec_kwargs(fsspec_kwargs)):
        cutouts = hook().astrocut_cut_images(request=request)
    if cutouts is None:
        raise PluginError(f"no installed plugin cuts images such as {files[0]!r}")
    if not cutouts:
        names = ", ".join(os.path.basename(f) for f in files)
        raise InvalidQueryError(f"Cutout contains no data! (Check image footprint.) The "
                                f"cutout at {request.center.ra.deg:.6f} "
                                f"{request.center.dec.deg:.6f} overlaps none of the inputs "
                                f"({names})")
    if not allow_empty:
        cutouts = _drop_empty(cutouts, request)
    else:
        for cutout in cutouts:
            if _is_empty(cutout.data):  # kept on request, and marked as 1.x marks it
                cutout.header["EMPTY"] = (True, "no data in the cutout (all zero or NaN)")
    return request, cutouts


def _fill_value(fill_value):
    if isinstance(fill_value, bool) or not isinstance(fill_value, numbers.Real):
        raise InvalidInputError(f"Fill value must be an integer or a float. fill_value="
                                f"{fill_value!r} is not")
    return float(fill_value)


def _fsspec_kwargs(fsspec_kwargs):
    if fsspec_kwargs is not None and not isinstance(fsspec_kwargs, dict):
        raise InvalidInputError(f"fsspec_kwargs must be a dict or None, not "
                                f"{type(fsspec_kwargs).__name__}")
    return fsspec_kwargs


def _is_empty(data):
    # 1.x's test: every pixel zero, or every pixel NaN.
    return bool(np.all(data == 0) or np.all(np.isnan(data)))


def _drop_empty(cutouts, request):
    """Skip stamps with no data (DataWarning); none left is an error, as in 1.x."""
    kept = []
    for cutout in cutouts:
        if _is_empty(cutout.data):
            warnings.warn(f"Cutout of {cutout.source} [extension {cutout.extension}] "
                          f"contains no data, skipping... (every pixel is zero or NaN)",
                          DataWarning, stacklevel=4)
        else:
            kept.append(cutout)
    if not kept:
        raise InvalidQueryError(f"Cutout contains no data! Every pixel of the stamp at "
                                f"{request.center.ra.deg:.6f} {request.center.dec.deg:.6f} "
                                f"is zero or NaN (check the image footprint, or pass "
                                f"allow_empty=True)")
    return kept


def _group_by_input(cutouts):
    groups = {}
    for cutout in cutouts:
        groups.setdefault(cutout.source, []).append(cutout)
    return list(groups.values())


def _final_path(output_dir, name, files):
    path = os.path.join(output_dir, name)
    refuse_overwriting_inputs(path, files, "output file")
    return path


def fits_cut(input_files, coordinates, cutout_size=25, correct_wcs=False, extension=None,
             single_outfile=True, cutout_prefix="cutout", output_dir=".", memory_only=False,
             fill_value=np.nan, limit_rounding_method="round", verbose=False, *,
             fsspec_kwargs=None, allow_empty=False, drop_after=None):
    """Make the same cutout from each of several aligned FITS images.

    No check is made that the images are aligned: the stamp is placed on each image with
    that image's own WCS.

    Parameters
    ----------
    input_files : str, path or list of them
        FITS files, local paths or URLs that astropy opens.
    coordinates : str or `~astropy.coordinates.SkyCoord`
        The stamp's centre; a string is ``"RA DEC"`` in degrees.
    cutout_size : int, [nx, ny] or `~astropy.units.Quantity`
        ``[200, 300]`` is 200 columns (NAXIS1) by 300 rows; a scalar is a square; Quantities
        in pixels or angles (converted with each image's pixel scale).
    correct_wcs : bool
        Accepted for compatibility and does nothing (the reference tool deprecated it): the
        cutout's WCS is already the input's, exact, with CRPIX shifted. ``True`` warns.
    extension : None, int, list of int or "all"
        HDUs to cut: by default the first image HDU with data and a celestial WCS.
    single_outfile : bool
        One file with a ``CUTOUT`` extension per cut HDU (default), or one file per input.
    cutout_prefix : str
        Start of the single file's name.
    output_dir : str
        Directory for the files (created if needed).
    memory_only : bool
        Return `~astropy.io.fits.HDUList` objects and write nothing.
    fill_value : float
        Value of stamp pixels that fall off the image (default NaN).
    limit_rounding_method : {"round", "ceil", "floor"}
        How the stamp's first pixel is rounded from its centre (as in 1.x).
    verbose : bool
        Print what is cut and written.
    fsspec_kwargs : dict, optional
        For URL inputs (``s3://``, ``https://`` ...): fsspec options such as ``anon``,
        ``endpoint_url``, credentials, ``headers`` (needs ``astrocut[remote]``). Only the
        headers and the stamp's bytes are read.
    allow_empty : bool
        Keep stamps whose pixels are all zero or NaN; by default they are skipped with a
        :class:`~astrocut.errors.DataWarning`, and none left is an error. Keyword only.
    drop_after : str, optional
        When not empty, per-input names use the input's file stem up to this text (keyword
        only).

    Returns
    -------
    str, list of str or list of `~astropy.io.fits.HDUList`
        The single file's path; with ``single_outfile=False`` a list of paths, one per input
        that the stamp overlaps; with ``memory_only`` a list of HDULists (one, or one per
        input).

    Raises
    ------
    InvalidInputError
        Bad arguments, missing or unreadable files, images of more than two dimensions.
    InvalidQueryError
        The stamp overlaps none of the inputs (inputs it misses are skipped with a
        :class:`~astrocut.errors.DataWarning` naming them), or every stamp is empty
        ("Cutout contains no data") and ``allow_empty`` is False.
    """
    if correct_wcs:
        warnings.warn("correct_wcs is accepted for compatibility and does nothing: the "
                      "cutout keeps the input's WCS (SIP included) with CRPIX shifted",
                      DeprecationWarning, stacklevel=2)
    request, cutouts = _cut_images(_image_files(input_files), coordinates, cutout_size,
                                   extension, correct_wcs, verbose, fill_value,
                                   limit_rounding_method, fsspec_kwargs, allow_empty)
    center = request.center
    groups = [cutouts] if single_outfile else _group_by_input(cutouts)
    if memory_only:
        return [read_into_memory(group, "fits") for group in groups]
    output_dir = prepare_directory(output_dir, "output_dir")
    with staged_outputs() as stage:
        for group in groups:
            stem = cutout_prefix if single_outfile else _stem(group[0].source, drop_after)
            path = _final_path(output_dir, _output_name(stem, center, group[0], "fits"),
                               request.files)
            write_cutouts(group, "fits", stage.path(path))
    paths = stage.finals
    if verbose:
        for path in paths:
            logger.info("Cutout fits file: %s", path)
    return paths[0] if single_outfile else paths


def img_cut(input_files, coordinates, cutout_size=25, stretch="asinh", minmax_percent=None,
            minmax_value=None, invert=False, img_format=".jpg", colorize=False,
            cutout_prefix="cutout", output_dir=".", extension=None, fill_value=np.nan,
            limit_rounding_method="round", verbose=False, *, fsspec_kwargs=None,
            allow_empty=False, drop_after=None):
    """Make the same cutout from each image and save it as a PNG or JPG picture.

    The pictures are oriented as astronomers view images: the first row of the data at the
    bottom, so a north-up WCS gives a north-up picture.

    Parameters
    ----------
    input_files, coordinates, cutout_size
        As for :func:`fits_cut`.
    stretch : str
        ``asinh`` (default), ``sinh``, ``sqrt``, ``log`` or ``linear``.
    minmax_percent : [low, high], optional
        Percentile interval; when neither this nor ``minmax_value`` is given,
        ``[0.5, 99.5]`` (as in the reference tool).
    minmax_value : [min, max], optional
        Value interval (ignored, with a warning, when ``minmax_percent`` is given).
    invert : bool
        Swap black and white.
    img_format : {"jpg", "png"}
        Picture format (``"jpeg"`` and a leading dot are accepted).
    colorize : bool
        Make one RGB picture from three inputs: red, green, blue in that order (with more,
        the first three are used, with a warning).
    cutout_prefix : str
        Start of the colour picture's name.
    output_dir : str
        Directory for the pictures (created if needed).
    extension : None, int, list of int or "all"
        As for :func:`fits_cut`; one picture per cut HDU.
    fill_value, limit_rounding_method, verbose, fsspec_kwargs, allow_empty, drop_after
        As for :func:`fits_cut`.

    Returns
    -------
    list of str or str
        One path per picture, or with ``colorize`` the colour picture's path.

    Raises
    ------
    InvalidInputError
        Bad arguments (including colorize with fewer than three inputs), missing files.
    InvalidQueryError
        The stamp overlaps none of the inputs, or (colorize) not all three.
    """
    from .normalize import check_scaling

    img_format = str(img_format).lower().lstrip(".")
    if img_format == "jpeg":
        img_format = "jpg"
    if img_format not in ("jpg", "png"):
        raise InvalidInputError(f"img_format {img_format!r} is not supported: use 'jpg' or 'png'")
    check_scaling(stretch, minmax_percent, minmax_value)
    if minmax_percent is not None:
        # Percentiles win (check_scaling has warned); the writer must not warn again.
        minmax_value = None
    files = _image_files(input_files)
    if colorize and len(files) > 3:
        warnings.warn(f"Too many inputs for a color cutout, only the first three will be "
                      f"used (red, green, blue; {len(files)} given)", InputWarning, stacklevel=2)
        files = files[:3]
    if colorize and len(files) != 3:
        raise InvalidInputError(f"colorize needs three input files (red, green, blue), "
                                f"got {len(files)}")
    request, cutouts = _cut_images(files, coordinates, cutout_size, extension=extension,
                                   verbose=verbose, fill_value=fill_value,
                                   limit_rounding_method=limit_rounding_method,
                                   fsspec_kwargs=fsspec_kwargs, allow_empty=allow_empty)
    if colorize and len(cutouts) != 3:
        raise InvalidQueryError(f"colorize needs one cutout from each of the three inputs, "
                                f"got {len(cutouts)}")
    output_dir = prepare_directory(output_dir, "output_dir")
    center = request.center
    options = dict(stretch=stretch, minmax_percent=minmax_percent, minmax_value=minmax_value,
                   invert=bool(invert), colorize=bool(colorize))
    groups = [cutouts] if colorize else [[c] for c in cutouts]
    per_input = collections.Counter(cutout.source for cutout in cutouts)
    with staged_outputs() as stage:
        for group in groups:
            stem = cutout_prefix if colorize else _stem(group[0].source, drop_after)
            if not colorize and per_input[group[0].source] > 1:
                # Several HDUs of one input: keep their pictures apart.
                stem = f"{stem}_ext{group[0].extension}"
            path = _final_path(output_dir, _output_name(stem, center, group[0], img_format),
                               request.files)
            write_cutouts(group, img_format, stage.path(path), options)
    paths = stage.finals
    if verbose:
        for path in paths:
            logger.info("Cutout image: %s", path)
    return paths[0] if colorize else paths
