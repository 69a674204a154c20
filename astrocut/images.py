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

from . import remote
from .dispatch import file_list_argument, hook, read_into_memory, write_cutouts
from .errors import InvalidInputError, InvalidQueryError, PluginError
from .geometry import parse_coordinates, parse_cutout_size
from .models import ImageCutRequest
from .output import prepare_directory, refuse_overwriting_inputs, staged_outputs

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
                verbose=False, fsspec_kwargs=None):
    """Cut ``files`` (already checked by :func:`_image_files`) through the plugins."""
    request = ImageCutRequest(files=tuple(files), center=parse_coordinates(coordinates),
                              size=parse_cutout_size(cutout_size),
                              extension=_extension(extension), correct_wcs=bool(correct_wcs),
                              verbose=bool(verbose))
    with remote.options(fsspec_kwargs):
        cutouts = hook().astrocut_cut_images(request=request)
    if cutouts is None:
        raise PluginError(f"no installed plugin cuts images such as {files[0]!r}")
    if not cutouts:
        names = ", ".join(os.path.basename(f) for f in files)
        raise InvalidQueryError(f"the cutout at {request.center.ra.deg:.6f} "
                                f"{request.center.dec.deg:.6f} overlaps none of the inputs "
                                f"({names})")
    return request, cutouts


def _group_by_input(cutouts):
    groups = {}
    for cutout in cutouts:
        groups.setdefault(cutout.source, []).append(cutout)
    return list(groups.values())


def _final_path(output_dir, name, files):
    path = os.path.join(output_dir, name)
    refuse_overwriting_inputs(path, files, "output file")
    return path


def fits_cut(input_files, coordinates, cutout_size, correct_wcs=False, extension=None,
             single_outfile=True, cutout_prefix="cutout", output_dir=".", memory_only=False,
             drop_after=None, verbose=False, fsspec_kwargs=None):
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
    drop_after : str, optional
        When not empty, per-input names use the input's file stem up to this text.
    verbose : bool
        Print what is cut and written.
    fsspec_kwargs : dict, optional
        For URL inputs (``s3://``, ``https://`` ...): fsspec options such as ``anon``,
        ``endpoint_url``, credentials, ``headers`` (needs ``astrocut[remote]``). Only the
        headers and the stamp's bytes are read.

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
        The stamp overlaps none of the inputs (inputs it misses are skipped with an
        :class:`~astrocut.errors.InputWarning` naming them).
    """
    if correct_wcs:
        warnings.warn("correct_wcs is accepted for compatibility and does nothing: the "
                      "cutout keeps the input's WCS (SIP included) with CRPIX shifted",
                      DeprecationWarning, stacklevel=2)
    request, cutouts = _cut_images(_image_files(input_files), coordinates, cutout_size,
                                   extension, correct_wcs, verbose, fsspec_kwargs)
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
            print(f"Cutout fits file: {path}")
    return paths[0] if single_outfile else paths


def img_cut(input_files, coordinates, cutout_size, stretch="asinh", minmax_percent=None,
            minmax_value=None, invert=False, img_format="jpg", colorize=False,
            cutout_prefix="cutout", output_dir=".", drop_after=None, verbose=False,
            extension=None, fsspec_kwargs=None):
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
        Make one RGB picture from exactly three inputs: red, green, blue in that order.
    cutout_prefix : str
        Start of the colour picture's name.
    output_dir : str
        Directory for the pictures (created if needed).
    drop_after : str, optional
        When not empty, per-input names use the input's file stem up to this text.
    verbose : bool
        Print what is cut and written.
    extension : None, int, list of int or "all"
        As for :func:`fits_cut`; one picture per cut HDU.
    fsspec_kwargs : dict, optional
        As for :func:`fits_cut`.

    Returns
    -------
    list of str or str
        One path per picture, or with ``colorize`` the colour picture's path.

    Raises
    ------
    InvalidInputError
        Bad arguments (including colorize without exactly three inputs), missing files.
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
    if colorize and len(files) != 3:
        raise InvalidInputError(f"colorize needs exactly three input files (red, green, blue), "
                                f"got {len(files)}")
    request, cutouts = _cut_images(files, coordinates, cutout_size, extension=extension,
                                   verbose=verbose, fsspec_kwargs=fsspec_kwargs)
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
            print(f"Cutout image: {path}")
    return paths[0] if colorize else paths
