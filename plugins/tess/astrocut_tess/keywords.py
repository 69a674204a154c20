"""What the TESS plugin knows about header keywords, in one place.

Cubes, target pixel files and the simulated FFIs all name the same things (the celestial WCS
of an FFI, its RAWX/RAWY physical WCS, who wrote the file and when), so each is said once
here and every writer and reader takes it from this module.
"""

import datetime
import re

#: Written to ORIGIN by every file this plugin makes (cubes, target pixel files).
ORIGIN = "astrocut"
ORIGIN_COMMENT = "institution responsible for creating this file"
#: CREATOR of target pixel files.
TPF_CREATOR = "astrocut TargetPixelFile writer (astrocut-tess)"
#: Column of a cube's FFI table holding each FFI's file name.
FILE_COLUMN = "FFI_FILE"
#: CTYPE2 of a table row whose FFI had a valid WCS (what the reference tool looks for).
VALID_CTYPE2 = "DEC--TAN-SIP"

#: The sector in a SPOC FFI's file name (``tess2018206194050-s0001-1-1-0120-s_ffic.fits``).
FFI_NAME_SECTOR = re.compile(r"-s(\d{4})-\d-\d-")

#: Comments of the mission keywords where the plugin writes them.
MISSION_COMMENTS = {"CAMERA": "Camera number", "CCD": "CCD chip number",
                    "SECTOR": "Observing sector"}


def utc_date():
    """Today's date in UTC (``YYYY-MM-DD``) for DATE cards.

    UTC, not the local date, so that the bytes written do not depend on the time zone.
    """
    return datetime.datetime.now(datetime.timezone.utc).date().isoformat()


# ------------------------------------------------------------------------------ the WCS

#: Keywords of an FFI's primary celestial WCS (no alternates), SIP terms included.
CELESTIAL_WCS_KEY = re.compile(
    r"^(WCSAXES|CTYPE[12]|CRVAL[12]|CRPIX[12]|CUNIT[12]|CDELT[12]|CD[12]_[12]|PC[12]_[12]"
    r"|CROTA[12]|LONPOLE|LATPOLE|A_ORDER|B_ORDER|AP_ORDER|BP_ORDER|A_DMAX|B_DMAX"
    r"|(A|B|AP|BP)_\d+_\d+)$")
#: Keywords naming the celestial frame: wcslib needs them, but they are not pixel mapping.
WCS_FRAME_KEYS = frozenset({"RADESYS", "EQUINOX"})
#: Prefixes of SIP keywords (coefficients of any name), dropped with the WCS they belong to.
SIP_PREFIXES = ("A_", "B_", "AP_", "BP_")

# The physical (RAWX/RAWY, CCD pixel) alternate WCS "P", as an FFI or an APERTURE image
# holds it and as a table's pixel columns hold it (keyword forms of FITS WCS paper I, with
# the column number 4, re-keyed for columns 5-8): value ("x0"/"y0": the first CCD column/row
# of the image, 1-based), image keyword and comment, column keyword and comment.
_PHYSICAL = [
    ("PHYSICAL", "WCSNAMEP", "name of world coordinate system alternate P",
     "WCSN4P", "table column WCS name"),
    (2, "WCSAXESP", "number of WCS physical axes",
     "WCAX4P", "table column physical WCS dimensions"),
    ("RAWX", "CTYPE1P", "physical WCS axis 1 type CCD col",
     "1CTY4P", "table column physical WCS axis 1 type, CCD col"),
    ("PIXEL", "CUNIT1P", "physical WCS axis 1 unit",
     "1CUN4P", "table column physical WCS axis 1 unit"),
    (1, "CRPIX1P", "reference CCD column",
     "1CRP4P", "table column physical WCS a1 reference"),
    ("x0", "CRVAL1P", "value at reference CCD column",
     "1CRV4P", "table column physical WCS ax 1 ref value"),
    (1.0, "CDELT1P", "physical WCS axis 1 step",
     "1CDL4P", "table column physical WCS a1 step"),
    ("RAWY", "CTYPE2P", "physical WCS axis 2 type CCD row",
     "2CTY4P", "table column physical WCS axis 2 type, CCD row"),
    ("PIXEL", "CUNIT2P", "physical WCS axis 2 units",
     "2CUN4P", "table column physical WCS axis 2 unit"),
    (1, "CRPIX2P", "reference CCD row",
     "2CRP4P", "table column physical WCS a2 reference"),
    ("y0", "CRVAL2P", "value at reference CCD row",
     "2CRV4P", "table column physical WCS ax 2 ref value"),
    (1.0, "CDELT2P", "physical WCS axis 2 step",
     "2CDL4P", "table column physical WCS a2 step"),
]
# Archive TPFs order a column's cards by kind, then axis.
_COLUMN_ORDER = ("WCSN4P", "WCAX4P", "1CTY4P", "2CTY4P", "1CUN4P", "2CUN4P", "1CRV4P",
                 "2CRV4P", "1CDL4P", "2CDL4P", "1CRP4P", "2CRP4P")
#: Image keywords of the physical WCS.
PHYSICAL_WCS_KEYS = frozenset(row[1] for row in _PHYSICAL)


def _physical_value(value, x0, y0):
    return {"x0": x0, "y0": y0}.get(value, value) if isinstance(value, str) else value


def physical_wcs(x0=1, y0=1):
    """``[(key, value, comment)]`` of an image's physical WCS whose first pixel is CCD
    column ``x0``, row ``y0`` (1-based)."""
    return [(key, _physical_value(value, x0, y0), comment)
            for value, key, comment, _, _ in _PHYSICAL]


def column_physical_wcs(x0=1, y0=1):
    """``[(key, value, comment)]`` of the same WCS for table column 4 (re-key for others)."""
    by_key = {key: (key, _physical_value(value, x0, y0), comment)
              for value, _, _, key, comment in _PHYSICAL}
    return [by_key[key] for key in _COLUMN_ORDER]


def is_celestial_wcs(key):
    """Whether ``key`` belongs to the primary celestial WCS (frame keywords excepted)."""
    return bool(CELESTIAL_WCS_KEY.match(key))


def is_wcs_input(key):
    """Whether ``key`` is needed to rebuild an FFI's celestial WCS (frame included)."""
    return key in WCS_FRAME_KEYS or is_celestial_wcs(key)


def dropped_from_tpf_primary(key):
    """Whether a cube primary keyword stays out of a TPF's primary header: the FFI's WCS
    (celestial, SIP, physical) describes the FFI, not the stamp, and checksums would lie."""
    return (key in ("CHECKSUM", "DATASUM") or is_celestial_wcs(key)
            or key in PHYSICAL_WCS_KEYS or key.startswith(SIP_PREFIXES))


# ------------------------------------------------------------------ target pixel files

#: Target keywords of archive TPFs, undefined because a cube cutout does not know its target.
TARGET_KEYS = [
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

#: Keywords of the PIXELS header taken from the FFI whose WCS is used (when the cube has
#: them), with the comments archive TPFs give them.
PIXELS_FROM_FFI = [
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

#: FFI keywords that are logical (cubes store them as integers).
LOGICAL = frozenset({"BACKAPP", "DEADAPP", "VIGNAPP"})

#: The time reference of a TPF, the same in its primary and PIXELS headers.
TIME_KEYS = [
    ("TIMEREF", "SOLARSYSTEM", "barycentric correction applied to times"),
    ("TASSIGN", "SPACECRAFT", "where time is assigned"),
    ("TIMESYS", "TDB", "time system is Barycentric Dynamical Time (TDB)"),
    ("BJDREFI", 2457000, "integer part of BTJD reference date"),
    ("BJDREFF", 0.0, "fraction of the day in BTJD reference date"),
    ("TIMEUNIT", "d", "time unit for TIME, TSTART and TSTOP"),
]

#: The fitted (linear) WCS of a stamp: column-4 key, APERTURE key, value (None: per
#: target), comment.
FITTED_WCS = [
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

# ----------------------------------------------------------------------- cube tables

#: Keywords of a table header's own structure, never a column's comment.
TABLE_STRUCTURE = frozenset({"XTENSION", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "PCOUNT",
                             "GCOUNT", "TFIELDS", "THEAP", "CHECKSUM", "DATASUM"})
#: Commentary cards are not keyword/value pairs, so they get no table column.
COMMENTARY = frozenset({"COMMENT", "HISTORY", ""})
