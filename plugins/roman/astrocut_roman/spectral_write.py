"""Writing spectral subsets as ASDF files: their names, schema validation, worker processes.

All the files of one call appear together or not at all (:func:`astrocut.output.
staged_outputs`): each is written under a hidden ``.part`` name and renamed into place only
when every one is complete, so an error part way leaves the previous files as they were.
"""

import contextlib
import os
import re
from pathlib import PurePath

from astrocut.errors import InvalidInputError, OutputError
from astrocut.output import (output_error, prepare_directory, refuse_overwriting_inputs,
                             staged_outputs)

# Batches at least this long are written in worker processes when max_workers is not
# given (1.x's thresholds): below them, starting processes costs more than it saves.
PARALLEL_FROM = {True: 1000, False: 5000}  # validate_output -> number of files

_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")


def _stem(file):
    # A URL's last component names it as a path's does (s3://bucket/dir/name.asdf -> name).
    return PurePath(file.split("://", 1)[-1]).stem


def _folders(file):
    parts = PurePath(file.split("://", 1)[-1]).parent.parts
    return [p for p in parts if p.strip("/\\")]


def file_labels(files):
    """A distinct name part for every file: its stem, prefixed with as many parent folder
    names as it takes to tell files of the same stem apart (obs_a/spectrum.asdf and
    obs_b/spectrum.asdf give ``obs_a_spectrum`` and ``obs_b_spectrum``)."""
    stems = {f: _stem(f) for f in files}
    names = list(stems.values())
    shared = [f for f in files if names.count(stems[f]) > 1]
    labels = dict(stems)
    for depth in range(1, max((len(_folders(f)) for f in shared), default=0) + 1):
        if len(set(labels.values())) == len(labels):
            break
        labels = {f: "_".join([*_folders(f)[-depth:], stems[f]]) if f in shared else stems[f]
                  for f in files}
    if len(set(labels.values())) < len(labels):  # same folders and name (a path and a URL)
        labels = {f: f"{stems[f]}_{shared.index(f) + 1}" if f in shared else stems[f]
                  for f in files}
    return {f: _UNSAFE.sub("_", label) for f, label in labels.items()}


def file_name(group_by, lite, label=None, sid=None):
    """The 1.x file names: ``<stem>_subset_<id>[_lite].asdf``, ``<stem>_subset[_lite].asdf``
    and ``combined_spectral_subset[_lite].asdf``."""
    tail = "_lite.asdf" if lite else ".asdf"
    if group_by == "source_file":
        return f"{label}_subset_{_UNSAFE.sub('_', sid)}{tail}"
    if group_by == "file":
        return f"{label}_subset{tail}"
    return f"combined_spectral_subset{tail}"


@contextlib.contextmanager
def schema_validation_skipped():
    """Skip asdf's schema validation of the trees written in this block.

    asdf (6.x) validates every tree it writes and offers no switch to skip it, which for
    thousands of small trusted trees is much of the time spent; 1.x's
    ``validate_output=False`` stands in for :func:`asdf.schema.validate` while it writes,
    and so does this. The stand-in is process-wide for the duration of the block.
    """
    import asdf.schema

    original = asdf.schema.validate
    asdf.schema.validate = _no_validation
    try:
        yield
    finally:
        asdf.schema.validate = original


def _no_validation(*args, **kwargs):
    return None


def write_batch(jobs, validate):
    """Write ``(tree, temporary path, final path)`` jobs, here or in a worker; return the
    final paths."""
    import asdf

    with contextlib.nullcontext() if validate else schema_validation_skipped():
        for tree, path, final in jobs:
            try:
                asdf.AsdfFile(tree).write_to(path)
            except OSError as exc:
                raise output_error(exc, final) from None
            except Exception as exc:  # asdf's and yaml's errors for a tree it cannot store
                raise OutputError(f"cannot write {final!r}: {type(exc).__name__}: "
                                  f"{_first_line(exc)}") from None
    return [final for _, _, final in jobs]


def _first_line(exc):
    return (str(exc).strip().splitlines() or [""])[0]


def worker_count(max_workers, jobs, validate):
    if max_workers is None:
        return (os.cpu_count() or 1) if jobs >= PARALLEL_FROM[bool(validate)] else 1
    if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
        raise InvalidInputError(f"max_workers must be a positive integer or None, not "
                                f"{max_workers!r}")
    return max(1, min(max_workers, jobs))


def write_all(named_trees, output_dir, inputs, max_workers=None, validate=True):
    """Write ``(file name, tree)`` pairs into ``output_dir``; return their paths, in order.

    With ``validate=False`` the first file is still validated (a tree that breaks the
    schema is caught before thousands are written like it) and the rest are not.
    """
    named_trees = list(named_trees)
    directory = prepare_directory(output_dir, "output_dir")
    finals = [os.path.join(directory, name) for name, _ in named_trees]
    if len(set(finals)) < len(finals):
        raise InvalidInputError("two subsets would get the same file name in output_dir: "
                                "write them to separate folders")
    for final in finals:
        refuse_overwriting_inputs(final, inputs, "output file")
    if not named_trees:
        return []
    with staged_outputs() as stage:
        jobs = [(tree, stage.path(final), final)
                for (_, tree), final in zip(named_trees, finals)]
        if not validate:
            write_batch(jobs[:1], True)
            jobs = jobs[1:]
        workers = worker_count(max_workers, len(jobs), validate)
        if workers <= 1 or len(jobs) <= 1:
            write_batch(jobs, validate)
        else:
            _write_in_workers(jobs, workers, validate)
    return finals


def _write_in_workers(jobs, workers, validate):
    from astrocut.executors import worker_pool

    # One batch per worker: each job's tree is pickled to its worker once.
    batches = [jobs[index::workers] for index in range(workers)]
    with worker_pool(workers) as pool:
        futures = [pool.submit(write_batch, batch, validate) for batch in batches if batch]
        for future in futures:
            future.result()
