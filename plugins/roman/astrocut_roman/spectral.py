"""The 1.x ``RomanSpectralSubset``: the spectra of chosen sources out of Roman spectral files.

Exported as ``astrocut.RomanSpectralSubset`` through ``astrocut_public_api``. The files are
read once, on creation (in worker processes when there are several files and
``max_workers`` allows); the subsets are then given as data (``subset_data``), as
:class:`asdf.AsdfFile` objects (``iter_asdf_subsets``, ``get_asdf_subsets``) or as files
(``write_as_asdf``), grouped per source and file, per file, or all combined.
"""

import numbers
import os
import warnings

import numpy as np

from astrocut.errors import DataWarning, InvalidInputError, InvalidQueryError

from . import spectral_trees as trees
from . import spectral_write
from .reader import require_asdf
from .spectral_read import SubsetRequest, read_subset

NO_SUBSETS = ("No subsets were created. Please verify that the source IDs are present in the "
              "spectral files and that the wavelength range overlaps with the data.")
_TABLE_COLUMNS = {"source_file": ["file", "source_id", "subset"],
                  "file": ["file", "source_ids", "subset"],
                  "combined": ["files", "source_ids", "subset"]}


class RomanSpectralSubset:
    """Subsets of Roman spectral files by source ID and wavelength (1.x ``RomanSpectralSubset``).

    Parameters follow 1.x: ``spectral_files`` (a path or URL, or a list of them),
    ``source_ids`` (an ID or a list; integers or strings, matched as text),
    ``wl_range=None`` (``(min, max)`` in the files' ``unit_wl``, or astropy Quantities,
    inclusive), ``lite=True`` (keep only ``wl``, ``flux`` and ``flux_error`` and the file's
    keywords; ``False`` keeps every entry of each spectrum, the rest of the ``roman`` node
    and the file's other entries), ``max_workers=None`` (processes reading the files: at
    most one per file, and the CPU count), ``verbose=False`` (also warn for each source a
    file does not hold).

    A source whose wavelengths miss the range is skipped with a :class:`DataWarning`;
    :class:`InvalidQueryError` if nothing at all is left.

    ``subset_data`` maps each file (as given) to ``{source ID: {name: array or value}}``.
    """

    def __init__(self, spectral_files, source_ids, wl_range=None, lite=True, max_workers=None,
                 verbose=False):
        self._files = file_list(spectral_files, "spectral_files")
        self._request = SubsetRequest(source_ids=tuple(id_list(source_ids, "source_ids")),
                                      wl_range=checked_wl_range(wl_range), lite=bool(lite),
                                      verbose=bool(verbose))
        self._max_workers = _positive_or_none(max_workers, "max_workers")
        self._results = {}
        self.subset_data = {}
        self.subset()

    # ------------------------------------------------------------------ reading
    def subset(self):
        """Read the files again and make the subsets (run on creation)."""
        require_asdf()
        for file in self._files:
            if "://" not in file and not os.path.exists(file):
                raise InvalidInputError(f"spectral file {file!r} does not exist")
        results = self._read_all()
        for result in results:
            for message in result.warnings:
                warnings.warn(message, DataWarning, stacklevel=3)
        kept = [result for result in results if result.spectra]
        if not kept:
            raise InvalidQueryError(NO_SUBSETS)
        self._results = {result.file: result for result in kept}
        self.subset_data = {result.file: result.spectra for result in kept}

    def _read_all(self):
        cap = self._max_workers or os.cpu_count() or 1
        workers = min(len(self._files), cap)
        if workers <= 1:
            return [read_subset(file, self._request) for file in self._files]
        from astrocut.executors import worker_pool

        with worker_pool(workers) as pool:
            futures = [pool.submit(read_subset, file, self._request) for file in self._files]
            # In input order, whatever order the workers finish in, so warnings are too.
            return [future.result() for future in futures]

    # ------------------------------------------------------------------ results
    def iter_asdf_subsets(self, *, group_by="combined", spectral_files=None, source_ids=None):
        """Yield ``(file, source_id, AsdfFile)`` rows (``group_by="source_file"``),
        ``(file, source_ids, AsdfFile)`` (``"file"``) or one ``(files, source_ids,
        AsdfFile)`` (``"combined"``), for the chosen files and sources (default: all)."""
        import asdf

        rows = self._rows(group_by, spectral_files, source_ids)
        return ((grouping, ids, asdf.AsdfFile(tree)) for grouping, ids, tree in rows)

    def get_asdf_subsets(self, *, group_by="combined", spectral_files=None, source_ids=None):
        """The rows of :meth:`iter_asdf_subsets` as an astropy Table (``subset`` holds the
        :class:`asdf.AsdfFile` objects)."""
        from astropy.table import Table

        rows = list(self.iter_asdf_subsets(group_by=group_by, spectral_files=spectral_files,
                                           source_ids=source_ids))
        columns = _TABLE_COLUMNS[group_by]
        data = {}
        for index, name in enumerate(columns):
            values = [row[index] for row in rows]
            if name in ("files", "source_ids", "subset"):
                cells = np.empty(len(values), dtype=object)  # lists and objects, one per row
                cells[:] = values
                values = cells
            data[name] = values
        return Table(data, names=columns)

    def write_as_asdf(self, output_dir=".", *, group_by="combined", spectral_files=None,
                      source_ids=None, max_workers=None, validate_output=True):
        """Write the subsets as ASDF files into ``output_dir``; return their paths.

        Names as in 1.x: ``<stem>_subset_<id>[_lite].asdf`` per source and file,
        ``<stem>_subset[_lite].asdf`` per file, ``combined_spectral_subset[_lite].asdf``.
        Files of the same stem in different folders are told apart by their folder names.
        ``validate_output=False`` validates the first file only (faster for thousands).
        ``max_workers``: processes writing (default: the CPU count for batches of 1000
        files, 5000 without validation; one otherwise).
        """
        rows = self._rows(group_by, spectral_files, source_ids)
        labels = spectral_write.file_labels(list(self._results))
        lite = self._request.lite
        named = []
        for grouping, ids, tree in rows:
            if group_by == "source_file":
                name = spectral_write.file_name(group_by, lite, labels[grouping], ids)
            elif group_by == "file":
                name = spectral_write.file_name(group_by, lite, labels[grouping])
            else:
                name = spectral_write.file_name(group_by, lite)
            named.append((name, tree))
        return spectral_write.write_all(named, output_dir, self._files, max_workers,
                                        bool(validate_output))

    def _rows(self, group_by, spectral_files, source_ids):
        """Check the arguments now (not at the first ``next``); return a generator of
        ``(grouping, ids, tree)``."""
        if not isinstance(group_by, str) or group_by not in trees.GROUPINGS:
            raise InvalidInputError(trees.INVALID_GROUP_BY.format(group_by))
        files, sids = self._select(spectral_files, source_ids)
        held = {f: [sid for sid in sids if sid in self._results[f].spectra] for f in files}
        held = {f: ids for f, ids in held.items() if ids}
        return self._generate(group_by, held)

    def _generate(self, group_by, held):
        request = self._request
        if group_by == "source_file":
            for file, ids in held.items():
                for sid in ids:
                    yield file, sid, trees.source_tree(self._results[file], sid, request)
        elif group_by == "file":
            for file, ids in held.items():
                yield file, list(ids), trees.file_tree(self._results[file], ids, request)
        else:
            sids = trees.union(held.values())
            yield list(held), sids, trees.combined_tree(self._results, held, request)

    def _select(self, spectral_files, source_ids):
        """The chosen files (keys of the results) and source IDs, each checked."""
        if spectral_files is None:
            files = list(self._results)
        else:
            files = [self._result_key(f) for f in file_list(spectral_files, "spectral_files")]
        available = trees.union(result.spectra for f, result in self._results.items()
                                 if f in files)
        if source_ids is None:
            return files, available
        sids = id_list(source_ids, "source_ids")
        for sid in sids:
            if sid not in available:
                raise InvalidQueryError(f"Source ID {sid} not found in subset results.")
        return files, sids

    def _result_key(self, file):
        if file in self._results:
            return file
        if "://" not in file:  # the same file by another spelling of its path
            for key in self._results:
                if "://" not in key and os.path.abspath(key) == os.path.abspath(file):
                    return key
        raise InvalidQueryError(f"Spectral file {file} not found in subset results.")


def file_list(files, parameter):
    """Paths and URLs as strings, in order, each once."""
    if isinstance(files, (str, os.PathLike)):
        files = [files]
    if not isinstance(files, (list, tuple)):
        raise InvalidInputError(f"{parameter} must be a file path or URL or a list of them, "
                                f"not {type(files).__name__}")
    names = []
    for file in files:
        if type(file).__name__.startswith("S3") and hasattr(file, "as_uri"):
            file = file.as_uri()  # s3path's S3Path: its fspath drops the s3:// scheme
        if not isinstance(file, (str, os.PathLike)):
            raise InvalidInputError(f"{parameter} holds {file!r}, which is not a file path")
        name = os.fspath(file)
        if name not in names:
            names.append(name)
    if not names:
        raise InvalidInputError(f"{parameter} is empty: give at least one Roman spectral file")
    return names


def id_list(source_ids, parameter):
    """Source IDs as strings (how 1.x keys them), in order, each once."""
    if isinstance(source_ids, (list, tuple, np.ndarray)):
        items = list(source_ids)
    else:
        items = [source_ids]
    sids = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (str, numbers.Integral)):
            raise InvalidInputError(f"{parameter} holds {item!r}: a source ID is an integer "
                                    f"or a string")
        sid = str(item) if isinstance(item, str) else str(int(item))
        if sid not in sids:
            sids.append(sid)
    if not sids:
        raise InvalidInputError(f"{parameter} is empty: give at least one source ID")
    return sids


def checked_wl_range(wl_range):
    """``None`` or a ``(min, max)`` tuple of numbers, or of astropy Quantities."""
    if wl_range is None:
        return None
    try:
        low, high = wl_range
    except (TypeError, ValueError):
        raise InvalidInputError(f"wl_range must be (min, max), not {wl_range!r}") from None
    with_units = [hasattr(value, "unit") for value in (low, high)]
    if any(with_units):
        if not all(with_units) or np.ndim(low) or np.ndim(high):
            raise InvalidInputError(f"wl_range {wl_range!r}: give two numbers or two "
                                    f"Quantities, not a mixture")
        return (low, high)
    for value in (low, high):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or np.isnan(value):
            raise InvalidInputError(f"wl_range {wl_range!r} must hold two numbers (min, max)")
    if low > high:
        raise InvalidInputError(f"wl_range {wl_range!r} has its minimum above its maximum: "
                                f"give (min, max)")
    return tuple(wl_range)


def _positive_or_none(value, parameter):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise InvalidInputError(f"{parameter} must be a positive integer or None, not {value!r}")
    return int(value)
