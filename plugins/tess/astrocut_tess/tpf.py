"""Writing TESS target pixel files (spec §3) from cube cutouts, fast.

One writer serves every path (``cube_cut``, ``memory_only``, bulk): :func:`write_tpf`
serialises a :class:`~astrocut.models.CubeCutout` to bytes and writes them atomically.

Why not ``HDUList.writeto``: building and writing a TPF through astropy's table and header
machinery costs ~15 ms, most of it per-card parsing and column bookkeeping; the bulk path
needs ~3 ms per target. The FITS layout of a TPF is fixed, so the writer

* builds the header cards that do not change between targets of one cube once (cached on the
  cube's :class:`~astrocut_tess.cutout.CubeInfo`), and per stamp shape the column cards;
* makes only the few per-target cards (RA_OBJ/DEC_OBJ, the fitted WCS, WCS_MSEP/WCS_SIG, the
  stamp's CCD position; the WCS ones in :mod:`astrocut_tess.tpf_wcs`) per target;
* lays the PIXELS rows out as a big-endian numpy structured array and writes its bytes.

Every card image is astropy's (:mod:`astrocut_tess.cards`: plain cards formatted in its layout,
proved equal by ``tests/tess/test_cards.py``; the rest made by ``fits.Card``); the keyword tables
(which keywords, in which order, with which comments) are in :mod:`astrocut_tess.keywords`.

Every HDU ends with CHECKSUM/DATASUM cards, summed with numpy over the bytes
(:mod:`astrocut_tess.checksum`; astropy sums only whole HDU objects, ~6 ms a TPF). The
per-target time, aperture and target keywords come from :mod:`astrocut_tess.science`.

The result is checked against astropy, ``fitsverify`` and lightkurve by the tests.
"""

import contextlib
import os
import stat

import numpy as np

from astrocut.geometry import radec_deg
from astrocut.output import atomic_path

from . import checksum, science, tpf_wcs
from .cards import cached_card, card_image, header_bytes
from .keywords import (LOGICAL, MISSION_COMMENTS, ORIGIN, ORIGIN_COMMENT, PIXELS_FROM_FFI,
                       TARGET_KEYS, TIME_KEYS, TPF_CREATOR, dropped_from_tpf_primary)
from .rawfits import header_value, padded
from .tpf_wcs import linear_wcs_terms

__all__ = ["card_image", "cached_card", "linear_wcs_terms", "tpf_parts", "tpf_bytes",
           "write_tpf"]

_PIXEL_COLUMNS = (4, 5, 6, 7, 8)  # RAW_CNTS, FLUX, FLUX_ERR, FLUX_BKG, FLUX_BKG_ERR

def _hdu(cards, data):
    """An HDU's pieces: header bytes (signed), data (any contiguous buffer, not copied),
    padding."""
    view = memoryview(data).cast("B")
    size = view.nbytes
    body = "".join(cards)
    header = checksum.sign(header_bytes([body] + checksum.checksum_cards()), view, len(body))
    return header, view, bytes(padded(size) - size)


# ------------------------------------------------------------------------ per-cube parts

class _CubeTemplate:
    """Header cards and columns shared by every TPF cut from one cube."""

    def __init__(self, info, ffi_type):
        self.info = info
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
        "ORIGIN": cached_card("ORIGIN", ORIGIN, ORIGIN_COMMENT),
        "CREATOR": cached_card("CREATOR", TPF_CREATOR, "software used to produce this file"),
        "PROCVER": cached_card("PROCVER", __version__, "astrocut version"),
        "FFI_TYPE": cached_card("FFI_TYPE", str(ffi_type),
                                  "the FFI type used to make the cutout"),
        "RA_OBJ": None,
        "DEC_OBJ": None,
        **{key: cached_card(key, value, comment) for key, value, comment in TIME_KEYS},
        "TELAPSE": cached_card("TELAPSE", telapse, "[d] TSTOP - TSTART"),
    }
    for key, comment in TARGET_KEYS:
        # OBJECT is a string keyword of the FITS standard: empty, not undefined.
        ours[key] = cached_card(key, "" if key == "OBJECT" else None, comment)
    extend = cached_card("EXTEND", True, "file contains extensions")

    out = []
    placed = set()
    # astropy keeps a long string's CONTINUE cards in its card's image.
    for item in header.cards:
        key = item.keyword
        if dropped_from_tpf_primary(key):
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
            cards.append(cached_card(key, value, MISSION_COMMENTS[key]))
    cards += [cached_card(key, value, comment) for key, value, comment in TIME_KEYS]
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
    for key, comment in PIXELS_FROM_FFI:
        value = ffi.get(key)
        if value is None or value == "":
            continue
        if key in LOGICAL and value in (0, 1):
            value = bool(value)  # cubes store the FFI's logical keywords as integers
        cards.append(cached_card(key, value, comment))
    cards.extend(science.readout_delay_cards(ffi))
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
        self._template = template
        self._rows = None  # the constant part, kept once a second target of this shape comes
        self._served = 0
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


    def _build_rows(self):
        template = self._template
        rows = np.zeros(template.n_ffi, dtype=self.dtype)
        rows["TIME"] = template.time
        rows["TIMECORR"] = template.timecorr
        rows["CADENCENO"] = template.cadenceno
        rows["RAW_CNTS"] = -1
        rows["QUALITY"] = template.quality
        rows["FFI_FILE"] = template.ffi_file
        return rows

    def new_rows(self):
        """The table rows of one target with every column but its own filled in."""
        # Copying a kept template is the cheapest start for many targets, but for one it
        # would cost building the template and copying it (two passes over tens of MB).
        self._served += 1
        if self._served == 1:
            return self._build_rows()
        if self._rows is None:
            self._rows = self._build_rows()
        return self._rows.copy()


def _shape_parts(template, ny, nx):
    parts = template.shapes.get((ny, nx))
    if parts is None:
        parts = template.shapes[(ny, nx)] = _ShapeParts(template, ny, nx)
    return parts


# ---------------------------------------------------------------------- per-target parts

def tpf_parts(cutout):
    """The target pixel file for ``cutout`` (a TESS CubeCutout) as a list of buffers.

    Writing the buffers one after the other gives the file; nothing large is copied twice.
    The file is reproducible: the same cutout gives the same bytes.
    """
    template = _template(cutout)
    ny, nx = cutout.shape
    parts = _shape_parts(template, ny, nx)
    fitted = cutout.fitted_wcs
    column_wcs, aperture_wcs = tpf_wcs.wcs_cards(fitted, cutout.corner)
    fit_cards = tpf_wcs.fit_cards(fitted)

    metadata = cutout.metadata
    # PRIMARY
    primary = science.set_target_cards(template.primary, metadata)
    center = cutout.center
    ra, dec = radec_deg(center)
    primary[template.ra_index] = card_image("RA_OBJ", ra, "[deg] right ascension")
    primary[template.dec_index] = card_image("DEC_OBJ", dec, "[deg] declination")
    hdus = [_hdu(primary, b"")]

    # PIXELS
    cards = list(parts.head)
    keys = tuple(key for key, _ in column_wcs)
    values = [image[8:] for _, image in column_wcs]
    for index, column_cards in parts.column_cards:
        cards.extend(column_cards)
        if index in _PIXEL_COLUMNS:
            cards.append("".join([key + value
                                  for key, value in zip(tpf_wcs.column_keys(keys, index), values)]))
    tail = template.pixels_tail
    backapp = science.backapp_card(metadata)
    if backapp is not None:
        tail = [backapp if image.startswith("BACKAPP ") else image for image in tail]
    cards.extend(tail)
    cards.extend(science.pixels_cards(metadata))
    cards.extend(fit_cards)
    rows = parts.new_rows()
    rows["FLUX"] = cutout.flux
    rows["FLUX_ERR"] = cutout.flux_err
    science.fill_rows(rows, metadata)
    hdus.append(_hdu(cards, rows))

    # APERTURE
    cards = list(parts.aperture_head)
    cards.extend(science.aperture_cards(template.info, cutout))
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
    # A symlink's target is replaced (the link stays), keeping its permission bits.
    target = os.path.realpath(path) if os.path.islink(path) else path
    with atomic_path(target) as temporary:
        with open(temporary, "wb", buffering=0) as handle:
            # One system call for the whole file; a short write continues piece by piece.
            written = os.writev(handle.fileno(), pieces)
            for piece in pieces:
                view = memoryview(piece).cast("B")
                skip = min(written, view.nbytes)
                written -= skip
                view = view[skip:]
                while view.nbytes:
                    view = view[handle.write(view):]
        with contextlib.suppress(FileNotFoundError):
            os.chmod(temporary, stat.S_IMODE(os.stat(target).st_mode))
    return path
