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
from .cubes import cut_from_cube, default_tpf_name, open_cube
from .dispatch import check_input, file_list_argument, write_cutouts
from .errors import AstrocutError, InvalidInputError
from .geometry import center_pixel, parse_coordinates, parse_cutout_size
from .models import CubeCutRequest
from .output import prepare_directory
from .progress import Progress

RESULT_COLUMNS = ("name", "ra", "dec", "size_x", "size_y", "path", "status", "message")


def read_targets(targets, cutout_size=None):
    """Normalise ``targets`` into a list of dicts with ``name, ra, dec, size``.

    ``targets`` is an astropy Table (or a CSV path) with ``ra`` and ``dec`` columns in degrees
    and optional ``size`` (pixels, square; ``size_y`` for rows) and ``name`` columns, or a list
    of ``SkyCoord``/"ra dec" strings. ``cutout_size`` is the default for rows without a size.
    """
    from astropy.table import Table

    source = "the targets table"
    if isinstance(targets, (str, os.PathLike)):
        path = os.fspath(targets)
        if not os.path.isfile(path):
            raise InvalidInputError(f"targets file {path!r} does not exist")
        try:
            targets = Table.read(path, format="ascii.csv")
            source = f"targets file {path!r}"
        except Exception as exc:
            raise InvalidInputError(f"targets file {path!r} is not a readable CSV table: {exc}") from None
    if isinstance(targets, Table):
        columns = {name.lower(): name for name in targets.colnames}
        if "ra" not in columns or "dec" not in columns:
            raise InvalidInputError(f"{source} needs 'ra' and 'dec' columns (degrees); "
                                    f"it has {targets.colnames}")
        rows = []
        for index, row in enumerate(targets):
            size = _row_size(row, columns, cutout_size)
            name = str(row[columns["name"]]) if "name" in columns else str(index)
            rows.append({"name": name, "coordinates": f"{row[columns['ra']]} {row[columns['dec']]}",
                         "size": size})
        return rows
    try:
        items = list(targets)
    except TypeError:
        raise InvalidInputError("targets must be a Table, a CSV path or a list of positions") from None
    return [{"name": str(index), "coordinates": item, "size": cutout_size}
            for index, item in enumerate(items)]


def _row_size(row, columns, default):
    if "size" not in columns or np.ma.is_masked(row[columns["size"]]):
        return default
    size_x = row[columns["size"]]
    size_y = row[columns["size_y"]] if "size_y" in columns else size_x
    return [_number(size_x), _number(size_y)]


def _number(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value  # parse_cutout_size reports it, in the target's own row
    return int(number) if number.is_integer() else number


def _whole(side):
    """A side in whole pixels for the result table; 0 when it was given as an angle."""
    value = getattr(side, "value", side)
    unit = str(getattr(side, "unit", "pix"))
    return int(round(float(value))) if unit in ("pix", "pixel") else 0


def _describe(target):
    """Parse one target; return (center, size) or raise the package's error."""
    if target["size"] is None:
        raise InvalidInputError("no cutout_size given and the target has no size")
    return parse_coordinates(target["coordinates"]), parse_cutout_size(target["size"])


def _empty_result(target):
    return {"name": target["name"], "ra": np.nan, "dec": np.nan, "size_x": 0, "size_y": 0,
            "path": "", "status": "error", "message": ""}


def _requests(targets, product):
    """A CubeCutRequest per target, or the error its description raises."""
    out = []
    for target in targets:
        try:
            center, size = _describe(target)
            out.append(CubeCutRequest(center=center, size=size, product=product))
        except Exception as exc:  # reported in the target's own row
            out.append(exc)
    return out


def _cut_cube_chunk(cube_file, targets, output_path, product, fsspec_kwargs=None):
    """Cut and write every target of one chunk, opening the cube once.

    A handle with a ``prefetch`` method (a cube read over the network) is told every
    request up front, so it can keep reads in flight across targets.
    """
    results = []
    with remote.options(fsspec_kwargs), open_cube(cube_file) as cube:
        requests = _requests(targets, product)
        prefetch = getattr(cube, "prefetch", None)
        if prefetch is not None:
            prefetch([r for r in requests if isinstance(r, CubeCutRequest)])
        for target, request in zip(targets, requests):
            result = _empty_result(target)
            try:
                if not isinstance(request, CubeCutRequest):
                    raise request
                center = request.center
                result["ra"], result["dec"] = float(center.ra.deg), float(center.dec.deg)
                cutout = cut_from_cube(cube, request)
                ny, nx = cutout.shape
                result["size_x"], result["size_y"] = nx, ny
                path = os.path.join(output_path, default_tpf_name(cube_file, center, cutout.shape))
                result["path"] = write_cutouts([cutout], "tpf", path)
                result["status"] = "ok"
            except Exception as exc:  # one bad target must not stop a batch of thousands
                result["message"] = _message(exc)
            results.append(result)
    return results


def _message(exc):
    return str(exc) if isinstance(exc, AstrocutError) else f"{type(exc).__name__}: {exc}"


def _file_order(cube_file, targets, fsspec_kwargs=None):
    """Targets sorted by where their stamps lie in the cube file (row, then column).

    Handles that expose a celestial ``wcs`` allow this; others keep the given order.
    """
    with remote.options(fsspec_kwargs), open_cube(cube_file) as cube:
        wcs = getattr(cube, "wcs", None)
        if wcs is None:
            return list(range(len(targets)))
        keys = []
        for target in targets:
            try:
                x, y = center_pixel(wcs, _describe(target)[0], cube_file)
                keys.append((y, x))
            except Exception:  # off the cube or unparsable: last; its chunk reports why
                keys.append((np.inf, np.inf))
    return sorted(range(len(targets)), key=lambda index: keys[index])


def _chunks(order, n_chunks):
    size = max(1, math.ceil(len(order) / max(n_chunks, 1)))
    return [order[start:start + size] for start in range(0, len(order), size)]


def _chunks_for(order, executor):
    """All targets in one chunk in this process; four chunks per worker on an executor."""
    if executor is None:
        return _chunks(order, 1)
    workers = getattr(executor, "_max_workers", None) or os.cpu_count() or 1
    return _chunks(order, 4 * workers)


def _run(tasks, executor, progress):
    """Run ``(indices, function, arguments)`` tasks; return results keyed by target index."""
    results = {}
    if executor is None:
        for indices, function, arguments in tasks:
            results.update(zip(indices, function(*arguments)))
            progress.step(n=len(indices))
        return results
    from concurrent.futures import as_completed

    futures = {executor.submit(function, *arguments): indices
               for indices, function, arguments in tasks}
    for future in as_completed(futures):
        indices = futures[future]
        results.update(zip(indices, future.result()))
        progress.step(n=len(indices))
    return results


def _result_table(results, count):
    from astropy.table import Table

    rows = [results[index] for index in range(count)]
    return Table(rows=[[row[c] for c in RESULT_COLUMNS] for row in rows] or None,
                 names=RESULT_COLUMNS,
                 dtype=(str, float, float, int, int, str, str, str))


def cube_cut_many(cube_file, targets, cutout_size=None, output_path=".", executor=None,
                  verbose=True, product="SPOC", fsspec_kwargs=None):
    """Cut a target pixel file for every target from one cube.

    Parameters
    ----------
    cube_file : str
        The cube: a path, or a URL (``s3://``, ``https://`` ...; needs ``astrocut[remote]``).
    targets : `~astropy.table.Table`, str or list
        A table (or CSV path) with ``ra``, ``dec`` (degrees) and optional ``size`` (pixels;
        ``size_y`` for rows) and ``name`` columns, or a list of SkyCoord / "ra dec" strings.
    cutout_size : int, [nx, ny] or Quantity, optional
        Size for targets without their own.
    output_path : str
        Directory for the TPFs (created if missing).
    executor : `concurrent.futures.Executor`, optional
        Run chunks of targets on its workers (a process pool, or
        ``dask.distributed.Client(...).get_executor()``). Results do not depend on it.
    verbose : bool
        Show progress (done/total).
    fsspec_kwargs : dict, optional
        For a URL: fsspec options (``anon``, ``endpoint_url``, credentials, ``headers``);
        they travel with each chunk to the executor's workers.

    Returns
    -------
    `~astropy.table.Table`
        One row per target, in input order: name, ra, dec, size_x, size_y, path, status
        (``"ok"`` or ``"error"``) and message.
    """
    cube_file = check_input(cube_file, "cube_file")
    if not remote.is_url(cube_file):
        cube_file = os.path.abspath(cube_file)
    rows = read_targets(targets, cutout_size)
    output_path = os.path.abspath(prepare_directory(output_path, "output_path"))
    progress = Progress(len(rows), "Cutting targets", verbose)
    chunks = _chunks_for(_file_order(cube_file, rows, fsspec_kwargs), executor)

    tasks = [(indices, _cut_cube_chunk,
              (cube_file, [rows[index] for index in indices], output_path, product,
               fsspec_kwargs))
             for indices in chunks]
    started = time.perf_counter()
    results = _run(tasks, executor, progress)
    table = _result_table(results, len(rows))
    failed = int(np.sum(table["status"] != "ok"))
    progress.say(f"{len(rows) - failed} of {len(rows)} targets written to {output_path} in "
                 f"{time.perf_counter() - started:.1f} s; {failed} failed")
    return table


def _cut_images_chunk(input_files, targets, output_dir, single_outfile, cutout_prefix,
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
    # Checked once here, as fits_cut checks them: a missing input is not one target's fault.
    files = file_list_argument(input_files, "input_files", entry="input file", allow_urls=True)
    rows = read_targets(targets, cutout_size)
    output_dir = os.path.abspath(prepare_directory(output_dir, "output_dir"))
    progress = Progress(len(rows), "Cutting targets", verbose)
    chunks = _chunks_for(list(range(len(rows))), executor)

    tasks = [(indices, _cut_images_chunk,
              (files, [rows[index] for index in indices], output_dir, single_outfile,
               cutout_prefix, extension, drop_after, fsspec_kwargs))
             for indices in chunks]
    return _result_table(_run(tasks, executor, progress), len(rows))

