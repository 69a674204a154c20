"""Reading SPOC full-frame images and cube files without loading their data.

One pass over each FFI reads its three headers straight from the file, checks that the file is
a usable calibrated FFI, and records what the cube builder needs later: the start time, the
mission keywords, the HDU-1 header values for the cube's table, and the byte offsets of the
flux and uncertainty arrays. Image data are never read here; the builder later reads only the
rows it needs, at the recorded offsets.

Headers are read block by block (FITS blocks are 2880 bytes) and parsed by astropy, so the
data offsets are exact and a truncated or non-FITS file is reported with its name.
"""

import os

import attrs
import numpy as np
from astropy.io import fits

from astrocut.errors import InvalidInputError

BLOCK = 2880
CARD = 80

#: FITS BITPIX of the float images an FFI may hold, and their (big-endian) numpy dtype.
FLOAT_BITPIX = {-32: ">f4", -64: ">f8"}

#: Commentary cards are not keyword/value pairs, so they get no table column.
COMMENTARY = frozenset({"COMMENT", "HISTORY", ""})


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
        block = handle.read(BLOCK)
        if len(block) < BLOCK:
            if index == 0 and not chunks:
                raise InvalidInputError(f"{path!r} is not a FITS file (shorter than one FITS block)")
            raise InvalidInputError(
                f"{path!r} is truncated: the header of HDU {index} (at byte {start}) has no END card "
                f"before the end of the file ({file_size} bytes)")
        if not chunks:
            first = block[:8]
            if index == 0 and block[:2] == b"\x1f\x8b":
                raise InvalidInputError(f"{path!r} is gzip-compressed: decompress the FFIs first "
                                        f"(cubes are built from byte offsets in plain FITS files)")
            expected = b"SIMPLE  " if index == 0 else b"XTENSION"
            if first != expected:
                what = "is not a FITS file" if index == 0 else f"has no valid HDU {index} header"
                raise InvalidInputError(f"{path!r} {what} (found {first!r} where {expected!r} "
                                        f"should start)")
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
    return header, start + len(raw)


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


def padded(size):
    """``size`` rounded up to whole FITS blocks."""
    return -(-size // BLOCK) * BLOCK


@attrs.frozen
class ImageArray:
    """Where one 2-D image array lies in a file: its offset, shape and big-endian dtype."""

    offset: int
    shape: tuple  # (rows, columns)
    dtype: str


@attrs.frozen
class FFIInfo:
    """What one pass over a calibrated FFI's headers found.

    Attributes
    ----------
    path : str
        The file.
    name : str
        Its base name (the cube table's ``FFI_FILE``).
    tstart : float
        TSTART of HDU 1 (BTJD), the sort key of the cube.
    sector : int or None
        From the primary header (from HDU 1 if the primary has no SECTOR card).
    camera, ccd : int or None
        From HDU 1, falling back to the primary header.
    flux, error : ImageArray
        The calibrated image (HDU 1) and its uncertainty (HDU 2).
    values : dict
        Keyword to value of every HDU-1 card except commentary cards.
    comments : dict
        Keyword to comment of the same cards.
    has_wcs : bool
        Whether HDU 1 declares a celestial WCS (``WCSAXES`` >= 2 and ``CTYPE1`` present).
    """

    path: str
    name: str
    tstart: float
    sector: object
    camera: object
    ccd: object
    flux: ImageArray
    error: ImageArray
    values: dict
    comments: dict
    has_wcs: bool

    @property
    def shape(self):
        """``(rows, columns)`` of the images."""
        return self.flux.shape


def _image_array(header, path, index, offset):
    if header.get("XTENSION", "").strip() != "IMAGE":
        return None
    if int(header.get("NAXIS", 0)) != 2:
        return None
    bitpix = int(header.get("BITPIX", 0))
    if bitpix not in FLOAT_BITPIX:
        raise InvalidInputError(f"{path!r}: HDU {index} has BITPIX={bitpix}; calibrated FFIs hold "
                                f"floating-point images (BITPIX -32 or -64)")
    if header.get("BSCALE", 1) != 1 or header.get("BZERO", 0) != 0:
        raise InvalidInputError(f"{path!r}: HDU {index} is scaled (BSCALE/BZERO); calibrated FFIs "
                                f"hold unscaled floating-point images")
    shape = (int(header["NAXIS2"]), int(header["NAXIS1"]))
    return ImageArray(offset=offset, shape=shape, dtype=FLOAT_BITPIX[bitpix])


def _int_or_none(value, path, keyword):
    if is_missing(value):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{path!r}: {keyword}={value!r} is not an integer") from None


def read_ffi(path):
    """Read and check the headers of one calibrated FFI; no image data are read.

    Parameters
    ----------
    path : str
        A SPOC calibrated FFI (``*ffic.fits``).

    Returns
    -------
    FFIInfo

    Raises
    ------
    InvalidInputError
        Naming ``path`` when it is not FITS, is not a TESS FFI (no 2-D image in HDU 1, no
        uncertainty image of the same shape in HDU 2), has no TSTART, or is truncated.
    """
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path!r}: {exc.strerror}") from None
    with handle:
        size = os.fstat(handle.fileno()).st_size
        primary, offset = read_header(handle, path, 0, size)
        telescope = str(primary.get("TELESCOP", "")).strip()
        if telescope.upper() != "TESS":
            raise InvalidInputError(f"{path!r} is not a TESS FFI (TELESCOP={telescope!r})")
        offset += padded(data_size(primary))
        if offset >= size:
            raise InvalidInputError(f"{path!r} is not an FFI: it has no image extension (HDU 1)")
        handle.seek(offset)
        image_header, flux_offset = read_header(handle, path, 1, size)
        flux = _image_array(image_header, path, 1, flux_offset)
        if flux is None:
            if image_header.get("ZIMAGE"):
                raise InvalidInputError(f"{path!r} is tile-compressed (fpack): decompress the "
                                        f"FFIs first (funpack)")
            raise InvalidInputError(f"{path!r} is not an FFI: HDU 1 is not a 2-D image")
        offset = flux_offset + padded(data_size(image_header))
        if offset >= size:
            if flux_offset + data_size(image_header) > size:
                raise InvalidInputError(_truncated(path, 1, flux_offset + data_size(image_header),
                                                   size))
            raise InvalidInputError(f"{path!r} has no uncertainty extension (HDU 2): an FFI holds "
                                    f"the calibrated image in HDU 1 and its uncertainty in HDU 2")
        handle.seek(offset)
        error_header, error_offset = read_header(handle, path, 2, size)
        error = _image_array(error_header, path, 2, error_offset)
        if error is None or error.shape != flux.shape:
            found = "not a 2-D image" if error is None else f"{error.shape[1]}x{error.shape[0]}"
            raise InvalidInputError(
                f"{path!r}: HDU 2 should be the uncertainty image, the same size as HDU 1 "
                f"({flux.shape[1]}x{flux.shape[0]}), but it is {found}")
        end = error_offset + data_size(error_header)
        if end > size:
            raise InvalidInputError(_truncated(path, 2, end, size))

    values, comments = {}, {}
    for card in image_header.cards:
        keyword = card.keyword
        if keyword in COMMENTARY or keyword in values:
            continue
        values[keyword] = card.value
        comments[keyword] = card.comment
    tstart = values.get("TSTART")
    if is_missing(tstart) or isinstance(tstart, (str, bool)) or not np.isfinite(tstart):
        raise InvalidInputError(f"{path!r} has no usable TSTART in HDU 1 (found {tstart!r}); "
                                f"FFIs are ordered by TSTART")

    def mission(keyword):
        value = values.get(keyword)
        if is_missing(value):
            value = primary.get(keyword)
        return _int_or_none(value, path, keyword)

    sector = _int_or_none(primary.get("SECTOR", values.get("SECTOR")), path, "SECTOR")
    has_wcs = (not is_missing(values.get("CTYPE1"))
               and isinstance(values.get("WCSAXES"), int) and values["WCSAXES"] >= 2)
    return FFIInfo(path=path, name=os.path.basename(path), tstart=float(tstart), sector=sector,
                   camera=mission("CAMERA"), ccd=mission("CCD"), flux=flux, error=error,
                   values=values, comments=comments, has_wcs=has_wcs)


def _truncated(path, index, needed, size):
    return (f"{path!r} is truncated: HDU {index}'s data end at byte {needed} but the file has "
            f"only {size} bytes")


def read_primary_header(path):
    """The primary header of ``path`` (a file already checked by :func:`read_ffi`)."""
    with open(path, "rb") as handle:
        header, _ = read_header(handle, path, 0, os.fstat(handle.fileno()).st_size)
    return header


@attrs.frozen
class ExistingCube:
    """An existing cube file, as :func:`read_cube` found it for an update: its headers, where
    its data start, and its table. (Not :class:`astrocut_tess.cutout.CubeInfo`, which is what
    a target pixel file needs from a cube.)

    ``shape`` is the numpy shape ``(rows, columns, n_ffi, 2)``.
    """

    path: str
    primary: object  # astropy Header
    data_offset: int
    shape: tuple
    table: object  # astropy FITS_rec, read into memory
    table_header: object  # astropy Header of the table


def read_cube(path):
    """Read and check an existing cube's headers and table (not its image data).

    Raises
    ------
    InvalidInputError
        Naming ``path`` when it is not a cube in the archive's layout or is truncated.
    """
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        primary, offset = read_header(handle, path, 0, size)
        offset += padded(data_size(primary))
        if offset >= size:
            raise InvalidInputError(f"{path!r} is not a cube: it has no image extension")
        handle.seek(offset)
        image, data_offset = read_header(handle, path, 1, size)
    naxes = [int(image.get(f"NAXIS{i}", 0)) for i in range(1, 5)]
    if (image.get("XTENSION", "").strip() != "IMAGE" or int(image.get("NAXIS", 0)) != 4
            or naxes[0] != 2):
        raise InvalidInputError(f"{path!r} is not a cube: HDU 1 should be a 4-D image of shape "
                                f"(2, n_ffi, columns, rows) in FITS order")
    if int(image.get("BITPIX", 0)) != -32:
        raise InvalidInputError(f"{path!r}: cube data must be float32 (BITPIX -32), found "
                                f"BITPIX={image.get('BITPIX')}")
    end = data_offset + data_size(image)
    if end > size:
        raise InvalidInputError(_truncated(path, 1, end, size))
    shape = (naxes[3], naxes[2], naxes[1], 2)
    try:
        with fits.open(path, memmap=True, lazy_load_hdus=True) as hdulist:
            table = hdulist[2].data.copy()
            table_header = hdulist[2].header.copy()
    except Exception as exc:
        raise InvalidInputError(f"{path!r} has no readable FFI table in HDU 2 "
                                f"({type(exc).__name__}: {exc})") from None
    names = set(table.columns.names)
    for column in ("TSTART", "FFI_FILE"):
        if column not in names:
            raise InvalidInputError(f"{path!r}: the cube's table has no {column} column")
    if len(table) != shape[2]:
        raise InvalidInputError(f"{path!r}: the cube holds {shape[2]} FFIs but its table has "
                                f"{len(table)} rows")
    return ExistingCube(path=path, primary=primary, data_offset=data_offset, shape=shape,
                        table=table, table_header=table_header)
