"""Cutting Roman ASDF images through the plugin: placement, arrays, the cutout's GWCS."""

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from astrocut import fits_cut, img_cut
from astrocut.errors import InvalidQueryError
from astrocut.geometry import parse_coordinates, parse_cutout_size

from roman_files import gwcs_of, sky_at


def cut(path, coordinates, size, fill_value=np.nan):
    from astrocut_roman.cutter import cut_file

    return cut_file(path, parse_coordinates(coordinates), parse_cutout_size(size), fill_value)


def original_pixels(cutout):
    """The original pixel each cutout pixel came from, decoded from the test image."""
    code = cutout.arrays["data"]
    return np.round(code % 1000), np.round(code // 1000)


@pytest.mark.parametrize("x, y, size", [(100.2, 50.7, 15), (3.2, 250.7, 21), (128, 128, [31, 9])])
def test_cutout_gwcs_equals_original_at_every_pixel(l2_file, x, y, size):
    cutout = cut(l2_file, sky_at(l2_file, x, y), size)
    original = gwcs_of(l2_file)
    ny, nx = cutout.shape
    ys, xs = np.mgrid[0:ny, 0:nx].astype(float)
    ra, dec = cutout.gwcs(xs, ys)
    ra0, dec0 = original(xs + cutout.corner[0], ys + cutout.corner[1], with_bounding_box=False)
    inside = (xs + cutout.corner[0] >= 0) & (xs + cutout.corner[0] <= 255) & \
             (ys + cutout.corner[1] >= 0) & (ys + cutout.corner[1] <= 255)
    np.testing.assert_allclose(ra[inside], ra0[inside], rtol=0, atol=1e-12)
    np.testing.assert_allclose(dec[inside], dec0[inside], rtol=0, atol=1e-12)
    # The stamp's pixels are the original's pixels at those positions.
    px, py = original_pixels(cutout)
    finite = np.isfinite(cutout.data)
    np.testing.assert_array_equal(px[finite], (xs + cutout.corner[0])[finite])
    np.testing.assert_array_equal(py[finite], (ys + cutout.corner[1])[finite])
    # Inverse of the cutout GWCS gives cutout pixels back.
    back_x, back_y = cutout.gwcs.invert(ra[ny // 2, nx // 2], dec[ny // 2, nx // 2])
    assert abs(back_x - nx // 2) < 1e-3 and abs(back_y - ny // 2) < 1e-3


def test_bounding_box_is_in_x_y_order(l2_file):
    cutout = cut(l2_file, sky_at(l2_file, 128, 128), [31, 9])  # 31 columns, 9 rows
    box = cutout.gwcs.bounding_box
    (x_low, x_high), (y_low, y_high) = box.bounding_box(order="F")
    assert (x_low, x_high) == (-0.5, 30.5) and (y_low, y_high) == (-0.5, 8.5)
    assert cutout.gwcs.pixel_shape == (31, 9) and cutout.gwcs.array_shape == (9, 31)
    assert np.isfinite(cutout.gwcs(30, 0)[0])
    assert np.isnan(cutout.gwcs(0, 30)[0])  # row 30 is outside a 9-row stamp


def test_stamp_placed_by_the_core_rule(l2_file):
    from astrocut.geometry import stamp_corner

    # ASDF and FITS stamps follow one placement rule: the core's, applied to the GWCS pixel.
    cutout = cut(l2_file, sky_at(l2_file, 140.3, 60.6), 11)
    assert cutout.corner == (stamp_corner(140.3, 11), stamp_corner(60.6, 11))
    px, py = original_pixels(cutout)
    assert (px[0, 0], py[0, 0]) == cutout.corner


def test_partly_off_image_is_padded(l2_file):
    cutout = cut(l2_file, sky_at(l2_file, 2.0, 253.0), 11)
    assert cutout.shape == (11, 11)
    assert np.isnan(cutout.arrays["data"][:, :3]).all()
    assert cutout.corner == (-3, 248)  # rows 256-258 and columns -3..-1 are off the image
    assert np.isnan(cutout.arrays["data"][-3:, :]).all()
    assert (cutout.arrays["dq"][:, :3] == 0).all()  # an integer array cannot hold NaN
    assert np.isfinite(cutout.arrays["data"][:-3, 3:]).all()
    assert cutout.arrays["err"].dtype == gwcs_dtype(cutout, "err")


def gwcs_dtype(cutout, name):
    return cutout.arrays[name].dtype


def test_wholly_off_image_is_an_error(l2_file, tmp_path):
    far = sky_at(l2_file, 600.0, 128.0)
    with pytest.raises(InvalidQueryError, match="has no pixel on"):
        cut(l2_file, far, 11)
    with pytest.warns(UserWarning), pytest.raises(InvalidQueryError, match="overlaps none"):
        fits_cut([l2_file], far, 11, output_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_every_aligned_array_is_cut(l2_file):
    import roman_datamodels.datamodels as dm

    cutout = cut(l2_file, sky_at(l2_file, 100, 100), 9)
    (x0, y0) = cutout.corner
    with dm.open(l2_file) as model:
        for name in ("data", "err", "dq", "var_poisson"):
            np.testing.assert_array_equal(cutout.arrays[name],
                                          np.asarray(model[name])[y0:y0 + 9, x0:x0 + 9])


def test_fits_output_reports_wcs_error(l2_file, tmp_path):
    path = fits_cut([l2_file], sky_at(l2_file, 30.0, 220.0), 25, output_dir=tmp_path)
    with fits.open(path) as hdulist:
        header = hdulist[1].header
        data = hdulist[1].data
    assert data.shape == (25, 25)
    assert header["ORIG_FLE"] == "wfi_l2_cal.asdf"
    assert header["TELESCOP"] == "ROMAN"
    wcs = WCS(header)
    # The fit is within the tolerance it reports, against the GWCS, at every pixel.
    cutout = cut(l2_file, sky_at(l2_file, 30.0, 220.0), 25)
    ys, xs = np.mgrid[0:25, 0:25].astype(float)
    ra, dec = cutout.gwcs(xs, ys)
    fit_ra, fit_dec = wcs.all_pix2world(xs, ys, 0)
    from astropy.coordinates import angular_separation

    sep = np.degrees(angular_separation(*np.radians([ra, dec, fit_ra, fit_dec])))
    assert header["WCS_MSEP"] == pytest.approx(sep.max(), rel=1e-6, abs=1e-15)
    assert header["WCS_MSEP"] < 0.01 * 0.11 / 3600  # under a hundredth of a pixel
    assert header["CTYPE1"].startswith("RA---TAN")


def test_linear_gwcs_gives_plain_tan(l3_file, tmp_path):
    path = fits_cut([l3_file], sky_at(l3_file, 120, 100), 15, output_dir=tmp_path)
    header = fits.getheader(path, 1)
    assert "A_ORDER" not in header
    assert header["WCS_MSEP"] < 1e-10


def test_level3_mosaic(l3_file):
    cutout = cut(l3_file, sky_at(l3_file, 10.0, 190.0), 7)
    assert cutout.level == "l3"
    px, py = original_pixels(cutout)
    assert (px[0, 0], py[0, 0]) == cutout.corner
    assert cutout.gwcs(10.0 - cutout.corner[0], 190.0 - cutout.corner[1]) == pytest.approx(
        gwcs_of(l3_file)(10.0, 190.0), abs=1e-12)


def test_plain_tree_with_quantity_data(plain_file):
    cutout = cut(plain_file, sky_at(plain_file, 50, 60), 5)
    assert cutout.level is None and cutout.node_class is None
    assert cutout.data.dtype == np.float64
    px, py = original_pixels(cutout)
    assert (px[0, 0], py[0, 0]) == cutout.corner


def test_img_cut_on_asdf(l2_file, tmp_path):
    from PIL import Image

    paths = img_cut([l2_file], sky_at(l2_file, 100, 100), 20, output_dir=tmp_path, img_format="png")
    assert len(paths) == 1
    with Image.open(paths[0]) as picture:
        assert picture.size == (20, 20)


def test_angular_size_uses_gwcs_scale(l2_file):
    import astropy.units as u

    cutout = cut(l2_file, sky_at(l2_file, 128, 128), 2.2 * u.arcsec)
    assert cutout.shape == (20, 20)  # 2.2" at 0.11"/px


def test_many_targets_on_asdf(l2_file, tmp_path):
    from astrocut import fits_cut_many

    targets = [sky_at(l2_file, 50, 50), sky_at(l2_file, 100, 120), sky_at(l2_file, 900, 3)]
    result = fits_cut_many([l2_file], targets, 9, output_dir=str(tmp_path), verbose=False)
    assert list(result["status"]) == ["ok", "ok", "error"]
    assert "overlaps none" in result["message"][2]
    for row in result[:2]:
        with fits.open(row["path"]) as hdulist:
            assert hdulist[1].data.shape == (9, 9)
            assert hdulist[1].header["ORIG_FLE"] == "wfi_l2_cal.asdf"
