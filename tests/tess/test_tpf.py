"""Issue 4: the target pixel file layout (spec §3), its WCS, and the byte-level writer."""

import os
import re
import shutil
import subprocess
import warnings

import numpy as np
import pytest
from astrocut_tess import tpf as tpf_module
from astrocut_tess.cutout import TessCube
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.wcs import WCS
from hypothesis import given, settings
from hypothesis import strategies as st

from astrocut import CutoutFactory
from astrocut.dispatch import hook
from astrocut.errors import OutputError

COLUMNS = [
    # name, TFORM (n = pixels in the stamp), unit
    ("TIME", "D", "BJD - 2457000, days"),
    ("TIMECORR", "E", "d"),
    ("CADENCENO", "J", None),
    ("RAW_CNTS", "{n}J", "count"),
    ("FLUX", "{n}E", "e-/s"),
    ("FLUX_ERR", "{n}E", "e-/s"),
    ("FLUX_BKG", "{n}E", "e-/s"),
    ("FLUX_BKG_ERR", "{n}E", "e-/s"),
    ("QUALITY", "J", None),
    ("POS_CORR1", "E", "pixel"),
    ("POS_CORR2", "E", "pixel"),
    ("FFI_FILE", "{w}A", None),
]


@pytest.fixture(scope="module")
def target(small_sector):
    star = small_sector.variable_star
    return SkyCoord(star.ra, star.dec, unit="deg")


@pytest.fixture(scope="module")
def tpf_path(small_cube, target, tmp_path_factory):
    out = tmp_path_factory.mktemp("tpf")
    return CutoutFactory().cube_cut(small_cube, target, [7, 5], output_path=str(out))


@pytest.fixture(scope="module")
def table(small_cube):
    with fits.open(small_cube) as hdulist:
        return hdulist[2].data.copy(), hdulist[0].header.copy()


def test_hdus_and_columns(tpf_path, small_sector):
    with fits.open(tpf_path) as tpf:
        assert [hdu.name for hdu in tpf] == ["PRIMARY", "PIXELS", "APERTURE"]
        assert isinstance(tpf[1], fits.BinTableHDU) and isinstance(tpf[2], fits.ImageHDU)
        header = tpf[1].header
        width = max(len(os.path.basename(f)) for f in small_sector.files)
        assert header["TFIELDS"] == 12 and header["NAXIS2"] == len(small_sector.files)
        for index, (name, tform, unit) in enumerate(COLUMNS, start=1):
            assert header[f"TTYPE{index}"] == name
            assert header[f"TFORM{index}"] == tform.format(n=35, w=width)
            assert header.get(f"TUNIT{index}") == unit
        for index in range(4, 9):
            assert header[f"TDIM{index}"] == "(7,5)"
        assert header["TNULL4"] == -1
        data = tpf[1].data
        assert data["TIME"].dtype == np.dtype(">f8")
        assert data["FLUX"].dtype == np.dtype(">f4") and data["FLUX"].shape[1:] == (5, 7)
        assert np.all(data["RAW_CNTS"] == -1)
        for name in ("FLUX_BKG", "FLUX_BKG_ERR", "POS_CORR1", "POS_CORR2"):
            assert np.all(data[name] == 0)
        assert tpf[2].data.dtype == np.dtype(">i4") and tpf[2].data.shape == (5, 7)
        assert tpf[2].header["BITPIX"] == 32


def test_time_quality_and_files_come_from_the_table(tpf_path, table, small_sector, small_cube,
                                                   target):
    rows, _ = table
    # time_correction="ffi": the FFI's own times.
    ffi = CutoutFactory().cube_cut(small_cube, target, [7, 5], memory_only=True,
                                   time_correction="ffi")
    np.testing.assert_array_equal(ffi[1].data["TIME"], (rows["TSTART"] + rows["TSTOP"]) / 2)
    np.testing.assert_array_equal(ffi[1].data["TIMECORR"], rows["BARYCORR"].astype(np.float32))
    assert ffi[1].header["TCORRTYP"] == "FFI"
    with fits.open(tpf_path) as tpf:
        data = tpf[1].data
        # The default moves TIME and TIMECORR by the same amount toward the target (well
        # under a second this close to the FFI's reference pixel).
        delta = data["TIME"] - (rows["TSTART"] + rows["TSTOP"]) / 2
        np.testing.assert_allclose(data["TIMECORR"] - rows["BARYCORR"], delta, rtol=0,
                                   atol=1e-7)
        assert 0 < np.max(np.abs(delta)) * 86400 < 1.0
        assert tpf[1].header["TCORRTYP"] == "TARGET"
        assert tpf[1].header["BTC_DMAX"] == pytest.approx(np.max(np.abs(delta)) * 86400,
                                                          rel=1e-6)
        np.testing.assert_allclose(data["TIME"], small_sector.times, rtol=0, atol=1 / 86400)
        np.testing.assert_array_equal(data["QUALITY"], rows["DQUALITY"])
        assert data["QUALITY"].any()  # the simulator flags a few frames
        ffiindex = [fits.getval(f, "FFIINDEX", 0) for f in small_sector.files]
        np.testing.assert_array_equal(data["CADENCENO"], ffiindex)
        assert list(data["FFI_FILE"]) == [os.path.basename(f) for f in small_sector.files]


def test_primary_header(tpf_path, target, table):
    _, cube_primary = table
    with fits.open(tpf_path) as tpf:
        header = tpf[0].header
        assert header["TELESCOP"] == "TESS"
        assert "TargetPixelFile" in header["CREATOR"]
        assert "STSCI" not in header["ORIGIN"].upper() and "MAST" not in header["ORIGIN"].upper()
        assert "astrocut" in header["ORIGIN"]
        import astrocut

        assert header["PROCVER"] == astrocut.__version__
        assert header["FFI_TYPE"] == "SPOC"
        assert header["RA_OBJ"] == target.ra.deg and header["DEC_OBJ"] == target.dec.deg
        expected = {"TIMEREF": "SOLARSYSTEM", "TASSIGN": "SPACECRAFT", "TIMESYS": "TDB",
                    "BJDREFI": 2457000, "BJDREFF": 0.0, "TIMEUNIT": "d"}
        for key, value in expected.items():
            assert header[key] == value
        assert header["TELAPSE"] == pytest.approx(cube_primary["TSTOP"] - cube_primary["TSTART"])
        for key in ("OBJECT", "TICID", "PMRA", "PMDEC", "TESSMAG", "TEFF", "LOGG", "RADIUS"):
            assert key in header
            assert header[key] in ("", None) or isinstance(header[key], fits.card.Undefined)
        # Mission keywords of the cube stay; the FFI's WCS and SIP terms do not.
        for key in ("SECTOR", "CAMERA", "CCD", "DATE-OBS", "DATE-END", "TSTART", "TSTOP"):
            assert header[key] == cube_primary[key]
        for key in header:
            assert not re.match(r"^(CTYPE|CRVAL|CRPIX|CD\d|PC\d|A_|B_|AP_|BP_|WCSAXES)", key), key
        assert header["NAXIS"] == 0 and header["EXTEND"] is True


def test_pixels_header_wcs_and_physical_keys(tpf_path, small_cube, target):
    with fits.open(tpf_path) as tpf:
        header = tpf[1].header
        assert header["EXTNAME"] == "PIXELS" and header["INHERIT"] is True
        for key in ("TSTART", "TSTOP", "BJDREFI", "BJDREFF", "TIMEUNIT", "TIMESYS", "TIMEDEL",
                    "EXPOSURE", "LIVETIME", "DEADC"):
            assert key in header, key
        with TessCube.open(small_cube) as opened:
            x, y = opened.wcs.all_world2pix([[target.ra.deg, target.dec.deg]], 0)[0]
            wcs_ffi = opened.info.wcs_ffi
        x0, y0 = int(np.round(x - (7 - 1) / 2)), int(np.round(y - (5 - 1) / 2))  # centred
        assert (header["1CRV5P"], header["2CRV5P"]) == (x0 + 1, y0 + 1)
        assert (header["1CRP5P"], header["2CRP5P"]) == (1, 1)
        assert header["WCS_FFI"] == wcs_ffi
        keys = ["WCAX{}", "1CTYP{}", "2CTYP{}", "1CRPX{}", "2CRPX{}", "1CRVL{}", "2CRVL{}",
                "1CUNI{}", "2CUNI{}", "1CDLT{}", "2CDLT{}", "11PC{}", "12PC{}", "21PC{}",
                "22PC{}", "WCSN{}P", "WCAX{}P", "1CTY{}P", "2CTY{}P", "1CUN{}P", "2CUN{}P",
                "1CRV{}P", "2CRV{}P", "1CDL{}P", "2CDL{}P", "1CRP{}P", "2CRP{}P"]
        for key in keys:
            values = {header[key.format(column)] for column in range(4, 9)}
            assert len(values) == 1, key
        for column in (1, 2, 3, 9, 10, 11, 12):
            assert f"1CTYP{column}" not in header and f"1CRV{column}P" not in header
        assert header["1CTYP5"] == "RA---TAN" and header["2CTYP5"] == "DEC--TAN"
        for key in ("WCS_MSEP", "WCS_SIG"):
            assert isinstance(header[key], float) and header[key] > 0
            assert tpf[2].header[key] == header[key]


def test_aperture_header(tpf_path):
    with fits.open(tpf_path) as tpf:
        header = tpf[2].header
        assert header["EXTNAME"] == "APERTURE" and header["INHERIT"] is True
        wcs = WCS(header)
        assert wcs.wcs.ctype[0] == "RA---TAN" and not wcs.sip
        assert header["CRVAL1P"] == tpf[1].header["1CRV5P"]
        assert header["CRVAL2P"] == tpf[1].header["2CRV5P"]


def _column_wcs(header, column=5):
    mapping = {"1CTYP": "CTYPE1", "2CTYP": "CTYPE2", "1CRPX": "CRPIX1", "2CRPX": "CRPIX2",
               "1CRVL": "CRVAL1", "2CRVL": "CRVAL2", "1CUNI": "CUNIT1", "2CUNI": "CUNIT2",
               "1CDLT": "CDELT1", "2CDLT": "CDELT2", "11PC": "PC1_1", "12PC": "PC1_2",
               "21PC": "PC2_1", "22PC": "PC2_2"}
    return WCS({new: header[f"{old}{column}"] for old, new in mapping.items()})


def test_fitted_wcs_puts_targets_where_the_sip_wcs_does(small_sector, small_cube, tmp_path):
    with TessCube.open(small_cube) as opened:
        sip = opened.wcs
    for star in small_sector.stars[:8]:
        coord = SkyCoord(star.ra, star.dec, unit="deg")
        x, y = sip.all_world2pix([[star.ra, star.dec]], 0)[0]
        if not (0 <= x < small_sector.shape[0] and 0 <= y < small_sector.shape[1]):
            continue
        hdulist = CutoutFactory().cube_cut(small_cube, coord, 9, memory_only=True)
        x0, y0 = hdulist[1].header["1CRV5P"] - 1, hdulist[1].header["2CRV5P"] - 1
        for wcs in (WCS(hdulist[2].header), _column_wcs(hdulist[1].header)):
            px, py = wcs.world_to_pixel(coord)
            assert abs(px + x0 - x) < 0.5 and abs(py + y0 - y) < 0.5
            # In practice the fit is far better than half a pixel.
            assert abs(px + x0 - x) < 0.01 and abs(py + y0 - y) < 0.01


def _full_ccd_sip(distortion_scale):
    """A full-CCD TESS TAN-SIP WCS; ``distortion_scale`` multiplies the A/B terms.

    The simulator keeps the corner distortion at a few pixels; SPOC headers reach
    A_DMAX ~ 45 px, about 11 times more.
    """
    from astrocut_tess.simulate import FULL_SIZE, make_wcs_header

    header = make_wcs_header(FULL_SIZE)
    for key in list(header):
        if re.match(r"^[AB]_\d+_\d+$", key):
            header[key] = header[key] * distortion_scale
    return WCS(header)


@pytest.mark.parametrize("scale", [1.0, 11.0])
def test_wcs_misfit_grows_with_stamp_size_near_a_corner(scale):
    wcs = _full_ccd_sip(scale)
    results = []
    for side in (5, 25, 100):
        # Stamps against the CCD corner farthest from the optical axis.
        corner = (2136 - 44 - side, 2078 - 30 - side)
        fitted = hook().astrocut_fit_wcs(wcs=wcs, corner=corner, shape=(side, side))
        assert np.isfinite(fitted.max_separation) and np.isfinite(fitted.sigma)
        assert fitted.max_separation > 0 and fitted.sigma > 0
        results.append((side, fitted.max_separation, fitted.sigma))
    msep = [r[1] for r in results]
    sig = [r[2] for r in results]
    assert msep[0] < msep[1] < msep[2] and sig[0] < sig[1] < sig[2]
    # Far from the FFI's tangent point a linear TAN fit cannot follow the FFI's projection
    # and distortion: > 0.5 arcsec off at the edges of a 100 px stamp even for the minimax fit
    # (the seed docs' "noticeably incorrect at the edges"), a few milli-arcsec for 5 px.
    assert msep[2] * 3600 > 0.5 and msep[0] * 3600 < 0.05
    print("side  WCS_MSEP(arcsec)  WCS_SIG(arcsec)", *(
        f"{s:4d}  {m * 3600:.3g}  {g * 3600:.3g}" for s, m, g in results), sep="\n")


def test_checksum_cards_on_every_hdu_and_astropy_checks_pass(tpf_path):
    # CHECKSUM/DATASUM as SPOC writes them, summed by the writer (checksum.py).
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with fits.open(tpf_path, checksum=True) as tpf:
            for hdu in tpf:
                assert "CHECKSUM" in hdu.header and "DATASUM" in hdu.header
                assert hdu.verify_checksum() == 1 and hdu.verify_datasum() == 1
                hdu.data


def test_the_file_is_replaced_atomically(small_cube, target, tmp_path):
    path = tmp_path / "x.fits"
    path.write_bytes(b"old")
    CutoutFactory().cube_cut(small_cube, target, 4, target_pixel_file=str(path))
    assert fits.getheader(path, 1)["EXTNAME"] == "PIXELS"
    assert sorted(os.listdir(tmp_path)) == ["x.fits"]
    with pytest.raises(OutputError):
        tpf_module.write_tpf(_a_cutout(small_cube, target),
                             str(tmp_path / "missing-dir" / "y.fits"))


def _a_cutout(path, target):
    from astrocut.cubes import cut_from_cube
    from astrocut.geometry import parse_coordinates, parse_cutout_size
    from astrocut.models import CubeCutRequest

    with TessCube.open(path) as opened:
        return cut_from_cube(opened, CubeCutRequest(center=parse_coordinates(target),
                                                    size=parse_cutout_size(3)))


@pytest.mark.parametrize("limit", [1, 2879, 2881, 10 ** 9])
def test_a_short_writev_is_finished_piece_by_piece(small_cube, target, tmp_path, monkeypatch,
                                                   limit):
    # write_tpf writes the whole file with one writev; a system call that writes less (a
    # signal, a full pipe, an odd file system) must still leave the complete file.
    cutout = _a_cutout(small_cube, target)
    expected = tpf_module.tpf_bytes(cutout)
    real = os.writev

    def short(fd, buffers):
        data = b"".join(bytes(memoryview(b).cast("B")) for b in buffers)[:limit]
        return real(fd, [data])

    monkeypatch.setattr(os, "writev", short)
    path = tpf_module.write_tpf(cutout, str(tmp_path / "short.fits"))
    with open(path, "rb") as handle:
        assert handle.read() == expected


def test_writer_output_is_reproducible(small_cube, target, tmp_path):
    cutout = _a_cutout(small_cube, target)
    first = tpf_module.tpf_bytes(cutout)
    assert len(first) % 2880 == 0
    assert tpf_module.tpf_bytes(cutout) == first  # templates cached, same bytes
    path = tpf_module.write_tpf(cutout, str(tmp_path / "a.fits"))
    with open(path, "rb") as handle:
        assert handle.read() == first
    again = CutoutFactory().cube_cut(small_cube, target, 3, output_path=str(tmp_path / "b"))
    with open(again, "rb") as handle:
        assert handle.read() == first
    # Per-target numbers are written in full: they read back exactly.
    crpix, crval, cdelt, pc = tpf_module.linear_wcs_terms(cutout.fitted_wcs)
    with fits.open(path) as tpf:
        for header, keys in ((tpf[1].header, ("1CRPX{}", "1CRVL{}", "1CDLT{}", "12PC{}")),
                             (tpf[2].header, ("CRPIX1", "CRVAL1", "CDELT1", "PC1_2"))):
            for column in range(4, 9):
                got = [header[key.format(column)] for key in keys]
                assert got == [crpix[0], crval[0], cdelt[0], pc[0][1]]
        for header in (tpf[1].header, tpf[2].header):
            assert header["WCS_MSEP"] == float(cutout.fitted_wcs.max_separation)
            assert header["WCS_SIG"] == float(cutout.fitted_wcs.sigma)
        assert tpf[0].header["RA_OBJ"] == float(cutout.center.ra.deg)
        assert tpf[0].header["DEC_OBJ"] == float(cutout.center.dec.deg)


def _fitsverify(path):
    """``(errors, warning lines)`` that HEASARC fitsverify reports for ``path``."""
    fitsverify = shutil.which("fitsverify")
    if fitsverify is None:
        pytest.skip("fitsverify is not installed")
    done = subprocess.run([fitsverify, str(path)], capture_output=True, text=True)
    summary = re.search(r"Verification found (\d+) warning\(s\) and (\d+) error\(s\)",
                        done.stdout)
    assert summary, done.stdout + done.stderr
    warning_lines = [line for line in done.stdout.splitlines() if "*** Warning" in line]
    assert len(warning_lines) == int(summary.group(1))
    return int(summary.group(2)), warning_lines, done.stdout


def test_fitsverify_reports_no_errors_on_tpfs(small_sector, small_cube, tmp_path):
    n_rows = small_sector.shape[1]
    with TessCube.open(small_cube) as opened:
        ra, dec = opened.wcs.all_pix2world([[0.7, n_rows - 1.2]], 0)[0]
    paths = [
        CutoutFactory().cube_cut(small_cube, SkyCoord(s.ra, s.dec, unit="deg"), size,
                                 output_path=str(tmp_path))
        for s, size in ((small_sector.variable_star, 5), (small_sector.transit_star, [9, 4]))
    ]
    paths.append(CutoutFactory().cube_cut(small_cube, f"{ra} {dec}", 6,  # padded stamp
                                          output_path=str(tmp_path)))
    for path in paths:
        errors, warning_lines, report = _fitsverify(path)
        assert errors == 0, report
        # The only warnings: the archive's target keywords, undefined as the spec decides.
        assert all("null value" in line for line in warning_lines), report


def test_fitsverify_reports_no_errors_on_the_stack_file(small_cube):
    # The builder puts column comments on TTYPEn cards, not in "KEY = 'comment'" cards as
    # the archive's tool does (which gives reserved keywords wrong-typed values).
    errors, _, report = _fitsverify(small_cube)
    assert errors == 0, report


# ------------------------------------------------------------------------- card writing

@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_float_cards_read_back(value):
    # astropy alone would cut floats to 20 characters; card_image keeps every digit.
    image = tpf_module.card_image("X", value, "comment")
    assert len(image) == 80
    card = fits.Card.fromstring(image)
    card.verify("exception")
    assert card.value == value and card.comment == "comment"


def _astropy_reads_back(text):
    # astropy 8.0.2 misreads a string whose doubled quote is followed by "/" (e.g. "'/"):
    # astropy issue #18831, open upstream. Such strings are excluded until it is fixed.
    return "'/" not in text


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.integers(min_value=-(2 ** 63), max_value=2 ** 63 - 1), st.booleans(),
                 st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126),
                         max_size=60).filter(_astropy_reads_back)))
def test_other_cards_read_back(value):
    image = tpf_module.card_image("KEY", value, "a comment")
    assert len(image) == 80
    card = fits.Card.fromstring(image)
    card.verify("exception")
    if isinstance(value, str):
        assert card.value == value.rstrip()
    else:
        assert card.value == value and type(card.value) is type(value)


def test_long_string_cards_use_continue():
    image = tpf_module.card_image("WCS_FFI", "x" * 100, "FFI used for cutout WCS")
    assert len(image) % 80 == 0 and len(image) > 80
    header = fits.Header.fromstring(image)
    assert header["WCS_FFI"] == "x" * 100


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=90),
       st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1,
               max_size=80))
def test_long_comments_are_cut_as_astropy_cuts_them_without_a_warning(value, comment):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        image = tpf_module.card_image("KEY", value, comment)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = fits.Card("KEY", value, comment).image
    assert image == expected
