"""Writing TESS target pixel files (spec §3) from cube cutouts, fast.

One writer serves every path (``cube_cut``, ``memory_only``, bulk): :func:`write_tpf`
serialises a :class:`~astrocut.models.CubeCutout` to bytes and writes them atomically.

Why not ``HDUList.writeto``: building and writing a TPF through astropy's table and header
machinery costs ~15 ms, most of it per-card parsing and column bookkeeping; the bulk path
needs ~3 ms per target. The FITS layout of a TPF is fixed, so the writer

* builds the header cards that do not change between targets of one cube once (cached on the
  cube's :class:`~astrocut_tess.cutout.CubeInfo`), and per stamp shape the column cards;
* formats the few per-target cards (RA_OBJ/DEC_OBJ, the fitted WCS, WCS_MSEP/WCS_SIG, the
  stamp's CCD position) itself, with the full precision a 20-character FITS value allows;
* lays the PIXELS rows out as a big-endian numpy structured array and writes its bytes;
* stamps DATASUM/CHECKSUM (FITS checksum convention) on every HDU.

The result is checked against astropy and ``fitsverify`` by the tests.
"""

import math
import os

import numpy as np

from astrocut.output import atomic_path

BLOCK = 2880
CARD = 80

ORIGIN = "astrocut"
CREATOR = "astrocut TargetPixelFile writer (astrocut-tess)"

#: Keywords of the FFI's celestial WCS that must not reach the primary header.
_PRIMARY_DROP_PREFIXES = ("A_", "B_", "AP_", "BP_")
_PRIMARY_DROP = {
    "CHECKSUM", "DATASUM", "WCSAXES", "CTYPE1", "CTYPE2", "CRVAL1", "CRVAL2", "CRPIX1",
    "CRPIX2", "CUNIT1", "CUNIT2", "CDELT1", "CDELT2", "CD1_1", "CD1_2", "CD2_1", "CD2_2",
    "PC1_1", "PC1_2", "PC2_1", "PC2_2", "CROTA1", "CROTA2", "LONPOLE", "LATPOLE",
    "A_ORDER", "B_ORDER", "AP_ORDER", "BP_ORDER", "A_DMAX", "B_DMAX",
    "WCSNAMEP", "WCSAXESP", "CTYPE1P", "CTYPE2P", "CUNIT1P", "CUNIT2P", "CRPIX1P", "CRPIX2P",
    "CRVAL1P", "CRVAL2P", "CDELT1P", "CDELT2P",
}

# Target keywords of archive TPFs, undefined because a cube cutout does not know its target.
_TARGET_KEYS = [
    ("OBJECT", "string version of target id"),
    ("TICID", "unique tess target identifier"),
    ("TICVER", "TICver"),
    ("TESSMAG", "[mag] TESS magnitude"),
    ("TEFF", "[K] Effective temperature"),
    ("LOGG", "[cm/s2] log10 surface gravity"),
    ("MH", "[log10([M/H])] metallicity"),
    ("RADIUS", "[solar radii] stellar radius"),
    ("PMRA", "[mas/yr] RA proper motion"),
    ("PMDEC", "[mas/yr] Dec proper motion"),
    ("PMTOTAL", "[mas/yr] total proper motion"),
]

# Keywords of the PIXELS header taken from the FFI whose WCS is used (when the cube has them),
# with the comments archive TPFs give them.
_PIXELS_FROM_FFI = [
    ("TIMEPIXR", "bin time beginning=0 middle=0.5 end=1"),
    ("TIERRELA", "[d] relative time error"),
    ("INT_TIME", "[s] photon accumulation time per frame"),
    ("READTIME", "[s] readout time per frame"),
    ("FRAMETIM", "[s] frame time [INT_TIME + READTIME]"),
    ("NUM_FRM", "number of frames per time stamp"),
    ("TIMEDEL", "[d] time resolution of data"),
    ("DEADC", "deadtime correction"),
    ("EXPOSURE", "[d] time on source"),
    ("LIVETIME", "[d] TELAPSE multiplied by DEADC"),
    ("BACKAPP", "background is subtracted"),
    ("DEADAPP", "deadtime applied"),
    ("VIGNAPP", "vignetting or collimator correction applied"),
    ("GAINA", "[electrons/count] CCD output A gain"),
    ("GAINB", "[electrons/count] CCD output B gain"),
    ("GAINC", "[electrons/count] CCD output C gain"),
    ("GAIND", "[electrons/count] CCD output D gain"),
    ("READNOIA", "[electrons] read noise CCD output A"),
    ("READNOIB", "[electrons] read noise CCD output B"),
    ("READNOIC", "[electrons] read noise CCD output C"),
    ("READNOID", "[electrons] read noise CCD output D"),
    ("NREADOUT", "number of read per cadence"),
    ("FXDOFF", "compression fixed offset"),
    ("MEANBLCA", "[count] FSW mean black level CCD output A"),
    ("MEANBLCB", "[count] FSW mean black level CCD output B"),
    ("MEANBLCC", "[count] FSW mean black level CCD output C"),
    ("MEANBLCD", "[count] FSW mean black level CCD output D"),
    ("TMOFST11", "(s) readout delay for camera 1 and ccd 1"),
    ("CDPP0_5", "RMS CDPP on 0.5-hr time scales"),
    ("CDPP1_0", "RMS CDPP on 1.0-hr time scales"),
    ("CDPP2_0", "RMS CDPP on 2.0-hr time scales"),
    ("CROWDSAP", "Ratio of target flux to total flux in op. ap."),
    ("FLFRCSAP", "Frac. of target flux w/in the op. aperture"),
]

_LOGICAL = {"BACKAPP", "DEADAPP", "VIGNAPP"}

_PIXEL_COLUMNS = (4, 5, 6, 7, 8)  # RAW_CNTS, FLUX, FLUX_ERR, FLUX_BKG, FLUX_BKG_ERR


# ------------------------------------------------------------------------------- cards

def format_value(value):
    """A FITS header value (fixed format: right-justified in 20 characters where possible)."""
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return f"{'T' if value else 'F':>20}"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):>20}"
    if isinstance(value, (float, np.floating)):
        return f"{format_float(float(value)):>20}"
    if isinstance(value, str):
        text = "'" + value.replace("'", "''").ljust(8) + "'"
        return f"{text:<20}"
    raise TypeError(f"cannot write {type(value).__name__} values in a FITS header")


def format_float(value):
    """Shortest text that reads back exactly as ``value`` (Python's repr, FITS spelling).

    Values that need more than the 20 characters of the fixed format (e.g.
    ``-0.005833215210984427``) are written in the standard's free format, which every FITS
    reader accepts, rather than losing digits.
    """
    if not math.isfinite(value):
        raise ValueError(f"FITS headers cannot hold {value}")
    text = repr(value).upper()
    if "E" in text:
        mantissa, exponent = text.split("E")
        if "." not in mantissa:
            mantissa += ".0"
        text = f"{mantissa}E{exponent}"
    elif "." not in text:
        text += ".0"
    return text


def card(key, value=None, comment=""):
    """One 80-character header card (a longer string value falls back to astropy)."""
    if isinstance(value, str) and len(value.replace("'", "''")) > 68:
        from astropy.io import fits

        return fits.Card(key, value, comment).image
    text = f"{key:<8}= {format_value(value)}"
    if comment:
        text += f" / {comment}"
    if len(text) > CARD:
        text = text[:CARD]
    return f"{text:<{CARD}}"


def header_bytes(cards):
    """Header cards plus END, padded with spaces to whole 2880-byte blocks."""
    text = "".join(cards) + f"{'END':<{CARD}}"
    return text.ljust(-(-len(text) // BLOCK) * BLOCK).encode("ascii")


def _keyed(key, image):
    """``image`` (an 80-character card) with its keyword replaced by ``key``."""
    return f"{key:<8}" + image[8:]


# ---------------------------------------------------------------------------- checksums

def ones_complement_sum(data, start=0):
    """32-bit ones' complement sum of big-endian words of ``data`` (a multiple of 4 bytes)."""
    words = np.frombuffer(data, dtype=">u4")
    total = int(words.sum(dtype=np.uint64)) + start
    while total >> 32:
        total = (total & 0xFFFFFFFF) + (total >> 32)
    return total


_EXCLUDE = set(range(0x3A, 0x41)) | set(range(0x5B, 0x61))


def encode_checksum(value):
    """The 16-character ASCII encoding of a checksum (FITS checksum convention)."""
    value = (~value) & 0xFFFFFFFF
    chars = [0] * 16
    for byte_index in range(4):
        byte = (value >> (24 - 8 * byte_index)) & 0xFF
        quotient, remainder = byte // 4 + 0x30, byte % 4
        group = [quotient + remainder, quotient, quotient, quotient]
        changed = True
        while changed:
            changed = False
            for first in (0, 2):
                while group[first] in _EXCLUDE or group[first + 1] in _EXCLUDE:
                    group[first] += 1
                    group[first + 1] -= 1
                    changed = True
        for j in range(4):
            chars[4 * j + byte_index] = group[j]
    chars = chars[-1:] + chars[:-1]
    return bytes(chars).decode("ascii")


def with_checksum(cards, data, stamp=None):
    """An HDU's pieces: header bytes (``cards`` then CHECKSUM/DATASUM), data, padding.

    ``data`` is any contiguous buffer (not copied); the zero padding adds nothing to the sum.
    ``stamp`` (a time) goes into the checksum comments when given; without it the same
    cutout always gives the same bytes.
    """
    when = f" updated {stamp}" if stamp else ""
    view = memoryview(data).cast("B")
    size = view.nbytes
    if size % 4:
        raise ValueError("FITS data units hold whole 32-bit words")
    datasum = ones_complement_sum(view) if size else 0
    cards = list(cards) + [card("CHECKSUM", "0" * 16, f"HDU checksum{when}"),
                           card("DATASUM", str(datasum), f"data unit checksum{when}")]
    header = header_bytes(cards)
    total = ones_complement_sum(header, datasum)
    cards[-2] = card("CHECKSUM", encode_checksum(total), f"HDU checksum{when}")
    return header_bytes(cards), view, bytes(-(-size // BLOCK) * BLOCK - size)


# ------------------------------------------------------------------------ per-cube parts

class _CubeTemplate:
    """Header cards and columns shared by every TPF cut from one cube."""

    def __init__(self, info, ffi_type):
        self.primary = _primary_cards(info, ffi_type)
        self.ra_index = self.primary.index(None)
        self.dec_index = self.ra_index + 1
        self.pixels_tail = _pixels_tail_cards(info)
        columns = info.columns
        n_ffi = info.n_ffi
        self.n_ffi = n_ffi
        self.time = (columns["TSTART"] + columns["TSTOP"]) / 2.0
        self.timecorr = columns["BARYCORR"].astype(np.float32)
        self.cadenceno = columns["CADENCENO"].astype(np.int32)
        self.quality = columns["DQUALITY"].astype(np.int32)
        names = columns["FFI_FILE"]
        self.name_width = max(1, int(names.dtype.itemsize))
        self.ffi_file = names.astype(f"S{self.name_width}")
        self.shapes = {}


def _primary_cards(info, ffi_type):
    """The cube's primary cards, WCS and checksums dropped, TPF keywords set.

    ``None`` marks the places of RA_OBJ and DEC_OBJ, filled per target.
    """
    from astrocut import __version__

    from .cutout import header_values

    groups = []  # (key, [card images]) with CONTINUE cards kept with their keyword
    for image in info.primary_cards:
        key = image[:8].rstrip()
        if key == "CONTINUE" and groups:
            groups[-1][1].append(image)
        else:
            groups.append((key, [image]))
    values = header_values(info.primary_cards)
    tstart, tstop = values.get("TSTART"), values.get("TSTOP")
    telapse = (float(tstop) - float(tstart)
               if isinstance(tstart, (int, float)) and isinstance(tstop, (int, float)) else None)

    ours = {
        "NEXTEND": card("NEXTEND", 2, "number of standard extensions"),
        "ORIGIN": card("ORIGIN", ORIGIN, "institution responsible for creating this file"),
        "CREATOR": card("CREATOR", CREATOR, "software used to produce this file"),
        "PROCVER": card("PROCVER", __version__, "astrocut version"),
        "FFI_TYPE": card("FFI_TYPE", str(ffi_type), "the FFI type used to make the cutout"),
        "RA_OBJ": None,
        "DEC_OBJ": None,
        "TIMEREF": card("TIMEREF", "SOLARSYSTEM", "barycentric correction applied to times"),
        "TASSIGN": card("TASSIGN", "SPACECRAFT", "where time is assigned"),
        "TIMESYS": card("TIMESYS", "TDB", "time system is Barycentric Dynamical Time (TDB)"),
        "BJDREFI": card("BJDREFI", 2457000, "integer part of BTJD reference date"),
        "BJDREFF": card("BJDREFF", 0.0, "fraction of the day in BTJD reference date"),
        "TIMEUNIT": card("TIMEUNIT", "d", "time unit for TIME, TSTART and TSTOP"),
        "TELAPSE": card("TELAPSE", telapse, "[d] TSTOP - TSTART"),
    }
    for key, comment in _TARGET_KEYS:
        # OBJECT is a string keyword of the FITS standard: empty, not undefined.
        ours[key] = card(key, "" if key == "OBJECT" else None, comment)

    out = []
    placed = set()
    for key, images in groups:
        if key in _PRIMARY_DROP or key.startswith(_PRIMARY_DROP_PREFIXES):
            continue
        if key in ours:
            if key in placed:
                continue
            placed.add(key)
            if key in ("RA_OBJ", "DEC_OBJ"):
                continue  # placed together below
            out.append(ours[key])
            continue
        if key == "EXTEND":
            out.append(card("EXTEND", True, "file contains extensions"))
            placed.add(key)
            continue
        out.extend(images)
    if "EXTEND" not in placed:
        out.insert(3, card("EXTEND", True, "file contains extensions"))
    for key, image in ours.items():
        if key in ("RA_OBJ", "DEC_OBJ"):
            continue
        if key not in placed:
            out.append(image)
    out += [None, None]  # RA_OBJ, DEC_OBJ
    return out


def _pixels_tail_cards(info):
    """PIXELS cards after the column definitions: extension, timing and WCS provenance."""
    from .cutout import header_values

    primary = header_values(info.primary_cards)
    ffi = info.wcs_values
    cards = [
        card("EXTNAME", "PIXELS", "name of extension"),
        card("EXTVER", 1, "extension version number (not format version)"),
        card("INHERIT", True, "inherit the primary header"),
        card("TELESCOP", str(primary.get("TELESCOP", "TESS")), "telescope"),
        card("INSTRUME", str(primary.get("INSTRUME", "TESS Photometer")), "detector type"),
    ]
    for key in ("CAMERA", "CCD", "SECTOR"):
        value = primary.get(key, ffi.get(key))
        if isinstance(value, int) and not isinstance(value, bool):
            cards.append(card(key, value, {"CAMERA": "Camera number", "CCD": "CCD chip number",
                                           "SECTOR": "Observing sector"}[key]))
    cards += [
        card("TIMEREF", "SOLARSYSTEM", "barycentric correction applied to times"),
        card("TASSIGN", "SPACECRAFT", "where time is assigned"),
        card("TIMESYS", "TDB", "time system is Barycentric Dynamical Time (TDB)"),
        card("BJDREFI", 2457000, "integer part of BTJD reference date"),
        card("BJDREFF", 0.0, "fraction of the day in BTJD reference date"),
        card("TIMEUNIT", "d", "time unit for TIME, TSTART and TSTOP"),
    ]
    tstart, tstop = primary.get("TSTART"), primary.get("TSTOP")
    numeric = (int, float)
    if isinstance(tstart, numeric) and not isinstance(tstart, bool):
        cards.append(card("TSTART", float(tstart), "observation start time in BTJD of first FFI"))
    if isinstance(tstop, numeric) and not isinstance(tstop, bool):
        cards.append(card("TSTOP", float(tstop), "observation stop time in BTJD of last FFI"))
    if isinstance(tstart, numeric) and isinstance(tstop, numeric):
        cards.append(card("TELAPSE", float(tstop) - float(tstart), "[d] TSTOP - TSTART"))
    for key in ("DATE-OBS", "DATE-END"):
        if isinstance(primary.get(key), str):
            which = "TSTART of first FFI" if key == "DATE-OBS" else "TSTOP of last FFI"
            cards.append(card(key, primary[key], f"{which} as UTC calendar date"))
    for key, comment in _PIXELS_FROM_FFI:
        value = ffi.get(key)
        if value is None or value == "":
            continue
        if key in _LOGICAL and value in (0, 1):
            value = bool(value)  # cubes store the FFI's logical keywords as integers
        cards.append(card(key, value, comment))
    cards.append(card("WCS_FFI", info.wcs_ffi, "FFI used for cutout WCS"))
    return cards


def _template(cutout):
    info = cutout.metadata["cube"]
    ffi_type = cutout.metadata.get("ffi_type", "SPOC")
    key = ("tpf", ffi_type)
    template = info.writer_cache.get(key)
    if template is None:
        template = info.writer_cache[key] = _CubeTemplate(info, ffi_type)
    return template


# ------------------------------------------------------------------------ per-shape parts

class _ShapeParts:
    """Column definitions and the constant part of the rows, for one stamp shape."""

    def __init__(self, template, ny, nx):
        npix = ny * nx
        self.npix = npix
        shape = (ny, nx)
        width = template.name_width
        self.dtype = np.dtype([
            ("TIME", ">f8"), ("TIMECORR", ">f4"), ("CADENCENO", ">i4"),
            ("RAW_CNTS", ">i4", shape), ("FLUX", ">f4", shape), ("FLUX_ERR", ">f4", shape),
            ("FLUX_BKG", ">f4", shape), ("FLUX_BKG_ERR", ">f4", shape),
            ("QUALITY", ">i4"), ("POS_CORR1", ">f4"), ("POS_CORR2", ">f4"),
            ("FFI_FILE", f"S{width}"),
        ])
        rows = np.zeros(template.n_ffi, dtype=self.dtype)
        rows["TIME"] = template.time
        rows["TIMECORR"] = template.timecorr
        rows["CADENCENO"] = template.cadenceno
        rows["RAW_CNTS"] = -1
        rows["QUALITY"] = template.quality
        rows["FFI_FILE"] = template.ffi_file
        self.rows = rows
        tdim = f"({nx},{ny})"
        columns = [
            ("TIME", "D", "BJD - 2457000, days", "D14.7"),
            ("TIMECORR", "E", "d", "E14.7"),
            ("CADENCENO", "J", None, "I10"),
            ("RAW_CNTS", f"{npix}J", "count", "I8"),
            ("FLUX", f"{npix}E", "e-/s", "E14.7"),
            ("FLUX_ERR", f"{npix}E", "e-/s", "E14.7"),
            ("FLUX_BKG", f"{npix}E", "e-/s", "E14.7"),
            ("FLUX_BKG_ERR", f"{npix}E", "e-/s", "E14.7"),
            ("QUALITY", "J", None, "B16.16"),
            ("POS_CORR1", "E", "pixel", "E14.7"),
            ("POS_CORR2", "E", "pixel", "E14.7"),
            ("FFI_FILE", f"{width}A", None, None),
        ]
        self.head = [
            card("XTENSION", "BINTABLE", "marks the beginning of a new HDU"),
            card("BITPIX", 8, "array data type"),
            card("NAXIS", 2, "number of array dimensions"),
            card("NAXIS1", self.dtype.itemsize, "length of first array dimension"),
            card("NAXIS2", template.n_ffi, "length of second array dimension"),
            card("PCOUNT", 0, "group parameter count (not used)"),
            card("GCOUNT", 1, "group count (not used)"),
            card("TFIELDS", len(columns), "number of table fields"),
        ]
        # Per column: definition cards, then (pixel columns) a slot for the WCS cards.
        self.column_cards = []
        for index, (name, tform, unit, disp) in enumerate(columns, start=1):
            cards = [card(f"TTYPE{index}", name, "column title"),
                     card(f"TFORM{index}", tform, "column format")]
            if unit:
                cards.append(card(f"TUNIT{index}", unit, "column units"))
            if disp:
                cards.append(card(f"TDISP{index}", disp, "column display format"))
            if index in _PIXEL_COLUMNS:
                cards.append(card(f"TDIM{index}", tdim, "column dimensions: pixel aperture array"))
            if name == "RAW_CNTS":
                cards.append(card(f"TNULL{index}", -1, "column null value indicator"))
            self.column_cards.append((index, cards))
        self.aperture_head = [
            card("XTENSION", "IMAGE", "marks the beginning of a new HDU"),
            card("BITPIX", 32, "array data type"),
            card("NAXIS", 2, "number of array dimensions"),
            card("NAXIS1", nx, "length of first array dimension"),
            card("NAXIS2", ny, "length of second array dimension"),
            card("PCOUNT", 0, "group parameter count (not used)"),
            card("GCOUNT", 1, "group count (not used)"),
            card("EXTNAME", "APERTURE", "name of extension"),
            card("EXTVER", 1, "extension version number (not format version)"),
            card("INHERIT", True, "inherit the primary header"),
        ]


def _shape_parts(template, ny, nx):
    parts = template.shapes.get((ny, nx))
    if parts is None:
        parts = template.shapes[(ny, nx)] = _ShapeParts(template, ny, nx)
    return parts


# ---------------------------------------------------------------------- per-target parts

def linear_wcs_terms(fitted):
    """``crpix, crval, cdelt, pc`` of a linear TAN WCS, CD split as CDELT x PC."""
    wcs = fitted.wcs.wcs if hasattr(fitted, "wcs") and hasattr(fitted.wcs, "wcs") else fitted
    crpix = [float(v) for v in wcs.crpix]
    crval = [float(v) for v in wcs.crval]
    if wcs.has_cd():
        cd = np.array(wcs.cd, dtype=float)
    else:
        cd = np.array(wcs.get_pc(), dtype=float) * np.array(wcs.cdelt, dtype=float)[:, None]
    norms = np.sqrt((cd ** 2).sum(axis=1))
    norms[norms == 0] = 1.0
    # RA increases to the left on the sky, as in archive TPFs: negative CDELT1.
    cdelt = np.array([-norms[0], norms[1]])
    pc = cd / cdelt[:, None]
    return crpix, crval, [float(v) for v in cdelt], [[float(v) for v in row] for row in pc]


def _column_wcs_cards(fitted, corner):
    """Image and physical WCS cards of column 4, to be re-keyed for columns 5-8."""
    x0, y0 = corner
    cards = [
        ("WCSN4P", "PHYSICAL", "table column WCS name"),
        ("WCAX4P", 2, "table column physical WCS dimensions"),
        ("1CTY4P", "RAWX", "table column physical WCS axis 1 type, CCD col"),
        ("2CTY4P", "RAWY", "table column physical WCS axis 2 type, CCD row"),
        ("1CUN4P", "PIXEL", "table column physical WCS axis 1 unit"),
        ("2CUN4P", "PIXEL", "table column physical WCS axis 2 unit"),
        ("1CRV4P", int(x0) + 1, "table column physical WCS ax 1 ref value"),
        ("2CRV4P", int(y0) + 1, "table column physical WCS ax 2 ref value"),
        ("1CDL4P", 1.0, "table column physical WCS a1 step"),
        ("2CDL4P", 1.0, "table column physical WCS a2 step"),
        ("1CRP4P", 1, "table column physical WCS a1 reference"),
        ("2CRP4P", 1, "table column physical WCS a2 reference"),
    ]
    if fitted is not None:
        crpix, crval, cdelt, pc = linear_wcs_terms(fitted)
        cards += [
            ("WCAX4", 2, "number of WCS axes"),
            ("1CTYP4", "RA---TAN", "right ascension coordinate type"),
            ("2CTYP4", "DEC--TAN", "declination coordinate type"),
            ("1CRPX4", crpix[0], "[pixel] reference pixel along image axis 1"),
            ("2CRPX4", crpix[1], "[pixel] reference pixel along image axis 2"),
            ("1CRVL4", crval[0], "[deg] right ascension at reference pixel"),
            ("2CRVL4", crval[1], "[deg] declination at reference pixel"),
            ("1CUNI4", "deg", "physical unit in column dimension"),
            ("2CUNI4", "deg", "physical unit in row dimension"),
            ("1CDLT4", cdelt[0], "[deg] pixel scale in RA dimension"),
            ("2CDLT4", cdelt[1], "[deg] pixel scale in Dec dimension"),
            ("11PC4", pc[0][0], "linear transformation matrix element"),
            ("12PC4", pc[0][1], "linear transformation matrix element"),
            ("21PC4", pc[1][0], "linear transformation matrix element"),
            ("22PC4", pc[1][1], "linear transformation matrix element"),
        ]
    return [(key, card(key, value, comment)) for key, value, comment in cards]


def _aperture_wcs_cards(fitted, corner):
    x0, y0 = corner
    cards = []
    if fitted is not None:
        crpix, crval, cdelt, pc = linear_wcs_terms(fitted)
        cards += [
            card("WCSAXES", 2, "number of WCS axes"),
            card("CTYPE1", "RA---TAN", "right ascension coordinate type"),
            card("CTYPE2", "DEC--TAN", "declination coordinate type"),
            card("CRPIX1", crpix[0], "[pixel] reference pixel along image axis 1"),
            card("CRPIX2", crpix[1], "[pixel] reference pixel along image axis 2"),
            card("CRVAL1", crval[0], "[deg] right ascension at reference pixel"),
            card("CRVAL2", crval[1], "[deg] declination at reference pixel"),
            card("CUNIT1", "deg", "physical unit in column dimension"),
            card("CUNIT2", "deg", "physical unit in row dimension"),
            card("CDELT1", cdelt[0], "[deg] pixel scale in RA dimension"),
            card("CDELT2", cdelt[1], "[deg] pixel scale in Dec dimension"),
            card("PC1_1", pc[0][0], "linear transformation matrix element"),
            card("PC1_2", pc[0][1], "linear transformation matrix element"),
            card("PC2_1", pc[1][0], "linear transformation matrix element"),
            card("PC2_2", pc[1][1], "linear transformation matrix element"),
            card("RADESYS", "ICRS", "reference frame of celestial coordinates"),
        ]
    cards += [
        card("WCSNAMEP", "PHYSICAL", "name of world coordinate system alternate P"),
        card("WCSAXESP", 2, "number of WCS physical axes"),
        card("CTYPE1P", "RAWX", "physical WCS axis 1 type CCD col"),
        card("CUNIT1P", "PIXEL", "physical WCS axis 1 unit"),
        card("CRPIX1P", 1, "reference CCD column"),
        card("CRVAL1P", int(x0) + 1, "value at reference CCD column"),
        card("CDELT1P", 1.0, "physical WCS axis 1 step"),
        card("CTYPE2P", "RAWY", "physical WCS axis 2 type CCD row"),
        card("CUNIT2P", "PIXEL", "physical WCS axis 2 units"),
        card("CRPIX2P", 1, "reference CCD row"),
        card("CRVAL2P", int(y0) + 1, "value at reference CCD row"),
        card("CDELT2P", 1.0, "physical WCS axis 2 step"),
    ]
    return cards


def _fit_cards(fitted):
    if fitted is None:
        return []
    return [card("WCS_MSEP", float(fitted.max_separation),
                 "[deg] max offset between cutout WCS and FFI WCS"),
            card("WCS_SIG", float(fitted.sigma),
                 "[deg] error measurement of cutout WCS fit")]


def tpf_parts(cutout, stamp=None):
    """The target pixel file for ``cutout`` (a TESS CubeCutout) as a list of buffers.

    Writing the buffers one after the other gives the file; nothing large is copied twice.
    The file is reproducible: the same cutout gives the same bytes (``stamp``, a time for
    the checksum comments, is left out unless given).
    """
    template = _template(cutout)
    ny, nx = cutout.shape
    parts = _shape_parts(template, ny, nx)
    fitted = cutout.fitted_wcs

    # PRIMARY
    primary = list(template.primary)
    center = cutout.center
    primary[template.ra_index] = card("RA_OBJ", float(center.ra.deg), "[deg] right ascension")
    primary[template.dec_index] = card("DEC_OBJ", float(center.dec.deg), "[deg] declination")
    hdus = [with_checksum(primary, b"", stamp)]

    # PIXELS
    wcs_cards = _column_wcs_cards(fitted, cutout.corner)
    cards = list(parts.head)
    for index, column_cards in parts.column_cards:
        cards.extend(column_cards)
        if index in _PIXEL_COLUMNS:
            for key, image in wcs_cards:
                cards.append(_keyed(key.replace("4", str(index), 1), image))
    cards.extend(template.pixels_tail)
    cards.extend(_fit_cards(fitted))
    rows = parts.rows.copy()
    rows["FLUX"] = cutout.flux
    rows["FLUX_ERR"] = cutout.flux_err
    hdus.append(with_checksum(cards, rows, stamp))

    # APERTURE
    cards = list(parts.aperture_head)
    cards.extend(_aperture_wcs_cards(fitted, cutout.corner))
    cards.extend(_fit_cards(fitted))
    aperture = np.ascontiguousarray(cutout.aperture, dtype=">i4")
    hdus.append(with_checksum(cards, aperture, stamp))

    return [piece for hdu in hdus for piece in hdu if len(piece)]


def tpf_bytes(cutout, stamp=None):
    """The bytes of the target pixel file for ``cutout`` (a TESS CubeCutout)."""
    return b"".join(tpf_parts(cutout, stamp))


def write_tpf(cutout, path):
    """Write ``cutout`` as a target pixel file at ``path`` (atomically); return ``path``."""
    pieces = tpf_parts(cutout)
    path = os.fspath(path)
    with atomic_path(path) as temporary:
        with open(temporary, "wb", buffering=0) as handle:
            for piece in pieces:
                view = memoryview(piece)
                while view.nbytes:
                    written = handle.write(view)
                    view = view[written:]
    return path
