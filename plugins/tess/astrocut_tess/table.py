"""The cube's FFI table (HDU 2): one row per FFI, one column per HDU-1 keyword.

Columns are the union of the HDU-1 keywords of all FFIs (the first FFI with a WCS sets the
order, keywords only other FFIs carry follow), so no FFI's values are dropped; commentary
cards (COMMENT, HISTORY) get no column. A column's type comes from all its values (any
string: ``nA`` as wide as the longest; integers and booleans: ``J``, or ``K`` beyond 32
bits; other numbers: ``D``), not from one template file, so no string is cut short.

Each column's keyword comment is the comment of its ``TTYPEn`` card. The archive's cubes
instead set a card ``KEY = 'comment'`` per column in the table header, which gives reserved
keywords values of the wrong type (``CRVAL1 = 'RA at CRPIX1, CRPIX2'``, ``EXTNAME``,
``DATE-OBS`` ...: 22 fitsverify errors); the reference cutter only reads those for cosmetic
WCS comments.
"""

import contextlib
import io
import math
import warnings

import attrs
import numpy as np
from astropy.io import fits

from .keywords import FILE_COLUMN, TABLE_STRUCTURE
from .rawfits import is_missing

__all__ = ["new_columns", "old_column", "merge_columns", "table_hdu", "hdu_bytes", "text",
           "ffi_row", "Merge", "merge_tables", "old_names_and_starts"]


@attrs.define
class _Column:
    name: str
    kind: str  # "A", "J", "K", "D", "L" or, for columns of an old table, "old"
    width: int = 1
    comment: str = ""
    old_format: str = ""
    old_dtype: object = None

    def fits_format(self):
        if self.kind == "A":
            return f"{max(self.width, 1)}A"
        if self.kind == "old":
            return self.old_format
        return self.kind


def _infer_kind(values):
    present = [v for v in values if not is_missing(v)]
    if any(isinstance(v, (str, bytes, complex)) for v in present):
        return "A"
    if all(isinstance(v, (bool, int, np.integer)) for v in present):
        if all(-2 ** 31 <= int(v) < 2 ** 31 for v in present):
            return "J"
        return "K"
    return "D"


def text(value):
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return str(value).rstrip()


def _coerce(value, kind):
    """``value`` as a cell of a column of ``kind``; missing or unconvertible: blank, 0, NaN."""
    missing = is_missing(value) or (isinstance(value, float) and kind in "JKL"
                                     and not float(value).is_integer())
    if kind == "A":
        return b"" if is_missing(value) else text(value).encode("ascii", "replace")
    if kind in ("J", "K", "L"):
        if missing or isinstance(value, (str, bytes)):
            return 0
        return int(value)
    if missing or isinstance(value, (str, bytes)):
        return np.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan


def new_columns(infos):
    """Columns for these FFIs' keywords: the first FFI with a WCS sets the order."""
    template = next((info for info in infos if info.has_wcs), infos[0])
    order = {}
    for info in [template] + infos:
        for keyword in info.values:
            order.setdefault(keyword, info.comments.get(keyword, ""))
    columns = []
    for keyword, comment in order.items():
        values = [info.values.get(keyword) for info in infos]
        kind = _infer_kind(values)
        width = max((len(_coerce(v, "A")) for v in values), default=1) if kind == "A" else 1
        columns.append(_Column(keyword, kind, width, comment))
    return columns


def old_column(column, header, number):
    """A column of the cube being updated, keeping its format (strings may widen).

    The keyword's comment comes from the TTYPE card (cubes of this project) or from a
    ``KEY = 'comment'`` card (the archive's cubes).
    """
    fmt = column.format
    ttype = f"TTYPE{number}"
    comment = header.comments[ttype] if ttype in header else ""
    if (not comment and len(column.name) <= 8 and column.name not in TABLE_STRUCTURE
            and isinstance(header.get(column.name), str)):
        comment = header[column.name]
    if fmt.format == "A":
        return _Column(column.name, "A", int(fmt.repeat), comment)
    if fmt.repeat == 1 and fmt.format in ("J", "K", "D"):
        return _Column(column.name, fmt.format, 1, comment)
    return _Column(column.name, "old", 1, comment, old_format=str(fmt), old_dtype=fmt.dtype)


def merge_columns(old_columns, new_columns):
    """Old columns first (widened or promoted to hold the new values), then new keywords."""
    merged = {column.name: column for column in old_columns}
    for column in new_columns:
        existing = merged.get(column.name)
        if existing is None:
            merged[column.name] = column
        elif existing.kind == "A":
            existing.width = max(existing.width, column.width if column.kind == "A" else 1)
        elif existing.kind == "J" and column.kind == "K":
            existing.kind = "K"
        if existing is not None and not existing.comment:
            existing.comment = column.comment
    return list(merged.values())


def table_hdu(columns, rows, names):
    """The FFI table: ``rows[i](keyword)`` is row i's value of a keyword (``None`` if missing)."""
    fits_columns = []
    for column in columns:
        if column.kind == "old":
            # A format this module never writes (e.g. from another tool): keep old values,
            # fill new rows where the value converts, else with zeros.
            array = np.zeros(len(rows), dtype=column.old_dtype)
            for index, row in enumerate(rows):
                value = row(column.name)
                if not is_missing(value):
                    with contextlib.suppress(TypeError, ValueError):
                        array[index] = value
        else:
            cells = [_coerce(row(column.name), column.kind) for row in rows]
            if column.kind == "A":
                column.width = max([column.width] + [len(cell) for cell in cells])
                array = np.array(cells, dtype=f"S{max(column.width, 1)}")
            else:
                dtype = {"J": np.int32, "K": np.int64, "D": np.float64}[column.kind]
                array = np.array(cells, dtype=dtype)
        fits_columns.append(fits.Column(name=column.name, format=column.fits_format(), array=array))
    width = max(max((len(name) for name in names), default=1), 1)
    fits_columns.append(fits.Column(
        name=FILE_COLUMN, format=f"{width}A",
        array=np.array([name.encode("ascii", "replace") for name in names], dtype=f"S{width}")))
    hdu = fits.BinTableHDU.from_columns(fits_columns)
    with warnings.catch_warnings():
        # A comment too long for its TTYPE card is cut short, as FITS requires.
        warnings.simplefilter("ignore", fits.verify.VerifyWarning)
        for number, column in enumerate(columns, 1):
            if column.comment:
                hdu.header.comments[f"TTYPE{number}"] = column.comment
        hdu.header.comments[f"TTYPE{len(columns) + 1}"] = "FFI file name"
    return hdu


def hdu_bytes(hdu):
    """The bytes of an extension HDU as it appears in a file."""
    buffer = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(buffer)
    raw = buffer.getvalue()
    start = len(fits.PrimaryHDU().header.tostring())
    if raw[start:start + 8] != b"XTENSION":
        raise RuntimeError("unexpected layout of a serialised table HDU")
    return raw[start:]


def ffi_row(info):
    """Row accessor of a new FFI: keyword -> value (``None`` if missing)."""
    return info.values.get


def _old_row(columns, index):
    def row(keyword):
        values = columns.get(keyword)
        return None if values is None else values[index]
    return row


def _sort_key(value):
    return value if math.isfinite(value) else math.inf


@attrs.frozen
class Merge:
    """Where each frame of an update goes, and the merged table.

    ``old_destinations[i]`` is the new frame of old frame ``i``, ``new_destinations[j]`` that
    of new FFI ``j``; ``rows`` are the merged rows' accessors in frame order and ``first_new``
    the index of the earliest frame if it is a new FFI (its primary header then leads).
    """

    old_destinations: list
    new_destinations: list
    rows: list
    first_new: object  # int or None
    hdu: object


def merge_tables(old, infos):
    """Merge the table HDU ``old`` of the cube being updated with new FFIs ``infos`` (sorted
    by TSTART, none already in the cube): by TSTART, old frames before new at equal times
    (impossible after the duplicate check, but it keeps the sort total)."""
    table, header = old.data, old.header
    old_names, starts = old_names_and_starts(old)
    entries = [(_sort_key(start), 0, index) for index, start in enumerate(starts)]
    entries += [(info.tstart, 1, index) for index, info in enumerate(infos)]
    entries.sort()
    old_destinations = [0] * len(starts)
    new_destinations = [0] * len(infos)
    for position, (_, kind, index) in enumerate(entries):
        (old_destinations if kind == 0 else new_destinations)[index] = position

    old_values = {name: table[name].tolist() for name in table.columns.names}
    rows, file_names = [], []
    for _, kind, index in entries:
        if kind == 0:
            rows.append(_old_row(old_values, index))
            file_names.append(old_names[index])
        else:
            rows.append(ffi_row(infos[index]))
            file_names.append(infos[index].name)
    old_columns = [old_column(column, header, number)
                   for number, column in enumerate(table.columns, 1)
                   if column.name != FILE_COLUMN]
    columns = merge_columns(old_columns, new_columns(infos))
    first_kind, first_index = entries[0][1], entries[0][2]
    return Merge(old_destinations=old_destinations, new_destinations=new_destinations,
                 rows=rows, first_new=first_index if first_kind == 1 else None,
                 hdu=table_hdu(columns, rows, file_names))


def old_names_and_starts(old):
    """File names and TSTARTs of the frames of the cube's table HDU ``old``."""
    table = old.data
    return ([text(name) for name in table[FILE_COLUMN]],
            [float(value) for value in table["TSTART"]])
