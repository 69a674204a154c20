"""Cube rows built in bands: the plain-data plan a band task gets, and the band loop.

For a band, each FFI's rows are one contiguous run of bytes per array, read straight into a
small staging buffer (a few MB, so the transpose works in cache) and copied into the band,
whose layout is the cube's: ``(rows, columns, n_ffi, 2)``, big-endian float32. The finished
band is written at its offset in the preallocated output. Two threads work on different
bands (file reads, numpy copies and writes all release the GIL), so one thread's write
overlaps the other's reads. With an executor, the same band function runs as independent
tasks that take only plain data (paths and offsets); the result is byte-identical.

Each FFI byte is read once and each cube byte written once, whatever the number of bands; a
smaller ``max_memory`` only means more, smaller reads. Memory held: the bands in flight plus
the staging buffers, within ``max_memory`` (a band is never smaller than one cube row).
"""

import contextlib
import math
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

import attrs
import numpy as np

from astrocut import runner
from astrocut.errors import InvalidInputError

from .rawfits import read_exact

__all__ = ["Source", "OldFrames", "BandPlan", "Workspace", "fill_band", "write_band",
           "write_band_task", "plan_bands", "frame_groups", "old_runs", "run_bands",
           "write_from"]

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


@attrs.frozen
class Source:
    """One FFI's arrays: the file and the byte offsets of its flux and uncertainty images."""

    path: str
    flux_offset: int
    error_offset: int
    dtype: str


@attrs.frozen
class OldFrames:
    """The frames of the cube being updated: where its data start and where they go in the
    new cube.

    ``runs`` holds ``(destination, source, length)``: old frames ``source .. source+length-1``
    become new frames ``destination ..``. In the updater's process the frames are read
    through the handle it opened once at its start (:attr:`Workspace.old_fd`); a task on an
    executor (maybe another process) opens ``path`` and refuses unless it is still the file
    the updater read (``device``, ``inode``).
    """

    path: str
    data_offset: int
    n_ffi: int
    runs: tuple
    device: int = 0
    inode: int = 0

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
    old: Optional[OldFrames] = None
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

    def __init__(self, old_fd=None):
        #: Descriptor of the cube being updated, opened once by the updater (shared by its
        #: threads: reads use pread, which keeps no file position).
        self.old_fd = old_fd
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


def write_from(handle, array, offset):
    view = memoryview(array).cast("B")
    handle.seek(offset)
    done = 0
    while done < len(view):
        done += handle.write(view[done:])


def _open_old(old):
    """The old cube opened by name in a task, refused unless it is the file the updater read."""
    try:
        handle = open(old.path, "rb", buffering=0)
    except OSError as exc:
        raise InvalidInputError(f"the cube {old.path!r} being updated cannot be read "
                                f"({exc.strerror})") from None
    stat = os.fstat(handle.fileno())
    if (stat.st_dev, stat.st_ino) != (old.device, old.inode):
        handle.close()
        raise InvalidInputError(f"the cube {old.path!r} was replaced while it was being "
                                f"updated; nothing was written, run the update again")
    return handle


def _copy_old_rows(plan, band, start, stop, workspace):
    old = plan.old
    cols = plan.shape[1]
    chunk = plan.old_rows()
    buffer = workspace.old(chunk * plan.old_row_bytes)
    with contextlib.ExitStack() as stack:
        fd = workspace.old_fd
        if fd is None:
            fd = stack.enter_context(_open_old(old)).fileno()
        for first in range(start, stop, chunk):
            count = min(chunk, stop - first)
            rows = buffer[:count * plan.old_row_bytes].view(">f4").reshape(count, cols,
                                                                            old.n_ffi, 2)
            read_exact(fd, memoryview(rows).cast("B"),
                       old.data_offset + first * plan.old_row_bytes, old.path)
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
        write_from(handle, band, plan.data_offset + start * plan.row_bytes)
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


def frame_groups(destinations, sources):
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


def old_runs(destinations):
    runs = []
    for source, destination in enumerate(destinations):
        if runs and runs[-1][0] + runs[-1][2] == destination:
            runs[-1] = (runs[-1][0], runs[-1][1], runs[-1][2] + 1)
        else:
            runs.append((destination, source, 1))
    return tuple(runs)


def run_bands(plan, bands, executor, progress, write=write_band, old_fd=None):
    """Write every band, with threads or on ``executor``; return summed write seconds.

    ``write`` is the band function of the threaded path (the executor path always submits
    :func:`write_band_task`, which pickles by name); ``old_fd`` the descriptor of the cube
    being updated, which the threads read through. Every path goes through astrocut's one
    runner, so errors, interrupts and broken executors are handled as for every other batch.
    """
    done = []

    def step(index, seconds):
        done.append(index)
        start, stop = bands[index]
        progress.step(_band_message(len(done), len(bands), start, stop))

    if executor is not None:
        tasks = ((write_band_task, (plan, start, stop)) for start, stop in bands)
        return sum(runner.run(tasks, executor, ordered=False, on_result=step))
    workers = min(N_THREADS, len(bands))
    if workers <= 1:
        workspace = Workspace(old_fd)
        tasks = ((write, (plan, start, stop, workspace)) for start, stop in bands)
        return sum(runner.run(tasks, None, on_result=step))
    local = threading.local()

    def work(start, stop):
        # Each pool thread keeps its own buffers from band to band.
        if not hasattr(local, "workspace"):
            local.workspace = Workspace(old_fd)
        return write(plan, start, stop, local.workspace)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="astrocut-cube") as pool:
        tasks = ((work, (start, stop)) for start, stop in bands)
        return sum(runner.run(tasks, pool, ordered=False, on_result=step))


def _band_message(number, total, start, stop):
    return f"Completed block {number} of {total} (rows {start}-{stop - 1})"
