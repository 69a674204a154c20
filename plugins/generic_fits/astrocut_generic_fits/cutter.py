"""Cutting the same sky region out of any FITS images with a celestial WCS.

This is the project's one image cutter: ``fits_cut`` writes its results as FITS and
``img_cut`` renders the same cutouts as PNG/JPG.

Decisions
---------
* Only the stamp's pixels are read. Plain (local, uncompressed, unscaled) images are read
  row by row straight from the file (``os.preadv``); scaled (BZERO/BSCALE/BLANK),
  tile-compressed, gzipped or remote images go through ``hdu.section``, which scales and
  decompresses only what the slice needs. Whole images are never loaded, so 10000x10000
  mosaics and larger cost the same as small ones.
* Output pixels are always floating point, so off-image pixels can hold the fill value
  (NaN by default) and the data type does not depend on where the stamp falls. Floating
  point images keep their type and FITS (big-endian) byte order, as astropy returns them;
  integer images become float32
  (8- and 16-bit: exact) or float64 (32- and 64-bit), with ``BLANK`` pixels as NaN. Values
  equal the reference tool's; only the integer images' type differs.
* The cutout header is the input header with every ``CRPIXja`` (primary and alternate WCSs)
  and IRAF's ``LTV1/2`` shifted by the stamp's corner. Nothing else in the WCS changes:
  CD/PC matrices, projection parameters and SIP coefficients are relative to CRPIX, so the
  cutout's WCS is the input's, exactly, whatever keywords the input used. A physical
  alternate WCS ``P`` (RAWX/RAWY in input pixels, as the reference tool adds) records where
  the stamp came from, unless the input already uses ``P``.
* A header whose CTYPE lacks ``-SIP`` while SIP coefficients are present is read without
  SIP (the CTYPE is authoritative, as in the reference tool), and archaic ``PC001001`` /
  ``CD001001`` matrix keywords are read as their modern forms, so stamps are placed where
  the reference tool places them.
"""

import functools
import os
import re
import warnings

import numpy as np

from astrocut.errors import (AstrocutError, DataWarning, InputWarning, InvalidInputError,
                             InvalidQueryError)
from astrocut.geometry import overlap, stamp_window
from astrocut.models import ImageCutout

_SIP_KEY = re.compile(r"^(A|B|AP|BP)_(ORDER|DMAX|\d+_\d+)$")
# The keywords wcslib reads for a primary image WCS (SIP included). Parsing only these is
# several times faster than parsing a drizzled image's full header.
_WCS_KEY = re.compile(
    r"^(NAXIS\d*|WCSAXES|WCSNAME|CTYPE\d+|CUNIT\d+|CRPIX\d+|CRVAL\d+|CDELT\d+|CROTA\d+"
    r"|CD\d+_\d+|PC\d+_\d+|PV\d+_\d+|PS\d+_\d+|(PC|CD)\d{6}|LONPOLE|LATPOLE|RADESYS"
    r"|RADECSYS|EQUINOX|EPOCH|MJD-OBS|MJDREF[IF]?|DATE-OBS|DATEREF|RESTFRQ|RESTWAV"
    r"|(A|B|AP|BP)_(ORDER|DMAX|\d+_\d+))$")
_NUMERIC_WCS_KEY = re.compile(r"^(CRPIX|CRVAL|CDELT|CROTA|CD|PC)\d")
_ARCHAIC_MATRIX_KEY = re.compile(r"^(PC|CD)(\d{3})(\d{3})$")
_ALTERNATES = [""] + [chr(c) for c in range(ord("A"), ord("Z") + 1)]
# Keywords describing how the input stored its pixels (the cutout holds physical values)
# or that the writer sets itself.
_STRUCTURAL_KEYS = {"SIMPLE", "XTENSION", "BITPIX", "NAXIS", "EXTEND", "PCOUNT", "GCOUNT",
                    "GROUPS", "BSCALE", "BZERO", "BLANK", "CHECKSUM", "DATASUM", "END"}
_NAXIS_KEY = re.compile(r"^NAXIS\d+$")
# Keywords the cutout header sets anew.
_REPLACED_KEYS = {"EXTNAME", "O_EXT_NM", "ORIG_FLE", "ORIG_EXT"}


def cut_images(request):
    """Cut ``request``'s region from every selected image HDU of every input file.

    Parameters
    ----------
    request : astrocut.models.ImageCutRequest
        Input files (paths or URLs astropy opens), sky centre, size, ``extension``
        (``None``: the first image HDU with data and a celestial WCS; an int; a sequence of
        ints; ``"all"``: every image HDU with data) and fill value.

    Returns
    -------
    list of astrocut.models.ImageCutout
        In input order, then HDU order. Inputs or HDUs the stamp misses, or that have no
        usable image, are skipped with an :class:`~astrocut.errors.InputWarning` naming them.
        The list is empty when there were usable images but the stamp missed them all.

    Raises
    ------
    InvalidInputError
        A file cannot be read as FITS (missing, damaged, truncated), a selected HDU has
        more than two dimensions, or no input has a usable image (an image HDU with data and
        a finite celestial WCS, among the requested extensions); the message names each
        input and why it was not usable.
    """
    cutouts, usable, problems = [], 0, []
    for path in request.files:
        result = _cut_file(path, request)
        cutouts.extend(result.cutouts)
        usable += result.usable
        problems.extend(result.problems)
    if not cutouts and not usable:
        raise InvalidInputError("no input has a usable image (an image HDU with data and a "
                                "celestial WCS): " + "; ".join(problems))
    return cutouts


class _FileResult:
    """What one input gave: cutouts, how many HDUs were usable, why others were not."""

    def __init__(self):
        self.cutouts, self.usable, self.problems = [], 0, []

    def skip(self, message):
        self.problems.append(message)
        warnings.warn(f"skipping {message}", InputWarning, stacklevel=5)


def _display_name(path):
    return os.path.basename(str(path).rstrip("/")) or str(path)


def _open(path):
    from astropy.io import fits

    try:
        # memmap=None (not True): memory-maps where it can, yet still lets hdu.section scale
        # BZERO/BSCALE/BLANK images, which a strict memmap=True refuses.
        return fits.open(path, lazy_load_hdus=True)
    except Exception as exc:  # astropy raises OSError, ValueError, TypeError... for bad files
        raise _unreadable(path, exc) from None


def _unreadable(path, exc):
    return InvalidInputError(f"{path!r} could not be read as FITS: {type(exc).__name__}: {exc}")


def _is_plain_fits_file(path):
    """True for a local, uncompressed file (memory-mapped slicing is safe and fast)."""
    if "://" in str(path):
        return False
    try:
        with open(path, "rb") as handle:
            return handle.read(6) == b"SIMPLE"
    except OSError:
        return False


def _cut_file(path, request):
    hdulist = _open(path)
    try:
        return _cut_hdus(hdulist, path, request)
    except (AstrocutError, KeyboardInterrupt):
        raise
    except Exception as exc:  # a damaged file fails deep inside astropy or numpy
        raise _unreadable(path, exc) from exc
    finally:
        hdulist.close()


def _cut_hdus(hdulist, path, request):
    result = _FileResult()
    plain = _is_plain_fits_file(path)
    misses = []
    for index in _candidate_hdus(hdulist, request.extension, path, result):
        hdu = hdulist[index]
        source = f"{_display_name(path)} [extension {index}]"
        cards = header_cards(hdu, path, plain)
        wcs, why = _wcs_from_cards(cards)
        if wcs is None:
            if request.extension is None:
                result.problems.append(f"{source}: {why}")
                continue  # keep looking for the first HDU with a celestial WCS
            result.skip(f"{source}: {why}")
            continue
        _check_two_dimensional(hdu.header, source)
        if plain:
            _check_complete(hdu, path)
        result.usable += 1
        try:
            result.cutouts.append(_cut_hdu(hdu, cards, wcs, index, path, source, request,
                                           plain))
        except InvalidQueryError as exc:
            misses.append(str(exc))
        if request.extension is None:
            break
    if request.extension is None and not result.usable:
        reasons = "; ".join(result.problems) or "no image HDU with data"
        result.problems = [f"{path}: {reasons}"]
        warnings.warn(f"skipping {path}: no image HDU with data and a celestial WCS "
                      f"({reasons})", InputWarning, stacklevel=4)
    for message in misses:
        warnings.warn(f"skipping {path}: {message}", InputWarning, stacklevel=4)
    return result


def _has_image_data(hdu):
    header = hdu.header
    naxis = header.get("NAXIS", 0)
    return (hdu.is_image and naxis >= 1
            and all(header.get(f"NAXIS{i}", 0) > 0 for i in range(1, naxis + 1)))


def _candidate_hdus(hdulist, extension, path, result):
    """Indices of the HDUs to try, in order; requested ones that are unusable are skipped."""
    if extension is None or extension == "all":
        found = [i for i, hdu in enumerate(hdulist) if _has_image_data(hdu)]
        if extension == "all" and not found:
            result.skip(f"{path}: no image HDU with data")
        return found
    wanted = [extension] if isinstance(extension, (int, np.integer)) else list(extension)
    usable = []
    count = len(hdulist)
    for index in wanted:
        if index >= count:
            result.skip(f"extension {index} of {path}: the file has {count} HDUs")
        elif not _has_image_data(hdulist[index]):
            result.skip(f"extension {index} of {path}: not an image HDU with data")
        else:
            usable.append(int(index))
    return usable


def _check_complete(hdu, path):
    """Refuse a truncated file even where the stamp's own bytes happen to survive."""
    from astropy.io import fits

    if isinstance(hdu, fits.CompImageHDU):
        return  # its header describes the image, not the stored table
    header = hdu.header
    size = abs(header["BITPIX"]) // 8
    for i in range(1, header["NAXIS"] + 1):
        size *= header[f"NAXIS{i}"]
    end = hdu.fileinfo()["datLoc"] + size
    actual = os.path.getsize(path)
    if actual < end:
        raise InvalidInputError(f"{path!r} is truncated: {actual} bytes, but its image data "
                                f"end at byte {end}")


def _check_two_dimensional(header, source):
    naxis = header.get("NAXIS", 0)
    if naxis != 2:
        shape = " x ".join(str(header.get(f"NAXIS{i}")) for i in range(1, naxis + 1))
        raise InvalidInputError(f"{source} is a {naxis}-dimensional image ({shape}); "
                                f"fits_cut and img_cut cut 2-dimensional images only")


def header_cards(hdu, path=None, plain=False):
    """The 80-character cards of ``hdu``'s header, without END.

    For a local uncompressed file the cards are the file's own bytes (fast: no card is
    parsed); otherwise they come from astropy's header.
    """
    from astropy.io import fits

    text = None
    if plain and not isinstance(hdu, fits.CompImageHDU):
        info = hdu.fileinfo()
        with open(path, "rb") as handle:
            handle.seek(info["hdrLoc"])
            raw = handle.read(info["datLoc"] - info["hdrLoc"])
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            text = None  # astropy knows how to repair such cards
    if text is None:
        text = hdu.header.tostring(sep="", endcard=False, padding=False)
    cards = []
    for start in range(0, len(text) - 79, 80):
        card = text[start:start + 80]
        if card[:8] == "END     ":
            break
        cards.append(card)
    return cards


def _keyword(card):
    return card[:8].rstrip().upper()


def _number(card):
    """The numeric value of a card image, or ``None`` when it has none."""
    if card[8:10] != "= ":
        return None
    text = card[10:].split("/", 1)[0].strip()
    if not text or text[0] == "'":
        return None
    try:
        return float(text.replace("D", "E").replace("d", "e"))
    except ValueError:
        return None


def _string(card):
    if card[8:10] != "= " or "'" not in card[10:]:
        return ""
    return card[10:].split("'")[1].strip()


def image_wcs(header):
    """The WCS astrocut places stamps with, or why ``header`` has no usable one.

    Parameters
    ----------
    header : astropy.io.fits.Header
        An image header; it is not modified.

    Returns
    -------
    (astropy.wcs.WCS, None) or (None, str)
        The WCS, or ``None`` and the reason: no celestial WCS, an unreadable one, or one
        with non-finite values.
    """
    text = header.tostring(sep="", endcard=False, padding=False)
    return _wcs_from_cards([text[i:i + 80] for i in range(0, len(text), 80)])


def _wcs_from_cards(cards):
    from astropy.wcs import WCS, FITSFixedWarning

    # Only the WCS cards are given to wcslib: several times faster than a drizzled image's
    # whole header.
    cards = [card for card in cards if _WCS_KEY.match(_keyword(card))]
    for card in cards:
        key = _keyword(card)
        # astropy would "fix" an unparsable value such as NaN into a string, which wcslib
        # then reads as 0: a silently wrong WCS. Refuse it instead.
        if _NUMERIC_WCS_KEY.match(key):
            value = _number(card)
            if value is None or not np.isfinite(value):
                return None, f"the WCS card {key} has no finite numeric value"
    cards = _readable_wcs_cards(cards)
    try:
        with warnings.catch_warnings():
            # wcslib's routine fixes (dates, units) are not the user's concern here.
            warnings.simplefilter("ignore", FITSFixedWarning)
            wcs = WCS("".join(cards), relax=True)
    except Exception as exc:  # wcslib raises many types for malformed WCS keywords
        return None, f"the WCS could not be read ({type(exc).__name__}: {exc})"
    if not wcs.has_celestial or wcs.naxis < 2:
        return None, "no celestial WCS"
    # A celestial pair on axes other than the image's first two is not an image WCS.
    if sorted((wcs.wcs.lng, wcs.wcs.lat)) != [0, 1]:
        return None, "the celestial WCS is not on the image's first two axes"
    matrix = wcs.wcs.cd if wcs.wcs.has_cd() else wcs.wcs.pc * wcs.wcs.cdelt[:, None]
    if not all(np.isfinite(v).all() for v in (wcs.wcs.crval, wcs.wcs.crpix, matrix)):
        return None, "the WCS has non-finite values (CRVAL, CRPIX, CD/PC/CDELT)"
    return wcs, None


def _readable_wcs_cards(cards):
    """The WCS ``cards``, corrected where wcslib would misread them."""
    keys = {_keyword(card) for card in cards}
    ctype = "".join(_string(card) for card in cards if _keyword(card) in ("CTYPE1", "CTYPE2"))
    stray_sip = "-SIP" not in ctype.upper() and any(_SIP_KEY.match(k) for k in keys)
    out = []
    for card in cards:
        key = _keyword(card)
        if stray_sip and _SIP_KEY.match(key):
            continue
        archaic = _ARCHAIC_MATRIX_KEY.match(key)
        if archaic:
            prefix, i, j = archaic.groups()
            modern = f"{prefix}{int(i)}_{int(j)}"
            if modern in keys:
                continue
            card = f"{modern:<8}{card[8:]}"
        out.append(card)
    return out


def _output_dtype(dtype):
    if dtype.kind == "f":
        # FITS byte order is kept: the writer then streams the pixels without swapping.
        return dtype
    return np.dtype(np.float32) if dtype.itemsize <= 2 else np.dtype(np.float64)


_FITS_DTYPES = {8: "u1", 16: ">i2", 32: ">i4", 64: ">i8", -32: ">f4", -64: ">f8"}


def _read_window(hdu, image_slices, path, plain):
    from astropy.io import fits

    header = hdu.header
    unscaled = (header.get("BSCALE", 1) == 1 and header.get("BZERO", 0) == 0
                and "BLANK" not in header)
    if (plain and unscaled and header.get("BITPIX") in _FITS_DTYPES
            and isinstance(hdu, (fits.PrimaryHDU, fits.ImageHDU))
            and not isinstance(hdu, fits.CompImageHDU)):
        block = _pread_window(path, hdu.fileinfo()["datLoc"], header["NAXIS1"],
                              np.dtype(_FITS_DTYPES[header["BITPIX"]]), image_slices)
    else:
        # Scaled, compressed or remote data: astropy reads (and scales) just the window.
        block = np.asarray(hdu.section[image_slices])
    if block.dtype.kind == "f":
        return block
    out = block.astype(_output_dtype(block.dtype))
    if "BLANK" in header:
        out[block == header["BLANK"]] = np.nan
    return out


def _pread_window(path, data_offset, row_length, dtype, image_slices):
    """Read an image window straight from the file: one read per row (or one in all).

    Cheaper than a memory map for any stamp size: no mapping of a multi-GB file, no page
    faults, only the stamp's bytes are copied.
    """
    rows, columns = image_slices
    ny, nx = rows.stop - rows.start, columns.stop - columns.start
    out = np.empty((ny, nx), dtype=dtype)
    buffer = memoryview(out).cast("B")
    row_bytes = nx * dtype.itemsize
    first = data_offset + (rows.start * row_length + columns.start) * dtype.itemsize
    descriptor = os.open(path, os.O_RDONLY)
    try:
        if nx == row_length:
            _pread_exactly(descriptor, buffer, first)
        else:
            stride = row_length * dtype.itemsize
            for i in range(ny):
                _pread_exactly(descriptor, buffer[i * row_bytes:(i + 1) * row_bytes],
                               first + i * stride)
    finally:
        os.close(descriptor)
    return out


def _pread_exactly(descriptor, buffer, offset):
    done = 0
    while done < len(buffer):
        count = os.preadv(descriptor, [buffer[done:]], offset + done)
        if count == 0:
            raise EOFError(f"the file ends before byte {offset + len(buffer)} "
                           f"(truncated?)")
        done += count


def _cut_hdu(hdu, cards, wcs, index, path, source, request, plain):
    image_shape = (hdu.header["NAXIS2"], hdu.header["NAXIS1"])
    with warnings.catch_warnings():
        # Far outside a distorted image the SIP inversion diverges; the result is then far
        # off the image and stamp_window reports the miss, so astropy's warning is noise.
        warnings.filterwarnings("ignore", message=".*failed to converge")
        warnings.filterwarnings("ignore", message="All-NaN slice encountered")
        corner, stamp_shape = stamp_window(wcs, request.center, request.size, image_shape,
                                           source)
    image_slices, stamp_slices = overlap(corner, stamp_shape, image_shape)
    block = _read_window(hdu, image_slices, path, plain)
    if block.shape == tuple(stamp_shape):
        data = block
    else:
        data = np.full(stamp_shape, request.fill_value, dtype=block.dtype)
        data[stamp_slices] = block
    if not np.isfinite(data.flat[0]) and not np.isfinite(data).any():
        warnings.warn(f"the cutout from {source} holds no finite pixel", DataWarning,
                      stacklevel=5)
    header = cutout_header(cards, corner, _display_name(path), index)
    if request.verbose:
        print(f"{source}: {stamp_shape[1]}x{stamp_shape[0]} stamp at image pixel "
              f"x={corner[0]}, y={corner[1]} (0-based)")
    return ImageCutout(data=data, header=header, wcs=shift_wcs(wcs, corner, stamp_shape),
                       corner=tuple(corner), center=request.center, source=str(path),
                       extension=index)


def cutout_header(header, corner, file_name, index):
    """The input header moved onto a stamp whose first pixel is image pixel ``corner``.

    Parameters
    ----------
    header : astropy.io.fits.Header or list of str
        The input image header, or its 80-character cards (not modified).
    corner : (int, int)
        0-based ``(x, y)`` image pixel of the stamp's first pixel; may be negative.
    file_name : str
        Recorded as ``ORIG_FLE``.
    index : int
        The input HDU index, recorded as ``ORIG_EXT``.

    Returns
    -------
    astropy.io.fits.Header
        Without structural keywords (the writer adds those).
    """
    from astropy.io import fits

    if isinstance(header, fits.Header):
        text = header.tostring(sep="", endcard=False, padding=False)
        header = [text[i:i + 80] for i in range(0, len(text), 80)]
    x0, y0 = (int(v) for v in corner)
    shifts = {"LTV1": x0, "LTV2": y0}
    for alt in _ALTERNATES:
        shifts[f"CRPIX1{alt}"], shifts[f"CRPIX2{alt}"] = x0, y0
    out, extname, dropping = [], None, False
    for card in header:
        key = _keyword(card)
        if key == "CONTINUE" and dropping:
            continue  # the rest of a dropped long string
        dropping = key in _REPLACED_KEYS or key in _STRUCTURAL_KEYS or bool(_NAXIS_KEY.match(key))
        if key == "EXTNAME":
            extname = fits.Card.fromstring(card).value
        if dropping:
            continue
        if key in shifts:
            value = _number(card)
            if value is not None:
                comment = card[10:].split("/", 1)[1].strip() if "/" in card[10:] else ""
                card = fits.Card(key, value - shifts[key], comment).image
        out.append(card)
    keys = {_keyword(card) for card in out}
    extra = []
    if not keys & {"WCSNAMEP", "CTYPE1P", "CRPIX1P"}:
        extra += [
            ("WCSNAMEP", "PHYSICAL", "name of world coordinate system alternate P"),
            ("WCSAXESP", 2, "number of WCS physical axes"),
            ("CTYPE1P", "RAWX", "physical WCS axis 1 type: input image column"),
            ("CUNIT1P", "pixel", "physical WCS axis 1 unit"),
            ("CRPIX1P", 1, "reference pixel of the cutout"),
            ("CRVAL1P", x0 + 1, "input image column (1-based) at CRPIX1P"),
            ("CDELT1P", 1.0, "physical WCS axis 1 step"),
            ("CTYPE2P", "RAWY", "physical WCS axis 2 type: input image row"),
            ("CUNIT2P", "pixel", "physical WCS axis 2 unit"),
            ("CRPIX2P", 1, "reference pixel of the cutout"),
            ("CRVAL2P", y0 + 1, "input image row (1-based) at CRPIX2P"),
            ("CDELT2P", 1.0, "physical WCS axis 2 step"),
        ]
    if extname is not None:
        extra.append(("O_EXT_NM", extname, "original extension name"))
    extra += [("EXTNAME", "CUTOUT", "extension name"), ("ORIG_FLE", file_name, "input file"),
              ("ORIG_EXT", int(index), "extension in input file")]
    out += [_card_image(*item) for item in extra]
    return fits.Header.fromstring("".join(out))


@functools.lru_cache(maxsize=4096)
def _card_image(key, value, comment):
    """A formatted card; cached, since most added cards are the same for every cutout."""
    from astropy.io import fits

    return fits.Card(key, value, comment).image


def shift_wcs(wcs, corner, shape):
    """A copy of ``wcs`` for a stamp of ``shape`` (ny, nx) whose first pixel is ``corner``.

    SIP coefficients are kept: they are relative to CRPIX, which moves with the stamp.
    """
    from astropy.wcs import Sip

    x0, y0 = corner
    out = wcs.deepcopy()
    out.wcs.crpix = out.wcs.crpix - np.array([x0, y0] + [0] * (out.naxis - 2), dtype=float)
    if out.sip is not None:
        out.sip = Sip(out.sip.a, out.sip.b, out.sip.ap, out.sip.bp, out.wcs.crpix[:2])
    if out.naxis == 2:
        out.pixel_shape = (shape[1], shape[0])
    return out
