"""Writing TESS target pixel files (spec §3) from cube cutouts, fast.

One writer serves every path (``cube_cut``, ``memory_only``, bulk): :func:`write_tpf`
serialises a :class:`~astrocut.models.CubeCutout` to bytes and writes them atomically.

Why not ``HDUList.writeto``: building and writing a TPF through astropy's table and header
machinery costs ~15 ms, most of it per-card parsing and column bookkeeping; the bulk path
needs ~3 ms per target. The FITS layout of a TPF is fixed, so the writer

* builds the header cards that do not change between targets of one cube once (cached on the
  cube's :class:`~astrocut_tess.cutout.CubeInfo`), and per stamp shape the column cards;
* makes only the few per-target cards (RA_OBJ/DEC_OBJ, the fitted WCS, WCS_MSEP/WCS_SIG, the
  stamp's CCD position) per target;
* lays the PIXELS rows out as a big-endian numpy structured array and writes its bytes.

Every card image is made by :class:`astropy.io.fits.Card` (:func:`card_image`); images of
values that repeat between targets and cubes are cached (:func:`cached_card`). One
exception: astropy writes at most 20 characters of a float and drops the digits that do not
fit (``-0.005833215210984427`` becomes ``-0.00583321521098442``; astropy has no option for
it, see astropy issue #18416); such values are handed to astropy as a free-format card image
with every digit, which astropy parses and checks, so every float reads back exactly.

No CHECKSUM/DATASUM cards are written: the FITS standard does not require them, and astropy
computes them only through whole HDU objects (``add_checksum``, ~6 ms a TPF), not for the
pieces this writer assembles.

The result is checked against astropy, ``fitsverify`` and lightkurve by the tests.
"""

import os

import numpy as np
from astropy.io import fits

from astrocut.output import atomic_path

from .ffi import CARD, header_value, padded

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

# The time reference of a TPF, the same in its primary and PIXELS headers.
_TIME_KEYS = [
    ("TIMEREF", "SOLARSYSTEM", "barycentric correction applied to times"),
    ("TASSIGN", "SPACECRAFT", "where time is assigned"),
    ("TIMESYS", "TDB", "time system is Barycentric Dynamical Time (TDB)"),
    ("BJDREFI", 2457000, "integer part of BTJD reference date"),
    ("BJDREFF", 0.0, "fraction of the day in BTJD reference date"),
    ("TIMEUNIT", "d", "time unit for TIME, TSTART and TSTOP"),
]

_PIXEL_COLUMNS = (4, 5, 6, 7, 8)  # RAW_CNTS, FLUX, FLUX_ERR, FLUX_BKG, FLUX_BKG_ERR


# ------------------------------------------------------------------------------- cards

def card_image(key, value=None, comment=""):
    """The image of the card ``key = value / comment``, made by :class:`astropy.io.fits.Card`.

    ``None`` gives an undefined value. Floats keep their full precision: astropy formats a
    float in at most 20 characters and truncates longer ones (``str(-0.005833215210984427)``
    has 21), so those are handed to astropy in free format (Python's shortest exact text,
    ``E`` exponent) and checked to read back exactly.
    """
    if isinstance(value, (float, np.floating)):
        value = float(value)
        text = repr(value).upper()
        if len(text) > 20:
            return _free_format_float(key, value, text, comment)
    elif isinstance(value, np.bool_):
        value = bool(value)
    elif isinstance(value, np.integer):
        value = int(value)
    elif isinstance(value, str) and comment and len(value) + len(comment) > 40:
        # A comment that does not fit is cut, as astropy cuts it, but without its warning.
        # The comment follows " / " after the value field, which astropy pads to at least 20
        # columns (from column 11) except for the empty string.
        bare = fits.Card(key, value).image
        if len(bare) == CARD:
            end = len(bare.rstrip())
            comment = comment[:max(0, CARD - (end if value == "" else max(end, 30)) - 3)]
    return fits.Card(key, value, comment).image


def _free_format_float(key, value, text, comment):
    # The value field of a free-format card: "KEY     = " then the number; astropy parses
    # and checks the image, and the comment is cut (as astropy does) to keep one card.
    card = fits.Card.fromstring(f"{key:<8}= {text:>20} / {comment}"[:CARD])
    if card.keyword != key or card.value != value:
        raise ValueError(f"cannot write {key} = {value!r} exactly")  # pragma: no cover
    return card.image


_CACHED_CARDS = {}


def cached_card(key, value=None, comment=""):
    """:func:`card_image`, remembered: for cards whose value repeats between targets (and
    between cubes or calls), so that astropy formats each such card once per process."""
    cache_key = (key, type(value), repr(value), comment)
    image = _CACHED_CARDS.get(cache_key)
    if image is None:
        image = card_image(key, value, comment)
        if len(_CACHED_CARDS) >= 20000:
            _CACHED_CARDS.clear()
        _CACHED_CARDS[cache_key] = image
    return image


def header_bytes(cards):
    """Header card images plus END, padded with spaces to whole 2880-byte blocks."""
    text = "".join(cards) + f"{'END':<{CARD}}"
    return text.ljust(padded(len(text))).encode("ascii")


def _keyed(key, image):
    """``image`` (a card's image) with its keyword replaced by ``key`` (at most 8 characters)."""
    return f"{key:<8}" + image[8:]


def _hdu(cards, data):
    """An HDU's pieces: header bytes, data (any contiguous buffer, not copied), padding."""
    view = memoryview(data).cast("B")
    size = view.nbytes
    return header_bytes(cards), view, bytes(padded(size) - size)


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

    header = info.primary_header
    tstart, tstop = header_value(header, "TSTART"), header_value(header, "TSTOP")
    telapse = (float(tstop) - float(tstart) if _is_number(tstart) and _is_number(tstop)
               else None)

    ours = {
        "NEXTEND": cached_card("NEXTEND", 2, "number of standard extensions"),
        "ORIGIN": cached_card("ORIGIN", ORIGIN,
                                "institution responsible for creating this file"),
        "CREATOR": cached_card("CREATOR", CREATOR, "software used to produce this file"),
        "PROCVER": cached_card("PROCVER", __version__, "astrocut version"),
        "FFI_TYPE": cached_card("FFI_TYPE", str(ffi_type),
                                  "the FFI type used to make the cutout"),
        "RA_OBJ": None,
        "DEC_OBJ": None,
        **{key: cached_card(key, value, comment) for key, value, comment in _TIME_KEYS},
        "TELAPSE": cached_card("TELAPSE", telapse, "[d] TSTOP - TSTART"),
    }
    for key, comment in _TARGET_KEYS:
        # OBJECT is a string keyword of the FITS standard: empty, not undefined.
        ours[key] = cached_card(key, "" if key == "OBJECT" else None, comment)
    extend = cached_card("EXTEND", True, "file contains extensions")

    out = []
    placed = set()
    # astropy keeps a long string's CONTINUE cards in its card's image.
    for item in header.cards:
        key = item.keyword
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
            out.append(extend)
            placed.add(key)
            continue
        out.append(item.image)
    if "EXTEND" not in placed:
        out.insert(3, extend)
    for key, image in ours.items():
        if key in ("RA_OBJ", "DEC_OBJ"):
            continue
        if key not in placed:
            out.append(image)
    out += [None, None]  # RA_OBJ, DEC_OBJ
    return out


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _pixels_tail_cards(info):
    """PIXELS cards after the column definitions: extension, timing and WCS provenance."""
    primary = info.primary_header
    ffi = info.wcs_values
    cards = [
        cached_card("EXTNAME", "PIXELS", "name of extension"),
        cached_card("EXTVER", 1, "extension version number (not format version)"),
        cached_card("INHERIT", True, "inherit the primary header"),
        cached_card("TELESCOP", str(header_value(primary, "TELESCOP", "TESS")), "telescope"),
        cached_card("INSTRUME", str(header_value(primary, "INSTRUME", "TESS Photometer")),
             "detector type"),
    ]
    for key in ("CAMERA", "CCD", "SECTOR"):
        value = header_value(primary, key, ffi.get(key))
        if isinstance(value, int) and not isinstance(value, bool):
            comment = {"CAMERA": "Camera number", "CCD": "CCD chip number",
                       "SECTOR": "Observing sector"}[key]
            cards.append(cached_card(key, value, comment))
    cards += [cached_card(key, value, comment) for key, value, comment in _TIME_KEYS]
    tstart, tstop = header_value(primary, "TSTART"), header_value(primary, "TSTOP")
    if _is_number(tstart):
        cards.append(cached_card("TSTART", float(tstart),
                                   "observation start time in BTJD of first FFI"))
    if _is_number(tstop):
        cards.append(cached_card("TSTOP", float(tstop),
                                   "observation stop time in BTJD of last FFI"))
    if _is_number(tstart) and _is_number(tstop):
        cards.append(cached_card("TELAPSE", float(tstop) - float(tstart), "[d] TSTOP - TSTART"))
    for key in ("DATE-OBS", "DATE-END"):
        value = header_value(primary, key)
        if isinstance(value, str):
            which = "TSTART of first FFI" if key == "DATE-OBS" else "TSTOP of last FFI"
            cards.append(cached_card(key, value, f"{which} as UTC calendar date"))
    for key, comment in _PIXELS_FROM_FFI:
        value = ffi.get(key)
        if value is None or value == "":
            continue
        if key in _LOGICAL and value in (0, 1):
            value = bool(value)  # cubes store the FFI's logical keywords as integers
        cards.append(cached_card(key, value, comment))
    cards.append(cached_card("WCS_FFI", info.wcs_ffi, "FFI used for cutout WCS"))
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
            cached_card("XTENSION", "BINTABLE", "marks the beginning of a new HDU"),
            cached_card("BITPIX", 8, "array data type"),
            cached_card("NAXIS", 2, "number of array dimensions"),
            cached_card("NAXIS1", self.dtype.itemsize, "length of first array dimension"),
            cached_card("NAXIS2", template.n_ffi, "length of second array dimension"),
            cached_card("PCOUNT", 0, "group parameter count (not used)"),
            cached_card("GCOUNT", 1, "group count (not used)"),
            cached_card("TFIELDS", len(columns), "number of table fields"),
        ]
        # Per column: definition cards, then (pixel columns) a slot for the WCS cards.
        self.column_cards = []
        for index, (name, tform, unit, disp) in enumerate(columns, start=1):
            cards = [cached_card(f"TTYPE{index}", name, "column title"),
                     cached_card(f"TFORM{index}", tform, "column format")]
            if unit:
                cards.append(cached_card(f"TUNIT{index}", unit, "column units"))
            if disp:
                cards.append(cached_card(f"TDISP{index}", disp, "column display format"))
            if index in _PIXEL_COLUMNS:
                cards.append(cached_card(f"TDIM{index}", tdim,
                                           "column dimensions: pixel aperture array"))
            if name == "RAW_CNTS":
                cards.append(cached_card(f"TNULL{index}", -1, "column null value indicator"))
            self.column_cards.append((index, cards))
        self.aperture_head = [
            cached_card("XTENSION", "IMAGE", "marks the beginning of a new HDU"),
            cached_card("BITPIX", 32, "array data type"),
            cached_card("NAXIS", 2, "number of array dimensions"),
            cached_card("NAXIS1", nx, "length of first array dimension"),
            cached_card("NAXIS2", ny, "length of second array dimension"),
            cached_card("PCOUNT", 0, "group parameter count (not used)"),
            cached_card("GCOUNT", 1, "group count (not used)"),
            cached_card("EXTNAME", "APERTURE", "name of extension"),
            cached_card("EXTVER", 1, "extension version number (not format version)"),
            cached_card("INHERIT", True, "inherit the primary header"),
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


# Column WCS cards of column 4 (re-keyed for columns 5-8): (key, value, comment), where a
# value given as a string naming a per-target number is filled per target.
_COLUMN_PHYSICAL = [
    ("WCSN4P", "PHYSICAL", "table column WCS name"),
    ("WCAX4P", 2, "table column physical WCS dimensions"),
    ("1CTY4P", "RAWX", "table column physical WCS axis 1 type, CCD col"),
    ("2CTY4P", "RAWY", "table column physical WCS axis 2 type, CCD row"),
    ("1CUN4P", "PIXEL", "table column physical WCS axis 1 unit"),
    ("2CUN4P", "PIXEL", "table column physical WCS axis 2 unit"),
    ("1CRV4P", None, "table column physical WCS ax 1 ref value"),  # x0 + 1
    ("2CRV4P", None, "table column physical WCS ax 2 ref value"),  # y0 + 1
    ("1CDL4P", 1.0, "table column physical WCS a1 step"),
    ("2CDL4P", 1.0, "table column physical WCS a2 step"),
    ("1CRP4P", 1, "table column physical WCS a1 reference"),
    ("2CRP4P", 1, "table column physical WCS a2 reference"),
]

# The fitted (linear) WCS: column-4 key, aperture key, value (None: per target), comment.
_FITTED = [
    ("WCAX4", "WCSAXES", 2, "number of WCS axes"),
    ("1CTYP4", "CTYPE1", "RA---TAN", "right ascension coordinate type"),
    ("2CTYP4", "CTYPE2", "DEC--TAN", "declination coordinate type"),
    ("1CRPX4", "CRPIX1", None, "[pixel] reference pixel along image axis 1"),
    ("2CRPX4", "CRPIX2", None, "[pixel] reference pixel along image axis 2"),
    ("1CRVL4", "CRVAL1", None, "[deg] right ascension at reference pixel"),
    ("2CRVL4", "CRVAL2", None, "[deg] declination at reference pixel"),
    ("1CUNI4", "CUNIT1", "deg", "physical unit in column dimension"),
    ("2CUNI4", "CUNIT2", "deg", "physical unit in row dimension"),
    ("1CDLT4", "CDELT1", None, "[deg] pixel scale in RA dimension"),
    ("2CDLT4", "CDELT2", None, "[deg] pixel scale in Dec dimension"),
    ("11PC4", "PC1_1", None, "linear transformation matrix element"),
    ("12PC4", "PC1_2", None, "linear transformation matrix element"),
    ("21PC4", "PC2_1", None, "linear transformation matrix element"),
    ("22PC4", "PC2_2", None, "linear transformation matrix element"),
]

# Physical WCS of the APERTURE image: key, value (None: per target), comment.
_APERTURE_PHYSICAL = [
    ("WCSNAMEP", "PHYSICAL", "name of world coordinate system alternate P"),
    ("WCSAXESP", 2, "number of WCS physical axes"),
    ("CTYPE1P", "RAWX", "physical WCS axis 1 type CCD col"),
    ("CUNIT1P", "PIXEL", "physical WCS axis 1 unit"),
    ("CRPIX1P", 1, "reference CCD column"),
    ("CRVAL1P", None, "value at reference CCD column"),  # x0 + 1
    ("CDELT1P", 1.0, "physical WCS axis 1 step"),
    ("CTYPE2P", "RAWY", "physical WCS axis 2 type CCD row"),
    ("CUNIT2P", "PIXEL", "physical WCS axis 2 units"),
    ("CRPIX2P", 1, "reference CCD row"),
    ("CRVAL2P", None, "value at reference CCD row"),  # y0 + 1
    ("CDELT2P", 1.0, "physical WCS axis 2 step"),
]


def _wcs_cards(fitted, corner):
    """Per-target WCS cards: ``(column, aperture)``.

    ``column`` is ``[(key, image)]`` for column 4, to be re-keyed for columns 5-8;
    ``aperture`` the APERTURE header's WCS card images. Only the fitted WCS's numbers are
    formatted per target; the rest are remembered images.
    """
    x0, y0 = int(corner[0]) + 1, int(corner[1]) + 1
    physical = {"1CRV4P": x0, "2CRV4P": y0, "CRVAL1P": x0, "CRVAL2P": y0}
    column = []
    # Corner pixels repeat between targets, so every card here is a remembered one.
    for key, value, comment in _COLUMN_PHYSICAL:
        column.append((key, cached_card(key, physical[key] if value is None else value,
                                        comment)))
    aperture = []
    if fitted is not None:
        crpix, crval, cdelt, pc = linear_wcs_terms(fitted)
        numbers = {"1CRPX4": crpix[0], "2CRPX4": crpix[1], "1CRVL4": crval[0],
                   "2CRVL4": crval[1], "1CDLT4": cdelt[0], "2CDLT4": cdelt[1],
                   "11PC4": pc[0][0], "12PC4": pc[0][1], "21PC4": pc[1][0], "22PC4": pc[1][1]}
        for key, aperture_key, value, comment in _FITTED:
            if value is None:  # the same number and comment: one card, two keywords
                image = card_image(key, numbers[key], comment)
                column.append((key, image))
                aperture.append(_keyed(aperture_key, image))
            else:
                column.append((key, cached_card(key, value, comment)))
                aperture.append(cached_card(aperture_key, value, comment))
        aperture.append(cached_card("RADESYS", "ICRS",
                                      "reference frame of celestial coordinates"))
    for key, value, comment in _APERTURE_PHYSICAL:
        aperture.append(cached_card(key, physical[key] if value is None else value, comment))
    return column, aperture


def _fit_cards(fitted):
    if fitted is None:
        return []
    return [card_image("WCS_MSEP", float(fitted.max_separation),
                       "[deg] max offset between cutout WCS and FFI WCS"),
            card_image("WCS_SIG", float(fitted.sigma),
                       "[deg] error measurement of cutout WCS fit")]


def tpf_parts(cutout):
    """The target pixel file for ``cutout`` (a TESS CubeCutout) as a list of buffers.

    Writing the buffers one after the other gives the file; nothing large is copied twice.
    The file is reproducible: the same cutout gives the same bytes.
    """
    template = _template(cutout)
    ny, nx = cutout.shape
    parts = _shape_parts(template, ny, nx)
    fitted = cutout.fitted_wcs
    column_wcs, aperture_wcs = _wcs_cards(fitted, cutout.corner)
    fit_cards = _fit_cards(fitted)

    # PRIMARY
    primary = list(template.primary)
    center = cutout.center
    primary[template.ra_index] = card_image("RA_OBJ", float(center.ra.deg),
                                            "[deg] right ascension")
    primary[template.dec_index] = card_image("DEC_OBJ", float(center.dec.deg),
                                             "[deg] declination")
    hdus = [_hdu(primary, b"")]

    # PIXELS
    cards = list(parts.head)
    for index, column_cards in parts.column_cards:
        cards.extend(column_cards)
        if index in _PIXEL_COLUMNS:
            for key, image in column_wcs:
                cards.append(_keyed(key.replace("4", str(index), 1), image))
    cards.extend(template.pixels_tail)
    cards.extend(fit_cards)
    rows = parts.rows.copy()
    rows["FLUX"] = cutout.flux
    rows["FLUX_ERR"] = cutout.flux_err
    hdus.append(_hdu(cards, rows))

    # APERTURE
    cards = list(parts.aperture_head)
    cards.extend(aperture_wcs)
    cards.extend(fit_cards)
    aperture = np.ascontiguousarray(cutout.aperture, dtype=">i4")
    hdus.append(_hdu(cards, aperture))

    return [piece for hdu in hdus for piece in hdu if len(piece)]


def tpf_bytes(cutout):
    """The bytes of the target pixel file for ``cutout`` (a TESS CubeCutout)."""
    return b"".join(tpf_parts(cutout))


def write_tpf(cutout, path):
    """Write ``cutout`` as a target pixel file at ``path`` (atomically); return ``path``."""
    pieces = tpf_parts(cutout)
    path = os.fspath(path)
    with atomic_path(path) as temporary, open(temporary, "wb", buffering=0) as handle:
        for piece in pieces:
            view = memoryview(piece)
            while view.nbytes:
                written = handle.write(view)
                view = view[written:]
    return path
