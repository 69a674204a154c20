"""The header pass of a cube build: destination checks, then each FFI's headers once.

Every check happens here, before anything large is written: each FFI's three headers are
read once (:func:`astrocut_tess.ffi.read_ffi`), every FFI must share the shape and the
mission keywords of the others (and of the cube being updated), and FFIs listed twice (same
file name or same TSTART) are kept once, with an :class:`~astrocut.errors.InputWarning`.
"""

import os
import warnings
from typing import Optional

import attrs

from astrocut.errors import DataWarning, InputWarning, InvalidInputError, OutputError

from .bands import GB
from .ffi import read_ffi

__all__ = ["check_destination", "check_not_an_input", "check_space", "Expected", "scan",
           "drop_duplicates", "sorted_by_start"]


def check_destination(cube_file):
    if os.path.isdir(cube_file):
        raise OutputError(f"cube_file {cube_file!r} is a directory")
    directory = os.path.dirname(os.path.abspath(cube_file))
    if not os.path.isdir(directory):
        raise OutputError(f"cannot write {cube_file!r}: directory {directory!r} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {cube_file!r}: directory {directory!r} is not writable")


def check_not_an_input(cube_file, files):
    """Refuse to write the cube over one of its own inputs (the FFI would be lost)."""
    if not os.path.exists(cube_file):
        return
    for path in files:
        try:
            same = os.path.samefile(path, cube_file)
        except OSError:
            continue
        if same:
            raise InvalidInputError(f"cube_file {cube_file!r} is one of the input FFIs: writing "
                                    f"the cube there would replace it; choose another name")


def check_space(cube_file, nbytes):
    directory = os.path.dirname(os.path.abspath(cube_file))
    try:
        stats = os.statvfs(directory)
    except (AttributeError, OSError):
        return
    free = stats.f_bavail * stats.f_frsize
    if free < nbytes:
        raise OutputError(f"not enough space for {cube_file!r}: the cube needs {nbytes / GB:.2f} GB, "
                          f"{free / GB:.2f} GB free in {directory!r}")


@attrs.define
class Expected:
    """The shape and mission keywords every FFI must share, and the file that set each."""

    shape: Optional[tuple] = None
    shape_from: str = ""
    sector: Optional[int] = None
    sector_from: str = ""
    camera: Optional[int] = None
    camera_from: str = ""
    ccd: Optional[int] = None
    ccd_from: str = ""

    def check(self, info):
        if self.shape is None:
            self.shape, self.shape_from = info.shape, info.path
        elif info.shape != self.shape:
            raise InvalidInputError(
                f"{info.path!r} is {_size(info.shape)} (columns x rows) but {self.shape_from} is "
                f"{_size(self.shape)}: all FFIs of a cube must have the same size")
        for keyword in ("sector", "camera", "ccd"):
            value = getattr(info, keyword)
            if value is None:
                continue
            expected = getattr(self, keyword)
            if expected is None:
                setattr(self, keyword, value)
                setattr(self, f"{keyword}_from", info.path)
            elif value != expected:
                raise InvalidInputError(
                    f"{info.path!r} is from {keyword.upper()} {value} but "
                    f"{getattr(self, f'{keyword}_from')} is {keyword.upper()} {expected}: a cube "
                    f"holds one sector, camera and CCD")


def _size(shape):
    return f"{shape[1]}x{shape[0]}"


def scan(files, expected, progress):
    infos = []
    for number, path in enumerate(files):
        info = read_ffi(path)
        expected.check(info)
        infos.append(info)
        progress.step(f"Read header {number + 1} of {len(files)}: {info.name}")
    return infos


def drop_duplicates(infos, known_names=(), known_starts=(), where="the list"):
    """Keep the first FFI of each file name and TSTART; warn about the others."""
    names, starts = {}, {}
    for name in known_names:
        names[name] = "the cube"
    for start in known_starts:
        starts[start] = "the cube"
    kept, skipped = [], []
    for info in infos:
        if info.name in names:
            skipped.append(f"{info.path} (file name already in {names[info.name]})")
        elif info.tstart in starts:
            skipped.append(f"{info.path} (TSTART {info.tstart} already in {starts[info.tstart]})")
        else:
            names[info.name] = info.path
            starts[info.tstart] = info.path
            kept.append(info)
    if skipped:
        # 1.x warns with DataWarning about files the cube already holds.
        category = DataWarning if where == "the cube" else InputWarning
        warnings.warn(f"Removed duplicate file(s): skipped {len(skipped)} FFI(s) already in "
                      f"{where}: " + "; ".join(skipped),
                      category, stacklevel=3)
    return kept


def sorted_by_start(infos):
    return sorted(infos, key=lambda info: info.tstart)
