"""A per-process cache of what was parsed from a file's headers and tables.

Entries are keyed by the file's path and its identity (ETag and size for remote files), so a
changed file is read afresh. Few entries are kept: a cube's table can take a few MB.
"""

import collections
import threading

_ENTRIES = collections.OrderedDict()
_LOCK = threading.Lock()
MAX_ENTRIES = 32


def memo(reader, name, build):
    """``build()``, remembered per process for ``reader``'s file and identity under ``name``.

    Readers without an identity (local files) are not cached: a local file can be replaced
    in place, and reading its headers costs little.
    """
    identity = getattr(reader, "identity", None)
    if identity is None:
        return build()
    key = (reader.path, identity, name)
    with _LOCK:
        if key in _ENTRIES:
            _ENTRIES.move_to_end(key)
            return _ENTRIES[key]
    value = build()
    with _LOCK:
        _ENTRIES[key] = value
        while len(_ENTRIES) > MAX_ENTRIES:
            _ENTRIES.popitem(last=False)
    return value


def knows(path):
    """True if something parsed from ``path`` (any version of it) is remembered."""
    with _LOCK:
        return any(key[0] == path for key in _ENTRIES)


def clear():
    """Forget every entry."""
    with _LOCK:
        _ENTRIES.clear()
