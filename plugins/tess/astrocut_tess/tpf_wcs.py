"""The per-target WCS cards of a target pixel file: the fitted linear WCS (PIXELS columns 4-8
and APERTURE), the stamp's physical (CCD) WCS, and WCS_MSEP/WCS_SIG.

Only the fitted WCS's numbers are formatted per target (:func:`astrocut_tess.cards.card_image`);
every other card image is remembered, and the PIXELS columns share column 4's cards re-keyed.
"""

import functools

import numpy as np

from .cards import cached_card, card_image, keyed
from .keywords import FITTED_WCS, column_physical_wcs, physical_wcs


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


def wcs_cards(fitted, corner):
    """Per-target WCS cards: ``(column, aperture)``.

    ``column`` is ``[(key, image)]`` for column 4, to be re-keyed for columns 5-8;
    ``aperture`` the APERTURE header's WCS card images. Only the fitted WCS's numbers are
    formatted per target; the rest are remembered images.
    """
    x0, y0 = int(corner[0]) + 1, int(corner[1]) + 1
    column = _physical_cards(True, x0, y0)
    aperture = []
    if fitted is not None:
        crpix, crval, cdelt, pc = linear_wcs_terms(fitted)
        numbers = {"1CRPX4": crpix[0], "2CRPX4": crpix[1], "1CRVL4": crval[0],
                   "2CRVL4": crval[1], "1CDLT4": cdelt[0], "2CDLT4": cdelt[1],
                   "11PC4": pc[0][0], "12PC4": pc[0][1], "21PC4": pc[1][0], "22PC4": pc[1][1]}
        for key, aperture_key, value, comment in FITTED_WCS:
            if value is None:  # the same number and comment: one card, two keywords
                image = card_image(key, numbers[key], comment)
                column.append((key, image))
                aperture.append(keyed(aperture_key, image))
            else:
                column.append((key, cached_card(key, value, comment)))
                aperture.append(cached_card(aperture_key, value, comment))
        aperture.append(cached_card("RADESYS", "ICRS",
                                      "reference frame of celestial coordinates"))
    aperture.extend(image for _, image in _physical_cards(False, x0, y0))
    return column, aperture


_X0, _Y0 = object(), object()


@functools.lru_cache(maxsize=None)
def _physical_layout(column):
    """The physical WCS cards with their images where they do not depend on the stamp's
    corner (``None`` where they do: its CCD column, then row)."""
    rows = column_physical_wcs(_X0, _Y0) if column else physical_wcs(_X0, _Y0)
    return tuple((key, None if value is _X0 or value is _Y0 else cached_card(key, value, comment),
                  value is _X0, comment) for key, value, comment in rows)


def _physical_cards(column, x0, y0):
    """``[(key, image)]`` of the physical WCS of a stamp whose first pixel is CCD ``(x0, y0)``
    (1-based), for table column 4 (``column``) or the APERTURE image."""
    return [(key, image if image is not None
             else cached_card(key, x0 if is_x else y0, comment))
            for key, image, is_x, comment in _physical_layout(column)]


@functools.lru_cache(maxsize=64)
def column_keys(keys, index):
    """Column 4's WCS keywords for column ``index``, padded to the 8 columns of a card."""
    return tuple(f"{key.replace('4', str(index), 1):<8}" for key in keys)


def fit_cards(fitted):
    if fitted is None:
        return []
    return [card_image("WCS_MSEP", float(fitted.max_separation),
                       "[deg] max offset between cutout WCS and FFI WCS"),
            card_image("WCS_SIG", float(fitted.sigma),
                       "[deg] error measurement of cutout WCS fit")]
