"""The pipeline aperture and the background estimate (issue 13 item 4), on synthetic stamps."""

import numpy as np
import pytest

from astrocut_tess import aperture as ap


def _stamp(rng, shape=(15, 17), n=30, star=(8.2, 7.1), other=(2.0, 12.0), sky=None,
           star_flux=4000.0):
    ny, nx = shape
    yy, xx = np.mgrid[0:ny, 0:nx]
    sky = np.linspace(50, 80, n) if sky is None else sky
    flux = np.empty((n, ny, nx), dtype=np.float32)
    for index in range(n):
        image = sky[index] + rng.normal(0, 2.0, shape)
        for (x, y), amplitude in ((star, star_flux), (other, 3000.0)):
            image += amplitude / (2 * np.pi) * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / 2)
        flux[index] = image
    return flux, np.full_like(flux, 2.0), sky


def test_bits_as_spoc_writes_them():
    rng = np.random.default_rng(0)
    flux, _, _ = _stamp(rng)
    collected = np.ones(flux.shape[1:], dtype=bool)
    collected[:, :2] = False  # two padded columns off the image
    flux[:, ~collected] = np.nan
    quality = np.zeros(len(flux), dtype=int)
    result = ap.pipeline_aperture(flux, quality, collected, (8.2, 7.1))
    mask = result.mask
    assert mask.dtype == np.int32
    assert np.array_equal((mask & 1) > 0, collected)
    optimal = (mask & 2) > 0
    background = (mask & 4) > 0
    assert optimal[7, 8] and optimal.sum() == result.npixsap >= 5
    assert not optimal[12, 2]                   # the other star is not the target's
    assert not (optimal & background).any()
    assert not background[12, 2] and not background[7, 8]
    assert background.sum() > 100
    assert np.all(mask[~collected] == 0)
    assert result.npixmiss == 0                 # the aperture is far from the padding
    assert result.sky == pytest.approx(65, abs=3)


def test_aperture_is_connected_and_never_empty():
    rng = np.random.default_rng(1)
    flux, _, _ = _stamp(rng, star_flux=5.0)     # a target far below the noise
    collected = np.ones(flux.shape[1:], dtype=bool)
    result = ap.pipeline_aperture(flux, np.zeros(len(flux)), collected, (8.4, 6.6))
    optimal = (result.mask & 2) > 0
    assert optimal.sum() == 1 and optimal[7, 8]
    # A bright target: every aperture pixel reaches the target's pixel through aperture pixels.
    flux, _, _ = _stamp(rng)
    optimal = (ap.pipeline_aperture(flux, np.zeros(len(flux)), collected,
                                    (8.2, 7.1)).mask & 2) > 0
    seed = np.zeros_like(optimal)
    seed[7, 8] = True
    assert np.array_equal(ap._grow(seed, optimal), optimal)


def test_missing_pixels_at_the_edge_and_the_nearest_collected_seed():
    rng = np.random.default_rng(2)
    flux, _, _ = _stamp(rng, star=(1.0, 7.0))
    collected = np.ones(flux.shape[1:], dtype=bool)
    collected[:, :1] = False
    flux[:, :, :1] = np.nan
    result = ap.pipeline_aperture(flux, np.zeros(len(flux)), collected, (0.3, 7.0))
    optimal = (result.mask & 2) > 0
    assert optimal[7, 1]                        # the nearest collected pixel to the target
    assert result.npixmiss >= 1                 # the star's light runs off the data
    assert result.npixmiss == int((ap._dilate(optimal, False) & ~collected).sum())


def test_flagged_cadences_do_not_shape_the_aperture():
    rng = np.random.default_rng(3)
    flux, _, _ = _stamp(rng)
    quality = np.zeros(len(flux), dtype=int)
    flux[:5] += 10000.0                         # scattered light, flagged
    quality[:5] = 4096
    collected = np.ones(flux.shape[1:], dtype=bool)
    clean = ap.pipeline_aperture(flux[5:], quality[5:], collected, (8.2, 7.1))
    flagged = ap.pipeline_aperture(flux, quality, collected, (8.2, 7.1))
    assert np.array_equal(clean.mask, flagged.mask)


def test_background_is_the_sky_per_cadence():
    rng = np.random.default_rng(4)
    flux, flux_err, sky = _stamp(rng, n=40)
    collected = np.ones(flux.shape[1:], dtype=bool)
    result = ap.pipeline_aperture(flux, np.zeros(len(flux)), collected, (8.2, 7.1))
    bkg, bkg_err = ap.estimate_background(flux, flux_err, result)
    assert bkg.shape == flux.shape and bkg_err.shape == flux.shape
    level = bkg[:, 0, 0]
    assert np.all(bkg == level[:, None, None])
    # Within 4 standard errors of the true sky in every cadence (2 e-/s noise per pixel).
    assert np.all(np.abs(level - sky) < 4 * bkg_err[:, 0, 0] + 0.2)
    assert np.all(bkg_err[:, 0, 0] > 0) and np.all(bkg_err[:, 0, 0] < 0.5)
    # Subtracted, the target's aperture sum no longer follows the sky ramp.
    optimal = (result.mask & 2) > 0
    raw = flux[:, optimal].sum(axis=1)
    corrected = (flux - bkg)[:, optimal].sum(axis=1)
    assert np.polyfit(sky, raw, 1)[0] == pytest.approx(optimal.sum(), rel=0.1)
    assert abs(np.polyfit(sky, corrected, 1)[0]) < 0.1 * optimal.sum()


def test_too_few_background_pixels_estimate_nothing():
    rng = np.random.default_rng(5)
    flux, flux_err, _ = _stamp(rng, shape=(3, 3), star=(1.0, 1.0), other=(50.0, 50.0))
    collected = np.ones((3, 3), dtype=bool)
    result = ap.pipeline_aperture(flux, np.zeros(len(flux)), collected, (1.0, 1.0))
    assert result.background_pixels.sum() < ap.MIN_BACKGROUND_PIXELS
    assert ap.estimate_background(flux, flux_err, result) is None
    one = ap.pipeline_aperture(flux[:, :1, :1], np.zeros(len(flux)), collected[:1, :1],
                               (0.0, 0.0))
    assert one.mask.tolist() == [[3]] and one.npixsap == 1


@pytest.mark.parametrize("cadences", [1, 2, 39, 40])
def test_median_image_without_nans_is_nanmedians_bit_for_bit(cadences):
    # The aperture takes np.median when a stamp has no NaN (nanmedian's masked arrays cost
    # ~0.3 ms a stamp); the image must be the one nanmedian gives.
    from astrocut_tess.aperture import _median_image

    rng = np.random.default_rng(cadences)
    flux = (rng.normal(100, 30, (cadences, 11, 10)) ** 3).astype(np.float32)
    quality = np.zeros(cadences, dtype=np.int32)
    quality[::3] = 8 if cadences > 2 else 0
    good = flux[quality == 0]
    image = _median_image(flux, quality)
    assert image.dtype == np.float32
    assert image.tobytes() == np.nanmedian(good, axis=0).tobytes()
    flux[0, 2, 3] = np.nan  # with a NaN, nanmedian itself
    assert np.isfinite(_median_image(flux, np.zeros(cadences, dtype=np.int32))[2, 3]) == (cadences > 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_median_is_numpys_median_bit_for_bit(dtype):
    rng = np.random.default_rng(7)
    for size in list(range(1, 40)) + [99, 100, 255, 256]:
        for scale in (1.0, 1e6, 1e-6):
            values = (rng.normal(100, 30, size) * scale).astype(dtype)
            ours, theirs = ap.median(values), np.median(values)
            assert type(ours) is type(theirs) and ours.tobytes() == theirs.tobytes()
    ties = np.array([1, 2, 2, 2, 3, 3], dtype=np.float32)
    assert ap.median(ties) == np.median(ties) == 2.0
    for cadences in (1, 2, 39, 40):
        cube = (rng.normal(100, 30, (cadences, 7, 6)) ** 3).astype(dtype)
        assert ap.median(cube, axis=0).tobytes() == np.median(cube, axis=0).tobytes()
