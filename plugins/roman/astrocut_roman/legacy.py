"""The 1.x ``ASDFCutout`` class and ``asdf_cut`` function, over this plugin's cutter and the
writer hooks.

Exported as ``astrocut.ASDFCutout`` and ``astrocut.asdf_cut`` through ``astrocut_public_api``.
Stamps are cut once, on creation, with one open per file; every output (ASDF objects and
files, HDULists and FITS files, pictures, zips) goes through the same writers as
``fits_cut`` and ``img_cut``, so files written here equal theirs.
"""

import io
import numbers
import os
import shutil
import tempfile
import warnings

import numpy as np

from astrocut import remote
from astrocut.dispatch import read_into_memory, write_cutouts
from astrocut.errors import DataWarning, InputWarning, InvalidInputError, InvalidQueryError
from astrocut.geometry import parse_cutout_size
from astrocut.output import prepare_directory, write_zip

from . import selection
from .cutter import cut_positions
from .writer import full_node, lite_node


def _fill_value(value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidInputError(f"Fill value must be an integer or a float, not {value!r}.")
    return value


def _credentials(key, secret, token):
    """fsspec options for S3 inputs: the credentials given, or anonymous access."""
    if key is None and secret is None and token is None:
        return {"anon": True}
    return {k: v for k, v in (("key", key), ("secret", secret), ("token", token)) if v}


class ASDFCutout:
    """Cut the same sky positions out of one or more Roman ASDF images (1.x ``ASDFCutout``).

    Parameters follow 1.x: ``input_files``, ``coordinates`` (one position or several),
    ``cutout_size=25``, ``fill_value=nan`` (made an integer for integer arrays, 0 where it
    cannot be), ``key``/``secret``/``token`` (S3 credentials; anonymous without them),
    ``lite=True``, ``asdf_kwargs`` (for :func:`asdf.open`), ``verbose``.

    Results are astropy Tables with ``file``, ``coordinate`` and ``cutout`` columns:
    ``cutouts`` (:class:`~astropy.nddata.Cutout2D`), ``asdf_cutouts``
    (:class:`asdf.AsdfFile`), ``fits_cutouts`` (:class:`~astropy.io.fits.HDUList`); the
    ``get_*`` methods choose rows by file and position, the ``iter_*`` methods yield them.
    """

    def __init__(self, input_files, coordinates, cutout_size=25, fill_value=np.nan, key=None,
                 secret=None, token=None, lite=True, asdf_kwargs=None, verbose=False):
        self._files = selection.file_list(input_files)
        self._coordinates = selection.coordinate_list(coordinates)
        if not self._coordinates:
            raise InvalidInputError("At least one coordinate must be provided.")
        self._size = parse_cutout_size(cutout_size)
        self._fill = _fill_value(fill_value)
        if asdf_kwargs is not None and not isinstance(asdf_kwargs, dict):
            raise InvalidInputError("asdf_kwargs must be a dictionary.")
        self._asdf_kwargs = dict(asdf_kwargs or {})
        self._fsspec_kwargs = _credentials(key, secret, token)
        self._lite = bool(lite)
        self._verbose = bool(verbose)
        self._rows = self._cut()
        self._tables = {}

    # ------------------------------------------------------------------ cutting
    def _cut(self):
        rows = []
        with remote.options(self._fsspec_kwargs):
            for path in self._files:
                rows.extend(self._cut_file(path))
        if not rows:
            raise InvalidQueryError("Cutout contains no data! (no position falls on the data "
                                    "of any input file)")
        return rows

    def _cut_file(self, path):
        try:
            results = cut_positions(path, self._coordinates, self._size, self._fill,
                                    self._asdf_kwargs, cutout2d=True)
        except InvalidInputError as exc:
            warnings.warn(f"Skipping {path}: {exc} (it does not contain a GWCS object, or "
                          f"it is not a Roman ASDF image)", DataWarning, stacklevel=4)
            return []
        rows = []
        for coordinate, result in zip(self._coordinates, results):
            if isinstance(result, InvalidQueryError):
                warnings.warn(f"Cutout of {path} at {selection.key(coordinate)} does not "
                              f"overlap the image ({result}). Skipping this coordinate for "
                              f"this file.", DataWarning, stacklevel=4)
            elif not np.any(np.nan_to_num(result.data, nan=0.0)):
                warnings.warn(f"Cutout of {path} at {selection.key(coordinate)} contains no "
                              f"data, skipping...", DataWarning, stacklevel=4)
            else:
                result.lite = self._lite  # the form its FITS file embeds, as its ASDF file
                if self._verbose:
                    import logging

                    logging.getLogger("astrocut").info(
                        "Cutout of %s at %s: corner %s, shape %s", path,
                        selection.key(coordinate), result.corner, result.shape)
                rows.append((path, coordinate, result))
        return rows

    # --------------------------------------------------------------- representations
    def _node(self, cutout):
        return lite_node(cutout) if self._lite else full_node(cutout, os.path.basename(
            self._file_name(cutout, ".asdf")))

    def _as(self, kind, cutout):
        if kind == "cutout":
            return cutout.cutout2d
        if kind == "asdf":
            import asdf

            return asdf.AsdfFile({"roman": self._node(cutout)})
        return read_into_memory([cutout], "fits")

    def _table(self, kind):
        if kind not in self._tables:
            self._tables[kind] = selection.table(
                [(f, c, self._as(kind, cut)) for f, c, cut in self._rows])
        return self._tables[kind]

    def _filtered(self, kind, input_files, coordinates):
        table = self._table(kind)
        chosen = selection.select(self._rows, input_files, coordinates)
        wanted = {id(row[2]) for row in chosen}
        return table[[id(cut) in wanted for _, _, cut in self._rows]]

    def _iterate(self, kind, input_files, coordinates):
        for path, coordinate, cutout in selection.select(self._rows, input_files, coordinates):
            yield path, coordinate, self._as(kind, cutout)

    @property
    def cutouts(self):
        return self._table("cutout")

    @property
    def cutouts_by_file(self):
        by_file = {}
        for path, coordinate, cutout in self._rows:
            by_file.setdefault(path, {})[selection.key(coordinate)] = cutout.cutout2d
        return by_file

    @property
    def asdf_cutouts(self):
        return self._table("asdf")

    @property
    def fits_cutouts(self):
        return self._table("fits")

    def get_cutouts(self, input_files=None, coordinates=None):
        return self._filtered("cutout", input_files, coordinates)

    def iter_cutouts(self, input_files=None, coordinates=None):
        return self._iterate("cutout", input_files, coordinates)

    def get_asdf_cutouts(self, input_files=None, coordinates=None):
        return self._filtered("asdf", input_files, coordinates)

    def iter_asdf_cutouts(self, input_files=None, coordinates=None):
        return self._iterate("asdf", input_files, coordinates)

    def get_fits_cutouts(self, input_files=None, coordinates=None):
        return self._filtered("fits", input_files, coordinates)

    def iter_fits_cutouts(self, input_files=None, coordinates=None):
        return self._iterate("fits", input_files, coordinates)

    # --------------------------------------------------------------------- files
    def _file_name(self, cutout, extension, stem=None):
        """1.x names: ``<input stem>_<ra:.7f>_<dec:.7f>_<nx>-x-<ny>[_lite]_astrocut<ext>``."""
        from pathlib import PurePosixPath

        ny, nx = cutout.shape
        center = cutout.center
        stem = stem or PurePosixPath(cutout.source.split("?")[0]).stem
        return (f"{stem}_{center.ra.deg:.7f}_{center.dec.deg:.7f}_"
                f"{nx}-x-{ny}{'_lite' if self._lite else ''}_astrocut{extension}")

    def _write(self, fmt, output_dir, input_files, coordinates):
        output_dir = prepare_directory(output_dir, "output_dir")
        options = {"lite": self._lite} if fmt == "asdf" else None
        paths = []
        for _, _, cutout in selection.select(self._rows, input_files, coordinates):
            name = os.path.join(output_dir, self._file_name(cutout, f".{fmt}"))
            paths.append(write_cutouts([cutout], fmt, name, options))
        return paths

    def write_as_asdf(self, output_dir=".", *, input_files=None, coordinates=None):
        """Write one ASDF file per stamp; return their paths."""
        return self._write("asdf", output_dir, input_files, coordinates)

    def write_as_fits(self, output_dir=".", *, input_files=None, coordinates=None):
        """Write one FITS file per stamp (a fitted WCS, WCS_MSEP/WCS_SIG); return the paths."""
        return self._write("fits", output_dir, input_files, coordinates)

    def write_as_zip(self, output_dir=".", filename=None, *, output_format=".asdf",
                     input_files=None, coordinates=None):
        """Write every stamp, as ASDF or FITS, into one zip archive; return its path."""
        fmt = str(output_format).lower()
        fmt = fmt if fmt.startswith(".") else f".{fmt}"
        if fmt not in (".asdf", ".fits"):
            raise InvalidInputError(f"File format must be either '.asdf' or '.fits', not "
                                    f"{output_format!r}")
        entries = ((self._file_name(cutout, fmt), self._bytes(cutout, fmt))
                   for _, _, cutout in selection.select(self._rows, input_files, coordinates))
        return write_zip(output_dir, filename, f"astrocut_{fmt[1:]}_cutouts", entries)

    def _bytes(self, cutout, fmt):
        buffer = io.BytesIO()
        if fmt == ".asdf":
            self._as("asdf", cutout).write_to(buffer)
        else:
            self._as("fits", cutout).writeto(buffer)
        return buffer.getvalue()

    # ------------------------------------------------------------------ pictures
    def _picture_groups(self, colorize, input_files, coordinates):
        rows = selection.select(self._rows, input_files, coordinates)
        if not colorize:
            return [(path, coordinate, [cutout]) for path, coordinate, cutout in rows]
        groups = {}
        for path, coordinate, cutout in rows:
            groups.setdefault(selection.key(coordinate), []).append((path, coordinate, cutout))
        chosen = []
        for key, members in groups.items():
            if len(members) < 3:
                warnings.warn(f"Color cutouts require 3 input images (RGB); {key} has "
                              f"{len(members)}. Skipping...", InputWarning, stacklevel=4)
                continue
            if len(members) > 3:
                warnings.warn(f"More than 3 cutouts found for coordinate {key}; the first "
                              f"three are used (red, green, blue)", InputWarning, stacklevel=4)
            members = members[:3]
            chosen.append(([m[0] for m in members], members[0][1], [m[2] for m in members]))
        return chosen

    @staticmethod
    def _options(stretch, minmax_percent, minmax_value, invert, colorize):
        return {"stretch": stretch, "minmax_percent": minmax_percent,
                "minmax_value": minmax_value, "invert": bool(invert), "colorize": bool(colorize)}

    def iter_image_cutouts(self, stretch="asinh", minmax_percent=None, minmax_value=None,
                           invert=False, colorize=False, input_files=None, coordinates=None):
        """Yield ``(file or files, coordinate, PIL.Image)``, one RGB picture per position
        with ``colorize``."""
        from PIL import Image

        options = self._options(stretch, minmax_percent, minmax_value, invert, colorize)
        scratch = tempfile.mkdtemp(prefix="astrocut-")
        try:
            for index, (files, coordinate, group) in enumerate(
                    self._picture_groups(colorize, input_files, coordinates)):
                path = write_cutouts(group, "png", os.path.join(scratch, f"{index}.png"), options)
                with Image.open(path) as picture:
                    picture.load()
                yield files, coordinate, picture
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def get_image_cutouts(self, stretch="asinh", minmax_percent=None, minmax_value=None,
                          invert=False, colorize=False, input_files=None, coordinates=None):
        """The pictures as a Table (``file``, ``coordinate``, ``cutout`` PIL images)."""
        rows = list(self.iter_image_cutouts(stretch, minmax_percent, minmax_value, invert,
                                            colorize, input_files, coordinates))
        return selection.table([(str(f), c, p) for f, c, p in rows])

    @property
    def image_cutouts(self):
        return self.get_image_cutouts()

    def write_as_img(self, stretch="asinh", minmax_percent=None, minmax_value=None,
                     invert=False, colorize=False, output_format=".jpg", output_dir=".",
                     input_files=None, coordinates=None):
        """Write the pictures (one per stamp, or one RGB per position); return the paths."""
        fmt = str(output_format).lower().lstrip(".")
        fmt = "jpg" if fmt == "jpeg" else fmt
        if fmt not in ("jpg", "png"):
            raise InvalidInputError(f"output_format {output_format!r} is not supported: use "
                                    f"'.jpg' or '.png'")
        options = self._options(stretch, minmax_percent, minmax_value, invert, colorize)
        output_dir = prepare_directory(output_dir, "output_dir")
        paths = []
        for _, _, group in self._picture_groups(colorize, input_files, coordinates):
            name = self._file_name(group[0], f".{fmt}", stem="cutout" if colorize else None)
            paths.append(write_cutouts(group, fmt, os.path.join(output_dir, name), options))
        return paths


def asdf_cut(input_files, ra, dec, cutout_size=25, output_file="example_roman_cutout.fits",
             write_file=True, fill_value=np.nan, output_dir=".", output_format=".asdf",
             key=None, secret=None, token=None, lite=True, verbose=False):
    """Cut ``ra``, ``dec`` (degrees) out of ASDF images (1.x ``asdf_cut``).

    Returns the paths written (``output_format`` ``.asdf`` or ``.fits``, one file per input
    in ``output_dir``), or with ``write_file=False`` the Table of Cutout2D stamps.
    ``output_file`` is accepted for 1.x scripts and ignored, as in 1.x.
    """
    cutout = ASDFCutout(input_files, f"{ra} {dec}", cutout_size, fill_value, key=key,
                        secret=secret, token=token, lite=lite, verbose=verbose)
    if not write_file:
        return cutout.cutouts
    fmt = str(output_format).lower()
    fmt = fmt if fmt.startswith(".") else f".{fmt}"
    if fmt == ".asdf":
        return cutout.write_as_asdf(output_dir)
    if fmt == ".fits":
        return cutout.write_as_fits(output_dir)
    raise InvalidInputError(f'Output format {fmt} is not recognized. Valid options are ".asdf" '
                            f'and ".fits".')
