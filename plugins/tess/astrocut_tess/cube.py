"""Building and updating TESS cubes (``tess-formats.md`` §2) within a memory budget.

How a cube is built
-------------------
1. **One header pass.** Each FFI's three headers are read once (:func:`astrocut_tess.ffi.read_ffi`):
   the file is checked, and its TSTART, HDU-1 keywords and the byte offsets of its flux and
   uncertainty arrays are kept. Every check happens here, before anything large is written.
2. **Layout.** The primary header, the 4-D image header and the whole FFI table are known
   after the header pass, so the output file (under a temporary name beside ``cube_file``) gets
   its headers and table at once and is sized to its final length.
3. **Bands of rows.** The cube's rows are cut into bands sized from ``max_memory``. For a band,
   each FFI's rows are one contiguous run of bytes per array, read straight into a small staging
   buffer (a few MB, so the transpose works in cache) and copied into the band, whose layout is
   the cube's: ``(rows, columns, n_ffi, 2)``, big-endian float32. The finished band is written at
   its offset. Two threads work on different bands (file reads, numpy copies and writes all
   release the GIL), so one thread's write overlaps the other's reads.
4. **Rename.** Only a complete file is renamed to ``cube_file``.

Each FFI byte is read once and each cube byte written once, whatever the number of bands; a
smaller ``max_memory`` only means more, smaller reads. Memory held: the bands in flight plus
the staging buffers, within ``max_memory`` (a band is never smaller than one cube row).

With an executor, the same band function runs as independent tasks that take only plain data
(paths and offsets) and write into the preallocated file; the result is byte-identical.

Updating a cube merges, band by band, the old cube's rows with the new FFIs' rows into a new
file, which then replaces the old one; the old cube is never loaded whole and stays intact
until the rename.

Choices made here (differences from the reference tool, kept on purpose)
------------------------------------------------------------------------
- ``ORIGIN`` names this project, not the archive; ``SECTOR`` keeps the FFIs' value (or the
  ``sector`` argument) where the reference writes an undefined value unless told.
- Table columns are the union of the HDU-1 keywords of all FFIs (the first FFI with a WCS sets
  the order, keywords only other FFIs carry follow), so no FFI's values are dropped; commentary
  cards (COMMENT, HISTORY) get no column. A column's type comes from all its values (any
  string: ``nA`` as wide as the longest; integers and booleans: ``J``, or ``K`` beyond 32 bits;
  other numbers: ``D``), not from one template file, so no string is cut short.
- Each column's keyword comment is the comment of its ``TTYPEn`` card. The archive's cubes
  instead set a card ``KEY = 'comment'`` per column in the table header, which gives reserved
  keywords values of the wrong type (``CRVAL1 = 'RA at CRPIX1, CRPIX2'``, ``EXTNAME``, ``DATE-OBS``
  ...: 22 fitsverify errors); the reference cutter only reads those for cosmetic WCS comments.
- FFIs listed twice (same file name or same TSTART) are built once, with an
  :class:`~astrocut.errors.InputWarning`.
"""

import contextlib
import datetime
import io
import math
import os
import threading
import time
import warnings
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Optional

import attrs
import numpy as np
from astropy.io import fits

from astrocut.errors import InputWarning, InvalidInputError, OutputError
from astrocut.output import atomic_path
from astrocut.progress import Progress

from .ffi import is_missing, padded, read_cube, read_ffi, read_primary_header

__all__ = ["build_cube", "update_cube", "write_band", "write_band_task", "BandPlan"]

#: Written to the cube's ORIGIN keyword.
ORIGIN = "astrocut"
#: Column of the FFI table holding each FFI's file name.
FILE_COLUMN = "FFI_FILE"
#: Worker threads of a single-process build.
N_THREADS = 2
#: Bytes of each thread's staging buffer (FFI rows before they are transposed).
STAGING_BYTES = 4 * 2 ** 20
#: Most FFIs read together into one staging buffer (and open at once per thread).
MAX_GROUP = 64
#: Bands of at least this many rows are preferred (larger reads), memory permitting.
MIN_BAND_ROWS = 32
#: Bands per thread aimed at, so that writing one band overlaps building the next.
BANDS_PER_WORKER = 4
#: Least number of tasks given to an executor (it may have many workers).
MIN_EXECUTOR_TASKS = 32
GB = 1e9
#: Keywords of a table header's own structure, never a column's comment.
_TABLE_STRUCTURE = frozenset({"XTENSION", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "PCOUNT",
                              "GCOUNT", "TFIELDS", "THEAP", "CHECKSUM", "DATASUM"})

# ------------------------------------------------------------------------------ band work

@attrs.frozen
class Source:
    """One FFI's arrays: the file and the byte offsets of its flux and uncertainty images."""

    path: str
    flux_offset: int
    error_offset: int
    dtype: str


@attrs.frozen
class OldCube:
    """The cube being updated: where its data start and where its frames go in the new cube.

    ``runs`` holds ``(destination, source, length)``: old frames ``source .. source+length-1``
    become new frames ``destination ..``.
    """

    path: str
    data_offset: int
    n_ffi: int
    runs: tuple


@attrs.frozen
class BandPlan:
    """Everything a band task needs, as plain picklable data.

    ``shape`` is the output cube's numpy shape ``(rows, columns, n_ffi, 2)``. ``groups`` holds
    ``(destination, source, count)``: FFIs ``sources[source:source+count]`` fill frames
    ``destination ..`` and are read together.
    """

    output: str
    data_offset: int
    shape: tuple
    sources: tuple
    groups: tuple
    old: Optional[OldCube] = None
    staging_bytes: int = STAGING_BYTES

    @property
    def row_bytes(self):
        """Bytes of one cube row (all columns, frames and both planes)."""
        rows, cols, n_ffi, planes = self.shape
        return cols * n_ffi * planes * 4

    @property
    def old_row_bytes(self):
        """Bytes of one row of the cube being updated (0 for a new cube)."""
        return 0 if self.old is None else self.shape[1] * self.old.n_ffi * 2 * 4

    def staging_rows(self, count, itemsize):
        """Rows of ``count`` FFIs (both arrays) that fit the staging buffer (at least one)."""
        return max(1, self.staging_bytes // (count * 2 * self.shape[1] * itemsize))

    def old_rows(self):
        """Rows of the old cube read at a time (at least one)."""
        return max(1, self.staging_bytes // max(self.old_row_bytes, 1))

    def fixed_bytes(self):
        """Memory one worker needs besides its band: staging buffers for FFI and old rows."""
        cols = self.shape[1]
        largest = max((count * 2 * cols * np.dtype(self.sources[source].dtype).itemsize
                       for _, source, count in self.groups), default=0)
        staging = max(self.staging_bytes, largest)
        old = self.old_rows() * self.old_row_bytes if self.old is not None else 0
        return staging + old


class Workspace:
    """The buffers one worker reuses from band to band (allocated on first use)."""

    def __init__(self):
        self._band = None
        self._staging = None
        self._old = None

    @staticmethod
    def _grow(buffer, nbytes):
        if buffer is None or buffer.nbytes < nbytes:
            return np.empty(nbytes, dtype=np.uint8)
        return buffer

    def band(self, plan, nrows):
        rows, cols, n_ffi, planes = plan.shape
        self._band = self._grow(self._band, nrows * plan.row_bytes)
        return self._band[:nrows * plan.row_bytes].view(">f4").reshape(nrows, cols, n_ffi, planes)

    def staging(self, nbytes):
        self._staging = self._grow(self._staging, nbytes)
        return self._staging[:nbytes]

    def old(self, nbytes):
        self._old = self._grow(self._old, nbytes)
        return self._old[:nbytes]


def _read_into(handle, array, offset, path):
    view = memoryview(array).cast("B")
    handle.seek(offset)
    done = 0
    while done < len(view):
        count = handle.readinto(view[done:])
        if not count:
            raise InvalidInputError(f"{path!r} became shorter while the cube was being built "
                                    f"(could not read {len(view)} bytes at byte {offset})")
        done += count


def _write_from(handle, array, offset):
    view = memoryview(array).cast("B")
    handle.seek(offset)
    done = 0
    while done < len(view):
        done += handle.write(view[done:])


def _copy_old_rows(plan, band, start, stop, workspace):
    old = plan.old
    cols = plan.shape[1]
    chunk = plan.old_rows()
    buffer = workspace.old(chunk * plan.old_row_bytes)
    with open(old.path, "rb", buffering=0) as handle:
        for first in range(start, stop, chunk):
            count = min(chunk, stop - first)
            rows = buffer[:count * plan.old_row_bytes].view(">f4").reshape(count, cols,
                                                                            old.n_ffi, 2)
            _read_into(handle, rows, old.data_offset + first * plan.old_row_bytes, old.path)
            local = first - start
            for destination, source, length in old.runs:
                band[local:local + count, :, destination:destination + length] = \
                    rows[:, :, source:source + length]


def _copy_group(plan, band, start, stop, destination, first_source, count, workspace):
    cols = plan.shape[1]
    sources = plan.sources[first_source:first_source + count]
    dtype = np.dtype(sources[0].dtype)
    step = min(plan.staging_rows(count, dtype.itemsize), stop - start)
    buffer = workspace.staging(count * 2 * step * cols * dtype.itemsize)
    staging = buffer.view(dtype).reshape(count, 2, step, cols)
    row_bytes = cols * dtype.itemsize
    # A group's files stay open across the band's row chunks, and only a group's worth of
    # files is ever open, however many FFIs the cube holds.
    with contextlib.ExitStack() as stack:
        handles = [stack.enter_context(open(source.path, "rb", buffering=0))
                   for source in sources]
        for first in range(start, stop, step):
            rows = min(step, stop - first)
            for k, (source, handle) in enumerate(zip(sources, handles)):
                _read_into(handle, staging[k, 0, :rows], source.flux_offset + first * row_bytes,
                           source.path)
                _read_into(handle, staging[k, 1, :rows], source.error_offset + first * row_bytes,
                           source.path)
            local = first - start
            for r in range(rows):
                # (count, 2, cols) -> (cols, count, 2): the per-pixel time series of this
                # group land as one contiguous run of 2 * count values per pixel.
                band[local + r, :, destination:destination + count] = \
                    staging[:, :, r, :].transpose(2, 0, 1)


def fill_band(plan, start, stop, workspace):
    """Return the cube rows ``start:stop`` as a ``(rows, columns, n_ffi, 2)`` >f4 array.

    The array is a view of ``workspace``'s band buffer, valid until its next use.
    """
    band = workspace.band(plan, stop - start)
    if plan.old is not None:
        _copy_old_rows(plan, band, start, stop, workspace)
    for destination, source, count in plan.groups:
        _copy_group(plan, band, start, stop, destination, source, count, workspace)
    return band


def write_band(plan, start, stop, workspace=None):
    """Build cube rows ``start:stop`` and write them at their place in ``plan.output``.

    Parameters
    ----------
    plan : BandPlan
        The cube's layout and inputs.
    start, stop : int
        The band's first row and one past its last.
    workspace : Workspace, optional
        Buffers to reuse; a new one by default.

    Returns
    -------
    float
        Seconds spent writing.
    """
    band = fill_band(plan, start, stop, workspace or Workspace())
    started = time.perf_counter()
    with open(plan.output, "r+b", buffering=0) as handle:
        _write_from(handle, band, plan.data_offset + start * plan.row_bytes)
    return time.perf_counter() - started


def write_band_task(plan, start, stop):
    """:func:`write_band` as an executor task: plain arguments, fresh buffers, picklable."""
    return write_band(plan, start, stop)


def plan_bands(plan, max_memory, workers, min_bands=1):
    """Cut the cube's rows into bands that fit ``max_memory`` GB per worker.

    Returns a list of ``(start, stop)``. A band is at least one row; bands shrink, while they
    keep at least ``MIN_BAND_ROWS`` rows, to give each worker several (so writes overlap reads).
    """
    rows = plan.shape[0]
    per_worker = max_memory * GB / workers - plan.fixed_bytes()
    most = max(1, int(per_worker // plan.row_bytes))
    wanted = max(min_bands, BANDS_PER_WORKER * workers)
    size = min(most, max(MIN_BAND_ROWS, math.ceil(rows / wanted)))
    if min_bands > 1:
        size = min(size, math.ceil(rows / min_bands))
    size = max(1, min(size, rows))
    return [(start, min(start + size, rows)) for start in range(0, rows, size)]


def _groups(destinations, sources):
    """Split FFIs (in destination order) into runs of consecutive frames of one dtype."""
    runs = []
    for index, destination in enumerate(destinations):
        if runs:
            dst, src, count = runs[-1]
            if (dst + count == destination and src + count == index
                    and sources[src].dtype == sources[index].dtype):
                runs[-1] = (dst, src, count + 1)
                continue
        runs.append((destination, index, 1))
    groups = []
    for dst, src, count in runs:
        pieces = math.ceil(count / MAX_GROUP)
        base, extra = divmod(count, pieces)
        for piece in range(pieces):
            size = base + (piece < extra)
            groups.append((dst, src, size))
            dst, src = dst + size, src + size
    return tuple(groups)


def _old_runs(destinations):
    runs = []
    for source, destination in enumerate(destinations):
        if runs and runs[-1][0] + runs[-1][2] == destination:
            runs[-1] = (runs[-1][0], runs[-1][1], runs[-1][2] + 1)
        else:
            runs.append((destination, source, 1))
    return tuple(runs)


def _run_bands(plan, bands, request, progress):
    """Write every band, with threads or ``request.executor``; return summed write seconds."""
    executor = request.executor
    if executor is not None:
        futures = {executor.submit(write_band_task, plan, start, stop): (start, stop)
                   for start, stop in bands}
        return _collect(futures, progress, len(bands))
    workers = min(N_THREADS, len(bands))
    if workers <= 1:
        written = 0.0
        workspace = Workspace()
        for number, (start, stop) in enumerate(bands, 1):
            written += write_band(plan, start, stop, workspace)
            progress.step(_band_message(number, len(bands), start, stop))
        return written
    local = threading.local()

    def work(start, stop):
        # Each pool thread keeps its own buffers from band to band.
        if not hasattr(local, "workspace"):
            local.workspace = Workspace()
        return write_band(plan, start, stop, local.workspace)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="astrocut-cube") as pool:
        futures = {pool.submit(work, start, stop): (start, stop) for start, stop in bands}
        return _collect(futures, progress, len(bands))


def _band_message(number, total, start, stop):
    return f"Completed block {number} of {total} (rows {start}-{stop - 1})"


def _collect(futures, progress, total):
    written = 0.0
    pending = set(futures)
    number = 0
    try:
        while pending:
            done, pending = wait(pending, return_when=FIRST_EXCEPTION)
            for future in sorted(done, key=lambda f: futures[f]):
                written += future.result()
                number += 1
                start, stop = futures[future]
                progress.step(_band_message(number, total, start, stop))
    except BaseException:
        for future in pending:
            future.cancel()
        # Running tasks would keep writing into the file about to be removed: let them end.
        wait(pending)
        raise
    return written


# ------------------------------------------------------------------------- header pass

def _check_destination(cube_file):
    if os.path.isdir(cube_file):
        raise OutputError(f"cube_file {cube_file!r} is a directory")
    directory = os.path.dirname(os.path.abspath(cube_file))
    if not os.path.isdir(directory):
        raise OutputError(f"cannot write {cube_file!r}: directory {directory!r} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {cube_file!r}: directory {directory!r} is not writable")


def _check_not_an_input(cube_file, files):
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


def _check_space(cube_file, nbytes):
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
class _Expected:
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


def _scan(files, expected, progress):
    infos = []
    for number, path in enumerate(files):
        info = read_ffi(path)
        expected.check(info)
        infos.append(info)
        progress.step(f"Read header {number + 1} of {len(files)}: {info.name}")
    return infos


def _drop_duplicates(infos, known_names=(), known_starts=(), where="the list"):
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
        warnings.warn(f"skipped {len(skipped)} FFI(s) already in {where}: " + "; ".join(skipped),
                      InputWarning, stacklevel=3)
    return kept


def _sorted_by_start(infos):
    return sorted(infos, key=lambda info: info.tstart)


# ------------------------------------------------------------------------------- table

@attrs.define
class _Column:
    name: str
    kind: str  # "A", "J", "K", "D", "L" or, for columns of an old table, "old"
    width: int = 1
    comment: str = ""
    old_format: str = ""
    old_dtype: object = None

    def fits_format(self):
        if self.kind == "A":
            return f"{max(self.width, 1)}A"
        if self.kind == "old":
            return self.old_format
        return self.kind


def _infer_kind(values):
    present = [v for v in values if not is_missing(v)]
    if any(isinstance(v, (str, bytes, complex)) for v in present):
        return "A"
    if all(isinstance(v, (bool, int, np.integer)) for v in present):
        if all(-2 ** 31 <= int(v) < 2 ** 31 for v in present):
            return "J"
        return "K"
    return "D"


def _text(value):
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return str(value).rstrip()


def _coerce(value, kind):
    """``value`` as a cell of a column of ``kind``; missing or unconvertible: blank, 0, NaN."""
    missing = is_missing(value) or (isinstance(value, float) and kind in "JKL"
                                     and not float(value).is_integer())
    if kind == "A":
        return b"" if is_missing(value) else _text(value).encode("ascii", "replace")
    if kind in ("J", "K", "L"):
        if missing or isinstance(value, (str, bytes)):
            return 0
        return int(value)
    if missing or isinstance(value, (str, bytes)):
        return np.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan


def _new_columns(infos):
    """Columns for these FFIs' keywords: the first FFI with a WCS sets the order."""
    template = next((info for info in infos if info.has_wcs), infos[0])
    order = {}
    for info in [template] + infos:
        for keyword in info.values:
            order.setdefault(keyword, info.comments.get(keyword, ""))
    columns = []
    for keyword, comment in order.items():
        values = [info.values.get(keyword) for info in infos]
        kind = _infer_kind(values)
        width = max((len(_coerce(v, "A")) for v in values), default=1) if kind == "A" else 1
        columns.append(_Column(keyword, kind, width, comment))
    return columns


def _old_column(column, header, number):
    """A column of the cube being updated, keeping its format (strings may widen).

    The keyword's comment comes from the TTYPE card (cubes of this project) or from a
    ``KEY = 'comment'`` card (the archive's cubes).
    """
    fmt = column.format
    ttype = f"TTYPE{number}"
    comment = header.comments[ttype] if ttype in header else ""
    if (not comment and len(column.name) <= 8 and column.name not in _TABLE_STRUCTURE
            and isinstance(header.get(column.name), str)):
        comment = header[column.name]
    if fmt.format == "A":
        return _Column(column.name, "A", int(fmt.repeat), comment)
    if fmt.repeat == 1 and fmt.format in ("J", "K", "D"):
        return _Column(column.name, fmt.format, 1, comment)
    return _Column(column.name, "old", 1, comment, old_format=str(fmt), old_dtype=fmt.dtype)


def _merge_columns(old_columns, new_columns):
    """Old columns first (widened or promoted to hold the new values), then new keywords."""
    merged = {column.name: column for column in old_columns}
    for column in new_columns:
        existing = merged.get(column.name)
        if existing is None:
            merged[column.name] = column
        elif existing.kind == "A":
            existing.width = max(existing.width, column.width if column.kind == "A" else 1)
        elif existing.kind == "J" and column.kind == "K":
            existing.kind = "K"
        if existing is not None and not existing.comment:
            existing.comment = column.comment
    return list(merged.values())


def _table_hdu(columns, rows, names):
    """The FFI table: ``rows[i](keyword)`` is row i's value of a keyword (``None`` if missing)."""
    fits_columns = []
    for column in columns:
        if column.kind == "old":
            # A format this module never writes (e.g. from another tool): keep old values,
            # fill new rows where the value converts, else with zeros.
            array = np.zeros(len(rows), dtype=column.old_dtype)
            for index, row in enumerate(rows):
                value = row(column.name)
                if not is_missing(value):
                    with contextlib.suppress(TypeError, ValueError):
                        array[index] = value
        else:
            cells = [_coerce(row(column.name), column.kind) for row in rows]
            if column.kind == "A":
                column.width = max([column.width] + [len(cell) for cell in cells])
                array = np.array(cells, dtype=f"S{max(column.width, 1)}")
            else:
                dtype = {"J": np.int32, "K": np.int64, "D": np.float64}[column.kind]
                array = np.array(cells, dtype=dtype)
        fits_columns.append(fits.Column(name=column.name, format=column.fits_format(), array=array))
    width = max(max((len(name) for name in names), default=1), 1)
    fits_columns.append(fits.Column(
        name=FILE_COLUMN, format=f"{width}A",
        array=np.array([name.encode("ascii", "replace") for name in names], dtype=f"S{width}")))
    hdu = fits.BinTableHDU.from_columns(fits_columns)
    with warnings.catch_warnings():
        # A comment too long for its TTYPE card is cut short, as FITS requires.
        warnings.simplefilter("ignore", fits.verify.VerifyWarning)
        for number, column in enumerate(columns, 1):
            if column.comment:
                hdu.header.comments[f"TTYPE{number}"] = column.comment
        hdu.header.comments[f"TTYPE{len(columns) + 1}"] = "FFI file name"
    return hdu


def _hdu_bytes(hdu):
    """The bytes of an extension HDU as it appears in a file."""
    buffer = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(buffer)
    raw = buffer.getvalue()
    start = len(fits.PrimaryHDU().header.tostring())
    if raw[start:start + 8] != b"XTENSION":
        raise RuntimeError("unexpected layout of a serialised table HDU")
    return raw[start:]


# ----------------------------------------------------------------------------- headers

def _set(header, keyword, value, comment):
    """Set ``keyword`` keeping an existing comment (like the reference), or add it."""
    if keyword in header:
        header[keyword] = value
    else:
        header[keyword] = (value, comment)


def _today():
    return datetime.datetime.now(datetime.timezone.utc).date().isoformat()


def _primary_header(earliest, mission, last):
    """The cube's primary header.

    ``earliest`` is the primary header of the earliest FFI, ``mission`` a dict with SECTOR,
    CAMERA, CCD as ``(value, comment)``, ``last`` a dict with TSTOP and DATE-END likewise.
    """
    header = earliest.copy()
    header.remove("CHECKSUM", ignore_missing=True)
    if "EXTEND" not in header:
        header.insert("NAXIS", ("EXTEND", True, "file contains extensions"), after=True)
    _set(header, "ORIGIN", ORIGIN, "institution responsible for creating this file")
    _set(header, "DATE", _today(), "file creation date.")
    for keyword, (value, comment) in list(mission.items()) + list(last.items()):
        if value is None:
            if keyword not in header:
                header[keyword] = (None, comment)
            continue
        if not comment and keyword in header:
            comment = header.comments[keyword]
        header[keyword] = (value, comment)
    header["EXTNAME"] = "PRIMARY"
    return header


def _image_header(shape):
    rows, cols, n_ffi, planes = shape
    return fits.Header([
        ("XTENSION", "IMAGE", "Image extension"),
        ("BITPIX", -32, "array data type"),
        ("NAXIS", 4, "number of array dimensions"),
        ("NAXIS1", planes),
        ("NAXIS2", n_ffi),
        ("NAXIS3", cols),
        ("NAXIS4", rows),
        ("PCOUNT", 0, "number of parameters"),
        ("GCOUNT", 1, "number of groups"),
    ])


def _mission(expected, sector, infos, cube_primary=None):
    """SECTOR, CAMERA and CCD for the primary header, as ``(value, comment)``."""
    def comment(keyword, default):
        for info in infos:
            if info.comments.get(keyword):
                return info.comments[keyword]
        if cube_primary is not None and keyword in cube_primary:
            return cube_primary.comments[keyword]
        return default

    return {
        "CAMERA": (expected.camera, comment("CAMERA", "Camera number")),
        "CCD": (expected.ccd, comment("CCD", "CCD chip number")),
        "SECTOR": (sector if sector is not None else expected.sector, "Observing sector"),
    }


def _check_sector(sector, infos):
    if sector is None:
        return None
    try:
        sector = int(sector)
    except (TypeError, ValueError):
        raise InvalidInputError(f"sector must be an integer, not {sector!r}") from None
    for info in infos:
        if info.sector is not None and info.sector != sector:
            raise InvalidInputError(f"sector={sector} was requested but {info.path!r} is from "
                                    f"SECTOR {info.sector}")
    return sector


# ------------------------------------------------------------------------------ writing

def _write_cube(cube_file, primary, shape, table, make_plan, request, progress, started):
    """Write header, table and bands into a temporary file, then rename it to ``cube_file``."""
    head = primary.tostring().encode("ascii") + _image_header(shape).tostring().encode("ascii")
    data_bytes = int(np.prod(shape)) * 4
    table_bytes = _hdu_bytes(table)
    total = len(head) + padded(data_bytes) + len(table_bytes)
    _check_space(cube_file, total)
    with atomic_path(cube_file) as temporary:
        plan = make_plan(temporary, len(head))
        write_started = time.perf_counter()
        with open(temporary, "r+b", buffering=0) as handle:
            _write_from(handle, np.frombuffer(head, dtype=np.uint8), 0)
            # Sizing the file first lets bands be written in any order, by any process.
            handle.truncate(total)
            _write_from(handle, np.frombuffer(table_bytes, dtype=np.uint8),
                        len(head) + padded(data_bytes))
        written = time.perf_counter() - write_started
        if request.executor is not None:
            bands = plan_bands(plan, request.max_memory, 1, MIN_EXECUTOR_TASKS)
        else:
            bands = plan_bands(plan, request.max_memory, N_THREADS)
        progress_bands = Progress(len(bands), "Building cube", verbose=request.verbose,
                                  stream=progress.stream)
        rows, cols, n_ffi, _ = shape
        progress_bands.say(
            f"Writing a {cols}x{rows} cube of {n_ffi} FFIs ({data_bytes / GB:.2f} GB) in "
            f"{len(bands)} block(s) of up to {bands[0][1] - bands[0][0]} rows")
        written += _run_bands(plan, bands, request, progress_bands)
    progress_bands.say(f"Total time elapsed: {time.perf_counter() - started:.2f} sec")
    progress_bands.say(f"File write time: {written:.2f} sec")
    return cube_file


def build_cube(request):
    """Build a cube from the calibrated FFIs of ``request`` (an ``astrocut.models.CubeRequest``).

    Parameters
    ----------
    request : astrocut.models.CubeRequest
        ``files`` (FFI paths, any order), ``cube_file``, ``max_memory`` (GB for image data),
        ``sector`` (optional: sets SECTOR and must match the FFIs'), ``verbose`` and
        ``executor`` (optional: build row bands as tasks on it).

    Returns
    -------
    str
        ``request.cube_file``, complete.

    Raises
    ------
    astrocut.errors.InvalidInputError
        Naming the file, for anything that is not a usable FFI or does not match the others.
    astrocut.errors.OutputError
        If the cube cannot be written where asked.
    """
    started = time.perf_counter()
    cube_file = os.fspath(request.cube_file)
    _check_destination(cube_file)
    files = [os.fspath(f) for f in request.files]
    if not files:
        raise InvalidInputError("no FFIs given: the file list is empty")
    _check_not_an_input(cube_file, files)
    progress = Progress(len(files), "Reading FFI headers", verbose=request.verbose)
    expected = _Expected()
    infos = _scan(files, expected, progress)
    sector = _check_sector(request.sector, infos)
    infos = _sorted_by_start(_drop_duplicates(infos))
    rows, cols = expected.shape
    shape = (rows, cols, len(infos), 2)

    first, last = infos[0], infos[-1]
    primary = _primary_header(
        read_primary_header(first.path), _mission(expected, sector, infos),
        {key: (last.values.get(key), last.comments.get(key, "")) for key in ("TSTOP", "DATE-END")})
    table = _table_hdu(_new_columns(infos), [_ffi_row(info) for info in infos],
                       [info.name for info in infos])
    sources = tuple(_source(info) for info in infos)

    def make_plan(output, data_offset):
        return BandPlan(output=output, data_offset=data_offset, shape=shape, sources=sources,
                        groups=_groups(range(len(sources)), sources))

    return _write_cube(cube_file, primary, shape, table, make_plan, request, progress, started)


def _source(info):
    return Source(path=os.path.abspath(info.path), flux_offset=info.flux.offset,
                  error_offset=info.error.offset, dtype=info.flux.dtype)


def _ffi_row(info):
    return info.values.get


def _old_row(columns, index):
    def row(keyword):
        values = columns.get(keyword)
        return None if values is None else values[index]
    return row


def update_cube(request):
    """Add the FFIs of ``request`` to the existing cube ``request.cube_file``.

    The new cube is written band by band, merging the old cube's rows with the new FFIs' rows
    in TSTART order, into a temporary file that replaces the old cube once complete. FFIs
    already in the cube (same file name or TSTART) are skipped with an
    :class:`~astrocut.errors.InputWarning`; if none is left, the cube is returned unchanged.

    Parameters
    ----------
    request : astrocut.models.CubeRequest
        ``files`` (new FFIs), ``cube_file`` (the cube to extend), ``max_memory``, ``sector``,
        ``verbose`` and ``executor`` as for :func:`build_cube`.

    Returns
    -------
    str
        ``request.cube_file``.

    Raises
    ------
    astrocut.errors.InvalidInputError
        Naming the file, for an unusable FFI, one that does not match the cube (size, sector,
        camera, CCD), or a cube not in the archive's layout.
    """
    started = time.perf_counter()
    cube_file = os.fspath(request.cube_file)
    _check_destination(cube_file)
    cube = read_cube(cube_file)
    files = [os.fspath(f) for f in request.files]
    if not files:
        raise InvalidInputError("no FFIs given: the file list is empty")
    rows, cols, n_old, _ = cube.shape
    primary = cube.primary
    expected = _Expected(shape=(rows, cols), shape_from=f"the cube {cube_file!r}")
    for keyword in ("SECTOR", "CAMERA", "CCD"):
        value = primary.get(keyword)
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            setattr(expected, keyword.lower(), int(value))
            setattr(expected, f"{keyword.lower()}_from", f"the cube {cube_file!r}")
    progress = Progress(len(files), "Reading FFI headers", verbose=request.verbose)
    infos = _scan(files, expected, progress)
    sector = _check_sector(request.sector, infos)
    if sector is not None and expected.sector is not None and sector != expected.sector:
        raise InvalidInputError(f"sector={sector} was requested but the cube {cube_file!r} is "
                                f"SECTOR {expected.sector}")

    table = cube.table
    old_names = [_text(name) for name in table[FILE_COLUMN]]
    old_starts = [float(value) for value in table["TSTART"]]
    infos = _sorted_by_start(_drop_duplicates(infos, old_names, old_starts, where="the cube"))
    if not infos:
        Progress(0, "", verbose=request.verbose).say(
            f"No new FFIs: {cube_file} is unchanged")
        return cube_file

    # Merged order: by TSTART, old frames before new ones at equal times (which cannot
    # happen after the duplicate check, but keeps the sort total).
    entries = [(_sort_key(start), 0, index) for index, start in enumerate(old_starts)]
    entries += [(info.tstart, 1, index) for index, info in enumerate(infos)]
    entries.sort()
    old_destinations = [0] * n_old
    new_destinations = [0] * len(infos)
    for position, (_, kind, index) in enumerate(entries):
        (old_destinations if kind == 0 else new_destinations)[index] = position
    n_total = len(entries)
    shape = (rows, cols, n_total, 2)

    old_values = {name: table[name].tolist() for name in table.columns.names}
    rows_in_order, file_names = [], []
    for _, kind, index in entries:
        if kind == 0:
            rows_in_order.append(_old_row(old_values, index))
            file_names.append(old_names[index])
        else:
            rows_in_order.append(_ffi_row(infos[index]))
            file_names.append(infos[index].name)
    old_columns = [_old_column(column, cube.table_header, number)
                   for number, column in enumerate(table.columns, 1)
                   if column.name != FILE_COLUMN]
    columns = _merge_columns(old_columns, _new_columns(infos))
    table_hdu = _table_hdu(columns, rows_in_order, file_names)

    first_kind, first_index = entries[0][1], entries[0][2]
    last_row = rows_in_order[-1]
    last = {}
    for keyword in ("TSTOP", "DATE-END"):
        comment = primary.comments[keyword] if keyword in primary else ""
        last[keyword] = (last_row(keyword), comment)
    mission = _mission(expected, sector, infos, cube_primary=primary)
    if first_kind == 1:
        earliest = read_primary_header(infos[first_index].path)
    else:
        earliest = primary
    new_primary = _primary_header(earliest, mission, last)
    if earliest is not primary:
        # The header now comes from a new, earlier FFI: keep the cube's update history.
        for line in primary.get("HISTORY", []):
            new_primary["HISTORY"] = line
    new_primary["HISTORY"] = (f"Updated on {_today()}: added {len(infos)} FFIs, "
                              f"{n_total} in all.")

    sources = tuple(_source(info) for info in infos)
    old = OldCube(path=os.path.abspath(cube_file), data_offset=cube.data_offset, n_ffi=n_old,
                  runs=_old_runs(old_destinations))

    def make_plan(output, data_offset):
        return BandPlan(output=output, data_offset=data_offset, shape=shape, sources=sources,
                        groups=_groups(new_destinations, sources), old=old)

    return _write_cube(cube_file, new_primary, shape, table_hdu, make_plan, request, progress,
                       started)


def _sort_key(value):
    return value if math.isfinite(value) else math.inf
