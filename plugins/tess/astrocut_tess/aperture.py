"""A pipeline aperture for a stamp, and an optional per-cadence background.

SPOC's target pixel files carry an integer ``APERTURE`` image of bit flags: bit 1 (value 1)
the pixel was collected, bit 2 (value 2) it is in the optimal aperture, bit 4 (value 4) it
was used for the background. lightkurve's default ``to_lightcurve()`` sums bit 2; a stamp
whose mask has no bit-2 pixel gives it nothing to sum.

The rule here (documented in the README), on the stamp's median image over the cadences
with ``QUALITY == 0`` (all cadences if none is):

1. The sky level and noise are the median and the MAD-based sigma of the collected pixels,
   clipped three times at 3 sigma so stars do not raise them.
2. The optimal aperture grows from the target's pixel (the collected pixel nearest the
   target) through 4-connected pixels brighter than sky + 3 sigma. When the target's pixel
   is not that bright (a faint target), the aperture is the target's pixel alone, so it is
   never empty. Bit 2 is set there.
3. Background pixels (bit 4) are collected pixels fainter than sky + 1 sigma that do not
   touch the aperture (8-connected).
4. ``NPIXSAP`` counts the aperture's pixels; ``NPIXMISS`` the pixels the aperture lacks
   because the stamp has no data there: uncollected pixels (off the image, or NaN) that
   border the aperture.

The background (``background=True``): per cadence, the median of the background pixels is
the sky per pixel (``FLUX_BKG``), its error the median's standard error (1.2533 times the
MAD-based scatter over sqrt(n)) (``FLUX_BKG_ERR``), and ``FLUX`` is reduced by it, SPOC's
meaning of the columns. With fewer than :data:`MIN_BACKGROUND_PIXELS` background pixels
nothing is subtracted and the header says so.
"""

import warnings

import attrs
import numpy as np

COLLECTED, OPTIMAL, BACKGROUND = 1, 2, 4
MIN_BACKGROUND_PIXELS = 4
_MAD_SIGMA = 1.4826
_MEDIAN_ERROR = 1.2533


@attrs.frozen
class Aperture:
    """The ``APERTURE`` bit image and its counts."""

    mask: np.ndarray  # int32 (ny, nx)
    npixsap: int
    npixmiss: int
    sky: float
    sigma: float

    @property
    def background_pixels(self):
        return (self.mask & BACKGROUND) > 0


def _median_image(flux, quality):
    good = np.asarray(quality) == 0
    frames = flux[good] if good.any() else flux
    if not np.isnan(frames).any():  # the same median, without nanmedian's masked arrays
        return median(frames, axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels stay NaN
        return np.nanmedian(frames, axis=0)


def median(values, axis=None):
    """``np.median(values, axis)`` (``None``: of a 1-D array) of an array without NaN, bit
    for bit (the same order statistics, averaged in the array's dtype), without np.median's
    ~10 us of generic handling: a stamp's aperture takes eight (``tests/tess/test_aperture.py``).
    """
    along = 0 if axis is None else axis
    count = values.shape[along]
    half = count // 2
    if count % 2:
        return np.take(np.partition(values, half, axis=along), half, axis=along)
    part = np.partition(values, (half - 1, half), axis=along)
    return (np.take(part, half - 1, axis=along) + np.take(part, half, axis=along)) / 2


def _sky(values):
    """Median and MAD sigma of ``values``, clipped at 3 sigma three times."""
    values = values[np.isfinite(values)]
    level, sigma = float(median(values)), 0.0
    for _ in range(3):
        sigma = _MAD_SIGMA * float(median(np.abs(values - level)))
        if not sigma > 0:
            break
        kept = values[np.abs(values - level) < 3 * sigma]
        if len(kept) == 0:
            break
        level = float(median(kept))
    return level, sigma


def _grow(seed, allowed):
    """The 4-connected part of ``allowed`` containing ``seed`` (both boolean images)."""
    region = seed & allowed
    while True:
        grown = region.copy()
        grown[1:, :] |= region[:-1, :]
        grown[:-1, :] |= region[1:, :]
        grown[:, 1:] |= region[:, :-1]
        grown[:, :-1] |= region[:, 1:]
        grown &= allowed
        if np.array_equal(grown, region):
            return region
        region = grown


def _dilate(mask, diagonal):
    out = mask.copy()
    out[1:, :] |= mask[:-1, :]
    out[:-1, :] |= mask[1:, :]
    out[:, 1:] |= mask[:, :-1]
    out[:, :-1] |= mask[:, 1:]
    if diagonal:
        out[1:, 1:] |= mask[:-1, :-1]
        out[:-1, :-1] |= mask[1:, 1:]
        out[1:, :-1] |= mask[:-1, 1:]
        out[:-1, 1:] |= mask[1:, :-1]
    return out


def pipeline_aperture(flux, quality, collected, target_xy):
    """The :class:`Aperture` of a stamp.

    ``flux`` is ``(n_cadences, ny, nx)``, ``quality`` one flag per cadence, ``collected`` the
    boolean image of pixels on the image, ``target_xy`` the target's 0-based position in stamp
    pixels.
    """
    image = _median_image(flux, quality)
    collected = np.asarray(collected, dtype=bool) & np.isfinite(image)
    mask = collected.astype(np.int32) * COLLECTED
    if not collected.any():
        return Aperture(mask=mask, npixsap=0, npixmiss=0, sky=float("nan"), sigma=float("nan"))
    sky, sigma = _sky(image[collected])
    ny, nx = image.shape
    rows, cols = np.nonzero(collected)
    tx, ty = target_xy
    nearest = int(np.argmin((cols - tx) ** 2 + (rows - ty) ** 2))
    seed = np.zeros((ny, nx), dtype=bool)
    seed[rows[nearest], cols[nearest]] = True
    bright = collected & (image > sky + 3 * sigma) if sigma > 0 else np.zeros_like(seed)
    optimal = _grow(seed, bright) if bright[seed].any() else seed
    background = collected & ~_dilate(optimal, diagonal=True) & (image < sky + sigma)
    mask[optimal] |= OPTIMAL
    mask[background] |= BACKGROUND
    missing = _dilate(optimal, diagonal=False) & ~collected
    return Aperture(mask=mask, npixsap=int(optimal.sum()), npixmiss=int(missing.sum()),
                    sky=sky, sigma=sigma)


def estimate_background(flux, flux_err, aperture):
    """Per-cadence sky per pixel and its error from the background pixels.

    Returns ``(flux_bkg, flux_bkg_err)`` shaped like ``flux`` (the same value on every pixel
    of a cadence), or ``None`` when there are fewer than :data:`MIN_BACKGROUND_PIXELS`.
    """
    pixels = aperture.background_pixels
    count = int(pixels.sum())
    if count < MIN_BACKGROUND_PIXELS:
        return None
    values = flux[:, pixels]  # (n_cadences, count)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a cadence of NaNs stays NaN
        level = np.nanmedian(values, axis=1)
        scatter = _MAD_SIGMA * np.nanmedian(np.abs(values - level[:, None]), axis=1)
    finite = np.sum(np.isfinite(values), axis=1)
    error = _MEDIAN_ERROR * scatter / np.sqrt(np.maximum(finite, 1))
    shape = flux.shape
    bkg = np.broadcast_to(level[:, None, None], shape).astype(np.float32)
    bkg_err = np.broadcast_to(error[:, None, None], shape).astype(np.float32)
    return bkg, bkg_err
