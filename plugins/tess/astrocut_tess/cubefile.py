"""The one reader of the TESS cube layout (spec §2), shared by cutting and updating.

A cube is a header-only primary HDU, HDU 1 a float32 image of FITS shape
``(2, n_ffi, columns, rows)`` (numpy ``(rows, columns, n_ffi, 2)``) and HDU 2 a binary table
with one row per FFI. :func:`read_layout` reads the three headers and the table's raw rows
through an already open handle (so a caller that keeps the handle reads one file however the
name is renamed over meanwhile), checks every assumption the readers make and says where the
data lie. It never reads image data.

Who uses it: :class:`astrocut_tess.cutout.TessCube` (keeps the handle, views the few table
columns a TPF needs through :attr:`CubeLayout.rows`), :func:`astrocut_tess.cube.update_cube`
(takes the whole table through astropy with :meth:`CubeLayout.table_hdu`, since it rewrites
every column) and :func:`astrocut_tess.cube_headers.read_cube_headers` (a collection's index:
the headers, then three rows it reads itself, ``rows=False``).
"""

import os

import attrs
import numpy as np
from astropy.io import fits

from astrocut.errors import InvalidInputError
from astrocut.locking import FileIdentity

from .rawfits import (BLOCK, data_size, header_value, padded, pread, read_header,
                      structural_int, table_column, table_dtype)


@attrs.frozen
class CubeLayout:
    """A cube's headers, its table's raw rows and where its parts lie in the file.

    ``shape`` is the numpy shape of the image, ``(rows, columns, n_ffi, n_planes)``.
    ``rows`` views the table's rows through :attr:`dtype` (``None`` when read with
    ``rows=False``); ``found`` maps a column name to ``(field, column number, TFORM letter)``
    (see :func:`astrocut_tess.rawfits.table_dtype`).
    """

    path: str
    identity: object  # FileIdentity; for a URL, its (ETag, size) from astrocut.remote
    primary: object  # astropy Header of HDU 0
    image_header: object  # astropy Header of HDU 1
    data_offset: int  # first byte of the image data
    shape: tuple
    table_header: object  # astropy Header of HDU 2
    table_offset: int  # first byte of the table's header
    table_data_offset: int  # first byte of its rows
    table_bytes: int  # bytes of its data (rows and heap), without padding
    dtype: object
    found: dict
    rows: object  # numpy structured array, one element per FFI

    @property
    def n_ffi(self):
        return self.shape[2]

    @property
    def image_shape(self):
        """``(rows, columns)`` of the FFIs."""
        return self.shape[:2]

    @property
    def n_planes(self):
        return self.shape[3]

    def has_column(self, name):
        return name in self.found

    def column(self, name):
        """Column ``name`` of the table, TSCAL/TZERO applied (a view where possible)."""
        return table_column(self.rows, self.found, self.table_header, name)

    def require_columns(self, names):
        missing = [name for name in names if name not in self.found]
        if missing:
            raise InvalidInputError(f"{self.path!r}: the cube's table has no "
                                    f"{', '.join(missing)} column")

    def table_hdu(self, handle):
        """The table as an astropy :class:`~astropy.io.fits.BinTableHDU`, read from
        ``handle`` (the handle this layout was read from)."""
        end = self.table_data_offset + padded(self.table_bytes)
        raw = pread(handle, end - self.table_offset, self.table_offset)
        try:
            hdu = fits.BinTableHDU.fromstring(raw)
            hdu.data  # noqa: B018  (parse now, while errors can still name the file)
        except Exception as exc:
            raise InvalidInputError(f"{self.path!r} has no readable FFI table in HDU 2 "
                                    f"({type(exc).__name__}: {exc})") from None
        return hdu


def open_cube_file(path):
    """Open ``path`` for reading; a failure is an InvalidInputError naming it."""
    path = os.fspath(path)
    try:
        return open(path, "rb", buffering=0)
    except OSError as exc:
        raise InvalidInputError(f"cannot open cube {path!r}: {exc.strerror}") from None


def read_layout(handle, path, rows=True, before_table=None):
    """Read and check the layout of the cube open as ``handle`` (named ``path``).

    ``rows=False`` leaves the table's rows unread, for a caller that reads only a few.
    ``before_table(offset)`` is called once the table header's offset is known, before it is
    read: only the table follows, so a ranged reader may read ahead from there.

    Raises
    ------
    InvalidInputError
        Naming ``path`` when it is not a cube in the archive's layout, is truncated, or a
        header card cannot be read.
    """
    try:
        return _read(handle, path, rows, before_table)
    except fits.VerifyError as exc:  # a card whose value astropy cannot parse
        raise InvalidInputError(f"{path!r} is not a cube: a header card cannot be read "
                                f"({exc})") from None


def _header(handle, offset, path, index, what, size):
    # read_header reports these cases too, but in the words of an FFI (its gzip message
    # tells the user to decompress FFIs); these speak of the cube.
    if offset + BLOCK > size:
        raise InvalidInputError(f"{path!r} is not a complete cube: the {what} header is "
                                f"truncated")
    if index == 0 and pread(handle, 2, 0) == b"\x1f\x8b":
        raise InvalidInputError(f"{path!r} is gzip-compressed: cubes are cut from plain FITS "
                                f"files (decompress it first)")
    handle.seek(offset)
    return read_header(handle, path, index, size)


def _data_size(header, path, what):
    try:
        return data_size(header)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{path!r} is not a cube: the {what} header's NAXISn, BITPIX, "
                                f"PCOUNT and GCOUNT are not all integers") from None


def _read(handle, path, with_rows=True, before_table=None):
    reader = getattr(handle, "reader", None)  # a URL's (astrocut.remote.RangedFile)
    if reader is not None:
        size, identity = reader.size, reader.identity
    else:
        stat = os.fstat(handle.fileno())
        size, identity = stat.st_size, FileIdentity.of(stat)
    primary, offset = _header(handle, 0, path, 0, "primary", size)
    if header_value(primary, "SIMPLE") is not True:
        raise InvalidInputError(f"{path!r} is not a FITS file")
    offset += padded(_data_size(primary, path, "primary"))

    if offset >= size:
        raise InvalidInputError(f"{path!r} is not a cube: it has no image extension")
    what = "image (HDU 1)"
    image, data_offset = _header(handle, offset, path, 1, what, size)
    naxes = tuple(structural_int(image, f"NAXIS{i}", path, what) for i in range(1, 5))
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
    if before_table is not None:
        before_table(table_offset)
    table, table_data = _header(handle, table_offset, path, 2, what, size)
    if header_value(table, "XTENSION") != "BINTABLE":
        raise InvalidInputError(f"{path!r} is not a TESS cube: HDU 2 is not a binary "
                                f"table of FFI headers")
    n_rows_table = structural_int(table, "NAXIS2", path, what)
    if n_rows_table != n_ffi:
        raise InvalidInputError(f"{path!r}: the cube holds {n_ffi} FFIs but its table "
                                f"has {n_rows_table} rows")
    row_bytes = structural_int(table, "NAXIS1", path, what)
    dtype, found = table_dtype(table, path, what)
    rows = None
    if with_rows:
        raw = pread(handle, row_bytes * n_ffi, table_data)
        if len(raw) < row_bytes * n_ffi:
            raise InvalidInputError(f"{path!r} is truncated: its table of FFI headers is "
                                    f"incomplete")
        rows = np.frombuffer(raw, dtype=dtype, count=n_ffi)
    elif table_data + row_bytes * n_ffi > size:
        raise InvalidInputError(f"{path!r} is truncated: its table of FFI headers is "
                                f"incomplete")
    return CubeLayout(path=path, identity=identity, primary=primary,
                      image_header=image, data_offset=data_offset,
                      shape=(n_rows, n_cols, n_ffi, n_planes), table_header=table,
                      table_offset=table_offset, table_data_offset=table_data,
                      table_bytes=_data_size(table, path, what), dtype=dtype, found=found,
                      rows=rows)
