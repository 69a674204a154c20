"""The cube's primary and image headers, and the mission keywords they carry.

``ORIGIN`` names this project, not the archive; ``SECTOR`` keeps the FFIs' value (or the
``sector`` argument) where the reference writes an undefined value unless told.
"""

from astropy.io import fits

from astrocut.errors import InvalidInputError

from .keywords import MISSION_COMMENTS, ORIGIN, ORIGIN_COMMENT

__all__ = ["primary_header", "image_header", "mission_keywords", "check_sector"]


def _set(header, keyword, value, comment):
    """Set ``keyword`` keeping an existing comment (like the reference), or add it."""
    if keyword in header:
        header[keyword] = value
    else:
        header[keyword] = (value, comment)


def primary_header(earliest, mission, last, date, origin=None):
    """The cube's primary header.

    ``earliest`` is the primary header of the earliest FFI, ``mission`` a dict with SECTOR,
    CAMERA, CCD as ``(value, comment)``, ``last`` a dict with TSTOP and DATE-END likewise,
    ``date`` the DATE value (see :func:`astrocut_tess.keywords.utc_date`), ``origin`` the
    ORIGIN (an archive's name, e.g. 'STScI/MAST'; by default this project's).
    """
    header = earliest.copy()
    header.remove("CHECKSUM", ignore_missing=True)
    if "EXTEND" not in header:
        header.insert("NAXIS", ("EXTEND", True, "file contains extensions"), after=True)
    _set(header, "ORIGIN", origin or ORIGIN, ORIGIN_COMMENT)
    _set(header, "DATE", date, "file creation date.")
    for keyword, (value, comment) in list(mission.items()) + list(last.items()):
        if value is None:
            if keyword not in header:
                header[keyword] = (None, comment)
            continue
        if not comment and keyword in header:
            comment = header.comments[keyword]
        header[keyword] = (value, comment)
    header["EXTNAME"] = "PRIMARY"
    return header


def image_header(shape):
    rows, cols, n_ffi, planes = shape
    return fits.Header([
        ("XTENSION", "IMAGE", "Image extension"),
        ("BITPIX", -32, "array data type"),
        ("NAXIS", 4, "number of array dimensions"),
        ("NAXIS1", planes),
        ("NAXIS2", n_ffi),
        ("NAXIS3", cols),
        ("NAXIS4", rows),
        ("PCOUNT", 0, "number of parameters"),
        ("GCOUNT", 1, "number of groups"),
    ])


def mission_keywords(expected, sector, infos, cube_primary=None):
    """SECTOR, CAMERA and CCD for the primary header, as ``(value, comment)``."""
    def comment(keyword, default):
        for info in infos:
            if info.comments.get(keyword):
                return info.comments[keyword]
        if cube_primary is not None and keyword in cube_primary:
            return cube_primary.comments[keyword]
        return default

    return {
        "CAMERA": (expected.camera, comment("CAMERA", MISSION_COMMENTS["CAMERA"])),
        "CCD": (expected.ccd, comment("CCD", MISSION_COMMENTS["CCD"])),
        "SECTOR": (sector if sector is not None else expected.sector, MISSION_COMMENTS["SECTOR"]),
    }


def check_sector(sector, infos):
    if sector is None:
        return None
    try:
        sector = int(sector)
    except (TypeError, ValueError):
        raise InvalidInputError(f"sector must be an integer, not {sector!r}") from None
    for info in infos:
        if info.sector is not None and info.sector != sector:
            raise InvalidInputError(f"sector={sector} was requested but {info.path!r} is from "
                                    f"SECTOR {info.sector}")
    return sector
