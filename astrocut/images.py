"""Cutouts of aligned images: fits_cut and img_cut."""

import os

from .dispatch import check_input_file, hook, read_into_memory, write_cutouts
from .errors import InvalidInputError, InvalidQueryError, PluginError
from .geometry import parse_coordinates, parse_cutout_size
from .models import ImageCutRequest
from .output import prepare_directory


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
    cutouts = hook().astrocut_cut_images(request=request)
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
