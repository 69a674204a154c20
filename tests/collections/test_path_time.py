"""Moving targets' times: each frame corrected toward the target's position at that frame."""

import warnings

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import EarthLocation, SkyCoord
from astropy.io import fits
from astropy.table import Table
from astropy.time import Time
from astropy.utils import iers
from astropy.wcs import WCS
from astrocut_tess import barycentric
from astrocut_tess.path_cut import OFF_IMAGE, cube_cut_path
from astrocut_tess.simulate import FULL_SIZE, make_wcs_header

import astrocut
from astrocut.errors import InvalidInputError

from collection_helpers import make_cube

GEOCENTRE = EarthLocation.from_geocentric(0, 0, 0, unit=u.m)
LIGHT_SECOND = 299792458.0
N = 8
SIZE = 5


@pytest.fixture(autouse=True)
def _no_iers_download():
    with iers.conf.set_temp("auto_download", False):
        yield


def _ltt(btjd, ra, dec, location=GEOCENTRE):
    """astropy's own light-travel time (s) toward (ra, dec), one position per time."""
    times = Time(2457000.0, np.asarray(btjd), format="jd", scale="tdb")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return times.light_travel_time(SkyCoord(np.asarray(ra) * u.deg,
                                                np.asarray(dec) * u.deg),
                                       "barycentric", location=location,
                                       ephemeris="builtin").to_value(u.s)


def _barycorr(sector):
    return np.array([fits.getheader(f, 1)["BARYCORR"] for f in sector.files])


@pytest.fixture(scope="module")
def cube(tmp_path_factory):
    path, sector = make_cube(str(tmp_path_factory.mktemp("path-time")), 1, 1, 1, n_ffi=N,
                             flagged_frames={})
    return path, sector


def _fast_path(sector, degrees_per_hour):
    """A path starting on the image's middle pixel at the first frame and running away."""
    with fits.open(sector.files[0]) as hdulist:
        wcs = WCS(hdulist[1].header)
    start = wcs.pixel_to_world(32, 24)
    spacecraft = Time(sector.times - _barycorr(sector) + 2457000.0, format="jd", scale="tdb")
    hours = (spacecraft.jd - spacecraft.jd[0]) * 24.0
    hour = 1.0 / 24.0
    times = Time(np.concatenate([[spacecraft.jd[0] - hour], spacecraft.jd,
                                 [spacecraft.jd[-1] + hour]]), format="jd", scale="tdb")
    hours = np.concatenate([[-1.0], hours, [hours[-1] + 1.0]])
    positions = start.directional_offset_by(40 * u.deg, degrees_per_hour * hours * u.deg)
    return Table({"time": times, "position": positions})


def test_fast_mover_each_frame_toward_its_position(cube):
    path, sector = cube
    ephemeris = _fast_path(sector, 2.0)  # ~7 degrees over the sector's 3.5 hours
    hdulist = cube_cut_path(path, ephemeris, SIZE, memory_only=True)
    data, header = hdulist[1].data, hdulist[1].header
    assert len(data) == N and (data["QUALITY"][1:] & OFF_IMAGE).all()  # only frame 0 on
    spacecraft = data["TIME"] - data["TIMECORR"]
    np.testing.assert_allclose(spacecraft, sector.times - _barycorr(sector), atol=1e-6)
    truth = _ltt(spacecraft, data["TGT_RA"], data["TGT_DEC"])
    ours = data["TIMECORR"] * 86400.0
    ffi = _barycorr(sector) * 86400.0
    assert np.max(np.abs(ours - truth)) <= 0.25
    assert np.max(np.abs((data["TIME"] - (spacecraft + truth / 86400.0)) * 86400.0)) <= 0.25
    assert np.max(np.abs(ffi - truth)) > 10  # the FFI's value is 11 s off by the last frame
    assert header["TCORRTYP"] == "TARGET" and header["BTC_POS"] == "TGT_RA,TGT_DEC"
    assert header["BTC_DMAX"] == pytest.approx(np.max(np.abs(ours - ffi)), abs=1e-3)
    assert header["BTC_PSRC"] == "BTC_PIX" and hdulist[2].data["TCORRTYP"][0] == "TARGET"


def test_fast_mover_against_astropy_from_tess_like_observers():
    """Full CCD, FFI point at its centre, a mover from one corner to the other over a sector,
    observers 1.25 light-seconds from the Earth (as in tests/tess/test_barycentric.py)."""
    wcs = WCS(make_wcs_header(FULL_SIZE, sector=14, camera=2, ccd=3))
    ref_x, ref_y = 1068.0, 1024.0
    ref_ra, ref_dec = wcs.all_pix2world([[ref_x - 1, ref_y - 1]], 0)[0]
    spacecraft = 1683.4 + np.linspace(0.0, 27.0, 30)
    x, y = np.linspace(45, 2090, 30), np.linspace(1, 2046, 30)
    ra, dec = wcs.all_pix2world(x, y, 0)
    for offset in [(1.25, 0.0, 0.0), (0.0, -0.9, 0.85), (0.5, 0.7, -0.8)]:
        tess = EarthLocation.from_geocentric(*(np.array(offset) * LIGHT_SECOND), unit=u.m)
        barycorr = _ltt(spacecraft, np.full(30, ref_ra), np.full(30, ref_dec), tess) / 86400
        times = barycentric.prepare(spacecraft + barycorr, barycorr, wcs,
                                    {"BTC_PIX1": ref_x, "BTC_PIX2": ref_y}, FULL_SIZE[::-1])
        result = barycentric.apply_each(times, ra, dec)
        truth = _ltt(spacecraft, ra, dec, tess)
        assert np.max(np.abs(result.timecorr * 86400.0 - truth)) <= 0.25
        assert np.max(np.abs(barycorr * 86400.0 - truth)) > 20
        for i in (0, 13, 29):  # each frame as a fixed target at that frame's position
            fixed = barycentric.apply(times, SkyCoord(ra[i] * u.deg, dec[i] * u.deg))
            assert result.timecorr[i] == pytest.approx(fixed.timecorr[i], abs=1e-12)


def test_motionless_path_gives_cube_cuts_times(cube, tmp_path):
    path, sector = cube
    with fits.open(sector.files[0]) as hdulist:
        star = WCS(hdulist[1].header).pixel_to_world(12.0, 40.0)
    spacecraft = sector.times - _barycorr(sector) + 2457000.0
    still = Table({"time": Time([spacecraft[0] - 0.1, spacecraft[-1] + 0.1], format="jd",
                                scale="tdb"),
                   "position": SkyCoord([star.ra] * 2, [star.dec] * 2)})
    moving = cube_cut_path(path, still, SIZE, memory_only=True)
    fixed = astrocut.CutoutFactory().cube_cut(path, star, SIZE, output_path=str(tmp_path))
    with fits.open(fixed) as hdulist:
        expected, header = hdulist[1].data, hdulist[1].header
        np.testing.assert_allclose(moving[1].data["TIME"], expected["TIME"], rtol=0,
                                   atol=1e-9)
        np.testing.assert_array_equal(moving[1].data["TIMECORR"], expected["TIMECORR"])
        assert np.max(np.abs(expected["TIMECORR"] - _barycorr(sector))) * 86400 > 1e-3  # 3 ms here
        for key in ("BTC_PIX1", "BTC_PIX2", "BTC_REFR", "BTC_REFD", "TCORRTYP"):
            assert moving[1].header[key] == header[key]
        assert moving[1].header["BTC_DMAX"] == pytest.approx(header["BTC_DMAX"], abs=1e-4)


def test_ffi_mode_keeps_the_ffi_times(cube):
    path, sector = cube
    hdulist = cube_cut_path(path, _fast_path(sector, 2.0), SIZE, memory_only=True,
                            time_correction="ffi")
    data = hdulist[1].data
    np.testing.assert_allclose(data["TIME"], sector.times, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(data["TIMECORR"], _barycorr(sector).astype(np.float32))
    assert hdulist[1].header["TCORRTYP"] == "FFI" and hdulist[1].header["BTC_DMAX"] == 0
    assert "BTC_POS" not in hdulist[1].header
    with pytest.raises(InvalidInputError, match="time_correction"):
        cube_cut_path(path, _fast_path(sector, 2.0), SIZE, time_correction="tdb")


def test_center_on_path_over_target_pixel_files_corrects_each_frame(cube, tmp_path):
    from astrocut_tess.path_compat import center_on_path

    path, sector = cube
    ephemeris = _fast_path(sector, 2.0)
    with fits.open(sector.files[0]) as hdulist:
        middle = WCS(hdulist[1].header).pixel_to_world(31.5, 23.5)
    tpf = astrocut.CutoutFactory().cube_cut(path, middle, [64, 48], output_path=str(tmp_path))
    out = center_on_path(ephemeris, [SIZE, SIZE], [tpf], output_path=str(tmp_path),
                         verbose=False)
    direct = cube_cut_path(path, ephemeris, SIZE, memory_only=True)[1]
    with fits.open(out) as hdulist:
        data, header = hdulist[1].data, hdulist[1].header
        assert header["TCORRTYP"] == "TARGET" and len(data) == N
        np.testing.assert_allclose(data["TIME"], direct.data["TIME"], rtol=0,
                                   atol=1e-4 / 86400)
        np.testing.assert_allclose(data["TIMECORR"], direct.data["TIMECORR"], rtol=0,
                                   atol=1e-4 / 86400)
        assert np.max(np.abs(data["TIMECORR"] - fits.getdata(tpf, 1)["TIMECORR"])) > 5 / 86400
