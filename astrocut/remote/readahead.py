"""Keeping reads in flight across a known sequence of requests (many stamps from one file).

The caller names every request up front (a key and its byte ranges) and then takes them in
that order; reads for the next ones are already under way while it works on the current
one, within a bound on the requests and bytes outstanding, so a batch costs about one round
trip in all rather than one per request. Taking a key that was not planned, or out of
order, returns ``None`` and the caller reads it itself.
"""

import collections

MAX_AHEAD = 32
MAX_BYTES = 256 * 1024 * 1024


class ReadAhead:
    """Reads of ``plan`` (``[(key, ranges), ...]``) through ``reader.submit_ranges``."""

    def __init__(self, reader, plan, max_ahead=MAX_AHEAD, max_bytes=MAX_BYTES):
        self._reader = reader
        self._waiting = collections.deque(plan)
        self._pending = collections.OrderedDict()  # key -> (future, bytes)
        self._bytes = 0
        self._max_ahead = max(1, max_ahead)
        self._max_bytes = max_bytes
        self._fill()

    def _fill(self):
        while self._waiting and len(self._pending) < self._max_ahead:
            key, ranges = self._waiting[0]
            size = sum(length for _, length in ranges)
            if self._pending and self._bytes + size > self._max_bytes:
                break
            self._waiting.popleft()
            if key in self._pending:
                continue
            self._pending[key] = (self._reader.submit_ranges(ranges), size)
            self._bytes += size

    @property
    def exhausted(self):
        """True once every planned request was taken or dropped."""
        return not self._pending and not self._waiting

    def take(self, key):
        """The bytes read for ``key`` (a list, one per range), or ``None`` if not planned.

        Raises what the read raised (the caller's request fails, later ones go on).
        """
        entry = self._pending.pop(key, None)
        if entry is None:
            return None
        future, size = entry
        self._bytes -= size
        try:
            return future.result()
        finally:
            self._fill()

    def cancel(self):
        """Drop every read still outstanding."""
        for future, _size in self._pending.values():
            future.cancel()
        self._pending.clear()
        self._waiting.clear()
