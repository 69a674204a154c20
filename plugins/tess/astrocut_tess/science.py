"""What makes a cube cutout a science-grade TPF (issue 13), between cutting and writing.

:func:`enrich` runs when a stamp is cut: the target's own barycentric time
(:mod:`astrocut_tess.barycentric`), the pipeline aperture and, on request, the background
(:mod:`astrocut_tess.aperture`). The results travel in the cutout's ``metadata`` (no open
file, so across processes too); the writer (:mod:`astrocut_tess.tpf`) asks this module for the
columns and the header cards that describe them.

What every target of one cube shares - the Earth's positions at the FFI times, the FFI's
reference point - is computed once per cube (:func:`cube_times`), so a target costs two dot
products for its time.
"""

import re

import numpy as np

from astrocut.geometry import celestial_wcs, radec_deg

from . import aperture as pipeline
from . import barycentric
from .cards import cached_card, card_image
from .keywords import TARGET_KEYS

_TARGET_COMMENTS = dict(TARGET_KEYS)
_TARGET_STRINGS = {"OBJECT"}


def cube_times(info, wcs):
    """The :class:`~astrocut_tess.barycentric.CubeTimes` of a cube, made once per cube."""
    key = ("science", "times")
    times = info.writer_cache.get(key)
    if times is None:
        columns = info.columns
        middle = (columns["TSTART"] + columns["TSTOP"]) / 2.0
        times = info.writer_cache[key] = barycentric.prepare(
            middle, columns["BARYCORR"], wcs, info.wcs_values, info.image_shape)
    return times


def enrich(info, wcs, request, corner, flux, flux_err, collected, pixel=None):
    """Time, aperture and background of one stamp.

    Returns ``(flux, aperture mask, metadata)``: ``flux`` background-subtracted when the
    request asks for it, the APERTURE bit image, and the cutout metadata entries. ``pixel``:
    the target's 0-based image pixel, if the caller has it.
    """
    options = request.mission_options or {}
    mode = options.get("time_correction", "target")
    radec = radec_deg(request.center.icrs)
    times = barycentric.apply(cube_times(info, wcs), radec, mode)
    # The target's image pixel: the caller's center_pixel answer, or the same computation.
    x, y = pixel if pixel is not None else celestial_wcs(wcs).all_world2pix([radec], 0)[0]
    target_xy = (float(x) - corner[0], float(y) - corner[1])
    chosen = pipeline.pipeline_aperture(flux, info.columns["DQUALITY"], collected, target_xy)
    background = None
    if options.get("background"):
        background = pipeline.estimate_background(flux, flux_err, chosen)
        if background is not None:
            flux = flux - background[0]
    metadata = {"time": times, "aperture": chosen, "background": background,
                "background_requested": bool(options.get("background")),
                "target": dict(options.get("target") or {})}
    return flux, chosen.mask, metadata


# ----------------------------------------------------------------------------- writing

def fill_rows(rows, metadata):
    """Put the stamp's TIME, TIMECORR and background columns into the PIXELS rows."""
    times = metadata.get("time")
    if times is not None:
        rows["TIME"] = times.time
        rows["TIMECORR"] = times.timecorr
    background = metadata.get("background")
    if background is not None:
        rows["FLUX_BKG"], rows["FLUX_BKG_ERR"] = background


def _target_card(key, value):
    if key in _TARGET_STRINGS:
        value = str(value)
    elif isinstance(value, str):
        try:
            value = int(value) if value.strip().lstrip("+-").isdigit() else float(value)
        except ValueError:
            pass  # written as the text given
    return card_image(key, value, _TARGET_COMMENTS[key])


def set_target_cards(cards, metadata):
    """Fill the target keywords the caller gave (OBJECT, TICID, TESSMAG ...) in ``cards``.

    Keywords the archive's TPFs do not define are ignored, so a targets table may carry
    columns of its own.
    """
    given = {key: value for key, value in metadata.get("target", {}).items()
             if key in _TARGET_COMMENTS and value is not None}
    if not given:
        return cards
    cards = list(cards)
    for index, image in enumerate(cards):
        key = image[:8].rstrip() if image else None
        if key in given:
            cards[index] = _target_card(key, given[key])
    return cards


def pixels_cards(metadata):
    """PIXELS cards saying what was done to the time and the flux."""
    cards = []
    times = metadata.get("time")
    if times is not None:
        for key, value, comment in times.header_cards():
            cards.append(card_image(key, value, comment))
    if metadata.get("background_requested"):
        applied = metadata.get("background") is not None
        cards.append(cached_card("BKG_EST", applied,
                                 "FLUX_BKG estimated from background pixels"))
    return cards


def backapp_card(metadata):
    """The BACKAPP card when the background was subtracted here (else ``None``)."""
    if metadata.get("background") is None:
        return None
    return cached_card("BACKAPP", True, "background is subtracted")


def aperture_cards(info, cutout):
    """APERTURE keywords as SPOC writes them: mission, target and the aperture's counts."""
    from .rawfits import header_value

    primary = info.primary_header
    metadata = cutout.metadata
    chosen = metadata.get("aperture")
    target = metadata.get("target", {})
    mission = info.writer_cache.get(("science", "mission cards"))
    if mission is None:
        mission = info.writer_cache[("science", "mission cards")] = [
            cached_card("TELESCOP", str(header_value(primary, "TELESCOP", "TESS")), "telescope"),
            cached_card("INSTRUME", str(header_value(primary, "INSTRUME", "TESS Photometer")),
                        "detector type"),
        ]
    cards = list(mission)
    for key in ("OBJECT", "TICID"):
        value = target.get(key)
        cards.append(_target_card(key, value) if value is not None
                     else cached_card(key, "" if key == "OBJECT" else None,
                                      _TARGET_COMMENTS[key]))
    cards += [
        card_image("RA_OBJ", radec_deg(cutout.center)[0], "[deg] right ascension"),
        card_image("DEC_OBJ", radec_deg(cutout.center)[1], "[deg] declination"),
        cached_card("EQUINOX", 2000.0, "equinox of celestial coordinate system"),
    ]
    if chosen is not None:
        cards += [
            cached_card("NPIXSAP", int(chosen.npixsap), "Number of pixels in optimal aperture"),
            cached_card("NPIXMISS", int(chosen.npixmiss),
                        "Number of op. aperture pixels not collected"),
        ]
    return cards


def readout_delay_cards(ffi):
    """``TMOFSTcc`` (the camera/CCD's readout delay, s) of the FFI, as SPOC's TPFs keep it
    (``TMOFST11`` comes with the FFI keywords every TPF copies)."""
    cards = []
    for key in sorted(k for k in ffi if re.fullmatch(r"TMOFST[1-4][1-4]", k)):
        value = ffi[key]
        if key != "TMOFST11" and isinstance(value, (int, float)) and not isinstance(value, bool):
            cards.append(cached_card(key, float(value),
                                     f"(s) readout delay for camera {key[6]} and ccd {key[7]}"))
    return cards


def has_science(metadata):
    """Whether :func:`enrich` ran for this cutout (cutouts built by hand may skip it)."""
    return "time" in metadata and np.ndim(metadata["time"].time) == 1
