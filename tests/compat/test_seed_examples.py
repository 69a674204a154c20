"""The seed documentation's examples run as written, on local files."""

import os

import numpy as np
from astropy.coordinates import SkyCoord
from astropy.io import fits
from PIL import Image

from astrocut import CubeFactory, CutoutFactory, fits_cut, img_cut


def test_make_cube_then_cube_cut_as_documented(ffis, capsys):
    input_files = ffis
    my_cubes = CubeFactory()
    cube_file = my_cubes.make_cube(input_files)
    assert cube_file == "img-cube.fits" and os.path.exists(cube_file)
    capsys.readouterr()

    my_cutter = CutoutFactory()
    cutout_file = my_cutter.cube_cut(cube_file, "251.51 32.36", 5, verbose=True)
    out = capsys.readouterr().out
    assert "Cutout center coordinate: 251.51,32.36" in out
    assert "Image cutout cube shape: (4, 5, 5)" in out
    assert f"Target pixel file: {cutout_file}" in out
    assert os.path.basename(cutout_file) == "img_251.51_32.36_5x5_astrocut.fits"
    with fits.open(cutout_file) as cutout_hdu:
        assert [hdu.name for hdu in cutout_hdu] == ["PRIMARY", "PIXELS", "APERTURE"]
        assert cutout_hdu[1].data["FLUX"].shape == (4, 5, 5)
        assert cutout_hdu[2].data.shape == (5, 5)


def test_fits_cut_single_outfile_as_documented(images):
    input_files = images[:2]
    center_coord = SkyCoord("150.0 2.0", unit="deg")
    cutout_size = [20, 10]
    cutout_file = fits_cut(input_files, center_coord, cutout_size, drop_after="",
                           single_outfile=True)
    assert cutout_file == "./cutout_150.000000_2.000000_20-x-10_astrocut.fits"
    with fits.open(cutout_file) as cutout_hdulist:
        assert [hdu.name for hdu in cutout_hdulist] == ["PRIMARY", "CUTOUT", "CUTOUT"]
        assert cutout_hdulist[1].data.shape == (10, 20)
        with fits.open(input_files[0]) as original:
            # 20 columns by 10 rows around 0-based pixel (14, 14).
            np.testing.assert_array_equal(cutout_hdulist[1].data, original[0].data[9:19, 4:24])


def test_img_cut_png_and_colorize_as_documented(images):
    center_coord = SkyCoord("150.0 2.0", unit="deg")
    png_files = img_cut(images[:2], center_coord, [20, 10], img_format="png", drop_after="")
    assert [os.path.basename(p) for p in png_files] == [
        "band0_150.000000_2.000000_20-x-10_astrocut.png",
        "band1_150.000000_2.000000_20-x-10_astrocut.png"]
    with Image.open(png_files[0]) as picture:
        assert picture.size == (20, 10) and picture.mode == "L"
    color_image = img_cut(images[:3], center_coord, 10, colorize=True)
    assert color_image == "./cutout_150.000000_2.000000_10-x-10_astrocut.jpg"
    with Image.open(color_image) as picture:
        assert picture.size == (10, 10) and picture.mode == "RGB"
