"""Reading SPOC full-frame images and cube files without loading their data.

One pass over each FFI reads its three headers straight from the file, checks that the file is
a usable calibrated FFI, and records what the cube builder needs later: the start time, the
mission keywords, the HDU-1 header values for the cube's table, and the byte offsets of the
flux and uncertainty arrays. Image data are never read here; the builder later reads only the
rows it needs, at the recorded offsets.

Headers are read by the plugin's raw reader (:mod:`astrocut_tess.rawfits`, parsed by astropy),
so the data offsets are exact and a truncated or non-FITS file is reported with its name.
"""

import os

import attrs
import numpy as np

from astrocut.errors import InvalidInputError

from .keywords import COMMENTARY
from .rawfits import data_size, is_missing, padded, pread, read_header

#: FITS BITPIX of the float images an FFI may hold, and their (big-endian) numpy dtype.
FLOAT_BITPIX = {-32: ">f4", -64: ">f8"}


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
        if pread(handle, 2, 0) == b"\x1f\x8b":
            raise InvalidInputError(f"{path!r} is gzip-compressed: decompress the FFIs first "
                                    f"(cubes are built from byte offsets in plain FITS files)")
        primary, offset = read_header(handle, path, 0, size)
        telescope = str(primary.get("TELESCOP", "")).strip()
        # No TELESCOP (the 1.x test suite's FFIs): the layout checks below decide.
        if telescope and telescope.upper() != "TESS":
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
