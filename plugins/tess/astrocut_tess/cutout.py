"""Cutting stamp time series out of TESS cubes.

A :class:`TessCube` opens a cube (spec §2: HDU 1 a float32 ``(rows, columns, n_ffi, 2)``
array, HDU 2 a table with one row per FFI) once and answers any number of
:meth:`TessCube.cut` calls. Opening reads only the three headers and the table's bytes, and
keeps the few table columns a target pixel file needs and the WCS of one FFI; a cut reads
only the stamp's bytes, one contiguous run of ``nx * n_ffi * 8`` bytes per stamp row.

Headers are read with the plugin's shared reader (:func:`astrocut_tess.ffi.read_header`,
astropy :class:`~astropy.io.fits.Header` objects), and every keyword value comes from them.
The table is not built with astropy: a cube's table has one column per FFI header keyword
(~130), and astropy spends ~15 ms building that table, where viewing the raw rows through a
numpy dtype (made from the header's TTYPEn/TFORMn) and taking the few needed columns takes
well under one. The cube layout is fixed, and the reader checks every assumption it makes, raising
:class:`~astrocut.errors.InvalidInputError` naming the problem.

Which FFI's WCS is used follows the reference tool, so stamps sit on the same pixels: the
middle row of the table (``n // 2``) if its WCS is valid, else the next valid row after it,
wrapping round to the start.
"""

import os
import re
import threading
import warnings

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning

from astrocut.errors import InvalidInputError
from astrocut.geometry import overlap, stamp_window
from astrocut.models import CubeCutout

from .ffi import BLOCK, data_size, header_value, padded, read_header
from .tpf import cached_card

CUBE_PRODUCT = "tess.cube"
#: CTYPE2 of a row whose FFI had a valid WCS (what the reference tool looks for).
VALID_CTYPE2 = "DEC--TAN-SIP"

# Keywords of the table that make up an FFI's celestial WCS (primary, not alternates).
_WCS_KEY = re.compile(
    r"^(WCSAXES|CTYPE[12]|CRVAL[12]|CRPIX[12]|CUNIT[12]|CDELT[12]|CD[12]_[12]|PC[12]_[12]"
    r"|CROTA[12]|LONPOLE|LATPOLE|RADESYS|EQUINOX"
    r"|A_ORDER|B_ORDER|AP_ORDER|BP_ORDER|(A|B|AP|BP)_\d+_\d+)$")

# TFORM letter -> (numpy type code, bytes per element)
_TFORM_TYPES = {"L": ("S1", 1), "B": ("u1", 1), "I": (">i2", 2), "J": (">i4", 4),
                "K": (">i8", 8), "E": (">f4", 4), "D": (">f8", 8), "C": (">c8", 8),
                "M": (">c16", 16), "A": ("S", 1)}
_TFORM = re.compile(r"^\s*(\d*)\s*([LXBIJKAEDCMPQ])(.*)$")


# ---------------------------------------------------------------------------- FITS reading

def _read_header(handle, offset, path, index, what, size):
    """The astropy Header of the HDU whose header starts at ``offset``, and its data offset.

    :func:`~astrocut_tess.ffi.read_header` reports these cases too, but in the words of an
    FFI (its gzip message tells the user to decompress FFIs); these speak of the cube.
    """
    if offset + BLOCK > size:
        raise InvalidInputError(f"{path!r} is not a complete cube: the {what} header is "
                                f"truncated")
    if index == 0 and _pread(handle, 2, 0) == b"\x1f\x8b":
        raise InvalidInputError(f"{path!r} is gzip-compressed: cubes are cut from plain FITS "
                                f"files (decompress it first)")
    handle.seek(offset)
    return read_header(handle, path, index, size)


def _data_size(header, path, what):
    """Bytes of the data unit (before padding) ``header`` announces."""
    try:
        return data_size(header)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{path!r} is not a cube: the {what} header's NAXISn, BITPIX, "
                                f"PCOUNT and GCOUNT are not all integers") from None


def _int(header, key, path, what):
    """An integer keyword of a structural header (0 when missing)."""
    value = header_value(header, key, 0)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(f"{path!r} is not a cube: {key} = {value!r} in the {what} "
                                f"header is not an integer")
    return value


def _pread(handle, size, offset):
    if hasattr(os, "pread"):
        return os.pread(handle.fileno(), size, offset)
    with _SEEK_LOCK:  # pragma: no cover - platforms without pread
        handle.seek(offset)
        return handle.read(size)


_SEEK_LOCK = threading.Lock()


def table_dtype(header, path):
    """A structured dtype reading the columns of a binary table's rows.

    ``header`` is the table's astropy Header. Returns ``(dtype, found)`` where ``found``
    maps each column name to ``(field, column number, TFORM letter)``; columns of bit (X) or
    variable-length (P, Q) format and repeated names are skipped.
    """
    what = "table (HDU 2)"
    nfields = _int(header, "TFIELDS", path, what)
    row_bytes = _int(header, "NAXIS1", path, what)
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
            width = 8
        elif letter == "Q":
            width = 16
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


# ------------------------------------------------------------------------------ the cube

class CubeInfo:
    """What a target pixel file needs from a cube, shared by every stamp cut from it.

    Holds no open file, so cutouts carrying it can travel between processes. Writers may
    keep per-cube templates in :attr:`writer_cache`.
    """

    def __init__(self, path, primary_header, image_shape, n_ffi, columns, wcs_row, wcs_values):
        self.path = path
        self.primary_header = primary_header  # astropy Header of the cube's HDU 0
        self.image_shape = image_shape        # (rows, columns) of the FFIs
        self.n_ffi = n_ffi
        self.columns = columns                # TSTART, TSTOP, BARYCORR, DQUALITY, FFIINDEX, FFI_FILE
        self.wcs_row = wcs_row                # table row whose WCS is used
        self.wcs_values = wcs_values          # {keyword: value} of that row (NaN dropped)
        self.writer_cache = {}

    @property
    def wcs_ffi(self):
        """File name of the FFI whose WCS is used."""
        return str(self.wcs_values.get("FFI_FILE", "") or "")

    def __getstate__(self):
        state = dict(self.__dict__)
        state["writer_cache"] = {}
        return state


class TessCube:
    """A TESS cube opened for cutting; use as a context manager or call :meth:`close`."""

    def __init__(self, path, handle, info, wcs, data_offset, n_planes):
        self.path = path
        self._handle = handle
        self.info = info
        self.wcs = wcs
        self._data_offset = data_offset
        self._n_planes = n_planes

    # -- opening

    @classmethod
    def open(cls, path):
        """Open the cube at ``path``: read its headers, table columns and WCS."""
        path = os.fspath(path)
        try:
            handle = open(path, "rb", buffering=0)
        except OSError as exc:
            raise InvalidInputError(f"cannot open cube {path!r}: {exc.strerror}") from None
        try:
            return cls._read(path, handle)
        except BaseException:
            handle.close()
            raise

    @classmethod
    def _read(cls, path, handle):
        try:
            return cls._read_headers_and_table(path, handle)
        except fits.VerifyError as exc:  # a card whose value astropy cannot parse
            raise InvalidInputError(f"{path!r} is not a cube: a header card cannot be read "
                                    f"({exc})") from None

    @classmethod
    def _read_headers_and_table(cls, path, handle):
        size = os.fstat(handle.fileno()).st_size
        primary, offset = _read_header(handle, 0, path, 0, "primary", size)
        if header_value(primary, "SIMPLE") is not True:
            raise InvalidInputError(f"{path!r} is not a FITS file")
        offset += padded(_data_size(primary, path, "primary"))

        if offset >= size:
            raise InvalidInputError(f"{path!r} is not a cube: it has no image extension")
        what = "image (HDU 1)"
        image, data_offset = _read_header(handle, offset, path, 1, what, size)
        naxes = tuple(_int(image, f"NAXIS{i}", path, what) for i in range(1, 5))
        xtension = header_value(image, "XTENSION")
        naxis, bitpix = header_value(image, "NAXIS"), header_value(image, "BITPIX")
        if (xtension != "IMAGE" or naxis != 4 or bitpix != -32 or naxes[0] < 2
                or header_value(image, "BSCALE", 1) != 1 or header_value(image, "BZERO", 0) != 0):
            raise InvalidInputError(
                f"{path!r} is not a TESS cube: HDU 1 must be a float32 image of 4 axes "
                f"(2 planes, n_ffi, columns, rows), found XTENSION={xtension!r} "
                f"BITPIX={bitpix} NAXIS={naxis} shape={naxes}")
        n_planes, n_ffi, n_cols, n_rows = naxes
        if min(naxes) < 1:
            raise InvalidInputError(f"{path!r}: the cube is empty (shape {naxes})")
        image_bytes = _data_size(image, path, what)
        table_offset = data_offset + padded(image_bytes)
        if data_offset + image_bytes > size:
            raise InvalidInputError(f"{path!r} is truncated: the cube's image data end at "
                                    f"byte {data_offset + image_bytes} of {size}")
        if table_offset >= size:
            raise InvalidInputError(f"{path!r} is not a complete cube: it has no table of "
                                    f"FFI headers (HDU 2)")
        what = "table (HDU 2)"
        table, table_data = _read_header(handle, table_offset, path, 2, what, size)
        if header_value(table, "XTENSION") != "BINTABLE":
            raise InvalidInputError(f"{path!r} is not a TESS cube: HDU 2 is not a binary "
                                    f"table of FFI headers")
        n_rows_table = _int(table, "NAXIS2", path, what)
        if n_rows_table != n_ffi:
            raise InvalidInputError(f"{path!r}: the cube holds {n_ffi} FFIs but its table "
                                    f"has {n_rows_table} rows")
        row_bytes = _int(table, "NAXIS1", path, what)
        dtype, found = table_dtype(table, path)
        missing = [name for name in ("TSTART", "TSTOP") if name not in found]
        if missing:
            raise InvalidInputError(f"{path!r}: the cube's table has no {', '.join(missing)} "
                                    f"column")
        raw = _pread(handle, row_bytes * n_ffi, table_data)
        if len(raw) < row_bytes * n_ffi:
            raise InvalidInputError(f"{path!r} is truncated: its table of FFI headers is "
                                    f"incomplete")
        rows = np.frombuffer(raw, dtype=dtype, count=n_ffi)

        def column(name, kind, default):
            if name not in found:
                return np.full(n_ffi, default, dtype=kind)
            values = rows[found[name][0]]
            index = found[name][1]
            scale = header_value(table, f"TSCAL{index}")
            zero = header_value(table, f"TZERO{index}")
            if (scale not in (None, 1) or zero not in (None, 0)) and values.dtype.kind in "iuf":
                values = values * (scale if scale is not None else 1) + (zero or 0)
            return np.asarray(values).astype(kind)

        columns = {
            "TSTART": column("TSTART", np.float64, np.nan),
            "TSTOP": column("TSTOP", np.float64, np.nan),
            "BARYCORR": column("BARYCORR", np.float64, 0.0),
            "DQUALITY": column("DQUALITY", np.int32, 0),
            "FFIINDEX": column("FFIINDEX", np.int64, 0),
            "TIMEDEL": column("TIMEDEL", np.float64, np.nan),
            "FFI_FILE": (np.char.strip(rows[found["FFI_FILE"][0]]) if "FFI_FILE" in found
                         else np.full(n_ffi, b"", dtype="S1")),
        }
        columns["CADENCENO"] = _cadence_numbers(columns, found, primary)

        wcs_row = _choose_wcs_row(rows, found, n_ffi)
        if wcs_row is None:
            raise InvalidInputError(
                f"{path!r}: no FFI in this cube has a valid WCS (no row of its table has "
                f"CTYPE2 = {VALID_CTYPE2!r}), so sky positions cannot be placed on it")
        wcs_values = _row_values(rows[wcs_row], found)
        wcs = _build_wcs(wcs_values, path, wcs_row)
        info = CubeInfo(path=path, primary_header=primary, image_shape=(n_rows, n_cols),
                        n_ffi=n_ffi, columns=columns, wcs_row=wcs_row, wcs_values=wcs_values)
        return cls(path, handle, info, wcs, data_offset, n_planes)

    # -- context manager

    def close(self):
        """Release the file."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        rows, cols = self.info.image_shape
        return f"<TessCube {self.path!r}: {self.info.n_ffi} FFIs of {cols}x{rows}>"

    # -- cutting

    def window(self, request):
        """``(corner, (ny, nx))`` of the stamp ``request`` asks for (no data read)."""
        return stamp_window(self.wcs, request.center, request.size, self.info.image_shape,
                            source=self.path)

    def read_stamp(self, corner, shape):
        """Flux, uncertainty and aperture of a stamp; pixels off the image are NaN / 0."""
        if self._handle is None:
            raise InvalidInputError(f"cube {self.path!r} is closed")
        n_ffi = self.info.n_ffi
        (iy, ix), (sy, sx) = overlap(corner, shape, self.info.image_shape)
        ny, nx = shape
        flux = np.full((n_ffi, ny, nx), np.nan, dtype=np.float32)
        flux_err = np.full((n_ffi, ny, nx), np.nan, dtype=np.float32)
        aperture = np.zeros((ny, nx), dtype=np.int32)
        rows = iy.stop - iy.start
        cols = ix.stop - ix.start
        if rows > 0 and cols > 0:
            block = self._read_block(iy, ix, rows, cols)
            # (rows, cols, n_ffi, planes) -> (n_ffi, rows, cols), byte order fixed on copy
            flux[:, sy, sx] = block[:, :, :, 0].transpose(2, 0, 1)
            flux_err[:, sy, sx] = block[:, :, :, 1].transpose(2, 0, 1)
            aperture[sy, sx] = 1
        return flux, flux_err, aperture

    def _read_block(self, iy, ix, rows, cols):
        n_ffi, planes = self.info.n_ffi, self._n_planes
        n_cols = self.info.image_shape[1]
        pixel = n_ffi * planes * 4
        run = cols * pixel
        fd = self._handle.fileno()
        first = self._data_offset + (iy.start * n_cols + ix.start) * pixel
        buffer = bytearray(rows * run)
        if cols == n_cols:  # whole rows: one contiguous read
            _read_exact(fd, memoryview(buffer), first, self.path)
        else:
            view = memoryview(buffer)
            stride = n_cols * pixel
            for row in range(rows):
                _read_exact(fd, view[row * run:(row + 1) * run], first + row * stride,
                            self.path)
        return np.frombuffer(buffer, dtype=">f4").reshape(rows, cols, n_ffi, planes)

    def cut(self, request):
        """Cut ``request`` (a :class:`~astrocut.models.CubeCutRequest`): a CubeCutout."""
        corner, shape = self.window(request)
        flux, flux_err, aperture = self.read_stamp(corner, shape)
        metadata = {"cube": self.info, "ffi_type": request.product or "SPOC"}
        return CubeCutout(flux=flux, flux_err=flux_err, aperture=aperture, corner=corner,
                          image_wcs=self.wcs, center=request.center, source=self.path,
                          product=CUBE_PRODUCT, metadata=metadata)


def _read_exact(fd, view, offset, path):
    done = 0
    total = len(view)
    while done < total:
        if hasattr(os, "preadv"):
            count = os.preadv(fd, [view[done:]], offset + done)
        else:  # pragma: no cover - platforms without preadv
            chunk = os.pread(fd, total - done, offset + done)
            count = len(chunk)
            view[done:done + count] = chunk
        if count <= 0:
            raise InvalidInputError(f"{path!r} is truncated: the cube's data end early")
        done += count


def _cadence_numbers(columns, found, primary):
    """Cadence number of each FFI: its FFIINDEX where the table has one, else counted from
    the first FFI's FFIINDEX (primary header) in steps of TIMEDEL, else 0 (unknown)."""
    if "FFIINDEX" in found:
        return columns["FFIINDEX"].astype(np.int32)
    first = header_value(primary, "FFIINDEX")
    timedel = columns["TIMEDEL"]
    start = columns["TSTART"]
    if (isinstance(first, int) and not isinstance(first, bool) and len(start)
            and np.all(np.isfinite(timedel)) and np.all(timedel > 0)
            and np.all(np.isfinite(start))):
        steps = np.round((start - start[0]) / timedel[0]).astype(np.int64)
        return (first + steps).astype(np.int32)
    return np.zeros(len(start), dtype=np.int32)


def _choose_wcs_row(rows, found, n_ffi):
    """Index of the row whose WCS is used, in the reference tool's order, or ``None``."""
    if "CTYPE2" not in found:
        return None
    ctype2 = rows[found["CTYPE2"][0]]
    middle = n_ffi // 2
    order = list(range(middle, n_ffi)) + list(range(middle))
    for index in order:
        if ctype2[index].strip().decode("ascii", "replace") == VALID_CTYPE2:
            return index
    return None


def _row_values(row, found):
    """``{keyword: python value}`` of one table row, NaN and missing values dropped."""
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


def _build_wcs(values, path, row):
    # A header string goes straight to wcslib, much faster than an astropy Header. The cards
    # are astropy's (full precision), remembered: opening the same cube again reuses them.
    cards = [cached_card(key, value) for key, value in values.items()
             if _WCS_KEY.match(key) and value != "" and not isinstance(value, bool)]
    text = "".join(cards + [cached_card("NAXIS", 2)])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FITSFixedWarning)
            wcs = WCS(text, relax=True)
    except Exception as exc:
        raise InvalidInputError(f"{path!r}: the WCS of table row {row} cannot be read: "
                                f"{exc}") from None
    if not wcs.has_celestial:
        raise InvalidInputError(f"{path!r}: the WCS of table row {row} is not celestial")
    return wcs
