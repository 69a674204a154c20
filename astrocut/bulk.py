"""Many targets in one pass: the cube is opened once per worker, stamps read in file order.

Work is split into chunks of targets; each chunk runs :func:`_cut_cube_chunk` (a plain,
picklable function), in this process or on any :class:`concurrent.futures.Executor` — a
process pool, or a ``dask.distributed`` client's executor. A target that fails is reported in
its row of the result table and never stops the others.
"""

import math
import os
import time

import numpy as np

from . import remote
from .cubes import cut_options, cut_from_cube, default_cutout_name, open_cube
from .dispatch import check_input, file_list_argument, write_cutouts
from . import runner
from .errors import AstrocutError, InvalidInputError, WorkerError
from .frames import frame_selection
from .geometry import (center_pixel, decimal_degrees, icrs_pixels, parse_coordinate_list,
                       parse_coordinates, parse_cutout_size, radec_deg)
from .models import CubeCutRequest
from .output import prepare_directory, refuse_overwriting_inputs, remove_orphaned_parts
from .progress import Progress
from .targets import read_targets

RESULT_COLUMNS = ("name", "ra", "dec", "size_x", "size_y", "path", "status", "message")


def _whole(side):
    """A side in whole pixels for the result table; 0 when it was given as an angle."""
    value = getattr(side, "value", side)
    unit = str(getattr(side, "unit", "pix"))
    return int(round(float(value))) if unit in ("pix", "pixel") else 0


def _describe(target, center=None):
    """Parse one target (``center``: its parse_coordinate_list answer); return (center, size)
    or raise the package's error."""
    if target["size"] is None:
        raise InvalidInputError("no cutout_size given and the target has no size")
    if center is None or isinstance(center, Exception):  # parsed again: the same error
        center = parse_coordinates(target["coordinates"])
    return center, parse_cutout_size(target["size"])


def _empty_result(target):
    return {"name": target["name"], "ra": np.nan, "dec": np.nan, "size_x": 0, "size_y": 0,
            "path": "", "status": "error", "message": ""}


def _input_paths(targets):
    """The targets file, if ``targets`` is one: no cutout may be written over it."""
    return (os.fspath(targets),) if isinstance(targets, (str, os.PathLike)) else ()


def _find_written(results, rows, order, cube_file, output_path, started):
    """After a worker died, add the cutout files its chunk wrote before dying to ``results``.

    A cutout file appears only complete (renamed into place at the end), so a file at the name a
    target gets, written since the batch began and not reported, is this batch's result.
    Targets are looked at in submission order (the lost chunks are the first unreported
    ones) until every such file is matched. Targets sized as angles are left out: their
    shape in pixels is only known from the cube's WCS.
    """
    reported = {os.path.basename(r["path"]) for r in results.values() if r["path"]}
    unmatched = set()
    with os.scandir(output_path) as entries:
        for entry in entries:
            if (entry.name.endswith("_astrocut.fits") and entry.name not in reported
                    and entry.stat().st_mtime >= started):
                unmatched.add(entry.name)
    namer = None
    for index in order:
        if not unmatched:
            break
        if index in results:
            continue
        target = rows[index]
        try:
            center, size = _describe(target)
            shape = (_pixels(size.ny), _pixels(size.nx))
        except (AstrocutError, ValueError, TypeError):
            continue
        if namer is None:  # the cube's plugin names its cutouts; open it once to ask
            with open_cube(cube_file) as cube:
                namer = cube.default_name
        name = namer(center, shape)
        if name not in unmatched:
            continue
        unmatched.discard(name)
        result = _empty_result(target)
        result.update(ra=float(center.ra.deg), dec=float(center.dec.deg), size_x=shape[1],
                      size_y=shape[0], path=os.path.join(output_path, name), status="ok",
                      message="written before the batch stopped")
        results[index] = result


def _pixels(side):
    unit = str(getattr(side, "unit", "pix"))
    if unit not in ("pix", "pixel"):
        raise ValueError("an angle")
    return int(np.round(float(getattr(side, "value", side))))


def _requests(targets, product, frames=None, cut=None):
    """A CubeCutRequest per target, or the error its description raises."""
    placement, rounding, shared = cut or cut_options()
    out = []
    for target, parsed in zip(targets, parse_coordinate_list([t["coordinates"] for t in targets])):
        try:
            center, size = _describe(target, parsed)
            options = dict(shared, target={**shared.get("target", {}),
                                           **target.get("target", {})})
            if product is not None:
                options["product"] = product  # a mission option
            out.append(CubeCutRequest(center=center, size=size, mission_options=options,
                                      frames=frames, placement=placement,
                                      limit_rounding_method=rounding))
        except Exception as exc:  # reported in the target's own row
            out.append(exc)
    return out


def _cut_cube_chunk(targets, cube_file, output_path, product, inputs=(), fsspec_kwargs=None,
                    frames=None, cut=None):
    """Cut and write every target of one chunk, opening the cube once.

    A handle with a ``prefetch`` method (a cube read over the network) is told every
    request up front, so it can keep reads in flight across targets.
    """
    results = []
    with remote.options(fsspec_kwargs), open_cube(cube_file) as cube:
        requests = _requests(targets, product, frames, cut)
        prefetch = getattr(cube, "prefetch", None)
        if prefetch is not None:
            prefetch([r for r in requests if isinstance(r, CubeCutRequest)])
        for target, request in zip(targets, requests):
            result = _empty_result(target)
            try:
                if not isinstance(request, CubeCutRequest):
                    raise request
                center = request.center
                result["ra"], result["dec"] = radec_deg(center)
                cutout = cut_from_cube(cube, request)
                ny, nx = cutout.shape
                result["size_x"], result["size_y"] = nx, ny
                path = os.path.join(output_path, default_cutout_name(cube, center, cutout.shape, frames))
                refuse_overwriting_inputs(path, inputs, "target pixel file")
                result["path"] = write_cutouts([cutout], cube.output_format, path)
                result["status"] = "ok"
            except Exception as exc:  # one bad target must not stop a batch of thousands
                result["message"] = _message(exc)
            results.append(result)
    return results


def _message(exc):
    return str(exc) if isinstance(exc, AstrocutError) else f"{type(exc).__name__}: {exc}"


def _file_order(cube_file, targets, fsspec_kwargs=None):
    """Targets sorted by where their stamps lie in the cube file (row, then column).

    Handles that expose a celestial ``wcs`` allow this; others keep the given order. The
    order only makes reads sequential, so targets given as "RA DEC" numbers are placed with
    one vectorised ``all_world2pix`` on an ICRS WCS (a parse and a placement per target cost
    more than cutting a small stamp); others are placed one by one.
    """
    with remote.options(fsspec_kwargs), open_cube(cube_file) as cube:
        wcs = getattr(cube, "wcs", None)
        if wcs is None:
            return list(range(len(targets)))
        keys = [(np.inf, np.inf)] * len(targets)
        fast = [decimal_degrees(target["coordinates"]) for target in targets]
        numbered = [index for index, value in enumerate(fast) if value is not None]
        placed = icrs_pixels(wcs, [fast[index] for index in numbered]) if numbered else None
        if placed is None:
            fast = []
        else:
            for index, x, y in zip(numbered, *placed):
                if np.isfinite(x) and np.isfinite(y):  # off the cube: last, as below
                    keys[index] = (float(y), float(x))
        for index, target in enumerate(targets):
            if fast and fast[index] is not None:
                continue
            try:
                x, y = center_pixel(wcs, _describe(target)[0], cube_file)
                keys[index] = (y, x)
            except Exception:  # off the cube or unparsable: last; its chunk reports why
                pass
    return sorted(range(len(targets)), key=lambda index: keys[index])


#: A batch is cut in up to this many chunks, so an executor's workers share the work evenly
#: (and a killed worker loses at most one chunk's results) ...
MAX_CHUNKS = 64
#: ... of at least this many targets, so a small batch does not pay a cube opening per target.
MIN_CHUNK = 8


def _chunks(order, executor):
    """All targets in one chunk in this process; chunks of the batch's size on an executor.

    The chunk size depends on the batch only (not on the executor, whose worker count is not
    public), so every executor gets the same tasks.
    """
    if executor is None or not order:
        return [order]
    size = max(MIN_CHUNK, math.ceil(len(order) / MAX_CHUNKS))
    return [order[start:start + size] for start in range(0, len(order), size)]


def _run(chunks, rows, function, arguments, executor, progress):
    """Run ``function(the chunk's rows, *arguments)`` for every chunk; return results by target index.

    If the executor breaks (a worker killed), the targets already done keep their results and
    every other target gets an error row saying why; the batch then returns as usual, with
    the reason in ``aborted`` (``None`` when the batch ran to its end).
    """
    results = {}

    def collect(number, chunk_results):
        results.update(zip(chunks[number], chunk_results))
        progress.step(n=len(chunks[number]))

    tasks = ((function, ([rows[index] for index in indices],) + arguments) for indices in chunks)
    try:
        runner.run(tasks, executor, ordered=False, on_result=collect)
    except WorkerError as exc:
        return results, str(exc)
    return results, None


def _result_table(results, count, targets, aborted=None):
    from astropy.table import Table

    rows = []
    for index in range(count):
        row = results.get(index)
        if row is None:
            row = _empty_result(targets[index])
            row["message"] = f"not cut: {aborted}"
        rows.append(row)
    table = Table(rows=[[row[c] for c in RESULT_COLUMNS] for row in rows] or None,
                 names=RESULT_COLUMNS,
                 dtype=(str, float, float, int, int, str, str, str))
    table.meta["aborted"] = aborted
    return table


def cube_cut_many(cube_file, targets, cutout_size=None, output_path=".", executor=None,
                  verbose=True, product=None, fsspec_kwargs=None, frames=None, times=None,
                  bin_size=None, bin_method="sum", placement="center",
                  limit_rounding_method="round", time_correction="target", background=False):
    """Cut a target pixel file for every target from one cube.

    Parameters
    ----------
    cube_file : str
        The cube: a path, or a URL (``s3://``, ``https://`` ...; needs ``astrocut[remote]``).
    targets : `~astropy.table.Table`, str or list
        A table (or CSV path) with ``ra``, ``dec`` (degrees) and optional ``size`` (pixels;
        ``size_y`` for rows) and ``name`` columns, or a list of SkyCoord / "ra dec" strings.
        Other columns (``OBJECT``, ``TICID``, ``TESSMAG``, ``PMRA`` ...) are the targets'
        header keywords, as ``target`` in :meth:`CutoutFactory.cube_cut`.
    cutout_size : int, [nx, ny] or Quantity, optional
        Size for targets without their own.
    output_path : str
        Directory for the cutout files (created if missing).
    executor : `concurrent.futures.Executor`, optional
        Run chunks of targets on its workers (a process pool, or
        ``dask.distributed.Client(...).get_executor()``). Results do not depend on it.
    verbose : bool
        Show progress (done/total).
    fsspec_kwargs : dict, optional
        For a URL: fsspec options (``anon``, ``endpoint_url``, credentials, ``headers``);
        they travel with each chunk to the executor's workers.
    frames, times, bin_size, bin_method
        Cut only these frames (a frame range, or a time range in the cube's time system)
        and bin them; see :func:`astrocut.frames.frame_selection`. Only the selected
        frames are read.
    placement, limit_rounding_method, time_correction, background
        As in :meth:`CutoutFactory.cube_cut`.

    Returns
    -------
    `~astropy.table.Table`
        One row per target, in input order: name, ra, dec, size_x, size_y, path, status
        (``"ok"`` or ``"error"``) and message. If the executor broke (a worker was killed),
        the targets it had not reported are error rows and ``table.meta["aborted"]`` says
        why; it is ``None`` otherwise.
    """
    runner.check_executor(executor)
    selection = frame_selection(frames, times, bin_size, bin_method)
    cut = cut_options(placement, limit_rounding_method, time_correction, background)
    cube_file = check_input(cube_file, "cube_file")
    if not remote.is_url(cube_file):
        cube_file = os.path.abspath(cube_file)
    inputs = (cube_file,) + _input_paths(targets)
    rows = read_targets(targets, cutout_size)
    output_path = os.path.abspath(prepare_directory(output_path, "output_path"))
    progress = Progress(len(rows), "Cutting targets", verbose)
    chunks = _chunks(_file_order(cube_file, rows, fsspec_kwargs), executor)
    started = time.perf_counter()
    started_wall = time.time() - 1  # file times may be rounded to a second
    results, aborted = _run(chunks, rows, _cut_cube_chunk,
                            (cube_file, output_path, product, inputs, fsspec_kwargs, selection,
                             cut),
                            executor, progress)
    if aborted:
        remove_orphaned_parts(output_path)
        _find_written(results, rows, sum(chunks, []), cube_file, output_path, started_wall)
    table = _result_table(results, len(rows), rows, aborted)
    if not aborted:  # an aborted batch is reported once, by the caller, with its cause
        failed = int(np.sum(table["status"] != "ok"))
        progress.say(f"{len(rows) - failed} of {len(rows)} targets written to {output_path} "
                     f"in {time.perf_counter() - started:.1f} s; {failed} failed")
    return table


def _cut_images_chunk(targets, input_files, output_dir, single_outfile, cutout_prefix,
                      extension, drop_after, fsspec_kwargs=None):
    from .images import fits_cut

    results = []
    for target in targets:
        result = _empty_result(target)
        try:
            center, size = _describe(target)
            result["ra"], result["dec"] = float(center.ra.deg), float(center.dec.deg)
            written = fits_cut(input_files, center, target["size"], extension=extension,
                               single_outfile=single_outfile, cutout_prefix=cutout_prefix,
                               output_dir=output_dir, drop_after=drop_after,
                               fsspec_kwargs=fsspec_kwargs)
            paths = [written] if isinstance(written, str) else written
            result["path"] = ";".join(paths)
            result["size_x"], result["size_y"] = _whole(size.nx), _whole(size.ny)
            result["status"] = "ok"
        except Exception as exc:
            result["message"] = _message(exc)
        results.append(result)
    return results


def fits_cut_many(input_files, targets, cutout_size=None, output_dir=".", executor=None,
                  single_outfile=True, cutout_prefix="cutout", extension=None, drop_after=None,
                  verbose=True, fsspec_kwargs=None):
    """:func:`astrocut.fits_cut` for many positions, optionally on an executor.

    ``targets`` is as for :func:`cube_cut_many`. Returns the same kind of result table;
    ``path`` lists the files written for a target, separated by ``;``.
    """
    runner.check_executor(executor)
    # Checked once here, as fits_cut checks them: a missing input is not one target's fault.
    files = file_list_argument(input_files, "input_files", entry="input file", allow_urls=True)
    rows = read_targets(targets, cutout_size)
    output_dir = os.path.abspath(prepare_directory(output_dir, "output_dir"))
    progress = Progress(len(rows), "Cutting targets", verbose)
    chunks = _chunks(list(range(len(rows))), executor)
    results, aborted = _run(chunks, rows, _cut_images_chunk,
                            (files, output_dir, single_outfile, cutout_prefix, extension,
                             drop_after, fsspec_kwargs), executor, progress)
    if aborted:
        remove_orphaned_parts(output_dir)
    return _result_table(results, len(rows), rows, aborted)

