"""The bad-input corpus: every public entry point, fed what users really have on disk.

Each case must raise one of the package's own exceptions (an ``AstrocutError`` subclass,
never a bare numpy/astropy/OS error), with a message naming the file or the parameter at
fault, and must leave nothing behind: no new file in the output directory, no ``*.part``
temporary, no cube file, and an existing cube untouched.

A failing case prints what was raised, so the list of failures is the list of fixes.
"""

import math
import re
import os
import subprocess
import sys

import numpy as np
import pytest
from astropy.coordinates import SkyCoord

import robustness_helpers as H
from astrocut import (CubeFactory, CutoutFactory, cube_cut_many, fits_cut, img_cut,
                      normalize_img)
from astrocut.errors import (AstrocutError, InvalidInputError, InvalidQueryError,
                             OutputError)

base = os.path.basename
PROC_DIR = "/proc/astrocut-robustness/out"  # cannot be created, even by root


class Ctx:
    """What a case may use: the fixtures, a fresh output directory ``out``."""

    def __init__(self, sector, later, cube, image, bad, out):
        self.ffis = list(sector.files)
        self.later = list(later)
        self.cube = cube.path
        self.image = image.path
        self.bad = bad
        self.out = str(out)
        self.star = f"{sector.variable_star.ra} {sector.variable_star.dec}"
        ra, dec = H.IMAGE_CENTER
        self.image_center = f"{ra} {dec}"

        self.prepared = {}  # files a case put in ``out`` before the call: name -> hash

    def out_cube(self):
        return os.path.join(self.out, "new-cube.fits")

    def prepare(self, source, name):
        """Copy ``source`` into ``out`` as ``name``; the call must leave it untouched."""
        path = os.path.join(self.out, name)
        if not os.path.exists(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            H.copy(source, path)
            os.chmod(path, 0o644)
            self.prepared[name] = H.file_hash(path)
        return path

    def cube_copy(self):
        """A copy of the good cube inside ``out`` (update_cube cases change it in place)."""
        return self.prepare(self.cube, "s1-cube.fits")


# Each case: (id, call(ctx), expected exception class, tokens(ctx)): the message must contain
# one of the tokens (a file's base name or a parameter's name).
CASES = []


def case(case_id, expected=AstrocutError, names=lambda c: [], xfail=None):
    """Register a case; ``xfail`` is the reason of a known defect (strict: a fix must remove
    the mark)."""
    marks = [pytest.mark.xfail(strict=True, reason=xfail)] if xfail else []

    def register(call):
        CASES.append(pytest.param(call, expected, names, id=case_id, marks=marks))
        return call
    return register


def mk(c, files, **kw):
    return CubeFactory().make_cube(files, kw.pop("cube_file", c.out_cube()), verbose=False, **kw)


def up(c, files, **kw):
    return CubeFactory().update_cube(files, kw.pop("cube_file", c.cube_copy()), verbose=False,
                                     **kw)


def cut(c, coordinates=None, size=5, cube=None, **kw):
    kw.setdefault("output_path", c.out)
    return CutoutFactory().cube_cut(cube or c.cube, coordinates or c.star, size, **kw)


def fcut(c, files=None, coordinates=None, size=10, **kw):
    kw.setdefault("output_dir", c.out)
    return fits_cut([c.image] if files is None else files, coordinates or c.image_center, size, **kw)


def icut(c, files=None, coordinates=None, size=10, **kw):
    kw.setdefault("output_dir", c.out)
    return img_cut([c.image] if files is None else files, coordinates or c.image_center, size, **kw)


# ------------------------------------------------------------------------------ make_cube

@case("make_cube-truncated-ffi", InvalidInputError, lambda c: [base(c.bad.ffi_truncated)])
def _(c):
    mk(c, c.ffis + [c.bad.ffi_truncated])


@case("make_cube-truncated-ffi-first", InvalidInputError, lambda c: [base(c.bad.ffi_truncated)])
def _(c):
    mk(c, [c.bad.ffi_truncated] + c.ffis)


@case("make_cube-truncated-header", InvalidInputError,
      lambda c: [base(c.bad.ffi_truncated_header)])
def _(c):
    mk(c, c.ffis + [c.bad.ffi_truncated_header])


@case("make_cube-non-fits", InvalidInputError, lambda c: [base(c.bad.text)])
def _(c):
    mk(c, c.ffis + [c.bad.text])


@case("make_cube-non-fits-first", InvalidInputError, lambda c: [base(c.bad.text)])
def _(c):
    mk(c, [c.bad.text] + c.ffis)


@case("make_cube-empty-file", InvalidInputError, lambda c: [base(c.bad.empty)])
def _(c):
    mk(c, c.ffis + [c.bad.empty])


@case("make_cube-fits-without-image", InvalidInputError, lambda c: [base(c.bad.tess_header_only)])
def _(c):
    mk(c, c.ffis + [c.bad.tess_header_only])


@case("make_cube-fits-without-image-first", InvalidInputError,
      lambda c: [base(c.bad.header_only)])
def _(c):
    mk(c, [c.bad.header_only] + c.ffis)


@case("make_cube-mixed-shape", InvalidInputError, lambda c: [base(c.bad.ffi_mixed_shape)])
def _(c):
    mk(c, c.ffis + [c.bad.ffi_mixed_shape])


@case("make_cube-mixed-sector", InvalidInputError, lambda c: [base(c.bad.ffi_mixed_sector)])
def _(c):
    mk(c, c.ffis + [c.bad.ffi_mixed_sector])


@case("make_cube-mixed-camera", InvalidInputError, lambda c: [base(c.bad.ffi_mixed_camera)])
def _(c):
    mk(c, c.ffis + [c.bad.ffi_mixed_camera])


@case("make_cube-mixed-ccd", InvalidInputError, lambda c: [base(c.bad.ffi_mixed_ccd)])
def _(c):
    mk(c, c.ffis + [c.bad.ffi_mixed_ccd])


@case("make_cube-missing-tstart", InvalidInputError, lambda c: [base(c.bad.ffi_no_tstart)])
def _(c):
    mk(c, c.ffis[:1] + [c.bad.ffi_no_tstart] + c.ffis[2:])


@case("make_cube-missing-uncertainty", InvalidInputError, lambda c: [base(c.bad.ffi_no_uncert)])
def _(c):
    mk(c, c.ffis[:1] + [c.bad.ffi_no_uncert] + c.ffis[2:])


@case("make_cube-missing-file", InvalidInputError, lambda c: ["no_such_ffic.fits"])
def _(c):
    mk(c, c.ffis + [os.path.join(c.bad.dir, "no_such_ffic.fits")])


@case("make_cube-empty-list", InvalidInputError, lambda c: ["file_list"])
def _(c):
    mk(c, [])


@case("make_cube-max-memory-zero", InvalidInputError, lambda c: ["max_memory"])
def _(c):
    mk(c, c.ffis, max_memory=0)


@case("make_cube-max-memory-text", InvalidInputError, lambda c: ["max_memory"])
def _(c):
    mk(c, c.ffis, max_memory="lots")


@case("make_cube-max-memory-inf", InvalidInputError, lambda c: ["max_memory"])
def _(c):
    mk(c, c.ffis, max_memory=math.inf)


@case("make_cube-cube-file-is-an-input", AstrocutError, lambda c: ["cube_file"])
def _(c):
    """Would replace an FFI by the cube: the input is lost."""
    copies = [c.prepare(f, os.path.join("ffis", base(f))) for f in c.ffis]
    mk(c, copies, cube_file=copies[0])


@case("make_cube-dir-is-a-file", OutputError, lambda c: ["cube_file", base(c.bad.a_file)])
def _(c):
    mk(c, c.ffis, cube_file=os.path.join(c.bad.a_file, "cube.fits"))


@case("make_cube-dir-not-creatable", OutputError, lambda c: ["cube_file", PROC_DIR])
def _(c):
    mk(c, c.ffis, cube_file=os.path.join(PROC_DIR, "cube.fits"))


@case("make_cube-cube-file-is-a-directory", OutputError, lambda c: ["cube_file", "adir"])
def _(c):
    os.makedirs(os.path.join(c.out, "adir"))
    mk(c, c.ffis, cube_file=os.path.join(c.out, "adir"))


# ---------------------------------------------------------------------------- update_cube

@case("update_cube-truncated-ffi", InvalidInputError, lambda c: [base(c.bad.ffi_truncated)])
def _(c):
    up(c, c.later[:1] + [c.bad.ffi_truncated])


@case("update_cube-non-fits", InvalidInputError, lambda c: [base(c.bad.text)])
def _(c):
    up(c, c.later + [c.bad.text])


@case("update_cube-empty-file", InvalidInputError, lambda c: [base(c.bad.empty)])
def _(c):
    up(c, [c.bad.empty])


@case("update_cube-mixed-shape", InvalidInputError, lambda c: [base(c.bad.ffi_mixed_shape)])
def _(c):
    up(c, [c.bad.ffi_mixed_shape])


@case("update_cube-mixed-sector", InvalidInputError, lambda c: [base(c.bad.ffi_mixed_sector)])
def _(c):
    up(c, [c.bad.ffi_mixed_sector])


@case("update_cube-mixed-ccd", InvalidInputError, lambda c: [base(c.bad.ffi_mixed_ccd)])
def _(c):
    up(c, c.later + [c.bad.ffi_mixed_ccd])


@case("update_cube-missing-uncertainty", InvalidInputError, lambda c: [base(c.bad.ffi_no_uncert)])
def _(c):
    up(c, [c.bad.ffi_no_uncert])


@case("update_cube-missing-tstart", InvalidInputError, lambda c: [base(c.bad.ffi_no_tstart)])
def _(c):
    up(c, [c.bad.ffi_no_tstart])


@case("update_cube-file-list-holds-a-cube", AstrocutError,
      lambda c: ["other-cube.fits", "file_list"])
def _(c):
    up(c, [c.prepare(c.cube, "other-cube.fits")])


@case("update_cube-cube-missing", InvalidInputError, lambda c: ["cube_file", "absent-cube.fits"])
def _(c):
    up(c, c.later, cube_file=os.path.join(c.out, "absent-cube.fits"))


@case("update_cube-cube-is-an-ffi", InvalidInputError, lambda c: ["cube_file", "an_ffi.fits"])
def _(c):
    path = c.prepare(c.ffis[0], "an_ffi.fits")
    up(c, c.later, cube_file=path)


@case("update_cube-cube-truncated", InvalidInputError,
      lambda c: ["cube_file", "truncated-cube.fits"])
def _(c):
    path = c.prepare(c.bad.cube_truncated_data, "truncated-cube.fits")
    up(c, c.later, cube_file=path)


@case("update_cube-cube-table-truncated", InvalidInputError,
      lambda c: ["cube_file", "table-cube.fits"])
def _(c):
    path = c.prepare(c.bad.cube_truncated_table, "table-cube.fits")
    up(c, c.later, cube_file=path)


@case("update_cube-cube-not-fits", InvalidInputError, lambda c: ["cube_file", "text-cube.fits"])
def _(c):
    path = c.prepare(c.bad.text, "text-cube.fits")
    up(c, c.later, cube_file=path)


# ------------------------------------------------------------------------------ cube_cut

@case("cube_cut-cube-truncated-data", InvalidInputError, lambda c: [base(c.bad.cube_truncated_data)])
def _(c):
    cut(c, cube=c.bad.cube_truncated_data)


@case("cube_cut-cube-truncated-table", InvalidInputError,
      lambda c: [base(c.bad.cube_truncated_table)])
def _(c):
    cut(c, cube=c.bad.cube_truncated_table)


@case("cube_cut-cube-without-table", InvalidInputError, lambda c: [base(c.bad.cube_no_table)])
def _(c):
    cut(c, cube=c.bad.cube_no_table)


@case("cube_cut-cube-table-without-tstart", InvalidInputError,
      lambda c: [base(c.bad.cube_no_tstart)])
def _(c):
    cut(c, cube=c.bad.cube_no_tstart)


@case("cube_cut-cube-without-valid-wcs", InvalidInputError,
      lambda c: [base(c.bad.cube_no_wcs_rows)])
def _(c):
    cut(c, cube=c.bad.cube_no_wcs_rows)


@case("cube_cut-cube-not-fits", InvalidInputError, lambda c: [base(c.bad.text)])
def _(c):
    cut(c, cube=c.bad.text)


@case("cube_cut-cube-empty-file", InvalidInputError, lambda c: [base(c.bad.empty)])
def _(c):
    cut(c, cube=c.bad.empty)


@case("cube_cut-cube-is-an-ffi", InvalidInputError, lambda c: [base(c.ffis[0])])
def _(c):
    cut(c, cube=c.ffis[0])


@case("cube_cut-cube-missing", InvalidInputError, lambda c: ["cube_file"])
def _(c):
    cut(c, cube=os.path.join(c.out, "missing-cube.fits"))


@case("cube_cut-coordinates-nan-string", InvalidInputError, lambda c: ["coordinates"])
def _(c):
    cut(c, "nan nan")


@case("cube_cut-coordinates-nan-skycoord", InvalidInputError, lambda c: ["coordinates"])
def _(c):
    cut(c, SkyCoord(math.nan, math.nan, unit="deg"))


@case("cube_cut-coordinates-dec-95", InvalidInputError, lambda c: ["coordinates"])
def _(c):
    cut(c, "10 95")


@case("cube_cut-coordinates-unparsable", InvalidInputError, lambda c: ["coordinates"])
def _(c):
    cut(c, "twelve o'clock")


@case("cube_cut-coordinates-wrong-type", InvalidInputError, lambda c: ["coordinates"])
def _(c):
    cut(c, 42.0)


@case("cube_cut-coordinates-off-image", InvalidQueryError, lambda c: [base(c.cube)])
def _(c):
    ra, dec = (float(v) for v in c.star.split())
    cut(c, f"{(ra + 180) % 360} {-dec}")


@case("cube_cut-size-zero", InvalidInputError, lambda c: ["cutout_size"])
def _(c):
    cut(c, size=0)


@case("cube_cut-size-negative", InvalidInputError, lambda c: ["cutout_size"])
def _(c):
    cut(c, size=[5, -3])


@case("cube_cut-size-non-numeric", InvalidInputError, lambda c: ["cutout_size"])
def _(c):
    cut(c, size="ten")


@case("cube_cut-size-nan", InvalidInputError, lambda c: ["cutout_size"])
def _(c):
    cut(c, size=[math.nan, 4])


# Three sides (first two used) and sub-pixel angles (one pixel) follow 1.x: tests/compat.


@case("cube_cut-size-list-of-text", InvalidInputError, lambda c: ["cutout_size"])
def _(c):
    cut(c, size=["5", "5"])


@case("cube_cut-size-absurd", AstrocutError, lambda c: ["cutout_size"])
def _(c):
    """A typo'd size (10**6 pixels a side): 14.6 TiB of stamp."""
    cut(c, size=10 ** 6)


@case("cube_cut-output-path-is-a-file", OutputError, lambda c: ["output_path"])
def _(c):
    cut(c, output_path=c.bad.a_file)


@case("cube_cut-output-path-under-a-file", OutputError, lambda c: ["output_path"])
def _(c):
    cut(c, output_path=os.path.join(c.bad.a_file, "out"))


@case("cube_cut-output-path-not-creatable", OutputError, lambda c: ["output_path", PROC_DIR])
def _(c):
    cut(c, output_path=PROC_DIR)


@case("cube_cut-target-pixel-file-in-missing-dir", OutputError, lambda c: ["nowhere"])
def _(c):
    cut(c, target_pixel_file=os.path.join(c.bad.a_file, "nowhere", "x.fits"))


@case("cube_cut-target-pixel-file-is-a-directory", OutputError, lambda c: ["a_dir.fits"])
def _(c):
    os.makedirs(os.path.join(c.out, "a_dir.fits"))
    c.prepared["a_dir.fits"] = None
    cut(c, target_pixel_file=os.path.join(c.out, "a_dir.fits"))


@case("cube_cut-target-pixel-file-is-the-cube", AstrocutError, lambda c: ["target_pixel_file"])
def _(c):
    """Would replace the cube (hours of work at full size) by a 3x3 TPF."""
    cube = c.prepare(c.cube, "mine-cube.fits")
    cut(c, cube=cube, size=3, target_pixel_file=cube)


# ------------------------------------------------------------------------- cube_cut_many

@case("cube_cut_many-cube-not-fits", InvalidInputError, lambda c: [base(c.bad.text)])
def _(c):
    cube_cut_many(c.bad.text, [c.star], cutout_size=5, output_path=c.out, verbose=False)


@case("cube_cut_many-cube-truncated-table", InvalidInputError,
      lambda c: [base(c.bad.cube_truncated_table)])
def _(c):
    cube_cut_many(c.bad.cube_truncated_table, [c.star], cutout_size=5, output_path=c.out,
                  verbose=False)


@case("cube_cut_many-cube-missing", InvalidInputError, lambda c: ["cube_file"])
def _(c):
    cube_cut_many(os.path.join(c.out, "missing-cube.fits"), [c.star], cutout_size=5,
                  output_path=c.out, verbose=False)


@case("cube_cut_many-targets-csv-missing", InvalidInputError, lambda c: ["targets"])
def _(c):
    cube_cut_many(c.cube, os.path.join(c.bad.dir, "absent.csv"), cutout_size=5,
                  output_path=c.out, verbose=False)


@case("cube_cut_many-targets-csv-not-a-table", InvalidInputError, lambda c: [base(c.bad.empty)])
def _(c):
    cube_cut_many(c.cube, c.bad.empty, cutout_size=5, output_path=c.out, verbose=False)


@case("cube_cut_many-targets-not-iterable", InvalidInputError, lambda c: ["targets"])
def _(c):
    cube_cut_many(c.cube, 42, cutout_size=5, output_path=c.out, verbose=False)


@case("cube_cut_many-output-path-is-a-file", OutputError, lambda c: ["output_path"])
def _(c):
    cube_cut_many(c.cube, [c.star], cutout_size=5, output_path=c.bad.a_file, verbose=False)


@case("cube_cut_many-output-path-under-a-file", OutputError, lambda c: ["output_path"])
def _(c):
    cube_cut_many(c.cube, [c.star], cutout_size=5,
                  output_path=os.path.join(c.bad.a_file, "out"), verbose=False)


# ------------------------------------------------------------------------------ fits_cut

@case("fits_cut-truncated", InvalidInputError, lambda c: [base(c.bad.image_truncated)])
def _(c):
    """The stamp (image centre) lies in the part of the file that survived."""
    fcut(c, [c.bad.image_truncated])


@case("fits_cut-truncated-stamp-in-lost-part", InvalidInputError,
      lambda c: [base(c.bad.image_truncated)])
def _(c):
    world = H.wcs_of(c.image).pixel_to_world(50, 75)
    fcut(c, [c.bad.image_truncated], coordinates=world, size=5)


@case("fits_cut-non-fits", InvalidInputError, lambda c: [base(c.bad.text)])
def _(c):
    fcut(c, [c.bad.text])


@case("fits_cut-empty-file", InvalidInputError, lambda c: [base(c.bad.empty)])
def _(c):
    fcut(c, [c.bad.empty])


@case("fits_cut-fits-without-image", InvalidInputError, lambda c: [base(c.bad.header_only)])
def _(c):
    fcut(c, [c.bad.header_only])


@case("fits_cut-image-without-wcs", InvalidInputError, lambda c: [base(c.bad.image_no_wcs)])
def _(c):
    fcut(c, [c.bad.image_no_wcs])


@case("fits_cut-image-with-nan-wcs", InvalidInputError, lambda c: [base(c.bad.image_nan_wcs)])
def _(c):
    fcut(c, [c.bad.image_nan_wcs])


@case("fits_cut-3d-image", InvalidInputError, lambda c: [base(c.bad.image_3d)])
def _(c):
    fcut(c, [c.bad.image_3d])


@case("fits_cut-missing-file", InvalidInputError, lambda c: ["absent_drz.fits"])
def _(c):
    fcut(c, [os.path.join(c.bad.dir, "absent_drz.fits")])


@case("fits_cut-no-files", InvalidInputError, lambda c: ["input_files"])
def _(c):
    fcut(c, [])


@case("fits_cut-one-good-one-truncated", InvalidInputError,
      lambda c: [base(c.bad.image_truncated)])
def _(c):
    fcut(c, [c.image, c.bad.image_truncated], single_outfile=False)


@case("fits_cut-coordinates-nan", InvalidInputError, lambda c: ["coordinates"])
def _(c):
    fcut(c, coordinates="nan 2.2")


@case("fits_cut-coordinates-dec-95", InvalidInputError, lambda c: ["coordinates"])
def _(c):
    fcut(c, coordinates="150.1 95")


@case("fits_cut-coordinates-unparsable", InvalidInputError, lambda c: ["coordinates"])
def _(c):
    fcut(c, coordinates="150.1,,2.2 north")


@case("fits_cut-coordinates-off-image", InvalidQueryError, lambda c: [base(c.image)])
def _(c):
    fcut(c, coordinates="30 -40")


@case("fits_cut-size-zero", InvalidInputError, lambda c: ["cutout_size"])
def _(c):
    fcut(c, size=0)


@case("fits_cut-size-negative", InvalidInputError, lambda c: ["cutout_size"])
def _(c):
    fcut(c, size=-10)


@case("fits_cut-size-non-numeric", InvalidInputError, lambda c: ["cutout_size"])
def _(c):
    fcut(c, size=[10, "x"])


@case("fits_cut-size-absurd", AstrocutError, lambda c: ["cutout_size"])
def _(c):
    fcut(c, size=10 ** 6)


@case("fits_cut-output-name-is-a-directory", OutputError,
      lambda c: ["cutout_150.116321_2.200973_10-x-10_astrocut.fits"])
def _(c):
    name = "cutout_150.116321_2.200973_10-x-10_astrocut.fits"
    os.makedirs(os.path.join(c.out, name))
    c.prepared[name] = None
    fcut(c)


@case("fits_cut-per-file-second-output-blocked", OutputError,
      lambda c: ["second_drz_150.116321_2.200973_10-x-10_astrocut.fits"])
def _(c):
    """One file per input: the second can't be written, so the first must not remain."""
    second = c.prepare(c.image, "inputs/second_drz.fits")
    name = "second_drz_150.116321_2.200973_10-x-10_astrocut.fits"
    os.makedirs(os.path.join(c.out, name))
    c.prepared[name] = None
    fcut(c, [c.image, second], single_outfile=False)


@case("img_cut-second-picture-blocked", OutputError,
      lambda c: ["second_drz_150.116321_2.200973_10-x-10_astrocut.png"])
def _(c):
    second = c.prepare(c.image, "inputs/second_drz.fits")
    name = "second_drz_150.116321_2.200973_10-x-10_astrocut.png"
    os.makedirs(os.path.join(c.out, name))
    c.prepared[name] = None
    icut(c, [c.image, second], img_format="png")


@case("fits_cut-extension-out-of-range", InvalidInputError, lambda c: ["extension", "7"])
def _(c):
    fcut(c, extension=7)


@case("fits_cut-output-dir-is-a-file", OutputError, lambda c: ["output_dir"])
def _(c):
    fcut(c, output_dir=c.bad.a_file)


@case("fits_cut-output-dir-under-a-file", OutputError, lambda c: ["output_dir"])
def _(c):
    fcut(c, output_dir=os.path.join(c.bad.a_file, "out"))


@case("fits_cut-output-dir-not-creatable", OutputError, lambda c: ["output_dir", PROC_DIR])
def _(c):
    fcut(c, output_dir=PROC_DIR)


# ------------------------------------------------------------------------------- img_cut

@case("img_cut-unknown-stretch", InvalidInputError, lambda c: ["stretch"])
def _(c):
    icut(c, stretch="cubic")


@case("img_cut-reversed-minmax-value", InvalidInputError, lambda c: ["minmax_value"])
def _(c):
    icut(c, minmax_value=[10.0, 1.0])


@case("img_cut-reversed-minmax-percent", InvalidInputError, lambda c: ["minmax_percent"])
def _(c):
    icut(c, minmax_percent=[99.5, 0.5])


@case("img_cut-minmax-percent-over-100", InvalidInputError, lambda c: ["minmax_percent"])
def _(c):
    icut(c, minmax_percent=[0, 120])


@case("img_cut-unknown-format", InvalidInputError, lambda c: ["img_format", "tiff"])
def _(c):
    icut(c, img_format="tiff")


@case("img_cut-colorize-two-files", InvalidInputError, lambda c: ["colorize"])
def _(c):
    icut(c, files=[c.image, c.image], colorize=True)


@case("img_cut-non-fits", InvalidInputError, lambda c: [base(c.bad.text)])
def _(c):
    icut(c, files=[c.bad.text])


@case("img_cut-image-without-wcs", InvalidInputError, lambda c: [base(c.bad.image_no_wcs)])
def _(c):
    icut(c, files=[c.bad.image_no_wcs])


@case("img_cut-size-zero", InvalidInputError, lambda c: ["cutout_size"])
def _(c):
    icut(c, size=0)


@case("img_cut-output-dir-under-a-file", OutputError, lambda c: ["output_dir"])
def _(c):
    icut(c, output_dir=os.path.join(c.bad.a_file, "out"))


# ------------------------------------------------------------------------- normalize_img

@case("normalize_img-unknown-stretch", InvalidInputError, lambda c: ["stretch"])
def _(c):
    normalize_img(H.image_data((8, 8)), stretch="cubic")


@case("normalize_img-reversed-minmax-value", InvalidInputError, lambda c: ["minmax_value"])
def _(c):
    normalize_img(H.image_data((8, 8)), minmax_value=[5.0, 1.0])


@case("normalize_img-equal-minmax-value", InvalidInputError, lambda c: ["minmax_value"])
def _(c):
    normalize_img(H.image_data((8, 8)), minmax_value=[3.0, 3.0])


@case("normalize_img-nan-minmax-value", InvalidInputError, lambda c: ["minmax_value"])
def _(c):
    normalize_img(H.image_data((8, 8)), minmax_value=[math.nan, 3.0])


@case("normalize_img-reversed-minmax-percent", InvalidInputError, lambda c: ["minmax_percent"])
def _(c):
    normalize_img(H.image_data((8, 8)), minmax_percent=[90, 10])


@case("normalize_img-minmax-percent-text", InvalidInputError, lambda c: ["minmax_percent"])
def _(c):
    normalize_img(H.image_data((8, 8)), minmax_percent="low")


@case("normalize_img-1d", InvalidInputError, lambda c: ["img_arr"])
def _(c):
    normalize_img(np.arange(10.0))


@case("normalize_img-empty", InvalidInputError, lambda c: ["img_arr"])
def _(c):
    normalize_img(np.zeros((0, 5)))


@case("normalize_img-text-array", InvalidInputError, lambda c: ["img_arr"])
def _(c):
    normalize_img(np.array([["a", "b"], ["c", "d"]]))


# ---------------------------------------------------------------------------------- the test

@pytest.fixture
def ctx(sector, later_ffis, cube, image, bad, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    return Ctx(sector, later_ffis, cube, image, bad, out)


def _describe(exc):
    return f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}"



# ------------------------------------------------- issue 10 item 6: causes named, not bare

class _NoSubmit:
    """An "executor" without submit (e.g. a dask Client passed instead of its executor)."""


@case("make_cube-nul-in-cube-file", InvalidInputError, lambda c: ["NUL", "cube_file"])
def _(c):
    mk(c, c.ffis, cube_file=os.path.join(c.out, "a\0b-cube.fits"))


@case("make_cube-nul-in-file-list", InvalidInputError, lambda c: ["NUL"])
def _(c):
    mk(c, c.ffis + [c.ffis[0] + "\0"])


@case("make_cube-cube-file-none", InvalidInputError, lambda c: ["cube_file"])
def _(c):
    mk(c, c.ffis, cube_file=None)


@case("make_cube-max-memory-1e300", InvalidInputError, lambda c: ["max_memory"])
def _(c):
    mk(c, c.ffis, max_memory=1e300)


@case("make_cube-executor-without-submit", InvalidInputError, lambda c: ["executor"])
def _(c):
    mk(c, c.ffis, executor=_NoSubmit())


@case("update_cube-executor-without-submit", InvalidInputError, lambda c: ["executor"])
def _(c):
    up(c, c.later, executor=_NoSubmit())


@case("cube_cut_many-executor-without-submit", InvalidInputError, lambda c: ["executor"])
def _(c):
    cube_cut_many(c.cube, [c.star], cutout_size=3, output_path=c.out, executor=_NoSubmit(),
                  verbose=False)


@case("cube_cut-nul-in-cube-file", InvalidInputError, lambda c: ["NUL"])
def _(c):
    cut(c, cube=c.cube + "\0")


@case("cube_cut-nul-in-output-path", InvalidInputError, lambda c: ["NUL", "output_path"])
def _(c):
    cut(c, output_path=os.path.join(c.out, "x\0y"))


@case("cube_cut-nul-in-target-pixel-file", InvalidInputError, lambda c: ["NUL"])
def _(c):
    cut(c, target_pixel_file=os.path.join(c.out, "x\0y.fits"))


@case("cube_cut_many-nul-in-targets-file", InvalidInputError, lambda c: ["NUL", "targets"])
def _(c):
    cube_cut_many(c.cube, os.path.join(c.out, "t\0.csv"), cutout_size=3, output_path=c.out,
                  verbose=False)


@case("fits_cut-nul-in-input", InvalidInputError, lambda c: ["NUL"])
def _(c):
    fcut(c, files=[c.image + "\0"])


@case("img_cut-nul-in-output-dir", InvalidInputError, lambda c: ["NUL", "output_dir"])
def _(c):
    icut(c, output_dir=os.path.join(c.out, "x\0y"))


@case("cube_cut-size-2**70", InvalidInputError, lambda c: ["cutout_size"])
def _(c):
    cut(c, size=2 ** 70)


@case("fits_cut-size-pair-with-2**70", InvalidInputError, lambda c: ["cutout_size"])
def _(c):
    fcut(c, size=[2 ** 70, 3])


@case("cube_cut-altaz-without-obstime", InvalidInputError, lambda c: ["coordinates"])
def _(c):
    import astropy.units as u

    cut(c, coordinates=SkyCoord(alt=30 * u.deg, az=40 * u.deg, frame="altaz"))


@case("fits_cut-output-is-its-input", OutputError, lambda c: ["input"])
def _(c):
    # The input is named exactly as its cutout will be: writing would replace it.
    ra, dec = c.image_center.split()
    name = f"cutout_{float(ra):.6f}_{float(dec):.6f}_10-x-10_astrocut.fits"
    fcut(c, files=[c.prepare(c.image, name)])


@case("fits_cut-output-is-a-hard-link-of-its-input", OutputError, lambda c: ["input"])
def _(c):
    ra, dec = c.image_center.split()
    stem = f"{float(ra):.6f}_{float(dec):.6f}_10-x-10_astrocut.fits"
    source = c.prepare(c.image, "field_drz.fits")
    link = os.path.join(c.out, "other", f"field_{stem}")
    os.makedirs(os.path.dirname(link))
    os.link(source, link)  # same file, other name: found by identity, not by name
    c.prepared["other"] = None
    c.prepared[os.path.join("other", f"field_{stem}")] = H.file_hash(link)
    fcut(c, files=[source], single_outfile=False, drop_after="_drz",
         output_dir=os.path.join(c.out, "other"))


@case("cube_cut-url-like-local-path-is-its-input", OutputError, lambda c: ["input"])
def _(c):
    # A local directory named "s3:" makes a path with "://": still a local input.
    cube = c.prepare(c.cube, os.path.join("s3:", "bucket", "s1-cube.fits"))
    c.prepared["s3:"] = None
    c.prepared[os.path.join("s3:", "bucket")] = None
    url_like = cube.replace("s3:/", "s3://")
    assert "://" in url_like and os.path.samefile(url_like, cube)
    cut(c, cube=url_like, target_pixel_file=url_like)

@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("call, expected, names", CASES)
def test_bad_input_is_explained_and_leaves_nothing(ctx, call, expected, names):
    before_out = H.snapshot(ctx.out)
    before_bad = H.snapshot(ctx.bad.dir)
    cube_before = H.snapshot(os.path.dirname(ctx.cube))
    with pytest.raises(Exception) as info:
        call(ctx)
    exc = info.value
    print(f"\nRAISED {_describe(exc)}")
    assert isinstance(exc, AstrocutError), f"bare exception: {_describe(exc)}"
    assert isinstance(exc, expected), f"wrong class, expected {expected.__name__}: {_describe(exc)}"
    tokens = names(ctx)
    if tokens:
        assert any(token in str(exc) for token in tokens), (
            f"message names none of {tokens}: {_describe(exc)}")
    # Nothing left behind: the output directory is as it was (a cube copied there for an
    # update case must be untouched), no temporary files, inputs untouched.
    after_out = H.snapshot(ctx.out)
    for name, stat in before_out.items():
        assert after_out.get(name) == stat, f"{name} was changed or removed"
    for name, digest in ctx.prepared.items():
        path = os.path.join(ctx.out, name)
        if digest is None:  # a directory the case made
            assert os.path.isdir(path), f"{name} was removed"
            continue
        assert os.path.isfile(path), f"{name} was removed"
        assert H.file_hash(path) == digest, f"{name} was changed"
    new = sorted(set(after_out) - set(before_out) - set(ctx.prepared))
    assert new == [], f"partial output left behind: {new}"
    assert H.part_files(ctx.out) == [] and H.part_files(ctx.bad.dir) == []
    assert H.snapshot(ctx.bad.dir) == before_bad, "an input file was changed"
    assert H.snapshot(os.path.dirname(ctx.cube)) == cube_before
    assert not os.path.exists(ctx.out_cube()), "a cube file was left behind"


def test_update_failure_leaves_the_cube_byte_identical(ctx):
    path = ctx.cube_copy()
    digest = H.file_hash(path)
    with pytest.raises(AstrocutError):
        CubeFactory().update_cube(ctx.later + [ctx.bad.ffi_truncated], path, verbose=False)
    assert H.file_hash(path) == digest
    assert sorted(os.listdir(ctx.out)) == ["s1-cube.fits"]


def test_corpus_is_big_enough():
    assert len(CASES) >= 40
    ids = [p.id for p in CASES]
    assert len(ids) == len(set(ids))


# ------------------------------------------------------------------------------ the CLI

CLI_CASES = [
    # id, argv (with {placeholders} from the context), tokens
    ("cli-cube-non-fits", ["cube", "{text}", "-o", "{out}/c.fits", "--quiet"], ["notes.fits"]),
    ("cli-cube-truncated", ["cube", "{ffi0}", "{truncated}", "-o", "{out}/c.fits", "--quiet"],
     ["truncated_ffic.fits"]),
    ("cli-cube-mixed-sector", ["cube", "{ffi0}", "{mixed_sector}", "-o", "{out}/c.fits",
                               "--quiet"], ["s0002"]),
    ("cli-cube-append-missing-cube", ["cube", "--append", "{ffi0}", "-o", "{out}/absent.fits",
                                      "--quiet"], ["absent.fits"]),
    ("cli-cube-max-memory-negative", ["cube", "{ffi0}", "-o", "{out}/c.fits",
                                      "--max-memory", "-1", "--quiet"], ["max_memory", "memory"]),
    ("cli-cut-cube-not-fits", ["cut", "{text}", "10", "20", "-o", "{out}"], ["notes.fits"]),
    ("cli-cut-dec-95", ["cut", "{cube}", "10", "95", "-o", "{out}"], ["coordinates", "95"]),
    ("cli-cut-size-zero", ["cut", "{cube}", "{ra}", "{dec}", "--size", "0", "-o", "{out}"],
     ["cutout_size", "size"]),
    ("cli-cut-size-non-numeric", ["cut", "{cube}", "{ra}", "{dec}", "--size", "ten",
                                  "-o", "{out}"], ["size"]),
    ("cli-cut-ra-unparsable", ["cut", "{cube}", "north", "{dec}", "-o", "{out}"], ["ra"]),
    ("cli-cut-output-is-a-file", ["cut", "{cube}", "{ra}", "{dec}", "-o", "{a_file}"],
     ["output"]),
    ("cli-cut-no-table-cube", ["cut", "{no_table}", "{ra}", "{dec}", "-o", "{out}"],
     ["no_table-cube.fits"]),
    ("cli-fits-cut-no-wcs", ["fits-cut", "{no_wcs}", "--ra", "150.1", "--dec", "2.2",
                             "--size", "5", "-o", "{out}"], ["no_wcs.fits"]),
    ("cli-fits-cut-empty-file", ["fits-cut", "{empty}", "--ra", "150.1", "--dec", "2.2",
                                 "--size", "5", "-o", "{out}"], ["empty.fits"]),
    ("cli-img-cut-unknown-stretch", ["img-cut", "{image}", "--ra", "{ira}", "--dec", "{idec}",
                                     "--size", "5", "--stretch", "cubic", "-o", "{out}"],
     ["stretch"]),
    ("cli-img-cut-reversed-percent", ["img-cut", "{image}", "--ra", "{ira}", "--dec", "{idec}",
                                      "--size", "5", "--minmax-percent", "90", "10",
                                      "-o", "{out}"], ["minmax_percent"]),
    ("cli-simulate-bad-size", ["simulate", "{out}/sim", "--size", "10x", "--quiet"], ["size"]),
    ("cli-simulate-too-small", ["simulate", "{out}/sim", "--size", "8x8", "--quiet"], ["size"]),
    ("cli-simulate-dir-under-a-file", ["simulate", "{a_file}/sim", "--size", "40x40", "--n", "1",
                                       "--quiet"], ["a_file.txt"]),
    ("cli-simulate-dir-not-creatable", ["simulate", "/proc/astrocut-robustness/sim", "--size",
                                        "40x40", "--n", "1", "--quiet"],
     ["/proc/astrocut-robustness"]),
    ("cli-cube-max-memory-inf", ["cube", "{ffi0}", "-o", "{out}/c.fits", "--max-memory", "inf",
                                 "--quiet"], ["max_memory", "memory"]),
    ("cli-unknown-command", ["cutt", "{cube}"], ["cutt"]),
    ("cli-demo-into-a-file", ["demo", "{a_file}"], ["a_file.txt"]),
    ("cli-simulate-huge-size", ["simulate", "{out}/sim", "--size", "100000x100000", "--quiet"],
     ["--size"]),
    ("cli-cube-max-memory-1e300", ["cube", "{ffi0}", "-o", "{out}/c.fits", "--max-memory",
                                   "1e300", "--quiet"], ["max_memory"]),
]


@pytest.mark.parametrize("argv, tokens", [pytest.param(a, t, id=i) for i, a, t in CLI_CASES])
def test_cli_errors_are_one_line(ctx, argv, tokens):
    ra, dec = ctx.star.split()
    ira, idec = ctx.image_center.split()
    values = dict(text=ctx.bad.text, out=ctx.out, ffi0=ctx.ffis[0],
                  truncated=ctx.bad.ffi_truncated, mixed_sector=ctx.bad.ffi_mixed_sector,
                  cube=ctx.cube, ra=ra, dec=dec, a_file=ctx.bad.a_file,
                  no_table=ctx.bad.cube_no_table, no_wcs=ctx.bad.image_no_wcs,
                  empty=ctx.bad.empty, image=ctx.image, ira=ira, idec=idec)
    args = [a.format(**values) for a in argv]
    before = H.snapshot(ctx.out)
    run = subprocess.run([sys.executable, "-m", "astrocut"] + args, capture_output=True,
                         text=True, cwd=ctx.out, timeout=120)
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert run.returncode != 0, f"exit 0 for {args}: {run.stdout}"
    assert "Traceback" not in run.stderr, run.stderr
    assert len(lines) == 1, f"{len(lines)} lines on stderr: {run.stderr!r}"
    assert any(token in lines[0] for token in tokens), f"names none of {tokens}: {lines[0]}"
    assert H.snapshot(ctx.out) == before, "the CLI left files behind"


# ------------------------------------------------------------------- not errors, tested too

def _cube_data(path):
    from astropy.io import fits

    with fits.open(path, memmap=False) as hdul:
        return np.asarray(hdul[1].data)  # (rows, columns, n_ffi, 2)


def test_missing_output_directories_are_created(ctx, sector):
    deep = os.path.join(ctx.out, "a", "b")
    tpf = cut(ctx, output_path=os.path.join(deep, "tpf"))
    assert os.path.dirname(tpf) == os.path.join(deep, "tpf") and os.path.isfile(tpf)
    written = fcut(ctx, output_dir=os.path.join(deep, "fits"))
    assert os.path.isfile(written) and os.path.dirname(written) == os.path.join(deep, "fits")
    pictures = icut(ctx, output_dir=os.path.join(deep, "img"), img_format="png")
    assert all(os.path.isfile(p) for p in pictures)
    cube = mk(ctx, ctx.ffis[:2], cube_file=os.path.join(deep, "cubes", "c.fits"))
    assert os.path.isfile(cube)
    table = cube_cut_many(ctx.cube, [ctx.star], cutout_size=3,
                          output_path=os.path.join(deep, "many"), verbose=False)
    assert list(table["status"]) == ["ok"] and os.path.isfile(table["path"][0])
    assert H.part_files(ctx.out) == []


def test_cli_creates_a_missing_output_directory(ctx):
    ra, dec = ctx.star.split()
    target = os.path.join(ctx.out, "new", "dir")
    run = subprocess.run([sys.executable, "-m", "astrocut", "cut", ctx.cube, ra, dec,
                          "--size", "4", "-o", target], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert len(os.listdir(target)) == 1


def test_a_stamp_larger_than_the_cube_is_padded(ctx, sector):
    from astropy.io import fits

    n_cols, n_rows = sector.shape
    tpf = cut(ctx, size=[n_cols + 36, n_rows + 22])
    data = _cube_data(ctx.cube)
    with fits.open(tpf) as hdul:
        flux = hdul["PIXELS"].data["FLUX"]
        flux_err = hdul["PIXELS"].data["FLUX_ERR"]
        aperture = hdul["APERTURE"].data
        x0 = hdul["PIXELS"].header["1CRV5P"] - 1
        y0 = hdul["PIXELS"].header["2CRV5P"] - 1
    assert flux.shape == (len(ctx.ffis), n_rows + 22, n_cols + 36)
    assert aperture.shape == (n_rows + 22, n_cols + 36) and aperture.dtype.kind == "i"
    # The whole image lies inside the stamp: aperture bit 1 (collected) exactly there, NaN
    # elsewhere.
    inside = (aperture & 1) == 1
    assert inside.sum() == n_cols * n_rows and np.all(aperture[~inside] == 0)
    assert np.isnan(flux[:, ~inside]).all() and np.isnan(flux_err[:, ~inside]).all()
    ys, xs = np.nonzero(inside)
    assert (xs.min() + x0, ys.min() + y0) == (0, 0)
    np.testing.assert_array_equal(flux[:, inside].T.reshape(n_rows, n_cols, -1),
                                  data[:, :, :, 0])


def test_an_image_stamp_larger_than_the_image_is_padded(ctx, image):
    from astropy.io import fits

    ny, nx = H.IMAGE_SHAPE
    [hdul] = fcut(ctx, size=[nx + 40, ny + 30], memory_only=True)
    data = hdul[1].data
    assert data.shape == (ny + 30, nx + 40)
    x0, y0 = hdul[1].header["CRVAL1P"] - 1, hdul[1].header["CRVAL2P"] - 1
    on = np.zeros(data.shape, bool)
    on[-y0:-y0 + ny, -x0:-x0 + nx] = True
    np.testing.assert_array_equal(data[on].reshape(ny, nx), image.data)
    assert np.isnan(data[~on]).all()
    assert os.listdir(ctx.out) == []  # memory_only writes nothing
    del fits


@pytest.mark.parametrize("writer", ["cube_cut", "fits_cut", "img_cut", "make_cube"])
def test_an_existing_output_is_replaced_atomically(ctx, writer):
    """The old file is never written in place: a hard link to it keeps the old bytes, the
    name points at a new, complete file, and no temporary file remains."""
    from astropy.io import fits

    def write():
        if writer == "cube_cut":
            return cut(ctx, target_pixel_file=os.path.join(ctx.out, "same.fits"))
        if writer == "fits_cut":
            return fcut(ctx)
        if writer == "img_cut":
            return icut(ctx, img_format="png")[0]
        return mk(ctx, ctx.ffis[:3])

    first = write()
    reference = H.file_hash(first)
    with open(first, "wb") as handle:  # a damaged earlier result, e.g. from an older version
        handle.write(b"old and broken" * 100)
    link = os.path.join(ctx.bad.dir, f"link-{os.getpid()}-{writer}")
    os.link(first, link)
    try:
        old_inode = os.stat(first).st_ino
        assert write() == first
        assert os.stat(first).st_ino != old_inode, "the existing file was written in place"
        with open(link, "rb") as handle:
            assert handle.read() == b"old and broken" * 100
    finally:
        os.unlink(link)
    # The new file is complete and the same as the first result (headers carry only the day).
    assert H.file_hash(first) == reference
    if writer != "img_cut":
        with fits.open(first) as hdul:
            hdul.verify("exception")
    assert H.part_files(ctx.out) == []
    assert len(os.listdir(ctx.out)) == 1


def test_bulk_reports_bad_targets_and_writes_only_the_good_ones(ctx):
    targets = [ctx.star, "nan nan", "10 95", "not a position", "200 -80"]
    table = cube_cut_many(ctx.cube, targets, cutout_size=4, output_path=ctx.out, verbose=False)
    assert list(table["status"]) == ["ok", "error", "error", "error", "error"]
    for message in table["message"][1:]:
        # bulk reports exceptions that are not the package's own as "TypeName: message"
        assert not re.match(r"^\w+(Error|Exception|Warning): ", message), message
    assert "coordinates" in table["message"][1] and "coordinates" in table["message"][2]
    assert sorted(os.listdir(ctx.out)) == [os.path.basename(table["path"][0])]
