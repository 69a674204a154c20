"""fits_cut: pixel values, shapes, headers, WCS, names, extensions and bad input."""

import os
import re
import shutil
import subprocess
import warnings

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.wcs import WCS

from astrocut import fits_cut
from astrocut.errors import DataWarning, InvalidInputError, InvalidQueryError

SEED_NAME = re.compile(r"^(?P<stem>.+)_(?P<ra>\d+\.\d{6})_(?P<dec>-?\d+\.\d{6})_"
                       r"(?P<nx>\d+)-x-(?P<ny>\d+)_astrocut\.(fits|png|jpg)$")


def expected_corner(wcs, coord, nx, ny):
    """Where the reference tool starts a stamp: round(centre - size / 2), 0-based."""
    x, y = wcs.all_world2pix([[coord.ra.deg, coord.dec.deg]], 0)[0]
    return int(np.round(x - nx / 2)), int(np.round(y - ny / 2)), x, y


def read_pixels(path, index, x0, y0, nx, ny):
    with fits.open(path, memmap=True) as hdulist:
        return np.array(hdulist[index].data[y0:y0 + ny, x0:x0 + nx])


def test_hst_cut_values_shape_and_name(hst_field, tmp_path):
    coord = hst_field.marker
    path = fits_cut([hst_field.f606w, hst_field.f814w], coord, [200, 300],
                    output_dir=str(tmp_path))
    name = os.path.basename(path)
    assert name == (f"cutout_{coord.ra.deg:.6f}_{coord.dec.deg:.6f}_200-x-300_astrocut.fits")
    x0, y0, _, _ = expected_corner(hst_field.wcs, coord, 200, 300)
    with fits.open(path) as hdulist:
        assert [h.name for h in hdulist] == ["PRIMARY", "CUTOUT", "CUTOUT"]
        assert hdulist[0].data is None
        for key in ("ORIGIN", "DATE", "PROCVER", "RA_OBJ", "DEC_OBJ"):
            assert key in hdulist[0].header
        assert hdulist[0].header["RA_OBJ"] == pytest.approx(coord.ra.deg, abs=1e-10)
        for index, source in ((1, hst_field.f606w), (2, hst_field.f814w)):
            hdu = hdulist[index]
            assert hdu.data.shape == (300, 200)
            assert (hdu.header["NAXIS1"], hdu.header["NAXIS2"]) == (200, 300)
            assert hdu.data.dtype.type is np.float32
            np.testing.assert_array_equal(hdu.data, read_pixels(source, 0, x0, y0, 200, 300))
            assert hdu.header["ORIG_FLE"] == os.path.basename(source)
            assert hdu.header["ORIG_EXT"] == 0
            assert hdu.header["CRPIX1"] == pytest.approx(hst_field.header["CRPIX1"] - x0)
            assert hdu.header["CRPIX2"] == pytest.approx(hst_field.header["CRPIX2"] - y0)
            # The rest of the input header travels with the cutout.
            assert hdu.header["FILTER"] == os.path.basename(source).split("_")[5].upper()
            assert hdu.header["HIST0059"] == hst_field.header["HIST0059"]
    # The marker star is the brightest pixel, near the stamp's centre.
    with fits.open(path) as hdulist:
        y, x = np.unravel_index(np.argmax(hdulist[1].data), (300, 200))
    assert abs(x - 100) <= 1 and abs(y - 150) <= 1


@pytest.mark.parametrize("which", ["hst", "sip"])
def test_cutout_wcs_is_the_input_wcs_moved(hst_field, small_images, tmp_path, which):
    if which == "hst":
        source, index, coord = hst_field.f606w, 0, hst_field.marker
        nx, ny = 151, 80
    else:
        source, index = small_images.sip, 1
        coord = SkyCoord(210.7, 54.41, unit="deg")  # far from CRPIX: SIP matters
        nx, ny = 64, 41
    [hdulist] = fits_cut(source, coord, [nx, ny], memory_only=True)
    hdu = hdulist[1]
    cut_wcs = WCS(hdu.header)
    with fits.open(source) as original:
        full_header = original[index].header
        full_wcs = WCS(full_header)
    if which == "sip":
        assert cut_wcs.sip is not None
        for key in ("A_2_0", "B_1_1", "A_3_0", "B_0_3", "A_ORDER", "CD1_2", "CRVAL1"):
            assert hdu.header[key] == full_header[key]
    # The requested position is at the stamp's centre (0-based nx/2, ny/2: the stamp
    # starts at round(x - nx/2), so the position is within half a pixel of it).
    x, y = cut_wcs.world_to_pixel(coord)
    assert abs(x - nx / 2) <= 0.5 and abs(y - ny / 2) <= 0.5
    # Every stamp pixel has the sky position of the input pixel it was copied from.
    x0, y0, _, _ = expected_corner(full_wcs, coord, nx, ny)
    rng = np.random.default_rng(0)
    px, py = rng.uniform(-0.5, nx - 0.5, 50), rng.uniform(-0.5, ny - 0.5, 50)
    sky_cut = np.array(cut_wcs.all_pix2world(px, py, 0))
    sky_full = np.array(full_wcs.all_pix2world(px + x0, py + y0, 0))
    np.testing.assert_allclose(sky_cut, sky_full, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(hdu.data, read_pixels(source, index, x0, y0, nx, ny))


def test_sip_matters_for_placement(small_images):
    """Placement uses the SIP WCS: a TAN-only WCS would start the stamp elsewhere."""
    coord = SkyCoord(210.7, 54.41, unit="deg")
    [hdulist] = fits_cut(small_images.sip, coord, 30, memory_only=True)
    with fits.open(small_images.sip) as original:
        header = original[1].header
        full = WCS(header)
        tan_only = WCS(header)
        tan_only.sip = None
    with_sip = expected_corner(full, coord, 30, 30)[:2]
    without = expected_corner(tan_only, coord, 30, 30)[:2]
    assert with_sip != without
    shift = hdulist[1].header["CRPIX1"] - header["CRPIX1"], \
        hdulist[1].header["CRPIX2"] - header["CRPIX2"]
    assert (-shift[0], -shift[1]) == with_sip


def test_angular_size(hst_field):
    [hdulist] = fits_cut(hst_field.f606w, hst_field.marker, [6 * u.arcsec, 3 * u.arcsec],
                         memory_only=True)
    assert hdulist[1].data.shape == (100, 200)  # 0.03"/pixel


def test_partial_overlap_is_nan_filled(small_images):
    with fits.open(small_images.sip) as original:
        wcs = WCS(original[1].header)
        data = original[1].data
    ra, dec = wcs.all_pix2world([[3.2, 1490.4]], 0)[0]  # near the top-left corner
    coord = SkyCoord(ra, dec, unit="deg")
    [hdulist] = fits_cut(small_images.sip, coord, [40, 30], memory_only=True)
    cut = hdulist[1].data
    assert cut.shape == (30, 40)
    x0, y0, _, _ = expected_corner(wcs, coord, 40, 30)
    assert x0 < 0 and y0 + 30 > data.shape[0]
    on_image = np.zeros(cut.shape, bool)
    on_image[: data.shape[0] - y0, -x0:] = True
    assert np.isnan(cut[~on_image]).all()
    np.testing.assert_array_equal(cut[on_image].reshape(data.shape[0] - y0, 40 + x0),
                                  data[y0:, : 40 + x0])


def test_input_missed_is_skipped_with_warning(hst_field, small_images, tmp_path):
    with pytest.warns(DataWarning, match="sip_image.fits"):
        path = fits_cut([hst_field.f606w, small_images.sip], hst_field.marker, 20,
                        output_dir=str(tmp_path))
    with fits.open(path) as hdulist:
        assert len(hdulist) == 2
        assert hdulist[1].header["ORIG_FLE"] == os.path.basename(hst_field.f606w)


def test_no_input_overlaps_is_an_error_and_writes_nothing(hst_field, small_images, tmp_path):
    out = tmp_path / "out"
    with pytest.warns(DataWarning), pytest.raises(InvalidQueryError, match="none of the inputs"):
        fits_cut([small_images.sip, small_images.multi], hst_field.marker, 20,
                 output_dir=str(out))
    assert not out.exists() or not os.listdir(out)


def test_per_file_outputs_and_drop_after(hst_field, tmp_path):
    coord = hst_field.marker
    paths = fits_cut([hst_field.f606w, hst_field.f814w], coord, [200, 300],
                     single_outfile=False, output_dir=str(tmp_path))
    names = [os.path.basename(p) for p in paths]
    assert names == [f"hlsp_sim_hst_acs_field_{f}_v1.0_drz_{coord.ra.deg:.6f}_"
                     f"{coord.dec.deg:.6f}_200-x-300_astrocut.fits" for f in ("f606w", "f814w")]
    for path in paths:
        with fits.open(path) as hdulist:
            assert len(hdulist) == 2 and hdulist[1].name == "CUTOUT"
    paths = fits_cut([hst_field.f606w], coord, 10, single_outfile=False, drop_after="_v1.0",
                     output_dir=str(tmp_path))
    assert os.path.basename(paths[0]).startswith("hlsp_sim_hst_acs_field_f606w_")
    assert SEED_NAME.match(os.path.basename(paths[0])).group("stem") == \
        "hlsp_sim_hst_acs_field_f606w"


def test_memory_only_writes_nothing(hst_field, tmp_path):
    out = tmp_path / "never"
    result = fits_cut([hst_field.f606w, hst_field.f814w], hst_field.marker, 10,
                      memory_only=True, output_dir=str(out))
    assert len(result) == 1 and isinstance(result[0], fits.HDUList)
    assert len(result[0]) == 3
    result = fits_cut([hst_field.f606w, hst_field.f814w], hst_field.marker, 10,
                      memory_only=True, single_outfile=False)
    assert [len(h) for h in result] == [2, 2]
    assert not out.exists()


def test_correct_wcs_is_accepted_and_changes_nothing(hst_field):
    with pytest.warns(DeprecationWarning, match="correct_wcs"):
        [with_flag] = fits_cut(hst_field.f606w, hst_field.marker, 12, correct_wcs=True,
                               memory_only=True)
    [without] = fits_cut(hst_field.f606w, hst_field.marker, 12, memory_only=True)
    np.testing.assert_array_equal(with_flag[1].data, without[1].data)
    assert with_flag[1].header["CRPIX1"] == without[1].header["CRPIX1"]


def test_extension_selection(small_images):
    coord = small_images.tan_center
    sci1, sci2 = small_images.multi_data
    # Default: the first image HDU with data *and* a celestial WCS (not NOWCS, HDU 1).
    [hdulist] = fits_cut(small_images.multi, coord, 20, memory_only=True)
    assert [h.header.get("ORIG_EXT") for h in hdulist[1:]] == [2]
    assert hdulist[1].header["O_EXT_NM"] == "SCI"
    [hdulist] = fits_cut(small_images.multi, coord, 20, extension=3, memory_only=True)
    assert [h.header["ORIG_EXT"] for h in hdulist[1:]] == [3]
    assert hdulist[1].data.dtype.type is np.float64
    [hdulist] = fits_cut(small_images.multi, coord, 20, extension=[2, 3], memory_only=True)
    np.testing.assert_array_equal(hdulist[2].data, 2 * hdulist[1].data.astype(np.float64))
    with pytest.warns(DataWarning, match="no celestial WCS"):
        [hdulist] = fits_cut(small_images.multi, coord, 20, extension="all", memory_only=True)
    assert [h.header["ORIG_EXT"] for h in hdulist[1:]] == [2, 3]
    with pytest.warns(DataWarning, match="extension 9"):
        [hdulist] = fits_cut(small_images.multi, coord, 20, extension=[2, 9], memory_only=True)
    assert len(hdulist) == 2


def test_per_file_groups_extensions_of_one_input(small_images, tmp_path):
    paths = fits_cut(small_images.multi, small_images.tan_center, 20, extension=[2, 3],
                     single_outfile=False, output_dir=str(tmp_path))
    assert len(paths) == 1
    with fits.open(paths[0]) as hdulist:
        assert len(hdulist) == 3


@pytest.mark.parametrize("extension", ["first", -1, [1.5], [], True])
def test_bad_extension_argument(small_images, extension):
    with pytest.raises(InvalidInputError, match="extension"):
        fits_cut(small_images.multi, small_images.tan_center, 20, extension=extension)


def test_integer_images_become_float(small_images):
    with fits.open(small_images.int16) as original:
        ra, dec = WCS(original[0].header).all_pix2world([[60.2, 50.2]], 0)[0]
    coord = SkyCoord(ra, dec, unit="deg")  # the whole 120x100 image, unambiguously
    [hdulist] = fits_cut(small_images.int16, coord, [120, 100], memory_only=True)
    cut = hdulist[1].data
    assert cut.dtype.type is np.float32 and cut.shape == (100, 120)
    expected = small_images.int16_data.astype(np.float32)
    expected[50, 60] = np.nan  # the BLANK pixel
    np.testing.assert_array_equal(cut, expected)
    assert "BLANK" not in hdulist[1].header
    [hdulist] = fits_cut(small_images.uint16, coord, [120, 100], memory_only=True)
    np.testing.assert_array_equal(hdulist[1].data, small_images.uint16_data.astype(np.float32))
    assert "BZERO" not in hdulist[1].header


def test_gzipped_input(small_images):
    coord = SkyCoord(210.8, 54.35, unit="deg")
    [plain] = fits_cut(small_images.sip, coord, 25, memory_only=True)
    [gzipped] = fits_cut(small_images.gz, coord, 25, memory_only=True)
    np.testing.assert_array_equal(plain[1].data, gzipped[1].data)


def test_file_url_input(small_images, tmp_path):
    coord = SkyCoord(210.8, 54.35, unit="deg")
    url = "file://" + os.path.abspath(small_images.sip)
    paths = fits_cut([url], coord, 25, single_outfile=False, output_dir=str(tmp_path))
    assert os.path.basename(paths[0]).startswith("sip_image_210.800000_54.350000_25-x-25")


def test_checksums_and_fitsverify(hst_field, tmp_path):
    path = fits_cut([hst_field.f606w, hst_field.f814w], hst_field.marker, [20, 30],
                    output_dir=str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # astropy warns on a checksum mismatch
        with fits.open(path, checksum=True) as hdulist:
            for hdu in hdulist:
                assert "CHECKSUM" in hdu.header and "DATASUM" in hdu.header
                hdu.data  # noqa: B018 (reading the data verifies DATASUM)
    if shutil.which("fitsverify") is None:
        pytest.skip("fitsverify is not installed")
    report = subprocess.run(["fitsverify", "-q", path], capture_output=True, text=True)
    assert "0 errors" in report.stdout or "OK" in report.stdout, report.stdout


def test_three_dimensional_image_is_an_error(small_images):
    with pytest.raises(InvalidInputError, match="3-dimensional"):
        fits_cut(small_images.cube, small_images.tan_center, 5, memory_only=True)


def test_no_celestial_wcs(small_images, hst_field):
    with pytest.warns(DataWarning, match="no_wcs.fits"):
        [hdulist] = fits_cut([small_images.nowcs, hst_field.f606w], hst_field.marker, 5,
                             memory_only=True)
    assert len(hdulist) == 2
    # No input is usable at all: the inputs are at fault, not the position.
    with pytest.warns(DataWarning), pytest.raises(InvalidInputError,
                                                   match="no_wcs.fits.*no celestial WCS"):
        fits_cut(small_images.nowcs, hst_field.marker, 5, memory_only=True)
    with pytest.warns(DataWarning), pytest.raises(InvalidInputError, match="extension 7"):
        fits_cut(small_images.multi, hst_field.marker, 5, extension=7, memory_only=True)


@pytest.mark.filterwarnings("ignore:File may have been truncated")
def test_truncated_file_is_an_error(hst_field, small_images, tmp_path):
    truncated = tmp_path / "truncated.fits"
    with open(small_images.sip, "rb") as handle:
        truncated.write_bytes(handle.read()[: 2880 * 40])
    coord = SkyCoord(210.8, 54.35, unit="deg")
    with pytest.raises(InvalidInputError, match="truncated.fits"):
        fits_cut([small_images.sip, str(truncated)], coord, 50, output_dir=str(tmp_path / "o"))
    assert not (tmp_path / "o").exists()


def test_nan_wcs_is_unusable(tmp_path, hst_field):
    header = fits.Header()
    header.update(CTYPE1="RA---TAN", CTYPE2="DEC--TAN", CRPIX1=5.0, CRPIX2=5.0,
                  CRVAL1=-777.25, CRVAL2=2.0, CDELT1=-1e-4, CDELT2=1e-4)
    path = tmp_path / "nan_wcs.fits"
    fits.PrimaryHDU(np.zeros((10, 10), np.float32), header=header).writeto(path)
    raw = path.read_bytes().replace(b"%20s" % b"-777.25", b"%20s" % b"NaN")
    path.write_bytes(raw)
    with pytest.warns(DataWarning), pytest.raises(InvalidInputError, match="CRVAL1"):
        fits_cut(str(path), hst_field.marker, 5, memory_only=True)


# [1, 2, 3] uses its first two values (1.x behaviour): tests/compat.
@pytest.mark.parametrize("size", [0, -3, [10, 0], [0.2, 5], "big"])
def test_bad_sizes(hst_field, tmp_path, size):
    with pytest.raises(InvalidInputError, match="cutout_size"):
        fits_cut(hst_field.f606w, hst_field.marker, size, output_dir=str(tmp_path / "o"))
    assert not (tmp_path / "o").exists()


def test_missing_and_unreadable_files(hst_field, small_images, tmp_path):
    missing = str(tmp_path / "nope.fits")
    with pytest.raises(InvalidInputError, match="nope.fits"):
        fits_cut([hst_field.f606w, missing], hst_field.marker, 10, output_dir=str(tmp_path))
    with pytest.raises(InvalidInputError, match="not_fits.fits"):
        fits_cut([hst_field.f606w, small_images.not_fits], hst_field.marker, 10,
                 output_dir=str(tmp_path))
    with pytest.raises(InvalidInputError, match="empty"):
        fits_cut([], hst_field.marker, 10)
    with pytest.raises(InvalidInputError, match="coordinates"):
        fits_cut(hst_field.f606w, "not a position", 10)
    assert os.listdir(tmp_path) == []


def test_verbose_logs(hst_field, tmp_path, caplog):
    path = fits_cut(hst_field.f606w, hst_field.marker, 10, output_dir=str(tmp_path),
                    verbose=True)
    out = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("astrocut"))
    assert "10x10 stamp" in out and path in out


def test_compressed_and_plain_integer_inputs(small_images):
    coord = SkyCoord(210.75, 54.38, unit="deg")
    [plain] = fits_cut(small_images.sip, coord, [33, 21], memory_only=True)
    [packed] = fits_cut(small_images.compressed, coord, [33, 21], memory_only=True)
    np.testing.assert_array_equal(plain[1].data, packed[1].data)  # lossless GZIP_1
    assert packed[1].header["CRPIX1"] == plain[1].header["CRPIX1"]
    with fits.open(small_images.int32) as original:
        ra, dec = WCS(original[0].header).all_pix2world([[60.2, 50.2]], 0)[0]
    [ints] = fits_cut(small_images.int32, SkyCoord(ra, dec, unit="deg"), [120, 100],
                      memory_only=True)
    assert ints[1].data.dtype.type is np.float64  # 32-bit integers are exact in float64
    np.testing.assert_array_equal(ints[1].data, small_images.int32_data)


def test_alternate_wcs_and_ltv_move_too(small_images):
    with fits.open(small_images.odd) as original:
        ra, dec = WCS(original[0].header).all_pix2world([[40.3, 30.3]], 0)[0]
    [hdulist] = fits_cut(small_images.odd, SkyCoord(ra, dec, unit="deg"), [20, 10],
                         memory_only=True)
    header = hdulist[1].header
    x0, y0 = 30, 25  # round(40.3 - 10), round(30.3 - 5)
    assert header["CRPIX1A"] == 10.0 - x0 and header["CRPIX2A"] == 20.0 - y0
    assert header["LTV1"] == -100.0 - x0 and header["LTV2"] == -200.0 - y0
    assert (header["CRVAL1P"], header["CRVAL2P"]) == (x0 + 1, y0 + 1)
    np.testing.assert_array_equal(hdulist[1].data[0, :3], [y0 * 120 + x0 + i for i in range(3)])


def test_sip_without_sip_ctype_is_ignored_like_the_reference(small_images):
    header = small_images.stray_header.copy()
    header["CTYPE1"], header["CTYPE2"] = "RA---TAN", "DEC--TAN"
    tan_only = WCS(header)
    tan_only.sip = None
    coord = SkyCoord(210.7, 54.41, unit="deg")
    [hdulist] = fits_cut(small_images.odd, coord, 30, extension=1, memory_only=True)
    x0, y0, _, _ = expected_corner(tan_only, coord, 30, 30)
    assert hdulist[1].header["CRVAL1P"] == x0 + 1 and hdulist[1].header["CRVAL2P"] == y0 + 1
    with fits.open(small_images.odd) as original:  # the SIP cards are kept as they were
        assert hdulist[1].header["A_2_0"] == original[1].header["A_2_0"]


def test_archaic_matrix_keywords(small_images):
    [hdulist] = fits_cut(small_images.odd, small_images.tan_center, 10, extension=2,
                         memory_only=True)
    # Archaic PC00i00j are modernised in the output (1.x behaviour).
    assert "PC001001" not in hdulist[1].header and "PC1_1" in hdulist[1].header
    with fits.open(small_images.odd) as original:
        wcs = WCS(original[0].header)  # the same TAN WCS with modern keywords
    x0, y0, _, _ = expected_corner(wcs, small_images.tan_center, 10, 10)
    assert hdulist[1].header["CRVAL1P"] == x0 + 1


def test_a_cutout_of_a_cutout(hst_field, tmp_path):
    long_dir = tmp_path / ("d" * 40)
    long_dir.mkdir()
    long_name = long_dir / ("very_long_input_name_" * 4 + "drz.fits")
    os.symlink(hst_field.f606w, long_name)
    first = fits_cut(str(long_name), hst_field.marker, 100, output_dir=str(tmp_path))
    with fits.open(first) as hdulist:
        assert hdulist[1].header["ORIG_FLE"] == long_name.name  # a long value (CONTINUE)
        x0, y0 = hdulist[1].header["CRVAL1P"] - 1, hdulist[1].header["CRVAL2P"] - 1
    [second] = fits_cut(first, hst_field.marker, 40, extension=1, memory_only=True)
    header = second[1].header
    assert header["ORIG_FLE"] == os.path.basename(first) and header["ORIG_EXT"] == 1
    assert header["O_EXT_NM"] == "CUTOUT" and header["EXTNAME"] == "CUTOUT"
    # The physical WCS still points at the original image's pixels.
    assert WCS(header, key="P").wcs_pix2world([[0, 0]], 0)[0][0] == x0 + 30 + 1
    full = read_pixels(hst_field.f606w, 0, x0 + 30, y0 + 30, 40, 40)
    np.testing.assert_array_equal(second[1].data, full)


def test_writer_checksums_for_integer_and_fallback_types(tmp_path):
    from astrocut.models import ImageCutout
    from astrocut_generic_fits.writers import write_fits

    center = SkyCoord(10, 20, unit="deg")
    for dtype in (np.int16, np.uint8, np.uint16, np.float64):
        data = (np.arange(15) % 7).astype(dtype).reshape(3, 5)
        cutout = ImageCutout(data=data, header=fits.Header([("EXTNAME", "CUTOUT")]),
                             wcs=None, corner=(0, 0), center=center, source="x",
                             extension=0)
        path = write_fits([cutout, cutout], str(tmp_path / f"{np.dtype(dtype).name}.fits"))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with fits.open(path, checksum=True) as hdulist:
                np.testing.assert_array_equal(hdulist[2].data, data)
