"""Science-grade TPFs end to end (issue 13): time, aperture, background, target keywords,
checksums, ORIGIN, against astropy, lightkurve and fitsverify."""

import logging
import os
import shutil
import subprocess
import warnings

import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import Table

from astrocut import CubeFactory, CutoutFactory, cube_cut_many
from astrocut.errors import InvalidInputError
from astrocut_tess import barycentric
from astrocut_tess.cutout import TessCube
from astrocut_tess.simulate import simulate_ffis


@pytest.fixture(scope="module")
def sector(tmp_path_factory):
    # Camera 3, CCD 2: SPOC's TMOFSTcc key is then TMOFST32, not the TMOFST11 every TPF has.
    return simulate_ffis(tmp_path_factory.mktemp("science_ffis"), n_ffi=10, size=(90, 70),
                         seed=5, sector=14, camera=3, ccd=2)


@pytest.fixture(scope="module")
def cube(sector, tmp_path_factory):
    path = tmp_path_factory.mktemp("science_cube") / "s14-cube.fits"
    return CubeFactory().make_cube(sector.files, str(path), verbose=False,
                                   mission_options={"origin": "STScI/MAST"})


def _sky(cube, x, y):
    with TessCube.open(cube) as opened:
        ra, dec = opened.wcs.all_pix2world([[x, y]], 0)[0]
    return SkyCoord(ra, dec, unit="deg")


def test_time_is_the_targets_and_the_header_says_so(cube, sector):
    star = sector.variable_star
    target = SkyCoord(star.ra, star.dec, unit="deg")
    hdul = CutoutFactory().cube_cut(cube, target, 5, memory_only=True)
    with fits.open(cube) as hdulist:
        table = hdulist[2].data
        mid = (table["TSTART"] + table["TSTOP"]) / 2
        barycorr = table["BARYCORR"]
        values = {"BTC_PIX1": table["BTC_PIX1"][0], "BTC_PIX2": table["BTC_PIX2"][0]}
    with TessCube.open(cube) as opened:
        expected = barycentric.correct_times(mid, barycorr, target, opened.wcs, values,
                                             opened.info.image_shape)
    data, header = hdul[1].data, hdul[1].header
    np.testing.assert_allclose(data["TIME"], expected.time, rtol=0, atol=1e-9)
    np.testing.assert_allclose(data["TIMECORR"], expected.timecorr, rtol=0, atol=1e-7)
    assert data["TIME"].dtype == np.dtype(">f8")
    assert header["TCORRTYP"] == "TARGET" and header["BTC_PSRC"] == "BTC_PIX"
    assert (header["BTC_RA"], header["BTC_DEC"]) == pytest.approx((star.ra, star.dec))
    assert (header["BTC_PIX1"], header["BTC_PIX2"]) == (values["BTC_PIX1"], values["BTC_PIX2"])


def test_lightkurve_default_light_curve_without_warnings(cube, sector, caplog):
    lk = pytest.importorskip("lightkurve")
    n_cols, n_rows = sector.shape
    rng = np.random.default_rng(0)
    positions = [(rng.uniform(0, n_cols), rng.uniform(0, n_rows)) for _ in range(12)]
    positions += [(0.2, 0.3), (n_cols - 1.2, n_rows - 0.6)]  # corners, partly off the image
    for (x, y), size in zip(positions, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 5, 6], strict=True):
        hdul = CutoutFactory().cube_cut(cube, _sky(cube, x, y), size, memory_only=True)
        path = os.path.join(os.path.dirname(cube), f"lk_{size}.fits")
        hdul.writeto(path, overwrite=True)
        caplog.clear()
        with warnings.catch_warnings(), caplog.at_level(logging.WARNING):
            warnings.simplefilter("error")
            warnings.simplefilter("ignore", ResourceWarning)  # lightkurve's open file
            tpf = lk.read(path)
            lc = tpf.to_lightcurve()
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
        assert len(lc) == len(tpf.time) >= len(sector.files) - 3  # flagged cadences dropped
        aperture = hdul["APERTURE"].data
        assert tpf.pipeline_mask.sum() == hdul["APERTURE"].header["NPIXSAP"] >= 1
        np.testing.assert_array_equal(tpf.pipeline_mask, (aperture & 2) > 0)
        np.testing.assert_array_equal(tpf.background_mask, (aperture & 4) > 0)
        # The light curve is the aperture's sum.
        flux = np.asarray(tpf.flux.value)[:, (aperture & 2) > 0].sum(axis=1)
        np.testing.assert_allclose(np.asarray(lc.flux.value), flux, rtol=1e-5)
        tpf.hdu.close()


def test_variable_star_light_curve_from_the_default_aperture(cube, sector):
    lk = pytest.importorskip("lightkurve")
    star = sector.variable_star
    path = CutoutFactory().cube_cut(cube, SkyCoord(star.ra, star.dec, unit="deg"), 11,
                                    output_path=os.path.dirname(cube))
    lc = lk.read(path, quality_bitmask="none").to_lightcurve()
    expected = star.flux_at(np.asarray(lc.time.value))
    assert np.corrcoef(np.asarray(lc.flux.value), expected)[0, 1] > 0.95


def test_background_is_subtracted_with_spocs_meaning(cube, sector):
    star = sector.variable_star
    target = SkyCoord(star.ra, star.dec, unit="deg")
    plain = CutoutFactory().cube_cut(cube, target, 15, memory_only=True)
    with_bkg = CutoutFactory().cube_cut(cube, target, 15, memory_only=True, background=True)
    flux, bkg = with_bkg[1].data["FLUX"], with_bkg[1].data["FLUX_BKG"]
    np.testing.assert_allclose(flux + bkg, plain[1].data["FLUX"], rtol=1e-5, atol=1e-3)
    assert np.all(plain[1].data["FLUX_BKG"] == 0)  # the default keeps the FFI's flux
    background = (with_bkg["APERTURE"].data & 4) > 0
    level = np.median(plain[1].data["FLUX"][:, background], axis=1)
    np.testing.assert_allclose(bkg[:, 0, 0], level, rtol=1e-5)
    assert np.all(with_bkg[1].data["FLUX_BKG_ERR"] > 0)
    assert with_bkg[1].header["BACKAPP"] is True and with_bkg[1].header["BKG_EST"] is True
    assert plain[1].header["BACKAPP"] is False and "BKG_EST" not in plain[1].header


def test_target_keywords_from_a_mapping_and_from_table_columns(cube, sector, tmp_path):
    star = sector.variable_star
    keys = {"OBJECT": "TIC 261136679", "TICID": 261136679, "TESSMAG": 9.25, "PMRA": -1.5,
            "PMDEC": 3.25, "TEFF": 5800.0}
    hdul = CutoutFactory().cube_cut(cube, f"{star.ra} {star.dec}", 5, memory_only=True,
                                    target=keys)
    for key, value in keys.items():
        assert hdul[0].header[key] == value
    aperture = hdul["APERTURE"].header
    for key in ("TELESCOP", "INSTRUME", "OBJECT", "TICID", "RA_OBJ", "DEC_OBJ", "EQUINOX",
                "NPIXSAP", "NPIXMISS"):
        assert key in aperture, key
    assert (aperture["OBJECT"], aperture["TICID"]) == ("TIC 261136679", 261136679)
    assert aperture["RA_OBJ"] == pytest.approx(star.ra)
    assert hdul[0].header["LOGG"] is None  # not given: left undefined

    other = sector.transit_star
    table = Table({"ra": [star.ra, other.ra], "dec": [star.dec, other.dec],
                   "OBJECT": ["TIC 1", "TIC 2"], "ticid": [1, 2], "tessmag": [9.0, 11.5],
                   "notes": ["x", "y"]})
    result = cube_cut_many(cube, table, cutout_size=4, output_path=str(tmp_path), verbose=False)
    assert list(result["status"]) == ["ok", "ok"]
    for row, (name, tic, mag) in zip(result, [("TIC 1", 1, 9.0), ("TIC 2", 2, 11.5)],
                                     strict=True):
        with fits.open(row["path"]) as tpf:
            assert (tpf[0].header["OBJECT"], tpf[0].header["TICID"],
                    tpf[0].header["TESSMAG"]) == (name, tic, mag)
            assert "NOTES" not in tpf[0].header
    with pytest.raises(InvalidInputError, match="target"):
        CutoutFactory().cube_cut(cube, f"{star.ra} {star.dec}", 5, target=["TIC 1"])


def test_options_are_checked(cube, sector):
    star = sector.variable_star
    for bad in ({"time_correction": "barycentre"}, {"placement": "corner"},
                {"limit_rounding_method": "up"}, {"background": "yes"}):
        with pytest.raises(InvalidInputError, match=next(iter(bad))):
            CutoutFactory().cube_cut(cube, f"{star.ra} {star.dec}", 5, memory_only=True, **bad)


def test_origin_tmofst_and_checksums(cube, sector, tmp_path):
    assert fits.getval(cube, "ORIGIN", 0) == "STScI/MAST"
    star = sector.variable_star
    path = CutoutFactory().cube_cut(cube, f"{star.ra} {star.dec}", 6, output_path=str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with fits.open(path, checksum=True) as tpf:
            assert tpf[1].header["TMOFST32"] == 1.99
            for hdu in tpf:
                assert hdu.verify_checksum() == 1 and hdu.verify_datasum() == 1
    # At most six decimals in the file name.
    assert os.path.basename(path) == f"s14_{round(star.ra, 6)!r}_{round(star.dec, 6)!r}_6x6_astrocut.fits"
    assert all(len(part.split(".")[-1]) <= 6 for part in os.path.basename(path).split("_")[1:3])


@pytest.mark.skipif(shutil.which("fitsverify") is None, reason="fitsverify is not installed")
def test_fitsverify_no_errors_warns_only_about_blank_target_keywords(cube, sector, tmp_path):
    star = sector.variable_star
    path = CutoutFactory().cube_cut(cube, f"{star.ra} {star.dec}", 7, output_path=str(tmp_path),
                                    background=True)
    out = subprocess.run(["fitsverify", path], capture_output=True, text=True).stdout
    assert "0 error(s)" in out, out
    warned = [line for line in out.splitlines() if "*** Warning" in line]
    blank = ("TICID", "TICVER", "TESSMAG", "TEFF", "LOGG", "MH", "RADIUS", "PMRA", "PMDEC",
             "PMTOTAL")
    assert warned and all(any(key in line for key in blank) for line in warned), warned
    given = {key: 1 for key in blank}
    path = CutoutFactory().cube_cut(cube, f"{star.ra} {star.dec}", 7, output_path=str(tmp_path),
                                    target_pixel_file="given.fits", target=given)
    out = subprocess.run(["fitsverify", path], capture_output=True, text=True).stdout
    assert "0 warning(s) and 0 error(s)" in out, out
