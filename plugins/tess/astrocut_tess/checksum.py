"""FITS ``CHECKSUM``/``DATASUM`` cards (the FITS checksum convention, FITS standard 4.0
appendix J) for HDUs that the TPF writer assembles from bytes.

Why not astropy: ``HDUList.writeto(checksum=True)`` and ``add_checksum`` need whole astropy
HDU objects, which the writer avoids building (see tpf.py: ~6 ms a TPF); here the sums are
numpy over the serialised bytes, a few hundred microseconds for a TPF of 1,300 cadences.
``tests/tess/test_checksum.py`` proves the cards equal to astropy's and that astropy and
fitsverify accept them.

``DATASUM`` is the 32-bit ones'-complement sum of the data unit read as big-endian words;
``CHECKSUM`` is 16 characters chosen so that the whole HDU (header and data) then sums to
negative zero.
"""

import numpy as np
from astropy.io import fits

CARD = 80
_PLACEHOLDER = "0000000000000000"
# The CHECKSUM value's 16 characters start after "CHECKSUM= '" (11 bytes into its card).
_VALUE_OFFSET = 11
_EXCLUDED = frozenset(range(0x3A, 0x41)) | frozenset(range(0x5B, 0x61))
_OFFSET = 0x30
CHECKSUM_COMMENT = "HDU checksum"
DATASUM_COMMENT = "data unit checksum"


def ones_complement_sum(buffer, start=0):
    """32-bit ones'-complement sum of ``buffer`` read as big-endian words (zero-padded to a
    whole word), added to ``start``."""
    view = memoryview(buffer).cast("B")
    whole = len(view) - len(view) % 4
    words = np.frombuffer(view[:whole], dtype=">u4")
    total = int(words.sum(dtype=np.uint64)) + start
    tail = bytes(view[whole:])
    if tail:
        total += int.from_bytes(tail.ljust(4, b"\0"), "big")
    while total >> 32:
        total = (total & 0xFFFFFFFF) + (total >> 32)
    return total


def encode(value):
    """The 16 ASCII characters of a ``CHECKSUM`` whose words sum to ``value`` (the
    convention's encoding: printable, no punctuation, rotated to the card's alignment)."""
    characters = [0] * 16
    for index in range(4):
        byte = (value >> (24 - 8 * index)) & 0xFF
        quotient, remainder = byte // 4 + _OFFSET, byte % 4
        group = [quotient + remainder, quotient, quotient, quotient]
        changed = True
        while changed:
            changed = False
            for pair in (0, 2):
                while group[pair] in _EXCLUDED or group[pair + 1] in _EXCLUDED:
                    group[pair] += 1
                    group[pair + 1] -= 1
                    changed = True
        for position in range(4):
            characters[4 * position + index] = group[position]
    rotated = characters[-1:] + characters[:-1]
    return bytes(rotated).decode("ascii")


_CARDS = []


def checksum_cards():
    """Card images of ``CHECKSUM`` (placeholder) and ``DATASUM`` (placeholder), to end a
    header with; :func:`sign` fills them."""
    if not _CARDS:  # made by astropy once per process
        _CARDS.extend([fits.Card("CHECKSUM", _PLACEHOLDER, CHECKSUM_COMMENT).image,
                       fits.Card("DATASUM", "0", DATASUM_COMMENT).image])
    return list(_CARDS)


def sign(header, data, checksum_at=None):
    """``header`` (bytes of whole 2880-byte blocks ending with :func:`checksum_cards` before
    END) with its ``CHECKSUM`` and ``DATASUM`` set for ``data`` (the data unit's bytes;
    padding zeros may be left out). ``checksum_at``: the CHECKSUM card's byte offset, when
    the caller knows it (DATASUM follows it), else the header is searched."""
    header = bytearray(header)
    datasum = ones_complement_sum(data)
    if checksum_at is None or header[checksum_at:checksum_at + 8] != b"CHECKSUM":
        checksum_at = _card_offset(header, b"CHECKSUM")
    datasum_at = checksum_at + CARD
    if header[datasum_at:datasum_at + 8] != b"DATASUM ":
        datasum_at = _card_offset(header, b"DATASUM ")
    # A string of up to 10 digits fills the 20-column value field the same way, so only the
    # value changes (as astropy formats it: quoted, padded to 8 characters).
    header[datasum_at + 10:datasum_at + 30] = f"'{datasum:<8}'".ljust(20).encode("ascii")
    value_at = checksum_at + _VALUE_OFFSET
    header[value_at:value_at + 16] = _PLACEHOLDER.encode("ascii")
    total = ones_complement_sum(header, datasum)
    header[value_at:value_at + 16] = encode(~total & 0xFFFFFFFF).encode("ascii")
    return bytes(header)


def _card_offset(header, key):
    for offset in range(0, len(header), CARD):
        if header[offset:offset + 8] == key:
            return offset
    raise ValueError(f"the header has no {key.decode().strip()} card")  # pragma: no cover
