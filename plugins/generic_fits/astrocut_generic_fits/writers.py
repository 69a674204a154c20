"""Writing image cutouts as FITS, PNG or JPG, each file atomically.

Decisions
---------
* FITS: a header-only primary HDU (ORIGIN, DATE, PROCVER, RA_OBJ, DEC_OBJ) then one
  ``CUTOUT`` image extension per cutout, each HDU with CHECKSUM/DATASUM. ORIGIN names this
  project, not the archive (see ``shared/spec/tess-formats.md``). The bytes are assembled
  here from astropy-formatted cards and the stamp's big-endian pixels: astropy's
  ``HDUList.writeto`` re-verifies every card of a long drizzled header and costs more than
  the cut itself. Pixel types FITS cannot store directly (unsigned 16/32-bit, bool ...)
  fall back to astropy's writer.
* PNG/JPG: scaled with :func:`astrocut.normalize.normalize_img`; when neither
  ``minmax_percent`` nor ``minmax_value`` is given the 0.5-99.5 percentile interval is used,
  as in the reference tool. The array is flipped vertically before saving so the first row
  is at the bottom: a north-up WCS gives a north-up picture.
"""

import datetime
import functools
import json

import numpy as np

from astrocut.errors import InvalidInputError
from astrocut.output import atomic_path

DEFAULT_MINMAX_PERCENT = (0.5, 99.5)
_PIL_FORMATS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG"}


def _primary_cards(center):
    import astrocut

    return [("ORIGIN", "astrocut", "software that created this file"),
            ("DATE", datetime.date.today().isoformat(), "file creation date"),
            ("PROCVER", astrocut.__version__, "software version"),
            ("RA_OBJ", float(center.ra.deg), "[deg] right ascension of the cutout centre"),
            ("DEC_OBJ", float(center.dec.deg), "[deg] declination of the cutout centre")]


def primary_hdu(center):
    """The header-only primary HDU of a cutout file centred on ``center`` (a SkyCoord)."""
    from astropy.io import fits

    primary = fits.PrimaryHDU()
    primary.header.extend(_primary_cards(center))
    return primary


def to_hdulist(cutouts):
    """An :class:`~astropy.io.fits.HDUList`: the primary HDU and one CUTOUT HDU per cutout."""
    from astropy.io import fits

    hdus = [primary_hdu(cutouts[0].center)]
    for cutout in cutouts:
        hdus.append(fits.ImageHDU(data=cutout.data, header=cutout.header))
    return fits.HDUList(hdus)


_BITPIX = {np.dtype(">f4"): -32, np.dtype(">f8"): -64, np.dtype("u1"): 8,
           np.dtype(">i2"): 16, np.dtype(">i4"): 32, np.dtype(">i8"): 64}
_BLOCK = 2880
# Keywords the writer sets itself; a header passed in must not repeat them.
_OWN_KEYS = ("SIMPLE", "XTENSION", "BITPIX", "NAXIS", "EXTEND", "PCOUNT", "GCOUNT",
             "GROUPS", "BSCALE", "BZERO", "BLANK", "CHECKSUM", "DATASUM")


def write_fits(cutouts, path):
    """Write ``cutouts`` to the FITS file ``path``.

    Parameters
    ----------
    cutouts : list of astrocut.models.ImageCutout
        One ``CUTOUT`` extension each, in order.
    path : str
        Final file name; the file appears there complete or not at all.

    Returns
    -------
    str
        ``path``.
    """
    arrays = [np.asarray(c.data) for c in cutouts]
    if any(a.dtype.newbyteorder(">") not in _BITPIX or a.ndim != 2 for a in arrays):
        return _write_fits_astropy(cutouts, path)
    primary = [_card("SIMPLE", True, "conforms to FITS standard"),
               _card("BITPIX", 8, "array data type"),
               _card("NAXIS", 0, "number of array dimensions"), _card("EXTEND", True)]
    parts = [(_hdu_header(primary + [_card(*item) for item in _primary_cards(
        cutouts[0].center)], 0), None)]
    for cutout, array in zip(cutouts, arrays):
        # FITS is big-endian; arrays read from FITS files already are, so this is no copy.
        data = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder(">"))
        ny, nx = data.shape
        structure = [_card("XTENSION", "IMAGE", "Image extension"),
                     _card("BITPIX", _BITPIX[data.dtype], "array data type"),
                     _card("NAXIS", 2, "number of array dimensions"),
                     _card("NAXIS1", nx), _card("NAXIS2", ny),
                     _card("PCOUNT", 0, "number of parameters"),
                     _card("GCOUNT", 1, "number of groups")]
        datasum = _ones_complement_sum(data)
        parts.append((_hdu_header(structure + _cards(cutout.header), datasum), data))
    with atomic_path(path) as temporary:
        with open(temporary, "wb") as handle:
            for header, data in parts:
                handle.write(header)
                if data is not None:
                    handle.write(memoryview(data).cast("B"))
                    handle.write(b"\0" * (-data.nbytes % _BLOCK))
    return path


def _write_fits_astropy(cutouts, path):
    import warnings

    from astropy.io.fits.verify import VerifyWarning

    hdulist = to_hdulist(cutouts)
    with atomic_path(path) as temporary, warnings.catch_warnings():
        # Long values and input cards that need fixing raise VerifyWarnings that tell the
        # user nothing they can act on.
        warnings.simplefilter("ignore", VerifyWarning)
        hdulist.writeto(temporary, overwrite=True, checksum=True, output_verify="silentfix")
    return path


@functools.lru_cache(maxsize=4096)
def _card(key, value, comment=""):
    """One formatted card image; cached, since most cards repeat from file to file."""
    from astropy.io import fits

    return fits.Card(key, value, comment).image


def _cards(header):
    """The 80-character card images of ``header`` without the keywords the writer owns."""
    if any(key in header for key in _OWN_KEYS) or any(k.startswith("NAXIS") for k in header):
        header = header.copy(strip=True)
        for key in _OWN_KEYS:
            header.remove(key, ignore_missing=True, remove_all=True)
    import warnings

    from astropy.io.fits.verify import VerifyWarning

    with warnings.catch_warnings():
        # Input cards astropy has to repair (e.g. lower-case keywords) are written repaired;
        # the warning would tell the user nothing they can act on.
        warnings.simplefilter("ignore", VerifyWarning)
        text = header.tostring(sep="", endcard=False, padding=False)
    return [text[i:i + 80] for i in range(0, len(text), 80)]


def _hdu_header(cards, datasum):
    """Header bytes of one HDU: ``cards``, then CHECKSUM/DATASUM for data of ``datasum``."""
    # No time in the comments: the same cutout gives the same bytes (DATE is the day).
    zero = [_card("CHECKSUM", "0" * 16, "HDU checksum"),
            _card("DATASUM", str(datasum), "data unit checksum")]
    total = _ones_complement_add(_ones_complement_sum(_header_bytes(cards + zero)), datasum)
    final = [_card("CHECKSUM", _encode_checksum(~total & 0xFFFFFFFF), "HDU checksum"),
             zero[1]]
    return _header_bytes(cards + final)


def _header_bytes(cards):
    text = "".join(cards) + "END".ljust(80)
    text += " " * (-len(text) % _BLOCK)
    return text.encode("ascii")


def _ones_complement_add(a, b):
    total = a + b
    return (total & 0xFFFFFFFF) + (total >> 32)


def _ones_complement_sum(block):
    """The FITS checksum convention's 32-bit ones' complement sum of ``block``'s bytes.

    ``block`` is bytes or a contiguous array; the zero padding after it adds nothing.
    """
    raw = memoryview(block).cast("B")
    whole = len(raw) - len(raw) % 4
    words = np.frombuffer(raw[:whole], dtype=">u4")
    total = int(np.add.reduce(words, dtype=np.uint64)) if whole else 0  # < 2**64 below 64 GB
    if whole < len(raw):  # the last word runs into the zero padding
        total += int.from_bytes(bytes(raw[whole:]).ljust(4, b"\0"), "big")
    while total >> 32:
        total = (total & 0xFFFFFFFF) + (total >> 32)
    return total


def _encode_checksum(value):
    """The 16-character ASCII encoding of a 32-bit checksum (FITS checksum convention)."""
    excluded = set(range(0x3A, 0x41)) | set(range(0x5B, 0x61))
    chars = [0] * 16
    for i in range(4):
        byte = (value >> (24 - 8 * i)) & 0xFF
        quotient, remainder = byte // 4 + 0x30, byte % 4
        column = [quotient + remainder, quotient, quotient, quotient]
        changed = True
        while changed:  # step off punctuation, keeping the column's sum
            changed = False
            for j in (0, 2):
                if column[j] in excluded or column[j + 1] in excluded:
                    column[j] += 1
                    column[j + 1] -= 1
                    changed = True
        for j in range(4):
            chars[4 * j + i] = column[j]
    # The convention rotates the string one character right.
    return bytes(chars[-1:] + chars[:-1]).decode("ascii")


def render(cutouts, options):
    """The 8-bit picture of ``cutouts``: grey (one cutout) or RGB (``colorize``, three).

    Parameters
    ----------
    cutouts : list of astrocut.models.ImageCutout
    options : dict
        ``stretch``, ``minmax_percent``, ``minmax_value``, ``invert``, ``colorize``.

    Returns
    -------
    numpy.ndarray
        ``uint8``, ``(ny, nx)`` or ``(ny, nx, 3)``, already flipped so row 0 is the top of the
        picture (the stamp's last row).
    """
    from astrocut.normalize import normalize_img

    stretch = options.get("stretch") or "asinh"
    minmax_percent = options.get("minmax_percent")
    minmax_value = options.get("minmax_value")
    if minmax_percent is None and minmax_value is None:
        minmax_percent = DEFAULT_MINMAX_PERCENT
    invert = bool(options.get("invert", False))
    if options.get("colorize"):
        if len(cutouts) != 3:
            raise InvalidInputError(f"colorize needs exactly three cutouts (red, green, blue), "
                                    f"got {len(cutouts)}")
        shapes = {c.shape for c in cutouts}
        if len(shapes) != 1:
            raise InvalidInputError(f"colorize needs three cutouts of one shape, got "
                                    f"{sorted(shapes)}: are the inputs aligned?")
    elif len(cutouts) != 1:
        raise InvalidInputError(f"a grey image is made from one cutout, got {len(cutouts)}")
    planes = [normalize_img(c.data, stretch=stretch, minmax_percent=minmax_percent,
                            minmax_value=minmax_value, invert=invert) for c in cutouts]
    picture = planes[0] if len(planes) == 1 else np.dstack(planes)
    return np.ascontiguousarray(picture[::-1])


def _metadata(cutouts):
    center = cutouts[0].center
    return {"ra": f"{center.ra.deg:.8f}", "dec": f"{center.dec.deg:.8f}",
            "input_files": json.dumps([c.source for c in cutouts]),
            "extensions": json.dumps([c.extension for c in cutouts]),
            "corner": json.dumps([list(c.corner) for c in cutouts]),
            "software": "astrocut"}


def write_image(cutouts, path, format, options):
    """Write ``cutouts`` as one PNG or JPG picture at ``path``.

    Parameters
    ----------
    cutouts : list of astrocut.models.ImageCutout
        One cutout, or three (red, green, blue) with ``options["colorize"]``.
    path : str
        Final file name; the file appears there complete or not at all.
    format : {"png", "jpg"}
    options : dict
        See :func:`render`.

    Returns
    -------
    str
        ``path``.
    """
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    pil_format = _PIL_FORMATS.get(str(format).lower())
    if pil_format is None:
        raise InvalidInputError(f"image format {format!r} is not supported: use 'png' or 'jpg'")
    picture = Image.fromarray(render(cutouts, options))
    metadata = _metadata(cutouts)
    save = {}
    if pil_format == "PNG":
        info = PngInfo()
        for key, value in metadata.items():
            info.add_text(key, value)
        save["pnginfo"] = info
    else:
        exif = Image.Exif()
        exif[0x010E] = json.dumps(metadata)  # ImageDescription
        save["exif"] = exif
    with atomic_path(path) as temporary:
        # The temporary name ends in ".part", so the format must be given explicitly.
        picture.save(temporary, format=pil_format, **save)
    return path
