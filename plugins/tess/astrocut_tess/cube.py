"""Building and updating TESS cubes (``tess-formats.md`` §2) within a memory budget.

How a cube is built
-------------------
1. **One header pass** (:mod:`astrocut_tess.scan`). Each FFI's three headers are read once:
   the file is checked, and its TSTART, HDU-1 keywords and the byte offsets of its flux and
   uncertainty arrays are kept. Every check happens here, before anything large is written.
2. **Layout.** The primary header, the 4-D image header (:mod:`astrocut_tess.headers`) and
   the whole FFI table (:mod:`astrocut_tess.table`) are known after the header pass, so the
   output file (under a temporary name beside ``cube_file``) gets its headers and table at
   once and is sized to its final length.
3. **Bands of rows** (:mod:`astrocut_tess.bands`), sized from ``max_memory``, each written at
   its offset, by two threads or as tasks on an executor.
4. **Rename.** Only a complete file is renamed to ``cube_file``.

Updating a cube reads it with the plugin's one cube-layout reader
(:mod:`astrocut_tess.cubefile`) and merges, band by band, the old cube's rows with the new
FFIs' rows into a new file, which then replaces the old one; the old cube is never loaded
whole and stays intact until the rename.

Choices made here (differences from the reference tool, kept on purpose) are described in
the modules above; FFIs listed twice (same file name or same TSTART) are built once, with an
:class:`~astrocut.errors.InputWarning`.
"""

import contextlib
import os
import stat
import time

import numpy as np

from astrocut.errors import InvalidInputError
from astrocut.locking import check_unchanged, exclusive
from astrocut.output import atomic_path
from astrocut.progress import Progress

from .bands import (GB, MIN_EXECUTOR_TASKS, N_THREADS, BandPlan, OldFrames, Source,
                    frame_groups, old_runs, plan_bands, run_bands, write_band,
                    write_band_task, write_from)
from .cubefile import open_cube_file, read_layout
from .ffi import read_primary_header
from .headers import check_sector, image_header, mission_keywords, primary_header
from .keywords import FFI_NAME_SECTOR, FILE_COLUMN, utc_date
from .rawfits import padded
from .scan import (Expected, check_destination, check_not_an_input, check_space,
                   drop_duplicates, scan, sorted_by_start)
from .table import ffi_row, hdu_bytes, merge_tables, new_columns, old_names_and_starts, table_hdu

__all__ = ["build_cube", "update_cube", "write_band", "write_band_task", "BandPlan", "Source",
           "plan_bands"]


def _today():
    return utc_date()


def _write_cube(cube_file, primary, shape, table, make_plan, request, progress, started,
                old_fd=None, expected=None):
    """Write header, table and bands into a temporary file, then rename it to ``cube_file``.

    ``old_fd`` is the cube being updated (read by the bands) and ``expected`` its identity
    when it was read: the rename is refused unless ``cube_file`` is still that file. The new
    file gets the permission bits of the file it replaces.
    """
    head = primary.tostring().encode("ascii") + image_header(shape).tostring().encode("ascii")
    data_bytes = int(np.prod(shape)) * 4
    table_bytes = hdu_bytes(table)
    total = len(head) + padded(data_bytes) + len(table_bytes)
    check_space(cube_file, total)
    with atomic_path(cube_file) as temporary:
        plan = make_plan(temporary, len(head))
        write_started = time.perf_counter()
        with open(temporary, "r+b", buffering=0) as handle:
            write_from(handle, np.frombuffer(head, dtype=np.uint8), 0)
            # Sizing the file first lets bands be written in any order, by any process.
            handle.truncate(total)
            write_from(handle, np.frombuffer(table_bytes, dtype=np.uint8),
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
        written += run_bands(plan, bands, request.executor, progress_bands, write=write_band,
                             old_fd=old_fd)
        _keep_mode(temporary, cube_file)
        if expected is not None:
            check_unchanged(cube_file, expected)
        building = time.perf_counter() - write_started
    # Wall-clock parts that add up to the total; the write time is summed over the threads
    # or workers that wrote bands at once, so it may exceed the part it belongs to.
    progress_bands.say(f"Header pass: {write_started - started:.2f} sec")
    progress_bands.say(f"Cube build: {building:.2f} sec (file write time: {written:.2f} sec, "
                       f"summed over the band writers)")
    progress_bands.say(f"Total time elapsed: {time.perf_counter() - started:.2f} sec")
    return cube_file


def _keep_mode(temporary, path):
    """Give ``temporary`` the permission bits of the file it will replace (0600 stays 0600)."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return
    os.chmod(temporary, mode)


def _target(request):
    """``(cube_file, target)``: the name given, and the file it names (a symlink's target,
    which is what is replaced; the link stays)."""
    cube_file = os.fspath(request.cube_file)
    return cube_file, os.path.realpath(cube_file)


def _lock_timeout(request):
    # mission_options["timeout"]: seconds to wait for another writer of the cube; by
    # default as long as the other writer takes.
    return request.mission_options.get("timeout")


@contextlib.contextmanager
def _memory_named(request):
    """A MemoryError becomes the package's error, naming max_memory."""
    try:
        yield
    except MemoryError:
        raise InvalidInputError(
            f"out of memory writing the cube {os.fspath(request.cube_file)!r} with "
            f"max_memory={request.max_memory} GB: give a smaller max_memory (the bands are "
            f"sized from it), or free memory; nothing was written") from None


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
    cube_file, target = _target(request)
    check_destination(cube_file)
    # Held from the first read to the rename: another writer of this cube waits (or, past
    # the request's timeout, is refused) rather than interleaving with this one.
    with _memory_named(request), exclusive(target, _lock_timeout(request), "write"):
        _build(request, target)
    return cube_file


def _build(request, cube_file):
    started = time.perf_counter()
    files = [os.fspath(f) for f in request.files]
    if not files:
        raise InvalidInputError("no FFIs given: the file list is empty")
    check_not_an_input(cube_file, files)
    progress = Progress(len(files), "Reading FFI headers", verbose=request.verbose)
    expected = Expected()
    infos = scan(files, expected, progress)
    sector = check_sector(request.mission_options.get("sector"), infos)
    infos = sorted_by_start(drop_duplicates(infos))
    rows, cols = expected.shape
    shape = (rows, cols, len(infos), 2)

    first, last = infos[0], infos[-1]
    primary = primary_header(
        read_primary_header(first.path), mission_keywords(expected, sector, infos),
        {key: (last.values.get(key), last.comments.get(key, "")) for key in ("TSTOP", "DATE-END")},
        _today(), origin=request.mission_options.get("origin"))
    table = table_hdu(new_columns(infos), [ffi_row(info) for info in infos],
                       [info.name for info in infos])
    sources = tuple(_source(info) for info in infos)

    def make_plan(output, data_offset):
        return BandPlan(output=output, data_offset=data_offset, shape=shape, sources=sources,
                        groups=frame_groups(range(len(sources)), sources))

    return _write_cube(cube_file, primary, shape, table, make_plan, request, progress, started)


def _source(info):
    return Source(path=os.path.abspath(info.path), flux_offset=info.flux.offset,
                  error_offset=info.error.offset, dtype=info.flux.dtype)


def update_cube(request):
    """Add the FFIs of ``request`` to the existing cube ``request.cube_file``.

    The new cube is written band by band, merging the old cube's rows with the new FFIs' rows
    in TSTART order, into a temporary file that replaces the old cube once complete. FFIs
    already in the cube (same file name or TSTART) are skipped with a
    :class:`~astrocut.errors.DataWarning`; if none is left, InvalidInputError (as in 1.x).

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
    cube_file, target = _target(request)
    check_destination(cube_file)
    with _memory_named(request), exclusive(target, _lock_timeout(request), "update"):
        # The old cube is read through this one handle, opened once: headers, table, and
        # (in this process) every band's old frames.
        with open_cube_file(target) as handle:
            _update(request, cube_file, target, handle)
    return cube_file


def _learn_sector(expected, old_table, cube_file, requested):
    """SECTOR of a cube whose primary header has none (the reference tool writes it undefined
    unless told): from its table's SECTOR values or its FFIs' file names, when they agree;
    else the update is refused until ``sector=`` says, so no other sector's FFIs get in."""
    found = set()
    table = old_table.data
    if "SECTOR" in table.columns.names:
        found |= {int(v) for v in table["SECTOR"] if isinstance(v, (int, np.integer)) and v > 0}
    for name in table[FILE_COLUMN]:
        match = FFI_NAME_SECTOR.search(name.decode("ascii", "replace")
                                       if isinstance(name, bytes) else str(name))
        if match:
            found.add(int(match.group(1)))
    if len(found) == 1:
        expected.sector = found.pop()
        expected.sector_from = f"the FFIs in the cube {cube_file!r}"
    elif requested is None:
        what = (f"its FFIs are from sectors {sorted(found)}" if found
                else "neither its table nor its FFI file names say which sector it holds")
        raise InvalidInputError(f"{cube_file!r} has no SECTOR in its primary header and {what}: "
                                f"give sector= to update it")


def _update(request, cube_file, target, handle):
    started = time.perf_counter()
    layout = read_layout(handle, cube_file)
    layout.require_columns(("TSTART", FILE_COLUMN))
    if layout.n_planes != 2:
        raise InvalidInputError(f"{cube_file!r}: a cube to update holds 2 planes (flux, "
                                f"uncertainty), this one {layout.n_planes}")
    old_table = layout.table_hdu(handle)
    files = [os.fspath(f) for f in request.files]
    if not files:
        raise InvalidInputError("no FFIs given: the file list is empty")
    rows, cols, n_old, _ = layout.shape
    primary = layout.primary
    expected = Expected(shape=(rows, cols), shape_from=f"the cube {cube_file!r}")
    for keyword in ("SECTOR", "CAMERA", "CCD"):
        value = primary.get(keyword)
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            setattr(expected, keyword.lower(), int(value))
            setattr(expected, f"{keyword.lower()}_from", f"the cube {cube_file!r}")
    if expected.sector is None:
        _learn_sector(expected, old_table, cube_file, request.mission_options.get("sector"))
    progress = Progress(len(files), "Reading FFI headers", verbose=request.verbose)
    infos = scan(files, expected, progress)
    sector = check_sector(request.mission_options.get("sector"), infos)
    if sector is not None and expected.sector is not None and sector != expected.sector:
        raise InvalidInputError(f"sector={sector} was requested but the cube {cube_file!r} is "
                                f"SECTOR {expected.sector}")

    old_names, old_starts = old_names_and_starts(old_table)
    infos = sorted_by_start(drop_duplicates(infos, old_names, old_starts, where="the cube"))
    if not infos:
        raise InvalidInputError(f"No new images were found: every FFI given is already in "
                                f"{cube_file!r}, which is unchanged")

    merge = merge_tables(old_table, infos)
    n_total = n_old + len(infos)
    shape = (rows, cols, n_total, 2)
    last_row = merge.rows[-1]
    last = {}
    for keyword in ("TSTOP", "DATE-END"):
        comment = primary.comments[keyword] if keyword in primary else ""
        last[keyword] = (last_row(keyword), comment)
    mission = mission_keywords(expected, sector, infos, cube_primary=primary)
    if merge.first_new is not None:
        earliest = read_primary_header(infos[merge.first_new].path)
    else:
        earliest = primary
    # An update keeps the cube's ORIGIN unless the caller names a new one.
    origin = (request.mission_options.get("origin")
              or (primary.get("ORIGIN") if "ORIGIN" in primary else None))
    new_primary = primary_header(earliest, mission, last, _today(), origin=origin)
    if earliest is not primary:
        # The header now comes from a new, earlier FFI: keep the cube's update history.
        for line in primary.get("HISTORY", []):
            new_primary["HISTORY"] = line
    new_primary["HISTORY"] = (f"Updated on {_today()}: added {len(infos)} FFIs, "
                              f"{n_total} in all.")

    sources = tuple(_source(info) for info in infos)
    old = OldFrames(path=target, data_offset=layout.data_offset, n_ffi=n_old,
                    runs=old_runs(merge.old_destinations), device=layout.identity.device,
                    inode=layout.identity.inode)

    def make_plan(output, data_offset):
        return BandPlan(output=output, data_offset=data_offset, shape=shape, sources=sources,
                        groups=frame_groups(merge.new_destinations, sources), old=old)

    _write_cube(target, new_primary, shape, merge.hdu, make_plan, request, progress, started,
                old_fd=handle.fileno(), expected=layout.identity)
