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


# --- the minimax fit and its fast projections (issue 13 item 3) -----------------------------

from astropy.io import fits  # noqa: E402

from astrocut import wcs_fit  # noqa: E402


def _header_wcs(**changes):
    header = fits.Header({
        "NAXIS": 2, "NAXIS1": 2136, "NAXIS2": 2078,
        "CTYPE1": "RA---TAN-SIP", "CTYPE2": "DEC--TAN-SIP",
        "CRPIX1": 1045.0, "CRPIX2": 1001.0, "CRVAL1": 259.36, "CRVAL2": 36.2,
        "PC1_1": 0.00542, "PC1_2": 0.00188, "PC2_1": -0.00176, "PC2_2": 0.00537,
        "CDELT1": 1.0, "CDELT2": 1.0,
        "A_ORDER": 2, "B_ORDER": 2, "A_0_2": -3.1e-06, "A_1_1": 1.7e-05, "A_2_0": -1.9e-05,
        "B_0_2": 2.0e-05, "B_1_1": -1.6e-05, "B_2_0": 3.3e-06})
    for key, value in changes.items():
        if value is None:
            del header[key]
        else:
            header[key] = value
    return WCS(header, relax=True)


@pytest.mark.parametrize("changes", [
    {},                                                       # TAN-SIP, PC + CDELT
    {"CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN", "A_ORDER": None, "B_ORDER": None,
     "A_0_2": None, "A_1_1": None, "A_2_0": None, "B_0_2": None, "B_1_1": None,
     "B_2_0": None},                                          # plain TAN
    {"CRVAL2": -88.5, "CDELT1": 2.0},                         # near the pole, CDELT != 1
    {"CTYPE1": "RA---SIN", "CTYPE2": "DEC--SIN", "A_ORDER": None, "B_ORDER": None,
     "A_0_2": None, "A_1_1": None, "A_2_0": None, "B_0_2": None, "B_1_1": None,
     "B_2_0": None},                                          # not TAN: astropy's path
])
def test_sky_vectors_equal_astropy_all_pix2world(changes):
    wcs = _header_wcs(**changes)
    xs, ys = stamp_grid((40, 3), (60, 50))
    ours = wcs_fit.sky_vectors(wcs, xs, ys)
    theirs = wcs_fit.unit_vectors(*wcs.all_pix2world(xs, ys, 0))
    assert np.max(wcs_fit.vector_separation_deg(ours, theirs)) * 3600 < 1e-7


@pytest.mark.parametrize("changes", [
    {}, {"CRVAL2": -88.5, "CDELT1": 2.0},
    {"CTYPE1": "RA---SIN", "CTYPE2": "DEC--SIN", "A_ORDER": None, "B_ORDER": None,
     "A_0_2": None, "A_1_1": None, "A_2_0": None, "B_0_2": None, "B_1_1": None,
     "B_2_0": None},
])
def test_stamp_frame_vectors_are_astropys_positions_in_the_stamp_frame(changes):
    # The fit's shortcut (one rotation from the FFI's tangent plane to the stamp's) gives
    # the directions astropy's all_pix2world gives, and their tangent-plane coordinates are
    # those of a TAN WCS at the stamp centre.
    wcs = _header_wcs(**changes)
    xs, ys = stamp_grid((1900, 5), (80, 70))
    ra0, dec0 = wcs.all_pix2world([[1900 + 34.5, 5 + 39.5]], 0)[0]
    basis = wcs_fit.tangent_basis(ra0, dec0)
    ours = wcs_fit.stamp_frame_vectors(wcs, xs, ys, basis)
    ours = ours / np.linalg.norm(ours, axis=1)[:, None]
    ra, dec = wcs.all_pix2world(xs, ys, 0)
    theirs = wcs_fit.unit_vectors(ra, dec) @ basis.T
    assert np.max(wcs_fit.vector_separation_deg(ours, theirs)) * 3600 < 1e-7
    plane = np.degrees(ours[:, 1:] / ours[:, :1])
    tan = np.column_stack(wcs_fit.linear_tan([ra0, dec0], [0.0, 0.0], np.eye(2))
                          .wcs_world2pix(ra, dec, 1))
    assert np.max(np.abs(plane - tan)) * 3600 < 1e-7


def test_plane_projection_equals_astropy_tan():
    rng = np.random.default_rng(3)
    ra0, dec0 = 123.4, -56.7
    ra = ra0 + rng.uniform(-2, 2, 500)
    dec = dec0 + rng.uniform(-2, 2, 500)
    basis = wcs_fit.tangent_basis(ra0, dec0)
    ours = wcs_fit.to_plane(wcs_fit.unit_vectors(ra, dec), basis)
    theirs = np.column_stack(wcs_fit.linear_tan([ra0, dec0], [0.0, 0.0], np.eye(2))
                             .wcs_world2pix(ra, dec, 1))
    assert np.max(np.abs(ours - theirs)) * 3600 < 1e-8
    back = wcs_fit.from_plane(ours, basis)
    assert np.max(wcs_fit.vector_separation_deg(back, wcs_fit.unit_vectors(ra, dec))) < 1e-11
    separations = wcs_fit.vector_separation_deg(back[:-1], back[1:])
    assert np.allclose(separations, angular_separation_deg(ra[:-1], dec[:-1], ra[1:], dec[1:]),
                       rtol=0, atol=1e-12)


@pytest.mark.parametrize("size", [5, 20, 100])
def test_minimax_fit_beats_least_squares_at_its_worst_pixel(size):
    wcs = _header_wcs()
    corner = (45, 1)
    ours = fit_linear_wcs(wcs, corner, (size, size))
    xs, ys = stamp_grid(corner, (size, size))
    world = SkyCoord(*wcs.all_pix2world(xs, ys, 0), unit="deg")
    least_squares = fit_wcs_from_points((xs - corner[0], ys - corner[1]), world,
                                        projection="TAN")
    ra, dec = least_squares.all_pix2world(xs - corner[0], ys - corner[1], 0)
    theirs = np.max(angular_separation_deg(world.ra.deg, world.dec.deg, ra, dec))
    assert ours.max_separation < 0.8 * theirs
    # The tangent point is the stamp centre.
    center = wcs.all_pix2world([[corner[0] + (size - 1) / 2, corner[1] + (size - 1) / 2]], 0)
    assert np.allclose(ours.wcs.wcs.crval, center[0], rtol=0, atol=1e-12)


def test_minimax_affine_reaches_the_chebyshev_optimum():
    # A 1-D check with a known answer: the best line through x**2 on [0, 1] is x - 1/8, off by
    # 1/8 at both ends and the middle; least squares (x - 1/6) is off by 1/6 at 0.
    x = np.linspace(0, 1, 201)
    design = np.column_stack([x, np.ones_like(x)])
    targets = np.column_stack([x ** 2, np.zeros_like(x)])
    coefficients = wcs_fit.minimax_affine(design, targets, steps=200, tolerance=1e-4)
    errors = np.hypot(*(design @ coefficients - targets).T)
    assert errors.max() == pytest.approx(1 / 8, rel=2e-3)
    assert coefficients[:, 0] == pytest.approx([1.0, -1 / 8], abs=1e-3)
    least_squares, *_ = np.linalg.lstsq(design, targets, rcond=None)
    assert np.hypot(*(design @ least_squares - targets).T).max() == pytest.approx(1 / 6, rel=0.02)


def test_lawson_solve_is_numpys_solve_bit_for_bit():
    # The Lawson loop calls numpy's solve gufunc without np.linalg.solve's argument checks;
    # the solution must be numpy's own, and a singular system must stop the loop as before.
    rng = np.random.default_rng(3)
    for _ in range(200):
        design = np.column_stack([rng.normal(size=(50, 2)), np.ones(50)])
        weighted = design * rng.uniform(size=50)[:, None]
        matrix, right = design.T @ weighted, weighted.T @ rng.normal(size=(50, 2))
        assert wcs_fit._solve(matrix, right).tobytes() == np.linalg.solve(matrix, right).tobytes()
    with np.errstate(invalid="ignore", divide="ignore"):  # as minimax_affine calls it
        assert wcs_fit._solve(np.zeros((3, 3)), np.ones((3, 2))) is None
        assert wcs_fit._solve(np.ones((3, 3)), np.ones((3, 2))) is None
