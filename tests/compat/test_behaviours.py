"""1.x behaviours the reference's suite found (issue 12, item 3), through the public API."""

import logging
import os
import shutil

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits

import astrocut
from astrocut import CubeFactory, CutoutFactory, cube_cut, fits_cut, img_cut
from astrocut.errors import DataWarning, InputWarning, InvalidInputError, InvalidQueryError

from compat_helpers import point_ffis, tan_image

CENTER = "251.51 32.36"


@pytest.fixture
def cube(ffis, tmp_path):
    return CubeFactory().make_cube(ffis, str(tmp_path / "c-cube.fits"), verbose=False)


def test_ffis_without_telescop_are_recognised_by_their_layout(ffis, tmp_path):
    bare = [shutil.copy(f, tmp_path / f"bare{i}.fits") for i, f in enumerate(ffis)]
    point_ffis(bare, 251.51, 32.36, drop_telescope=True)
    cube_file = CubeFactory().make_cube([str(p) for p in bare], str(tmp_path / "b.fits"),
                                        verbose=False)
    assert "TELESCOP" not in fits.getheader(cube_file)
    with fits.open(cube_file) as hdulist:  # the cube names no telescope either
        assert astrocut.get_plugin_manager().hook.astrocut_identify(
            path=cube_file, hdulist=hdulist) == "tess.cube"
    tpf = cube_cut(cube_file, CENTER, 3, memory_only=True)
    assert tpf[1].data["FLUX"].shape == (4, 3, 3)


def test_another_telescope_with_the_same_layout_is_not_tess(ffis, tmp_path):
    other = shutil.copy(ffis[0], tmp_path / "other.fits")
    point_ffis([other], 251.51, 32.36, telescope="HST")
    with fits.open(other) as hdulist:
        kind = astrocut.get_plugin_manager().hook.astrocut_identify(path=str(other),
                                                                    hdulist=hdulist)
    assert kind != "tess.ffi"


def test_update_with_only_known_files_warns_then_refuses(ffis, cube):
    before = open(cube, "rb").read()
    with pytest.raises(InvalidInputError, match="No new images"), \
            pytest.warns(DataWarning, match="already in the cube"):
        CubeFactory().update_cube(ffis[:1], cube, verbose=False)
    assert open(cube, "rb").read() == before


def test_update_cube_takes_sector(ffis, tmp_path):
    cube_file = CubeFactory().make_cube(ffis[:2], str(tmp_path / "s.fits"), verbose=False)
    sector = fits.getheader(cube_file)["SECTOR"]
    with pytest.raises(InvalidInputError, match="sector"):
        CubeFactory().update_cube(ffis[2:], cube_file, sector=sector + 1, verbose=False)
    assert CubeFactory().update_cube(ffis[2:], cube_file, sector=sector, verbose=False)
    assert fits.getheader(cube_file, 2)["NAXIS2"] == 4


def test_an_angle_below_one_pixel_gives_one_pixel(cube):
    tpf = cube_cut(cube, CENTER, [1 * u.arcsec, 3], memory_only=True)
    assert tpf[1].data["FLUX"].shape == (4, 3, 1)


def test_three_sizes_warn_and_use_the_first_two(cube, images):
    with pytest.warns(InputWarning, match="first two"):
        tpf = cube_cut(cube, CENTER, [5, 3, 9], memory_only=True)
    assert tpf[1].data["FLUX"].shape == (4, 3, 5)
    with pytest.warns(InputWarning, match="first two"):
        [hdulist] = fits_cut(images[0], "150 2", (6, 4, 2), memory_only=True)
    assert hdulist[1].data.shape == (4, 6)


def test_colorize_with_more_than_three_inputs_uses_the_first_three(images):
    with pytest.warns(InputWarning, match="first three"):
        four = img_cut(images, "150 2", 8, colorize=True, img_format="png",
                       cutout_prefix="four")
    three = img_cut(images[:3], "150 2", 8, colorize=True, img_format="png",
                    cutout_prefix="three")
    from PIL import Image

    with Image.open(four) as a, Image.open(three) as b:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_files_the_stamp_misses_are_skipped_with_a_data_warning(images, tmp_path):
    far = tan_image(tmp_path / "far.fits", np.ones((30, 30)), center=(10.0, -40.0))
    with pytest.warns(DataWarning, match="far.fits"):
        [hdulist] = fits_cut([images[0], far], "150 2", 5, memory_only=True)
    assert len(hdulist) == 2


def test_a_selected_extension_without_wcs_is_skipped_with_a_data_warning(images, tmp_path):
    path = tmp_path / "two.fits"
    with fits.open(images[0]) as original:
        fits.HDUList([original[0].copy(), fits.ImageHDU(np.ones((5, 5)))]).writeto(path)
    with pytest.warns(DataWarning, match="extension 1"):
        [hdulist] = fits_cut(str(path), "150 2", 5, extension=[0, 1], memory_only=True)
    assert len(hdulist) == 2


@pytest.mark.parametrize("value", [0.0, np.nan])
def test_an_empty_stamp_is_refused_unless_allowed(tmp_path, value):
    path = tan_image(tmp_path / "empty.fits", np.full((30, 30), value))
    with pytest.warns(DataWarning, match="no data"), \
            pytest.raises(InvalidQueryError, match="Cutout contains no data"):
        fits_cut(path, "150 2", 5, output_dir=str(tmp_path / "out"))
    assert not (tmp_path / "out").exists() or not os.listdir(tmp_path / "out")
    [hdulist] = fits_cut(path, "150 2", 5, memory_only=True, allow_empty=True)
    np.testing.assert_array_equal(hdulist[1].data, np.full((5, 5), value))
    assert hdulist[1].header["EMPTY"] is True


def test_pan_starrs_asinh_pixels_are_linearised(tmp_path):
    data = np.linspace(-2, 2, 900).reshape(30, 30)
    path = tan_image(tmp_path / "ps1.fits", data, extra={"BSOFTEN": 3.0, "BOFFSET": 10.0})
    plain = tan_image(tmp_path / "plain.fits", data)
    [hdulist] = fits_cut(path, "150 2", 10, memory_only=True)
    [raw] = fits_cut(plain, "150 2", 10, memory_only=True)
    # PS1: flux = BOFFSET + BSOFTEN * (10**(0.4 v) - 10**(-0.4 v)).
    v = raw[1].data
    expected = 10.0 + 3.0 * (10 ** (0.4 * v) - 10 ** (-0.4 * v))
    assert "BSOFTEN" not in raw[1].header and np.isfinite(v).all()
    np.testing.assert_allclose(hdulist[1].data, expected, rtol=1e-12)
    assert "asinh" in str(hdulist[1].header["HISTORY"])


def test_archaic_matrix_keywords_are_modernised(tmp_path):
    header = fits.Header()
    for key, value in [("CTYPE1", "RA---TAN"), ("CTYPE2", "DEC--TAN"), ("CRVAL1", 150.0),
                       ("CRVAL2", 2.0), ("CRPIX1", 15.0), ("CRPIX2", 15.0),
                       ("CDELT1", -1 / 3600), ("CDELT2", 1 / 3600), ("PC001001", 1.0),
                       ("PC001002", 0.0), ("PC002001", 0.0), ("PC002002", 1.0)]:
        header[key] = value
    path = tmp_path / "archaic.fits"
    fits.PrimaryHDU(np.ones((30, 30)), header=header).writeto(path)
    [hdulist] = fits_cut(str(path), "150 2", 5, memory_only=True)
    out = hdulist[1].header
    assert not any(key.startswith(("PC00", "CD00")) for key in out)
    assert (out["PC1_1"], out["PC1_2"], out["PC2_1"], out["PC2_2"]) == (1.0, 0.0, 0.0, 1.0)


def test_verbose_logs_reference_like_records(cube, caplog):
    with caplog.at_level(logging.INFO, logger="astrocut"):
        CutoutFactory().cube_cut(cube, CENTER, 3, verbose=True)
    messages = [record.getMessage() for record in caplog.records
                if record.name.startswith("astrocut")]
    assert any(m.startswith("Cutout center coordinate: 251.51,32.36") for m in messages)
    assert any(m.startswith("Image cutout cube shape: (4, 3, 3)") for m in messages)
    assert any(m.startswith("Total time:") for m in messages)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="astrocut"):
        CutoutFactory().cube_cut(cube, CENTER, 3, verbose=False)
    assert not [r for r in caplog.records if r.name.startswith("astrocut")]


def test_cutout_factory_exposes_the_last_cut(cube):
    factory = CutoutFactory()
    hdulist = factory.cube_cut(cube, CENTER, [5, 3], memory_only=True)
    assert factory.center_coord.separation(astrocut.geometry.parse_coordinates(CENTER)) == 0
    (x0, x1), (y0, y1) = factory.cutout_lims
    assert (x1 - x0, y1 - y0) == (5, 3)
    assert tuple(factory.cube_wcs.wcs.crval) == pytest.approx((251.51, 32.36))
    # The stamp's fitted WCS is the one written to the file.
    from astropy.wcs import WCS

    written = WCS(hdulist[2].header)
    assert factory.cutout_wcs.wcs.crval == pytest.approx(written.wcs.crval)
    # The stamp's corner pixel maps, through the cube WCS, where the fitted WCS's (0, 0) does.
    world = factory.cube_wcs.pixel_to_world(x0, y0)
    assert factory.cutout_wcs.pixel_to_world(0, 0).separation(world).arcsec < 1


def test_threads_and_legacy_filenames(cube, images, tmp_path):
    legacy = cube_cut(cube, CENTER, [5, 3], output_path=str(tmp_path / "l"), threads=4,
                      legacy_filenames=True)
    assert os.path.basename(legacy) == "c_251.510000_32.360000_5x3_astrocut.fits"
    with pytest.raises(InvalidInputError, match="threads"):
        cube_cut(cube, CENTER, 3, threads=0)
    with pytest.raises(InvalidInputError, match="limit_rounding_method"):
        fits_cut(images[0], "150 2", 3, limit_rounding_method="up")


def test_limit_rounding_method_moves_the_stamp(tmp_path):
    from astropy.wcs import WCS

    data = np.arange(900, dtype=float).reshape(30, 30)
    path = tan_image(tmp_path / "r.fits", data)
    # Centred on 0-based pixel (14.3, 14.3), a 5-pixel stamp starts at 11.8:
    # round -> 12, floor -> 11, ceil -> 12.
    target = WCS(fits.getheader(path)).pixel_to_world(14.3, 14.3)
    firsts = {}
    for method in ("round", "floor", "ceil"):
        [hdulist] = fits_cut(path, target, 5, memory_only=True, limit_rounding_method=method)
        firsts[method] = hdulist[1].data[0, 0]
    assert firsts == {"round": data[12, 12], "floor": data[11, 11], "ceil": data[12, 12]}


def test_exceptions_module_holds_the_same_classes():
    from astrocut import errors, exceptions

    for name in ("AstrocutError", "InvalidInputError", "InvalidQueryError", "InputWarning",
                 "DataWarning"):
        assert getattr(exceptions, name) is getattr(errors, name)
    assert issubclass(exceptions.ModuleWarning, errors.AstrocutWarning)
    assert issubclass(exceptions.TypeWarning, errors.AstrocutWarning)
    assert issubclass(exceptions.UnsupportedPythonError, errors.AstrocutError)
    assert astrocut.log is logging.getLogger("astrocut")
