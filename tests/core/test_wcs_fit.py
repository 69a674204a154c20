"""The default linear WCS fitter against astropy's fit_wcs_from_points."""

import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.wcs import WCS
from astropy.wcs.utils import fit_wcs_from_points

from astrocut.wcs_fit import angular_separation_deg, fit_linear_wcs, stamp_grid


def tess_like_sip():
    """A full-CCD TESS-like TAN-SIP WCS: 21 arcsec pixels, a few pixels of distortion."""
    header = {
        "NAXIS": 2, "NAXIS1": 2136, "NAXIS2": 2078,
        "CTYPE1": "RA---TAN-SIP", "CTYPE2": "DEC--TAN-SIP",
        "CRPIX1": 1045.0, "CRPIX2": 1001.0, "CRVAL1": 84.0, "CRVAL2": -64.0,
        "CD1_1": -0.0057, "CD1_2": 0.0011, "CD2_1": -0.0011, "CD2_2": -0.0057,
        "A_ORDER": 2, "B_ORDER": 2,
        "A_2_0": 1.5e-6, "A_1_1": -8e-7, "A_0_2": 1.1e-6,
        "B_2_0": -9e-7, "B_1_1": 1.2e-6, "B_0_2": 1.4e-6,
    }
    from astropy.io import fits

    return WCS(fits.Header(header))


def test_stamp_grid_covers_every_pixel():
    xs, ys = stamp_grid((10, 20), (2, 3))
    assert list(zip(xs, ys)) == [(10, 20), (11, 20), (12, 20), (10, 21), (11, 21), (12, 21)]


def test_fit_matches_astropy_fit_wcs_from_points():
    pytest.importorskip("scipy")  # astropy's fit_wcs_from_points solves with scipy.optimize
    wcs = tess_like_sip()
    corner, shape = (1700, 1600), (12, 15)
    ours = fit_linear_wcs(wcs, corner, shape)
    xs, ys = stamp_grid(corner, shape)
    world = SkyCoord(*wcs.all_pix2world(xs, ys, 0), unit="deg")
    theirs = fit_wcs_from_points((xs - corner[0], ys - corner[1]), world, projection="TAN")
    # Both reproduce the SIP positions to a small fraction of a 21" pixel ...
    for fitted in (ours.wcs, theirs):
        ra, dec = fitted.all_pix2world(xs - corner[0], ys - corner[1], 0)
        assert np.max(angular_separation_deg(world.ra.deg, world.dec.deg, ra, dec)) < 0.05 / 3600 * 21
    # ... and agree with each other to better than 0.02 pixel everywhere on the stamp.
    a = SkyCoord(*ours.wcs.all_pix2world(xs - corner[0], ys - corner[1], 0), unit="deg")
    b = SkyCoord(*theirs.all_pix2world(xs - corner[0], ys - corner[1], 0), unit="deg")
    assert np.max(a.separation(b).arcsec) < 0.02 * 21


def test_separations_are_real_and_grow_with_stamp_size():
    wcs = tess_like_sip()
    results = {}
    for size in (5, 25, 100):
        corner = (2136 - 44 - size, 2078 - 30 - size)  # near the science-area corner
        results[size] = fit_linear_wcs(wcs, corner, (size, size))
    assert 0 < results[5].max_separation < results[25].max_separation < results[100].max_separation
    assert 0 < results[5].sigma < results[25].sigma < results[100].sigma
    # A 100-pixel stamp near the corner is off by a visible fraction of a pixel, as the docs warn.
    assert results[100].max_separation * 3600 > 0.5


def test_fitted_separations_are_what_they_say():
    wcs = tess_like_sip()
    corner, shape = (300, 200), (20, 30)
    fitted = fit_linear_wcs(wcs, corner, shape)
    xs, ys = stamp_grid(corner, shape)
    full = SkyCoord(*wcs.all_pix2world(xs, ys, 0), unit="deg")
    linear = SkyCoord(*fitted.wcs.all_pix2world(xs - corner[0], ys - corner[1], 0), unit="deg")
    separations = full.separation(linear).deg
    assert fitted.max_separation == pytest.approx(separations.max(), rel=1e-6)
    assert fitted.sigma == pytest.approx(np.sqrt(np.sum(separations ** 2)), rel=1e-6)


@pytest.mark.parametrize("shape", [(1, 1), (1, 6), (6, 1)])
def test_degenerate_stamps_still_get_a_wcs(shape):
    fitted = fit_linear_wcs(tess_like_sip(), (500, 500), shape)
    assert fitted.wcs.has_celestial
    assert fitted.max_separation < 1 / 3600
