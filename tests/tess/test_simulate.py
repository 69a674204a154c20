"""Tests of the simulated SPOC calibrated FFIs."""

import datetime
import os
import re
import shutil
import subprocess
import time
import warnings

import numpy as np
import pytest
from astrocut_tess.simulate import (
    FULL_SIZE,
    SimulatedStar,
    make_wcs_header,
    parse_size,
    simulate_ffis,
)
from astropy.io import fits
from astropy.time import Time
from astropy.wcs import WCS

NAME_RE = re.compile(r"^tess(\d{13})-s(\d{4})-(\d)-(\d)-0120-s_ffic\.fits$")

PRIMARY_KEYS = [
    "SIMPLE", "BITPIX", "NAXIS", "EXTEND", "NEXTEND", "EXTNAME", "EXTVER", "SIMDATA",
    "ORIGIN", "DATE", "TSTART", "TSTOP", "DATE-OBS", "DATE-END", "CREATOR", "PROCVER",
    "FILEVER", "TIMVERSN", "PACKET", "TELESCOP", "INSTRUME", "DATA_REL", "SECTOR", "CAMERA",
    "CCD", "PXTABLE", "RADESYS", "RA_NOM", "DEC_NOM", "ROLL_NOM", "DQUALITY", "FFIINDEX",
    "CRMITEN", "CRBLKSZ", "CRSPOC", "CHECKSUM",
]
IMAGE_KEYS = [
    "INHERIT", "EXTNAME", "TELAPSE", "TSTART", "TSTOP", "DATE-OBS", "DATE-END", "BARYCORR",
    "DQUALITY", "EXPOSURE", "TIMEREF", "TASSIGN", "TIMESYS", "BJDREFI", "BJDREFF", "TIMEUNIT",
    "LIVETIME", "INT_TIME", "NUM_FRM", "TIMEDEL", "DEADC", "BACKAPP", "VIGNAPP",
    "GAINA", "GAINB", "GAINC", "GAIND", "READNOIA", "READNOIB", "READNOIC", "READNOID",
    "NREADOUT", "FXDOFF", "MEANBLCA", "MEANBLCB", "MEANBLCC", "MEANBLCD", "RADESYS", "EQUINOX",
    "WCSAXES", "CTYPE1", "CTYPE2", "CRPIX1", "CRPIX2", "CRVAL1", "CRVAL2", "CUNIT1", "CUNIT2",
    "CD1_1", "CD1_2", "CD2_1", "CD2_2", "A_ORDER", "B_ORDER", "AP_ORDER", "BP_ORDER",
    "A_DMAX", "B_DMAX", "WCSNAMEP", "WCSAXESP", "CTYPE1P", "CUNIT1P", "CRPIX1P", "CRVAL1P",
    "CDELT1P", "CTYPE2P", "CUNIT2P", "CRPIX2P", "CRVAL2P", "CDELT2P", "CHECKSUM", "DATASUM",
]


def load_wcs(header):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return WCS(header)


def box_sum(data, x, y, half=2):
    col, row = round(float(x)), round(float(y))
    return float(data[row - half:row + half + 1, col - half:col + half + 1].sum())


def star_series(sector, star):
    """5x5 box sums around the star's WCS position, one per FFI."""
    sums = []
    for path in sector.files:
        with fits.open(path) as hdul:
            x, y = load_wcs(hdul[1].header).all_world2pix([[star.ra, star.dec]], 0)[0]
            sums.append(box_sum(hdul[1].data, x, y))
    return np.array(sums)


# ------------------------------------------------------------------------ files, layout

def test_files_named_like_spoc_and_sorted_by_time(small_sector):
    assert len(small_sector.files) == 12
    names = [os.path.basename(path) for path in small_sector.files]
    for name in names:
        match = NAME_RE.match(name)
        assert match, name
        assert match.groups()[1:] == ("0001", "1", "1")
    assert names == sorted(names)
    starts = [fits.getval(path, "TSTART", ext=1) for path in small_sector.files]
    assert np.all(np.diff(starts) > 0)
    for path in small_sector.files:
        assert os.path.isfile(path)


def test_file_timestamp_is_the_utc_end_time(small_sector):
    for path in small_sector.files:
        stamp = NAME_RE.match(os.path.basename(path)).group(1)
        date_end = fits.getval(path, "DATE-END", ext=1)
        end = datetime.datetime.strptime(date_end[:19], "%Y-%m-%dT%H:%M:%S")
        assert stamp == end.strftime("%Y%j%H%M%S")


def test_two_float32_image_extensions(small_sector):
    with fits.open(small_sector.files[0]) as hdul:
        assert len(hdul) == 3
        assert hdul[0].data is None
        assert hdul[1].header["EXTNAME"] == "CAMERA.CCD 1.1 cal"
        assert hdul[2].header["EXTNAME"] == "CAMERA.CCD 1.1 uncert"
        for hdu in hdul[1:]:
            assert hdu.header["BITPIX"] == -32
            assert hdu.data.dtype.kind == "f" and hdu.data.dtype.itemsize == 4
            assert hdu.header["NAXIS1"] == 80 and hdu.header["NAXIS2"] == 60
            assert hdu.data.shape == (60, 80)
            assert np.all(np.isfinite(hdu.data))
        assert np.all(hdul[2].data > 0)
    assert small_sector.shape == (80, 60)


@pytest.mark.skipif(shutil.which("fitsverify") is None, reason="fitsverify not installed")
def test_fitsverify_accepts_the_files(tmp_path):
    sector = simulate_ffis(tmp_path, n_ffi=2, size=(48, 40), invalid_wcs_frames=[1])
    for path in sector.files:
        result = subprocess.run(["fitsverify", "-q", "-e", path], capture_output=True,
                                text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "verification OK" in result.stdout


def test_checksums_verify(small_sector):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for path in small_sector.files:
            with fits.open(path, checksum=True) as hdul:
                for hdu in hdul:
                    assert "CHECKSUM" in hdu.header and "DATASUM" in hdu.header
                    hdu.data  # noqa: B018  reading the data checks DATASUM


# --------------------------------------------------------------------------- headers

def test_primary_header_keywords(small_sector):
    header = fits.getheader(small_sector.files[0], ext=0)
    missing = [key for key in PRIMARY_KEYS if key not in header]
    assert not missing
    assert header["NAXIS"] == 0 and header["BITPIX"] == 8
    assert header["NEXTEND"] == 2
    assert header["EXTNAME"] == "PRIMARY"
    assert header["TELESCOP"] == "TESS"
    assert header["INSTRUME"] == "TESS Photometer"
    assert header["RADESYS"] == "ICRS"
    assert header["SIMDATA"] is False
    assert (header["SECTOR"], header["CAMERA"], header["CCD"]) == (1, 1, 1)
    assert header["CRMITEN"] is True and header["CRBLKSZ"] == 10


def test_image_header_keywords(small_sector):
    for ext in (1, 2):
        header = fits.getheader(small_sector.files[0], ext=ext)
        missing = [key for key in IMAGE_KEYS if key not in header]
        assert not missing, (ext, missing)
        assert header["CTYPE1"] == "RA---TAN-SIP" and header["CTYPE2"] == "DEC--TAN-SIP"
        assert header["WCSAXES"] == 2
        assert header["TIMESYS"] == "TDB" and header["BJDREFI"] == 2457000
        assert header["BJDREFF"] == 0.0 and header["TIMEUNIT"] == "d"
        assert header["WCSNAMEP"] == "PHYSICAL" and header["CTYPE1P"] == "RAWX"
        assert 2 <= header["A_ORDER"] <= 4 and header["B_ORDER"] == header["A_ORDER"]
        assert any(key.startswith("A_2_") or key == "A_2_0" for key in header)
        assert any(re.match(r"AP_\d_\d", key) for key in header)
        assert any(re.match(r"BP_\d_\d", key) for key in header)


def test_timing_is_consistent(small_sector):
    cadence = 30.0 / 1440.0
    starts, stops, indices, barycorr = [], [], [], []
    for path in small_sector.files:
        with fits.open(path) as hdul:
            primary, header = hdul[0].header, hdul[1].header
            assert header["TSTART"] < header["TSTOP"]
            assert primary["TSTART"] == header["TSTART"]
            assert primary["TSTOP"] == header["TSTOP"]
            assert primary["DATE-OBS"] == header["DATE-OBS"]
            assert header["TIMEDEL"] == pytest.approx(cadence, rel=1e-12)
            assert header["TELAPSE"] == pytest.approx(header["TSTOP"] - header["TSTART"])
            assert header["LIVETIME"] == pytest.approx(header["TELAPSE"] * header["DEADC"])
            assert header["EXPOSURE"] == pytest.approx(header["LIVETIME"])
            assert header["NUM_FRM"] * header["FRAMETIM"] == pytest.approx(1800.0)
            assert header["NREADOUT"] * header["INT_TIME"] / 86400.0 == pytest.approx(
                header["EXPOSURE"])
            assert 0.75 < header["DEADC"] <= 0.8
            for key, tkey in (("DATE-OBS", "TSTART"), ("DATE-END", "TSTOP")):
                utc = Time(header[key].rstrip("Z"), scale="utc")
                tdb = Time(header[tkey] + 2457000.0, format="jd", scale="tdb")
                assert abs((utc - tdb).to_value("s")) < 1.0
            assert primary["DATE"] == header["DATE-END"][:10]
            starts.append(header["TSTART"])
            stops.append(header["TSTOP"])
            indices.append(primary["FFIINDEX"])
            barycorr.append(header["BARYCORR"])
    assert starts[0] == pytest.approx(1325.30)
    assert np.allclose(np.diff(starts), cadence, rtol=0, atol=1e-9)
    assert np.all(np.diff(indices) == 1)
    assert np.allclose(small_sector.times, 0.5 * (np.array(starts) + np.array(stops)))
    # A light-travel time: a few minutes, drifting slowly.
    assert np.all(np.abs(barycorr) < 0.0065)
    assert np.ptp(barycorr) < 1e-4


def test_default_quality_flags(small_sector):
    flags = [fits.getval(path, "DQUALITY", ext=1) for path in small_sector.files]
    primary = [fits.getval(path, "DQUALITY", ext=0) for path in small_sector.files]
    assert flags == primary
    flagged = [f for f in flags if f]
    assert 1 <= len(flagged) <= 4
    known = 32 | 128 | 2048
    assert all(f & ~known == 0 for f in flagged)


# ------------------------------------------------------------------------------- WCS

def test_wcs_loads_cleanly_with_sip(small_sector):
    with fits.open(small_sector.files[0]) as hdul:
        wcs = load_wcs(hdul[1].header)
        assert wcs.has_celestial
        assert wcs.sip is not None
        assert wcs.pixel_shape == (80, 60)
        scale = np.sqrt(abs(np.linalg.det(wcs.wcs.cd))) * 3600.0
        assert 20.0 < scale < 22.0
        # Rotated, not axis-aligned.
        assert abs(wcs.wcs.cd[0, 1]) > 1e-4
        uncert = load_wcs(hdul[2].header)
        assert uncert.to_header_string(relax=True) == wcs.to_header_string(relax=True)


def test_full_ccd_sip_is_a_few_pixels_and_inverts():
    header = make_wcs_header(FULL_SIZE)
    header["NAXIS"], header["NAXIS1"], header["NAXIS2"] = 2, *FULL_SIZE
    wcs = load_wcs(header)
    x, y = np.meshgrid(np.linspace(1, FULL_SIZE[0], 41), np.linspace(1, FULL_SIZE[1], 39))
    pix = np.column_stack([x.ravel(), y.ravel()])
    # Focal-plane coordinates are offsets from CRPIX.
    foc = wcs.sip_pix2foc(pix, 1)
    shift = np.hypot(*(foc - (pix - wcs.wcs.crpix)).T).max()
    assert 1.0 < shift < 10.0
    assert max(header["A_DMAX"], header["B_DMAX"]) == pytest.approx(shift, rel=0.5)
    back = wcs.sip_foc2pix(foc, 1)
    assert np.abs(back - pix).max() < 0.01


def test_small_image_sip_round_trip(small_sector):
    with fits.open(small_sector.files[0]) as hdul:
        wcs = load_wcs(hdul[1].header)
    x, y = np.meshgrid(np.arange(1, 81, 3.3), np.arange(1, 61, 2.9))
    pix = np.column_stack([x.ravel(), y.ravel()])
    foc = wcs.sip_pix2foc(pix, 1)
    assert np.abs(foc - (pix - wcs.wcs.crpix)).max() < 0.5  # small images: little distortion
    assert np.abs(wcs.sip_foc2pix(foc, 1) - pix).max() < 0.01


def test_invalid_wcs_and_flagged_frames(tmp_path):
    sector = simulate_ffis(tmp_path, n_ffi=4, size=(40, 36), seed=3,
                           invalid_wcs_frames=[1, 3], flagged_frames={0: 32, 2: 2048 | 128})
    for index, path in enumerate(sector.files):
        with fits.open(path) as hdul:
            for ext in (1, 2):
                header = hdul[ext].header
                valid = index not in (1, 3)
                assert load_wcs(header).has_celestial is valid
                assert ("WCSAXES" in header) is valid
                assert ("A_2_0" in header) is valid
                assert ("AP_ORDER" in header) is valid
                assert header["WCSNAMEP"] == "PHYSICAL"
            expected = {0: 32, 2: 2048 | 128}.get(index, 0)
            assert hdul[0].header["DQUALITY"] == expected
            assert hdul[1].header["DQUALITY"] == expected
            assert hdul[2].header["DQUALITY"] == expected


def test_no_flags_when_asked(tmp_path):
    sector = simulate_ffis(tmp_path, n_ffi=5, size=(40, 36), flagged_frames={})
    assert [fits.getval(p, "DQUALITY", ext=1) for p in sector.files] == [0] * 5


# -------------------------------------------------------------------------------- sky

def test_variable_star_is_the_local_peak_and_follows_its_model(small_sector):
    star = small_sector.variable_star
    assert star.kind == "variable" and star.flux == pytest.approx(5e4)
    for path in small_sector.files:
        with fits.open(path) as hdul:
            wcs = load_wcs(hdul[1].header)
            x, y = (float(v) for v in wcs.world_to_pixel_values(star.ra, star.dec))
            data = hdul[1].data
        n_rows, n_cols = data.shape
        assert 10 <= x <= n_cols - 11 and 10 <= y <= n_rows - 11
        # Near the centre but not at it.
        assert 0.5 < np.hypot(x - (n_cols - 1) / 2, y - (n_rows - 1) / 2) < 0.35 * n_cols
        col, row = round(x), round(y)
        window = data[row - 5:row + 6, col - 5:col + 6]
        assert window.max() == data[row, col]
        assert data[row, col] == data.max()
    series = star_series(small_sector, star)
    model = star.flux_at(small_sector.times)
    assert np.corrcoef(series, model)[0, 1] > 0.95
    assert np.ptp(series) > 0.1 * star.flux


def test_transit_star_dips(small_sector):
    star = small_sector.transit_star
    assert star.kind == "transit" and star.amplitude == pytest.approx(0.01)
    model = star.flux_at(small_sector.times)
    in_transit = model < star.flux
    assert in_transit.any() and not in_transit.all()
    series = star_series(small_sector, star)
    depth = 1.0 - series[in_transit].mean() / series[~in_transit].mean()
    # The box also holds sky, which dilutes the 1% dip slightly.
    assert 0.006 < depth < 0.012
    assert series[in_transit].max() < series[~in_transit].min()


@pytest.mark.parametrize("size", [(32, 32), (60, 50), (33, 70), (120, 40)])
def test_special_stars_stay_clear_of_the_edges(tmp_path, size):
    sector = simulate_ffis(tmp_path, n_ffi=2, size=size, seed=11)
    with fits.open(sector.files[0]) as hdul:
        wcs = load_wcs(hdul[1].header)
        data = hdul[1].data
    n_cols, n_rows = size
    positions = []
    for star in (sector.variable_star, sector.transit_star):
        x, y = (float(v) for v in wcs.world_to_pixel_values(star.ra, star.dec))
        assert 10 <= x <= n_cols - 11 and 10 <= y <= n_rows - 11
        positions.append((x, y))
    assert np.hypot(*np.subtract(*positions)) > 6.0
    x, y = positions[0]
    assert data[round(y), round(x)] == data.max()


def test_stars_fixed_and_on_the_image(small_sector):
    stars = small_sector.stars
    assert len(stars) >= 10
    assert [s.kind for s in stars].count("variable") == 1
    assert [s.kind for s in stars].count("transit") == 1
    assert all(s.kind == "constant" and re.fullmatch(r"star-\d{4}", s.name)
               for s in stars if s.name not in ("variable", "transit"))
    with fits.open(small_sector.files[-1]) as hdul:
        wcs = load_wcs(hdul[1].header)
    x, y = wcs.all_world2pix([s.ra for s in stars], [s.dec for s in stars], 0)
    assert np.all((x > -3) & (x < 83) & (y > -3) & (y < 63))


def test_background_and_noise_are_realistic(small_sector):
    with fits.open(small_sector.files[0]) as hdul:
        data, error = hdul[1].data, hdul[2].data
    background = np.median(data)
    assert 20.0 < background < 120.0
    assert 0.05 < np.median(error) < 1.0
    assert error.max() > 5 * np.median(error)  # bright stars are noisier


def test_flux_at_models():
    t = np.linspace(0.0, 10.0, 1001)
    constant = SimulatedStar("star-0001", 1.0, 2.0, 100.0, "constant")
    assert np.all(constant.flux_at(t) == 100.0)
    variable = SimulatedStar("variable", 1.0, 2.0, 100.0, "variable", period=2.0,
                             amplitude=0.1, epoch=0.0)
    assert variable.flux_at(0.5) == pytest.approx(110.0)
    assert variable.flux_at(1.5) == pytest.approx(90.0)
    transit = SimulatedStar("transit", 1.0, 2.0, 100.0, "transit", period=3.0,
                            amplitude=0.01, epoch=1.0, duration=0.2)
    flux = transit.flux_at(t)
    assert set(np.unique(flux)) == {99.0, 100.0}
    assert transit.flux_at([1.0, 4.0, 7.0, -2.0]).tolist() == [99.0] * 4
    assert transit.flux_at([1.2, 2.5]).tolist() == [100.0, 100.0]


# ---------------------------------------------------------------------- determinism

def read_all(sector):
    out = []
    for path in sector.files:
        with open(path, "rb") as handle:
            out.append((os.path.basename(path), handle.read()))
    return out


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    kwargs = {"n_ffi": 3, "size": (48, 40)}
    a = simulate_ffis(tmp_path / "a", seed=7, **kwargs)
    b = simulate_ffis(tmp_path / "b", seed=7, **kwargs)
    c = simulate_ffis(tmp_path / "c", seed=8, **kwargs)
    assert read_all(a) == read_all(b)
    assert a.stars == b.stars
    assert a.stars != c.stars
    for path_a, path_c in zip(a.files, c.files, strict=True):
        assert not np.array_equal(fits.getdata(path_a, 1), fits.getdata(path_c, 1))


def test_verbose_prints_one_line_per_file(tmp_path, capsys):
    sector = simulate_ffis(tmp_path / "loud", n_ffi=3, size=(40, 40), verbose=True)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert all(os.path.basename(p) in line for p, line in zip(sector.files, lines, strict=True))
    simulate_ffis(tmp_path / "quiet", n_ffi=3, size=(40, 40))
    assert capsys.readouterr().out == ""


def test_other_sector_camera_ccd_and_cadence(tmp_path):
    sector = simulate_ffis(tmp_path, n_ffi=3, size=(50, 40), sector=14, camera=4, ccd=3,
                           cadence_minutes=10.0, start_btjd=1683.35)
    header = fits.getheader(sector.files[0], ext=1)
    assert header["EXTNAME"] == "CAMERA.CCD 4.3 cal"
    assert header["TIMEDEL"] == pytest.approx(10.0 / 1440.0)
    assert header["NUM_FRM"] == 300
    assert os.path.basename(sector.files[0]).endswith("-s0014-4-3-0120-s_ffic.fits")
    primary = fits.getheader(sector.files[0], ext=0)
    assert primary["DEC_NOM"] > 60.0  # camera 4 of a northern sector: the ecliptic pole
    assert load_wcs(header).has_celestial


# ------------------------------------------------------------------------ arguments

@pytest.mark.parametrize("text, expected", [
    ("200x150", (200, 150)),
    ("2136x2078", (2136, 2078)),
    (" 60 X 50 ", (60, 50)),
])
def test_parse_size(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "200", "200x", "x150", "200x150x3", "-200x150",
                                  "0x150", "200.5x150", "axb", "200*150", None])
def test_parse_size_rejects(text):
    with pytest.raises(ValueError, match="size"):
        parse_size(text)


@pytest.mark.parametrize("kwargs", [
    {"size": (20, 20)},
    {"n_ffi": 0},
    {"camera": 5},
    {"ccd": 0},
    {"invalid_wcs_frames": [3]},
    {"flagged_frames": {-1: 32}},
    {"n_stars": 1},
    {"cadence_minutes": 0.01},
    {"flagged_frames": {0: -1}},
])
def test_bad_arguments(tmp_path, kwargs):
    arguments = {"n_ffi": 3, "size": (40, 40)}
    arguments.update(kwargs)
    with pytest.raises(ValueError):
        simulate_ffis(tmp_path, **arguments)


@pytest.mark.parametrize("kwargs", [
    {"invalid_wcs_frames": ["1"]},
    {"flagged_frames": {0.5: 32}},
    {"flagged_frames": {0: "32"}},
])
def test_bad_argument_types(tmp_path, kwargs):
    with pytest.raises(TypeError):
        simulate_ffis(tmp_path, n_ffi=3, size=(40, 40), **kwargs)


# ------------------------------------------------------------------------- full size

@pytest.mark.slow
def test_one_full_size_ffi(tmp_path):
    begin = time.perf_counter()
    sector = simulate_ffis(tmp_path, n_ffi=1, size=FULL_SIZE, seed=5)
    elapsed = time.perf_counter() - begin
    assert elapsed < 10.0  # about 0.5 s here; generous for slow machines
    assert 1500 < len(sector.stars) < 2500
    with fits.open(sector.files[0], checksum=True) as hdul:
        data = hdul[1].data
        assert data.shape == (2078, 2136)
        science = data[:2048, 44:2092]
        assert 20.0 < np.median(science) < 120.0
        for virtual in (data[:, :44], data[:, 2092:], data[2048:, :]):
            assert abs(np.median(virtual)) < 2.0
            assert virtual.max() < 10.0
        wcs = load_wcs(hdul[1].header)
        assert wcs.has_celestial and wcs.sip is not None
        x, y = wcs.world_to_pixel_values(sector.variable_star.ra, sector.variable_star.dec)
        assert data[round(float(y)), round(float(x))] > 1000.0
