"""Planning byte ranges: merge what is adjacent or close, split what is too big to send as one."""

#: ranges closer than this are read as one request (saves a round trip, wastes the gap)
MAX_GAP = 64 * 1024
#: share of the payload that merged gaps may add (keeps bytes moved under 1.05x the payload)
MAX_WASTE = 0.05
#: larger requests are split so that their parts travel concurrently
MAX_REQUEST = 8 * 1024 * 1024


def merge_ranges(ranges, max_gap=MAX_GAP, max_waste=MAX_WASTE, max_request=MAX_REQUEST):
    """Requests ``[(offset, length), ...]`` covering ``ranges`` (``(offset, length)`` pairs).

    Sorted by offset; neighbours whose gap is at most ``max_gap`` are merged while the
    gaps read add up to at most ``max_waste`` of the payload; requests longer than
    ``max_request`` are split. Empty ranges are dropped.
    """
    wanted = sorted((int(o), int(n)) for o, n in ranges if n > 0)
    payload = sum(n for _, n in wanted)
    budget = max_waste * payload
    merged = []
    for offset, length in wanted:
        if merged:
            start, size = merged[-1]
            end = start + size
            gap = offset - end
            if gap <= 0:  # overlapping or adjacent: free
                merged[-1] = (start, max(end, offset + length) - start)
                continue
            if gap <= max_gap and gap <= budget:
                budget -= gap
                merged[-1] = (start, offset + length - start)
                continue
        merged.append((offset, length))
    requests = []
    for offset, length in merged:
        while length > max_request:
            requests.append((offset, max_request))
            offset, length = offset + max_request, length - max_request
        requests.append((offset, length))
    return requests


def slice_results(ranges, requests, blobs):
    """The bytes of each of ``ranges`` cut out of ``blobs`` read for ``requests``."""
    import bisect

    starts = [offset for offset, _ in requests]
    out = []
    for offset, length in ranges:
        if length <= 0:
            out.append(b"")
            continue
        index = bisect.bisect_right(starts, offset) - 1
        pieces, position, remaining = [], offset, length
        while remaining > 0:
            start, size = requests[index]
            blob = blobs[index]
            inner = position - start
            take = min(remaining, size - inner)
            pieces.append(blob[inner:inner + take])
            position += take
            remaining -= take
            index += 1
        out.append(pieces[0] if len(pieces) == 1 else b"".join(pieces))
    return out
