"""Per-target barycentric time (issue 13 item 1) against independent astropy computations."""

import warnings

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import EarthLocation, SkyCoord
from astropy.time import Time
from astropy.utils import iers
from astropy.wcs import WCS

from astrocut.errors import InvalidInputError
from astrocut_tess import barycentric
from astrocut_tess.simulate import FULL_SIZE, make_wcs_header

GEOCENTRE = EarthLocation.from_geocentric(0, 0, 0, unit=u.m)
LIGHT_SECOND = 299792458.0


@pytest.fixture(autouse=True)
def _no_iers_download():
    with iers.conf.set_temp("auto_download", False):
        yield


def _ltt(btjd, ra, dec, location):
    """astropy's own light-travel time (s) toward (ra, dec) from ``location``."""
    times = Time(2457000.0, np.asarray(btjd), format="jd", scale="tdb")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return times.light_travel_time(SkyCoord(ra * u.deg, dec * u.deg), "barycentric",
                                       location=location, ephemeris="builtin").to_value(u.s)


def test_romer_delay_equals_astropy_light_travel_time():
    rng = np.random.default_rng(1)
    btjd = np.sort(rng.uniform(1300, 3000, 200))
    positions = barycentric.earth_positions(btjd)
    for ra, dec in zip(rng.uniform(0, 360, 6), np.degrees(np.arcsin(rng.uniform(-1, 1, 6))),
                       strict=True):
        ours = barycentric.romer_delay(positions, ra, dec) * 86400.0
        theirs = _ltt(btjd, ra, dec, GEOCENTRE)
        assert np.max(np.abs(ours - theirs)) < 1e-6


def _wcs(sector, camera, ccd):
    header = make_wcs_header(FULL_SIZE, sector=sector, camera=camera, ccd=ccd)
    return WCS(header)


# TESS's orbit keeps it within ~1.25 light-seconds (375,000 km) of the Earth; SPOC corrects
# for its true position. Offsets of that size in several directions play that role here.
_TESS_OFFSETS = [(1.25, 0.0, 0.0), (0.0, -0.9, 0.85), (0.5, 0.7, -0.8)]


@pytest.mark.parametrize("sector,camera,ccd", [(1, 1, 1), (14, 2, 3), (27, 4, 2), (60, 3, 4)])
def test_target_time_within_quarter_second_at_centre_and_corners(sector, camera, ccd):
    wcs = _wcs(sector, camera, ccd)
    n_cols, n_rows = FULL_SIZE
    ref_x, ref_y = 1068.0, 1024.0  # 1-based, as in SPOC's BTC_PIX1/BTC_PIX2
    ffi_values = {"BTC_PIX1": ref_x, "BTC_PIX2": ref_y}
    ref_ra, ref_dec = wcs.all_pix2world([[ref_x - 1, ref_y - 1]], 0)[0]
    spacecraft = 1325.3 + 27.4 * (sector - 1) + np.linspace(0.0, 27.0, 40)
    positions = [(ref_x - 1, ref_y - 1), (45, 1), (2090, 1), (45, 2046), (2090, 2046)]
    worst = 0.0
    for offset in _TESS_OFFSETS:
        tess = EarthLocation.from_geocentric(*(np.array(offset) * LIGHT_SECOND), unit=u.m)
        barycorr = _ltt(spacecraft, ref_ra, ref_dec, tess) / 86400.0  # what SPOC writes
        time_ffi = spacecraft + barycorr
        for x, y in positions:
            ra, dec = wcs.all_pix2world([[x, y]], 0)[0]
            target = SkyCoord(ra * u.deg, dec * u.deg)
            result = barycentric.correct_times(time_ffi, barycorr, target, wcs, ffi_values,
                                               (n_rows, n_cols))
            truth = _ltt(spacecraft, ra, dec, tess)
            error = np.abs(result.timecorr * 86400.0 - truth)
            time_error = np.abs((result.time - (spacecraft + truth / 86400.0)) * 86400.0)
            worst = max(worst, error.max(), time_error.max())
            if (x, y) != (ref_x - 1, ref_y - 1):
                # The FFI's own value is off by tens of seconds at the corners.
                assert np.max(np.abs(barycorr * 86400.0 - truth)) > 5.0
    assert worst <= 0.25


def test_reference_point_falls_back_to_the_image_centre():
    wcs = _wcs(1, 1, 1)
    x, y, source = barycentric.reference_pixel({}, (2078, 2136))
    assert (x, y, source) == (1067.5, 1038.5, "CENTER")
    assert barycentric.reference_pixel({"BTC_PIX1": 100.0, "BTC_PIX2": 50.0},
                                       (2078, 2136)) == (99.0, 49.0, "BTC_PIX")
    # A target at the point itself gets the FFI's correction unchanged.
    ra, dec = wcs.all_pix2world([[x, y]], 0)[0]
    time = np.linspace(1330, 1340, 10)
    barycorr = np.full(10, 0.003)
    result = barycentric.correct_times(time, barycorr, SkyCoord(ra * u.deg, dec * u.deg), wcs,
                                       {}, (2078, 2136))
    assert np.max(np.abs(result.delta)) * 86400.0 < 1e-6
    assert result.reference_source == "CENTER"
    assert result.reference_pixel == (1068.5, 1039.5)


def test_ffi_mode_keeps_the_ffi_values_and_says_so():
    wcs = _wcs(1, 1, 1)
    time = np.linspace(1330, 1340, 10)
    barycorr = np.linspace(0.001, 0.002, 10)
    ra, dec = wcs.all_pix2world([[10, 10]], 0)[0]
    target = SkyCoord(ra * u.deg, dec * u.deg)
    kept = barycentric.correct_times(time, barycorr, target, wcs, {}, (2078, 2136), mode="ffi")
    assert np.array_equal(kept.time, time) and np.array_equal(kept.timecorr, barycorr)
    moved = barycentric.correct_times(time, barycorr, target, wcs, {}, (2078, 2136))
    assert np.max(np.abs(moved.delta)) * 86400.0 > 5.0
    assert np.allclose(moved.time - time, moved.timecorr - barycorr, atol=1e-12)
    cards = {key: value for key, value, _ in moved.header_cards()}
    assert cards["TCORRTYP"] == "TARGET"
    assert cards["BTC_RA"] == pytest.approx(ra) and cards["BTC_DEC"] == pytest.approx(dec)
    assert cards["BTC_DMAX"] == pytest.approx(np.max(np.abs(moved.delta)) * 86400.0)
    cards = {key: value for key, value, _ in kept.header_cards()}
    assert cards["TCORRTYP"] == "FFI" and cards["BTC_DMAX"] == 0.0
    assert cards["BTC_RA"] == pytest.approx(cards["BTC_REFR"])


def test_nan_times_stay_nan_and_bad_mode_is_refused():
    wcs = _wcs(1, 1, 1)
    time = np.array([1330.0, np.nan, 1331.0])
    result = barycentric.correct_times(time, np.zeros(3), SkyCoord(1 * u.deg, 2 * u.deg), wcs,
                                       {}, (2078, 2136))
    assert np.isnan(result.time[1]) and np.isfinite(result.time[[0, 2]]).all()
    with pytest.raises(InvalidInputError, match="time_correction"):
        barycentric.check_mode("barycentre")


def test_one_ephemeris_call_for_all_cadences(monkeypatch):
    import astropy.coordinates

    calls = []
    original = astropy.coordinates.get_body_barycentric

    def counting(*args, **kwargs):
        calls.append(np.size(args[1]))
        return original(*args, **kwargs)

    monkeypatch.setattr(astropy.coordinates, "get_body_barycentric", counting)
    wcs = _wcs(1, 1, 1)
    time = 1330.0 + np.arange(10000) * (200.0 / 86400.0)
    result = barycentric.correct_times(time, np.zeros(10000), SkyCoord(1 * u.deg, 2 * u.deg),
                                       wcs, {}, (2078, 2136))
    assert calls == [10000]
    assert result.time.shape == (10000,)
