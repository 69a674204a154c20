"""img_cut: PNG/JPG files, sizes, orientation, colour, names and bad input."""

import json
import os

import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.wcs import WCS
from PIL import Image

from astrocut import fits_cut, img_cut, normalize_img
from astrocut.errors import InvalidInputError, InvalidQueryError


def open_picture(path):
    with Image.open(path) as picture:
        picture.load()
        return picture.format, picture.mode, picture.size, np.asarray(picture)


@pytest.mark.parametrize("img_format, pil_format", [("png", "PNG"), ("jpg", "JPEG"),
                                                    (".JPEG", "JPEG")])
def test_one_picture_per_input(hst_field, tmp_path, img_format, pil_format):
    coord = hst_field.marker
    paths = img_cut([hst_field.f606w, hst_field.f814w], coord, [200, 300],
                    img_format=img_format, output_dir=str(tmp_path))
    suffix = "png" if img_format == "png" else "jpg"
    assert [os.path.basename(p) for p in paths] == [
        f"hlsp_sim_hst_acs_field_{f}_v1.0_drz_{coord.ra.deg:.6f}_{coord.dec.deg:.6f}_"
        f"200-x-300_astrocut.{suffix}" for f in ("f606w", "f814w")]
    for path in paths:
        kind, mode, size, _ = open_picture(path)
        assert (kind, mode, size) == (pil_format, "L", (200, 300))


def test_png_is_the_flipped_normalised_cutout(hst_field, tmp_path):
    """Default scaling is the 0.5-99.5 percentile interval, asinh; row 0 at the bottom."""
    [png] = img_cut(hst_field.f606w, hst_field.marker, [64, 48], img_format="png",
                    output_dir=str(tmp_path))
    [hdulist] = fits_cut(hst_field.f606w, hst_field.marker, [64, 48], memory_only=True)
    expected = normalize_img(hdulist[1].data, "asinh", minmax_percent=[0.5, 99.5])
    _, _, _, pixels = open_picture(png)
    np.testing.assert_array_equal(pixels, expected[::-1])
    [png] = img_cut(hst_field.f606w, hst_field.marker, [64, 48], img_format="png",
                    stretch="log", minmax_value=[0.0, 1.0], invert=True,
                    output_dir=str(tmp_path))
    expected = normalize_img(hdulist[1].data, "log", minmax_value=[0, 1], invert=True)
    np.testing.assert_array_equal(open_picture(png)[3], expected[::-1])


def test_orientation_first_row_at_the_bottom_north_up(small_images, tmp_path):
    """The bright block in the first data rows (south) is at the picture's bottom."""
    data = small_images.oriented_data
    with fits.open(small_images.oriented) as hdulist:
        wcs = WCS(hdulist[0].header)
    ra, dec = wcs.all_pix2world([[20.2, 30.2]], 0)[0]  # the whole 40x60 image
    [png] = img_cut(small_images.oriented, SkyCoord(ra, dec, unit="deg"), [40, 60],
                    img_format="png", minmax_value=[0, 1000], stretch="linear",
                    output_dir=str(tmp_path))
    _, _, size, pixels = open_picture(png)
    assert size == (40, 60)
    # Data rows 2..6, columns 5..9 hold 1000: picture rows 53..57 (bottom), same columns.
    bright = np.argwhere(pixels == 255)
    assert bright[:, 0].min() == 60 - 7 and bright[:, 0].max() == 60 - 3
    assert bright[:, 1].min() == 5 and bright[:, 1].max() == 9
    # North (higher declination, the last data rows) is up in the picture.
    top, bottom = wcs.all_pix2world([[20, 57], [20, 2]], 0)
    assert top[1] > bottom[1]
    assert pixels[2:7, 30:35].min() == int(255 * 100 / 1000)  # the dimmer, northern block
    assert data[-7:-2, -10:-5].min() == 100


def test_jpg_orientation(small_images, tmp_path):
    with fits.open(small_images.oriented) as hdulist:
        ra, dec = WCS(hdulist[0].header).all_pix2world([[20.2, 30.2]], 0)[0]
    [jpg] = img_cut(small_images.oriented, SkyCoord(ra, dec, unit="deg"), [40, 60],
                    minmax_value=[0, 1000], stretch="linear", output_dir=str(tmp_path))
    kind, mode, size, pixels = open_picture(jpg)
    assert (kind, mode, size) == ("JPEG", "L", (40, 60))
    assert pixels[53:58, 5:10].mean() > 200  # lossy, but clearly bright at the bottom
    assert pixels[2:7, 5:10].mean() < 60


def test_colour_picture(small_images, tmp_path):
    coord = SkyCoord(30.0, -20.0, unit="deg")
    path = img_cut(small_images.rgb, coord, [90, 80], colorize=True, img_format="png",
                   output_dir=str(tmp_path))
    assert os.path.basename(path) == "cutout_30.000000_-20.000000_90-x-80_astrocut.png"
    kind, mode, size, pixels = open_picture(path)
    assert (kind, mode, size) == ("PNG", "RGB", (90, 80))
    [hdulist] = fits_cut(small_images.rgb, coord, [90, 80], memory_only=True)
    for channel in range(3):  # red, green, blue in input order
        expected = normalize_img(hdulist[channel + 1].data, minmax_percent=[0.5, 99.5])
        np.testing.assert_array_equal(pixels[:, :, channel], expected[::-1])
    with Image.open(path) as picture:
        assert json.loads(picture.info["input_files"]) == small_images.rgb


def test_colour_jpg_default_name(small_images, tmp_path):
    path = img_cut(small_images.rgb, "30 -20", 50, colorize=True, output_dir=str(tmp_path),
                   cutout_prefix="rgb")
    assert os.path.basename(path) == "rgb_30.000000_-20.000000_50-x-50_astrocut.jpg"
    assert open_picture(path)[:3] == ("JPEG", "RGB", (50, 50))


def test_colorize_needs_three_inputs(small_images, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(InvalidInputError, match="three"):
        img_cut(small_images.rgb[:2], "30 -20", 20, colorize=True, output_dir=str(out))
    with pytest.warns(UserWarning), pytest.raises(InvalidQueryError, match="three"):
        img_cut(small_images.rgb[:2] + [small_images.sip], "30 -20", 20, colorize=True,
                output_dir=str(out))
    assert not out.exists()
    # More than three: the first three are used, with a warning (as in 1.x): tests/compat.


@pytest.mark.parametrize("kwargs, match", [
    (dict(stretch="gamma"), "stretch"),
    (dict(minmax_percent=[99, 1]), "minmax_percent"),
    (dict(minmax_percent=[-1, 50]), "minmax_percent"),
    (dict(minmax_percent=[10, 101]), "minmax_percent"),
    (dict(minmax_value=[5, 5]), "minmax_value"),
    (dict(minmax_value=[3, 1]), "minmax_value"),
    (dict(minmax_value=["a", 1]), "minmax_value"),
    (dict(img_format="gif"), "img_format"),
])
def test_bad_scaling_and_format(small_images, tmp_path, kwargs, match):
    out = tmp_path / "out"
    with pytest.raises(InvalidInputError, match=match):
        img_cut(small_images.rgb[0], "30 -20", 20, output_dir=str(out), **kwargs)
    assert not out.exists()


def test_several_extensions_of_one_input_get_apart_names(small_images, tmp_path):
    paths = img_cut(small_images.multi, "30 -20", 20, extension=[2, 3], img_format="png",
                    output_dir=str(tmp_path))
    assert len(set(paths)) == 2 and all(os.path.exists(p) for p in paths)
    assert "_ext2_" in paths[0] and "_ext3_" in paths[1]
