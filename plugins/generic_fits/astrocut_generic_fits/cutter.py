"""Cutting the same sky region out of any FITS images with a celestial WCS.

This is the project's one image cutter: ``fits_cut`` writes its results as FITS and
``img_cut`` renders the same cutouts as PNG/JPG.

Decisions
---------
* Everything FITS goes through astropy. Files are opened with
  ``fits.open(path, lazy_load_hdus=True)`` (memory-mapped where possible; ``memmap=True``
  would refuse to scale BZERO/BSCALE/BLANK images) and only the stamp's rows (plain
  images) or window (scaled, compressed) are read, with ``hdu.section``: one code path
  for plain, scaled, tile-compressed, gzipped and remote images (see
  :func:`_read_window`). Whole images are never loaded, so 10000x10000 mosaics and larger
  cost the same as small ones. A file whose image data is cut short is refused,
  even where the stamp's own bytes happen to survive.
* Output pixels are always floating point, so off-image pixels can hold the fill value
  (NaN by default) and the data type does not depend on where the stamp falls. Floating
  point images keep their type and FITS (big-endian) byte order, as astropy returns them;
  integer images become float32 (8- and 16-bit: exact) or float64 (32- and 64-bit),
  with ``BLANK`` pixels as NaN. Values equal the reference tool's; only the integer
  images' type differs.
* The WCS is read from a small astropy ``Header`` holding only the WCS keywords (selected
  by keyword): several times faster than wcslib parsing a drizzled image's full header.
  The WCS read from the same cards is kept (and copied for each use), so an image cut at
  many positions in one process has its WCS built once.
* The cutout header is the input header (an astropy ``Header``) with every ``CRPIXja``
  (primary and alternate WCSs) and IRAF's ``LTV1/2`` shifted by the stamp's corner.
  Nothing else in the WCS changes: CD/PC matrices, projection parameters and SIP
  coefficients are relative to CRPIX, so the cutout's WCS is the input's, exactly, whatever
  keywords the input used. A physical alternate WCS ``P`` (RAWX/RAWY in input pixels, as
  the reference tool adds) records where the stamp came from, unless the input already
  uses ``P``.
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

from astrocut.errors import (AstrocutError, DataWarning, InvalidInputError,
                             InvalidQueryError)
from astrocut.geometry import overlap, stamp_window
from astrocut.models import ImageCutout
from astrocut.plugin_api import get_logger

logger = get_logger(__name__)

_SIP = r"(A|B|AP|BP)_(ORDER|DMAX|\d+_\d+)"
_SIP_KEY = re.compile(f"^{_SIP}$")
# The keywords wcslib reads for a primary image WCS (SIP included). Parsing only these is
# several times faster than parsing a drizzled image's full header.
_WCS_KEY = re.compile(
    r"^(NAXIS\d*|WCSAXES|WCSNAME|CTYPE\d+|CUNIT\d+|CRPIX\d+|CRVAL\d+|CDELT\d+|CROTA\d+"
    r"|CD\d+_\d+|PC\d+_\d+|PV\d+_\d+|PS\d+_\d+|(PC|CD)\d{6}|LONPOLE|LATPOLE|RADESYS"
    r"|RADECSYS|EQUINOX|EPOCH|MJD-OBS|MJDREF[IF]?|DATE-OBS|DATEREF|RESTFRQ|RESTWAV"
    f"|{_SIP})$")
_NUMERIC_WCS_KEY = re.compile(r"^(CRPIX|CRVAL|CDELT|CROTA|CD|PC)\d")
_ARCHAIC_MATRIX_KEY = re.compile(r"^(PC|CD)(\d{3})(\d{3})$")
# Keywords describing how the input stored its pixels (the cutout holds physical values)
# or that astropy sets itself from the data when the cutout is written.
STRUCTURAL_KEYS = frozenset({"SIMPLE", "XTENSION", "BITPIX", "NAXIS", "EXTEND", "PCOUNT",
                             "GCOUNT", "GROUPS", "BSCALE", "BZERO", "BLANK", "CHECKSUM",
                             "DATASUM"})
_NAXIS_KEY = re.compile(r"^NAXIS\d+$")
# Keywords the cutout header sets anew.
_REPLACED_KEYS = {"EXTNAME", "O_EXT_NM", "ORIG_FLE", "ORIG_EXT"}


def is_structural(keyword):
    """True for a keyword the writer (astropy) sets from the data: see STRUCTURAL_KEYS."""
    return keyword in STRUCTURAL_KEYS or bool(_NAXIS_KEY.match(keyword))
# The reference pixels of the primary and alternate WCSs, and IRAF's physical offsets:
# what moves with the stamp's corner.
_SHIFTED_KEY = re.compile(r"^(CRPIX[12][A-Z]?|LTV[12])$")


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
        usable image, are skipped with an :class:`~astrocut.errors.DataWarning` naming them.
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
        warnings.warn(f"skipping {message}", DataWarning, stacklevel=5)


def _display_name(path):
    return os.path.basename(str(path).rstrip("/")) or str(path)


def _open(path):
    """``(hdulist, reader)``: ``reader`` is the ranged reader of a URL, else ``None``."""
    from astropy.io import fits

    from astrocut import remote

    reader = None
    local = remote.local_path(str(path))
    try:
        if local is None:
            # URLs: headers through a small read-ahead buffer, pixels as byte ranges.
            reader = remote.open_ranged(str(path))
            return fits.open(remote.RangedFile(reader), lazy_load_hdus=True,
                             memmap=False), reader
        # memmap left to astropy (None): memory-maps where it can, yet still lets
        # hdu.section scale BZERO/BSCALE/BLANK images, which a strict memmap=True refuses.
        return fits.open(local, lazy_load_hdus=True), None
    except AstrocutError:
        raise
    except Exception as exc:  # astropy raises OSError, ValueError, TypeError... for bad files
        raise _unreadable(path, exc) from None


def _unreadable(path, exc):
    return InvalidInputError(f"{path!r} could not be read as FITS: {type(exc).__name__}: {exc}")


def _cut_file(path, request):
    hdulist, reader = _open(path)
    try:
        return _cut_hdus(hdulist, path, request, reader)
    except (AstrocutError, KeyboardInterrupt):
        raise
    except Exception as exc:  # a damaged file fails deep inside astropy or numpy
        raise _unreadable(path, exc) from exc
    finally:
        hdulist.close()


def _cut_hdus(hdulist, path, request, reader=None):
    result = _FileResult()
    misses = []
    for index in _candidate_hdus(hdulist, request.extension, path, result):
        hdu = hdulist[index]
        source = f"{_display_name(path)} [extension {index}]"
        wcs, why = image_wcs(hdu.header)
        if wcs is None:
            if request.extension is None:
                result.problems.append(f"{source}: {why}")
                continue  # keep looking for the first HDU with a celestial WCS
            result.skip(f"{source}: {why}")
            continue
        _check_two_dimensional(hdu.header, source)
        _check_complete(hdu, path)
        result.usable += 1
        try:
            result.cutouts.append(_cut_hdu(hdu, wcs, index, path, source, request, reader))
        except InvalidQueryError as exc:
            misses.append(str(exc))
        if request.extension is None:
            break
    if request.extension is None and not result.usable:
        reasons = "; ".join(result.problems) or "no image HDU with data"
        result.problems = [f"{path}: {reasons}"]
        warnings.warn(f"skipping {path}: no image HDU with data and a celestial WCS "
                      f"({reasons})", DataWarning, stacklevel=4)
    for message in misses:  # one warning per miss: one line in the CLI
        warnings.warn(f"skipping {path}: {message}", DataWarning, stacklevel=4)
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
    """Refuse a truncated file even where the stamp's own bytes happen to survive.

    astropy only warns ("File may have been truncated"), and also when just the padding
    after the last HDU is missing, which loses nothing: the test here is on the data.
    """
    from astropy.io import fits

    info = hdu.fileinfo()
    # astropy's length of the file; 0 where it cannot know it (a compressed stream).
    length = getattr(info["file"], "size", 0)
    if not length:
        return
    if isinstance(hdu, fits.CompImageHDU):
        # Its header describes the image; the bytes stored are the table's rows and heap,
        # which the stored (table) header says: read it again from the open file.
        handle = info["file"]
        position = handle.tell()
        try:
            handle.seek(info["hdrLoc"])
            table = fits.Header.fromfile(handle)
        finally:
            handle.seek(position)
        end = info["datLoc"] + table["NAXIS1"] * table["NAXIS2"] + table.get("PCOUNT", 0)
    else:
        end = info["datLoc"] + hdu.size
    if length and length < end:
        raise InvalidInputError(f"{path!r} is truncated: {length} bytes, but its image data "
                                f"end at byte {end}")


def _check_two_dimensional(header, source):
    naxis = header.get("NAXIS", 0)
    if naxis != 2:
        shape = " x ".join(str(header.get(f"NAXIS{i}")) for i in range(1, naxis + 1))
        raise InvalidInputError(f"{source} is a {naxis}-dimensional image ({shape}); "
                                f"fits_cut and img_cut cut 2-dimensional images only")


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
    selected, why = _wcs_header(header)
    if selected is None:
        return None, why
    wcs, why = _wcs_from_text(selected.tostring())
    # A copy: the one cached may be in use elsewhere (another thread, say).
    return (None if wcs is None else wcs.deepcopy()), why


@functools.lru_cache(maxsize=64)
def _wcs_from_text(text):
    """:func:`image_wcs` for the text of the selected WCS cards.

    The same cards always give the same WCS, so an image cut again and again (one call per
    position) has its WCS built once.
    """
    from astropy.wcs import WCS, FITSFixedWarning

    try:
        with warnings.catch_warnings():
            # wcslib's routine fixes (dates, units) are not the user's concern here.
            warnings.simplefilter("ignore", FITSFixedWarning)
            wcs = WCS(text, relax=True)
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


def _finite_number(card):
    """True when ``card`` holds a finite real number."""
    try:
        value = card.value
    except Exception:  # astropy refuses to parse a value such as NaN
        return False
    return (isinstance(value, (int, float, np.integer, np.floating))
            and not isinstance(value, (bool, np.bool_)) and bool(np.isfinite(value)))


def _wcs_header(header):
    """A small astropy Header with ``header``'s WCS cards, corrected where wcslib would
    misread them; or ``None`` and why the WCS is unusable."""
    from astropy.io import fits

    cards = [card for card in header.cards if _WCS_KEY.match(card.keyword)]
    for card in cards:
        # astropy would "fix" an unparsable value such as NaN into a string, which wcslib
        # then reads as 0: a silently wrong WCS. Refuse it instead.
        if _NUMERIC_WCS_KEY.match(card.keyword) and not _finite_number(card):
            return None, f"the WCS card {card.keyword} has no finite numeric value"
    keys = {card.keyword for card in cards}
    ctype = "".join(str(header.get(key, "")) for key in ("CTYPE1", "CTYPE2"))
    stray_sip = "-SIP" not in ctype.upper() and any(_SIP_KEY.match(k) for k in keys)
    selected = fits.Header()
    for card in cards:
        key = card.keyword
        if stray_sip and _SIP_KEY.match(key):
            continue
        archaic = _ARCHAIC_MATRIX_KEY.match(key)
        if archaic:
            prefix, i, j = archaic.groups()
            key = f"{prefix}{int(i)}_{int(j)}"
            if key in keys:
                continue
            card = fits.Card(key, card.value, card.comment)
        selected.append(card, end=True)
    return selected, None


def _output_dtype(dtype):
    if dtype.kind == "f":
        return dtype
    return np.dtype(np.float32) if dtype.itemsize <= 2 else np.dtype(np.float64)


_PLAIN_TYPES = {8: "u1", 16: ">i2", 32: ">i4", 64: ">i8", -32: ">f4", -64: ">f8"}


def _read_rows_remote(hdu, image_slices, reader):
    """The window of a plain image read as one byte range per row (``reader``: a URL's)."""
    rows, columns = image_slices
    header = hdu.header
    dtype = np.dtype(_PLAIN_TYPES[header["BITPIX"]])
    width = header["NAXIS1"]
    start = hdu.fileinfo()["datLoc"]
    n_cols = columns.stop - columns.start
    ranges = [(start + (row * width + columns.start) * dtype.itemsize, n_cols * dtype.itemsize)
              for row in range(rows.start, rows.stop)]
    data = b"".join(reader.read_ranges(ranges))
    return np.frombuffer(data, dtype=dtype).reshape(rows.stop - rows.start, n_cols).copy()


def _read_window(hdu, image_slices, reader=None):
    """The image pixels in ``image_slices`` (rows, columns) as floating point.

    ``hdu.section`` reads only what the window needs. For plain pixels it is asked for
    whole rows, which astropy reads in one go (from a local file: a view of the memory
    map, so only the stamp's pages are touched when its columns are copied out; a gzipped
    file is decompressed through those rows anyway); asked for rows and columns at once it
    would read row by row, in Python, several times slower.
    Scaled (BSCALE/BZERO) and tile-compressed images are asked for the window itself, so
    astropy scales or decompresses only that. Integer pixels become float, with ``BLANK``
    pixels as NaN.
    """
    from astropy.io import fits

    rows, columns = image_slices
    header = hdu.header
    window = (isinstance(hdu, fits.CompImageHDU) or header.get("BSCALE", 1) != 1
              or header.get("BZERO", 0) != 0)
    if reader is not None and not window:
        # Over the network whole rows would cost the image's width; the stamp's columns
        # are read instead (a copy already, in FITS byte order as astropy gives it).
        block = _read_rows_remote(hdu, image_slices, reader)
        window = True
    else:
        block = hdu.section[rows, columns] if window else hdu.section[rows][:, columns]
    if block.dtype.kind == "f":
        # A copy of whole rows' columns: the cutout must not hold the input's memory map.
        return block if window else np.array(block)
    out = block.astype(_output_dtype(block.dtype))
    blank = header.get("BLANK")
    if blank is not None:
        out[block == blank] = np.nan
    return out


def _cut_hdu(hdu, wcs, index, path, source, request, reader=None):
    image_shape = (hdu.header["NAXIS2"], hdu.header["NAXIS1"])
    # Far outside a distorted image the SIP inversion diverges and warns; stamp_window
    # (geometry.center_pixel) silences that and reports the miss itself.
    corner, stamp_shape = stamp_window(wcs, request.center, request.size, image_shape, source,
                                       request.placement, request.limit_rounding_method)
    image_slices, stamp_slices = overlap(corner, stamp_shape, image_shape)
    block = _read_window(hdu, image_slices, reader)
    if block.shape == tuple(stamp_shape):
        data = block
    else:
        data = np.full(stamp_shape, request.fill_value, dtype=block.dtype)
        data[stamp_slices] = block
    # The input's header is not used again (the file is closed next): no copy.
    header = cutout_header(hdu.header, corner, _display_name(path), index, copy=False)
    if "BSOFTEN" in header and "BOFFSET" in header:
        data = linearize_asinh_flux(data, header)
    if request.verbose:
        logger.info("%s: %dx%d stamp at image pixel x=%d, y=%d (0-based)", source,
                    stamp_shape[1], stamp_shape[0], corner[0], corner[1])
    return ImageCutout(data=data, header=header, wcs=shift_wcs(wcs, corner, stamp_shape),
                       corner=tuple(corner), center=request.center, source=str(path),
                       extension=index)


def linearize_asinh_flux(data, header):
    """Pan-STARRS stacks store ``2.5 log10``-style asinh magnitudes: return linear flux.

    ``flux = BOFFSET + BSOFTEN * 2 sinh(0.4 ln(10) data)`` (the PS1 image convention, which
    1.x also applies); a HISTORY card records the conversion.
    """
    scaled = np.asarray(data, dtype=np.float64) * 0.4 * np.log(10.0)
    flux = float(header["BOFFSET"]) + float(header["BSOFTEN"]) * 2.0 * np.sinh(scaled)
    header["HISTORY"] = ("Pixel values converted from asinh-scaled flux to linear flux using "
                         "the BSOFTEN/BOFFSET keywords.")
    return flux.astype(data.dtype if data.dtype.kind == "f" else np.float64)


_ARCHAIC_MATRIX = re.compile(r"^(PC|CD)(\d{3})(\d{3})$")


def modernize_wcs_keywords(header):
    """Rename archaic ``PC00i00j``/``CD00i00j`` to ``PCi_j``/``CDi_j`` (an existing modern one wins)."""
    for keyword in [key for key in header if _ARCHAIC_MATRIX.match(key)]:
        prefix, i, j = _ARCHAIC_MATRIX.match(keyword).groups()
        modern = f"{prefix}{int(i)}_{int(j)}"
        if modern not in header:
            header.insert(keyword, (modern, header[keyword], header.comments[keyword]))
        header.remove(keyword, remove_all=True)
    return header


def cutout_header(header, corner, file_name, index, copy=True):
    """The input header moved onto a stamp whose first pixel is image pixel ``corner``.

    Parameters
    ----------
    header : astropy.io.fits.Header
        The input image header.
    corner : (int, int)
        0-based ``(x, y)`` image pixel of the stamp's first pixel; may be negative.
    file_name : str
        Recorded as ``ORIG_FLE``.
    index : int
        The input HDU index, recorded as ``ORIG_EXT``.
    copy : bool
        Work on a copy (default); ``False`` changes and returns ``header`` itself.

    Returns
    -------
    astropy.io.fits.Header
        Without structural keywords (the writer adds those).
    """
    x0, y0 = (int(v) for v in corner)
    out = modernize_wcs_keywords(header.copy() if copy else header)
    extname = out.get("EXTNAME")
    for key in {key for key in out if key in _REPLACED_KEYS or is_structural(key)}:
        out.remove(key, remove_all=True)
    for card in out.cards:
        if _SHIFTED_KEY.match(card.keyword) and _finite_number(card):
            axis = card.keyword[5] if card.keyword.startswith("CRPIX") else card.keyword[3]
            card.value = float(card.value) - (x0 if axis == "1" else y0)  # comment kept
    extra = []
    if not any(key in out for key in ("WCSNAMEP", "CTYPE1P", "CRPIX1P")):
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
    for card in extra:
        out.append(card, end=True)
    return out


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
