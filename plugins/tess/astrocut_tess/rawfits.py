"""The plugin's one raw FITS reader: headers, data offsets and binary-table rows from bytes.

Why not ``astropy.io.fits.open``: building an HDU list costs 2-5x more than reading the
header blocks and parsing them with :meth:`astropy.io.fits.Header.fromstring`, and a cube's
table (~130 columns, one per FFI keyword) costs ~15 ms through astropy where viewing its raw
rows through a numpy dtype made from TTYPEn/TFORMn takes well under one. Every header is still
parsed by astropy; only the framing (blocks, END, data sizes, row layout) is done here.
``tests/tess/test_rawfits.py`` proves the results equal to astropy's with property tests
(headers, data offsets, every column format including X/P/Q, TSCAL/TZERO).
"""

import os
import re
import threading
import warnings

import numpy as np
from astropy.io import fits

from astrocut.errors import InvalidInputError
from astrocut.remote.local import read_exact  # noqa: F401  (cutout and bands read through it)

BLOCK = 2880
CARD = 80
#: Most 2880-byte blocks a header may span (2.9 MB, 36 000 cards). SPOC FFI, cube and TPF
#: headers hold a few hundred cards (under 20 blocks); a header with no END card within
#: this many blocks is a damaged file (an END card changed, or data taken for a header),
#: and scanning on would read the whole file, gigabytes for a cube, into memory.
MAX_HEADER_BLOCKS = 1000
_NON_TEXT = re.compile(rb"[^\x20-\x7e]")
#: BITPIX values the FITS standard allows.
VALID_BITPIX = frozenset({8, 16, 32, 64, -32, -64})


def is_missing(value):
    """Whether a header value is absent: ``None`` or astropy's undefined value."""
    return value is None or isinstance(value, fits.card.Undefined)


def header_value(header, key, default=None):
    """``header[key]``, or ``default`` when the keyword is missing, has no value, or has a
    value astropy cannot parse."""
    try:
        value = header.get(key, default)
    except fits.VerifyError:
        return default
    return default if is_missing(value) else value


def padded(size):
    """``size`` rounded up to whole FITS blocks."""
    return -(-size // BLOCK) * BLOCK


def read_header(handle, path, index, file_size):
    """Read the header of HDU ``index`` starting at the current position of ``handle``.

    Parameters
    ----------
    handle : file
        A binary file positioned at the start of a header.
    path : str
        The file's name, for error messages.
    index : int
        The HDU number, for error messages and to know whether to expect ``SIMPLE``.
    file_size : int
        Size of the file in bytes.

    Returns
    -------
    header : `~astropy.io.fits.Header`
    data_offset : int
        Byte offset of the HDU's data (just after the header's last block).

    Raises
    ------
    InvalidInputError
        If the bytes are not a FITS header.
    """
    start = handle.tell()
    chunks = []
    while True:
        if len(chunks) >= MAX_HEADER_BLOCKS:
            raise InvalidInputError(
                f"{path!r}: the header of HDU {index} (at byte {start}) has no END card in its "
                f"first {MAX_HEADER_BLOCKS} blocks ({MAX_HEADER_BLOCKS * BLOCK / 1e6:.1f} MB); "
                f"FITS headers of FFIs, cubes and TPFs are far shorter, so the file is damaged "
                f"(its END card changed?) and was not read further")
        block = handle.read(BLOCK)
        if len(block) < BLOCK:
            if index == 0 and not chunks:
                raise InvalidInputError(f"{path!r} is not a FITS file (shorter than one FITS block)")
            raise InvalidInputError(
                f"{path!r} is truncated: the header of HDU {index} (at byte {start}) has no END card "
                f"before the end of the file ({file_size} bytes)")
        if not chunks:
            first = block[:8]
            expected = b"SIMPLE  " if index == 0 else b"XTENSION"
            if first != expected:
                what = "is not a FITS file" if index == 0 else f"has no valid HDU {index} header"
                raise InvalidInputError(f"{path!r} {what} (found {first!r} where {expected!r} "
                                        f"should start)")
        if _NON_TEXT.search(block):
            # Header blocks are printable ASCII: this is data, so the END card was lost.
            raise InvalidInputError(
                f"{path!r}: the header of HDU {index} (at byte {start}) runs into non-text "
                f"bytes at byte {start + len(chunks) * BLOCK} with no END card before them; "
                f"the END card is damaged or missing")
        chunks.append(block)
        # END must sit at the start of a card; scanning card starts avoids matching "END" in
        # a value such as DATE-END.
        if any(block[i:i + 8] == b"END     " for i in range(0, BLOCK, CARD)):
            break
    raw = b"".join(chunks)
    try:
        text = raw.decode("ascii")
        header = fits.Header.fromstring(text)
    except Exception as exc:
        raise InvalidInputError(f"{path!r}: HDU {index} header is not valid FITS "
                                f"({type(exc).__name__}: {exc})") from None
    _check_cards(text, path, index)
    check_structure(header, path, index)
    return header, start + len(raw)


# "KEY     = value" with a quoted string, T/F, an integer or a plain real, then an optional
# comment: astropy always parses these, so only other cards are parsed to be checked.
_PLAIN_CARD = re.compile(
    r"^[A-Z0-9_-]{1,8} *= *('([^']|'')*'|[TF]|[+-]?[0-9]+|[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)"
    r"([EeDd][+-]?[0-9]+)?) *(/.*)?$")


def _check_cards(text, path, index):
    # astropy parses a card's value on first use; checking every card here reports a damaged
    # card (``CRVAL1 = NAN``) by its file and keyword, wherever it would have been used.
    # Only cards of other than the simplest forms are parsed (from the raw text: astropy
    # shows a repaired image of a card it cannot parse).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fits.verify.VerifyWarning)
        for start in range(0, len(text), CARD):
            image = text[start:start + CARD]
            if image[8:10] != "= " or _PLAIN_CARD.match(image):
                continue  # commentary, blank, END, or a value astropy always parses
            try:
                fits.Card.fromstring(image).value  # noqa: B018
            except fits.VerifyError:
                raise InvalidInputError(f"{path!r}: HDU {index} has an unreadable "
                                        f"{image[:8].strip()} card (its value cannot be "
                                        f"parsed); repair or remove that card") from None


def _non_negative(header, key, path, index, required=True):
    value = header.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        found = "is missing" if key not in header else f"= {value!r} is not an integer >= 0"
        raise InvalidInputError(f"{path!r}: HDU {index} keyword {key} {found}, so the size of "
                                f"its data is unknown")
    return value


def check_structure(header, path, index):
    """Check the keywords that give an HDU's data size (BITPIX, NAXIS, NAXISn, PCOUNT,
    GCOUNT), raising InvalidInputError naming the file and keyword."""
    bitpix = header.get("BITPIX")
    if isinstance(bitpix, bool) or bitpix not in VALID_BITPIX:
        found = ("is missing" if "BITPIX" not in header
                 else f"= {bitpix!r} is not one of 8, 16, 32, 64, -32, -64")
        raise InvalidInputError(f"{path!r}: HDU {index} keyword BITPIX {found}")
    naxis = _non_negative(header, "NAXIS", path, index)
    if naxis > 999:
        raise InvalidInputError(f"{path!r}: HDU {index} keyword NAXIS = {naxis} is over 999")
    for axis in range(1, naxis + 1):
        _non_negative(header, f"NAXIS{axis}", path, index)
    _non_negative(header, "PCOUNT", path, index, required=False)
    _non_negative(header, "GCOUNT", path, index, required=False)


def data_size(header):
    """Bytes of data (without the padding) that ``header`` announces."""
    naxis = int(header.get("NAXIS", 0))
    if naxis == 0:
        return 0
    count = 1
    for axis in range(1, naxis + 1):
        count *= int(header.get(f"NAXIS{axis}", 0))
    bits = abs(int(header.get("BITPIX", 8)))
    return (bits // 8) * int(header.get("GCOUNT", 1)) * (int(header.get("PCOUNT", 0)) + count)


def structural_int(header, key, path, what):
    """An integer keyword of a structural header (0 when missing)."""
    value = header_value(header, key, 0)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(f"{path!r} is not a cube: {key} = {value!r} in the {what} "
                                f"header is not an integer")
    return value


def pread(handle, size, offset):
    """``size`` bytes at ``offset`` without moving a position other threads may share."""
    if hasattr(handle, "pread"):  # a URL's astrocut.remote.RangedFile
        return handle.pread(size, offset)
    if hasattr(os, "pread"):
        return os.pread(handle.fileno(), size, offset)
    with _SEEK_LOCK:  # pragma: no cover - platforms without pread
        handle.seek(offset)
        return handle.read(size)


_SEEK_LOCK = threading.Lock()


# ------------------------------------------------------------------------ binary tables

# TFORM letter -> (numpy type code, bytes per element)
_TFORM_TYPES = {"L": ("S1", 1), "B": ("u1", 1), "I": (">i2", 2), "J": (">i4", 4),
                "K": (">i8", 8), "E": (">f4", 4), "D": (">f8", 8), "C": (">c8", 8),
                "M": (">c16", 16), "A": ("S", 1)}
_TFORM = re.compile(r"^\s*(\d*)\s*([LXBIJKAEDCMPQ])(.*)$")


def table_dtype(header, path, what="table (HDU 2)"):
    """A structured dtype reading the columns of a binary table's rows.

    ``header`` is the table's astropy Header. Returns ``(dtype, found)`` where ``found``
    maps each column name to ``(field, column number, TFORM letter)``; columns of bit (X) or
    variable-length (P, Q) format and repeated names are skipped (their bytes are stepped
    over, so the other columns stay in place).
    """
    nfields = structural_int(header, "TFIELDS", path, what)
    row_bytes = structural_int(header, "NAXIS1", path, what)
    names, formats, offsets, found = [], [], [], {}
    position = 0
    for index in range(1, nfields + 1):
        name = str(header_value(header, f"TTYPE{index}", "")).strip()
        tform = str(header_value(header, f"TFORM{index}", ""))
        match = _TFORM.match(tform)
        if not match:
            raise InvalidInputError(f"{path!r}: table column {index} has an unreadable "
                                    f"format {tform!r}")
        repeat = int(match.group(1)) if match.group(1) else 1
        letter = match.group(2)
        if letter == "X":
            width = -(-repeat // 8)
        elif letter == "P":
            width = 8 * repeat
        elif letter == "Q":
            width = 16 * repeat
        else:
            width = _TFORM_TYPES[letter][1] * repeat
        if name not in found and letter not in "XPQ":
            code = _TFORM_TYPES[letter][0]
            if letter == "A":
                fmt = f"S{max(repeat, 1)}"
            elif repeat == 1:
                fmt = code
            else:
                fmt = (code, (repeat,))
            if repeat > 0:
                field = f"f{len(names)}"
                names.append(field)
                formats.append(fmt)
                offsets.append(position)
                found[name] = (field, index, letter)
        position += width
    if position != row_bytes:
        raise InvalidInputError(f"{path!r}: the image table's columns add up to {position} "
                                f"bytes a row, but NAXIS1 says {row_bytes}")
    dtype = np.dtype({"names": names, "formats": formats, "offsets": offsets,
                      "itemsize": row_bytes})
    return dtype, found


def table_column(rows, found, header, name):
    """Column ``name`` of raw ``rows`` (viewed through :func:`table_dtype`), with its
    TSCALn/TZEROn applied to numbers as FITS defines (``value * TSCAL + TZERO``)."""
    field, index, _letter = found[name]
    values = rows[field]
    scale = header_value(header, f"TSCAL{index}")
    zero = header_value(header, f"TZERO{index}")
    if (scale not in (None, 1) or zero not in (None, 0)) and values.dtype.kind in "iuf":
        # In float64, as astropy does: float32 arithmetic would round the scaled values.
        values = values.astype(np.float64) * (scale if scale is not None else 1) + (zero or 0)
    return values


def row_values(row, found):
    """``{keyword: python value}`` of one raw table row, NaN and missing values dropped."""
    values = {}
    for name, (field, _index, letter) in found.items():
        value = row[field]
        if letter == "A":
            values[name] = value.decode("ascii", "replace").strip()
        elif letter == "L":
            text = value.decode("ascii", "replace")
            if text in ("T", "F"):
                values[name] = text == "T"
        elif np.ndim(value) == 0:
            item = value.item()
            if isinstance(item, float) and not np.isfinite(item):
                continue
            values[name] = item
    return values
