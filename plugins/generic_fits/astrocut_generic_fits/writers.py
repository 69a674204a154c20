"""Writing image cutouts as FITS, PNG or JPG, each file atomically.

Decisions
---------
* FITS: a header-only primary HDU (ORIGIN, DATE, PROCVER, RA_OBJ, DEC_OBJ) then one
  ``CUTOUT`` image extension per cutout, each HDU with CHECKSUM/DATASUM. ORIGIN names this
  project, not the archive (see ``shared/spec/tess-formats.md``). astropy formats, checks
  and writes everything (``HDUList.writeto``). Input cards astropy has to repair (e.g.
  lower-case keywords) are written repaired, quietly: the warning would tell the user
  nothing they can act on.
* Other plugins may append HDUs after the cutouts (``astrocut_fits_extensions``, e.g. a
  mission's metadata in its own format); they are checksummed and written with the rest.
* Byte-reproducible files: astropy adds CHECKSUM and DATASUM with a fixed comment (its
  documented ``when`` argument) instead of the time of writing, so the same cutout gives
  the same bytes (DATE holds only the day).
* PNG/JPG: scaled with :func:`astrocut.normalize.normalize_img`; when neither
  ``minmax_percent`` nor ``minmax_value`` is given the 0.5-99.5 percentile interval is used,
  as in the reference tool. The array is flipped vertically before saving so the first row
  is at the bottom: a north-up WCS gives a north-up picture.
"""

import datetime
import json
import warnings

import numpy as np

from astrocut.errors import InvalidInputError
from astrocut.output import atomic_path

from .cutter import is_structural

DEFAULT_MINMAX_PERCENT = (0.5, 99.5)
_PIL_FORMATS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG"}
# The comment of CHECKSUM and DATASUM. astropy's default holds the time of writing; a fixed
# one makes the same cutout give the same bytes.
_CHECKSUM_COMMENT = "FITS checksum convention"


def primary_hdu(center):
    """The header-only primary HDU of a cutout file centred on ``center`` (a SkyCoord)."""
    from astropy.io import fits

    from astrocut import __version__

    primary = fits.PrimaryHDU()
    primary.header.extend([
        ("ORIGIN", "astrocut", "software that created this file"),
        # UTC, so the bytes written do not depend on the machine's time zone.
        ("DATE", datetime.datetime.now(datetime.timezone.utc).date().isoformat(),
         "file creation date"),
        ("PROCVER", __version__, "software version"),
        ("RA_OBJ", float(center.ra.deg), "[deg] right ascension of the cutout centre"),
        ("DEC_OBJ", float(center.dec.deg), "[deg] declination of the cutout centre")])
    return primary


def to_hdulist(cutouts):
    """An :class:`~astropy.io.fits.HDUList`: the primary HDU, one CUTOUT HDU per cutout,
    then the HDUs plugins add for these cutouts (``astrocut_fits_extensions``)."""
    from astropy.io import fits

    from astrocut.plugins import get_plugin_manager
    from astrocut.writer_registry import fits_extensions

    hdus = [primary_hdu(cutouts[0].center)]
    for cutout in cutouts:
        # The cutout's cards appended one by one: ImageHDU(data=..., header=...) and
        # Header.extend build intermediate copies of the header first, twice or three times
        # the time for a long drizzled header. Keywords describing the stored pixels are
        # astropy's, from the data; the generic cutter has dropped them already, but a
        # cutout from another plugin's astrocut_cut_images may still carry them.
        hdu = fits.ImageHDU(data=cutout.data)
        header = hdu.header
        for card in cutout.header.cards:
            if not is_structural(card.keyword):
                header.append(card, end=True)
        hdus.append(hdu)
    hdulist = fits.HDUList(hdus)
    hdulist.extend(fits_extensions(get_plugin_manager(), cutouts, hdulist))
    return hdulist


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
    from astropy.io.fits.verify import VerifyWarning

    hdulist = to_hdulist(cutouts)
    with atomic_path(path) as temporary, warnings.catch_warnings():
        # Input cards astropy has to repair (e.g. lower-case keywords) are repaired as the
        # header is serialised; the warning would tell the user nothing they can act on.
        warnings.simplefilter("ignore", VerifyWarning)
        for hdu in hdulist:
            hdu.add_checksum(when=_CHECKSUM_COMMENT)
        # The HDUs are astropy's own and every card is checked as it is serialised (by the
        # checksum above already): a second whole-file verification would change nothing.
        hdulist.writeto(temporary, overwrite=True, output_verify="ignore")
    return path


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
