"""The ASDF trees of spectral subsets, in the three groupings of the 1.x class.

* ``source_file``: one source of one file. ``roman.data`` is the spectrum, ``roman.meta``
  the file's keywords plus ``source_id``.
* ``file``: the chosen sources of one file. ``roman.data`` maps source ID to spectrum,
  ``roman.meta`` has ``source_ids``.
* ``combined``: every chosen source of every file. ``roman.data`` and ``roman.meta`` are
  keyed by file first (two files may hold the same source ID), ``roman.meta[file]`` has
  that file's ``source_ids``.

The full form also keeps the input's other ``roman`` entries and other top-level entries
(keyed by file in ``combined``, like data and meta) and, for one file, its history
entries. Every tree gets a history entry saying what was taken. The spectra are copied
into each tree, so changing a tree never changes ``subset_data``.
"""

import copy
import datetime
import os

from .reader import MISSION_KEY

GROUPINGS = ("source_file", "file", "combined")
INVALID_GROUP_BY = ("Invalid group_by value: '{}'. Must be one of 'source_file', 'file', or "
                    "'combined'.")


def _software():
    from asdf.tags.core import Software

    from astrocut import __version__

    return Software(name="astrocut", author="Space Telescope Science Institute",
                    homepage="https://astrocut.readthedocs.io/", version=__version__)


def history(entries, description):
    """``{"entries": [...entries, new]}``, the new one describing this subset.

    Built from asdf's own entry classes rather than ``AsdfFile.add_history_entry``, which
    validates each entry on its own: a write then validates once per file, as asked.
    """
    from asdf.tags.core import HistoryEntry

    # SOURCE_DATE_EPOCH, as asdf honours it, makes the written files reproducible.
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = (datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc) if epoch
            else datetime.datetime.now(datetime.timezone.utc))
    entry = HistoryEntry(description=description, time=when, software=_software())
    return {"entries": [copy.deepcopy(e) for e in entries] + [entry]}


def _range_text(request):
    return f" with wavelength range {request.wl_text}" if request.wl_range is not None else ""


def source_tree(result, sid, request):
    """The tree of source ``sid`` of one file's :class:`~.spectral_read.FileSubset`."""
    node = {"data": copy.deepcopy(result.spectra[sid]), "meta": {**result.meta, "source_id": sid}}
    description = (f"Spectral subset created for source ID {sid} from file {result.file}"
                   f"{_range_text(request)}.")
    return _tree(result, node, request, description)


def file_tree(result, sids, request):
    """The tree of the sources ``sids`` (all held by the file) of one file."""
    node = {"data": {sid: copy.deepcopy(result.spectra[sid]) for sid in sids},
            "meta": {**result.meta, "source_ids": list(sids)}}
    description = (f"Spectral subset created for source IDs {list(sids)} from file "
                   f"{result.file}{_range_text(request)}.")
    return _tree(result, node, request, description)


def _tree(result, node, request, description):
    if request.lite:
        return {MISSION_KEY: node, "history": history([], description)}
    tree = copy.deepcopy(result.others)
    tree[MISSION_KEY] = {**copy.deepcopy(result.mission), **node}
    tree["history"] = history(result.history, description)
    return tree


def combined_tree(results, sids_by_file, request):
    """One tree of every file's chosen sources; ``sids_by_file`` maps file to its IDs."""
    files = list(sids_by_file)
    data = {f: {sid: copy.deepcopy(results[f].spectra[sid]) for sid in sids_by_file[f]}
            for f in files}
    meta = {f: {**results[f].meta, "source_ids": list(sids_by_file[f])} for f in files}
    node = {"data": data, "meta": meta}
    sids = union(sids_by_file.values())
    description = (f"Spectral subset created for source IDs {sids} from files "
                   f"{', '.join(files)}{_range_text(request)}.")
    if request.lite:
        return {MISSION_KEY: node, "history": history([], description)}
    # Each file's other entries keyed by file, as data and meta are; the histories are not
    # merged (their order across files would mean nothing) but kept per file.
    tree = _keyed_by_file({f: results[f].others for f in files})
    tree[MISSION_KEY] = {**_keyed_by_file({f: results[f].mission for f in files}), **node}
    tree["inputs_history"] = {f: {"entries": copy.deepcopy(results[f].history)}
                              for f in files if results[f].history}
    if not tree["inputs_history"]:
        del tree["inputs_history"]
    tree["history"] = history([], description)
    return tree


def _keyed_by_file(parts):
    keyed = {}
    for file, entries in parts.items():
        for key, value in entries.items():
            keyed.setdefault(key, {})[file] = copy.deepcopy(value)
    return keyed


def union(groups):
    seen = {}
    for group in groups:
        for sid in group:
            seen.setdefault(sid, None)
    return list(seen)
