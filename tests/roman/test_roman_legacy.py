"""The 1.x faces: ASDFCutout and asdf_cut, exported from astrocut by the Roman plugin."""

import io
import os
import zipfile

import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits

import astrocut
from astrocut.errors import DataWarning, InputWarning, InvalidInputError, InvalidQueryError

from roman_files import sky_at


@pytest.fixture(scope="module")
def positions(l2_file):
    inside = [SkyCoord(sky_at(l2_file, x, y), unit="deg") for x, y in ((60, 70), (180, 40))]
    return inside + [SkyCoord(sky_at(l2_file, 900, 900), unit="deg")]


def test_tables_of_every_representation(l2_file, l3_file, positions):
    with pytest.warns(DataWarning, match="does not overlap the image"):
        cutout = astrocut.ASDFCutout([l2_file, l3_file], positions, 9, lite=False)
    table = cutout.cutouts
    assert list(table.colnames) == ["file", "coordinate", "cutout"]
    assert list(table["file"]) == [l2_file, l2_file]  # the l3 mosaic is elsewhere on the sky
    for row in table:
        stamp = row["cutout"]
        (y0, y1), (x0, x1) = stamp.bbox_original
        assert stamp.data.shape == (9, 9) and (x1 - x0, y1 - y0) == (8, 8)
        decoded = np.round(stamp.data % 1000), np.round(stamp.data // 1000)
        assert (decoded[0][0, 0], decoded[1][0, 0]) == (x0, y0)
        assert stamp.wcs.pixel_shape == (9, 9)
    assert all(isinstance(h, fits.HDUList) and h[1].name == "CUTOUT"
               for h in cutout.fits_cutouts["cutout"])
    nodes = [a["roman"] for a in cutout.asdf_cutouts["cutout"]]
    assert all(node["data"].shape == (9, 9) and "dq" in node for node in nodes)


def test_selection_and_its_errors(l2_file, positions):
    with pytest.warns(DataWarning):
        cutout = astrocut.ASDFCutout(l2_file, positions, 7)
    chosen = cutout.get_cutouts(coordinates=[positions[1]])
    assert len(chosen) == 1 and chosen[0]["cutout"] is cutout.cutouts[1]["cutout"]
    assert len(list(cutout.iter_asdf_cutouts(input_files=[l2_file]))) == 2
    with pytest.raises(InvalidInputError, match="is not in the cutout results"):
        cutout.get_cutouts(input_files=["other.asdf"])
    with pytest.raises(InvalidInputError, match="Invalid coordinate string"):
        cutout.get_cutouts(coordinates=["not a position"])
    with pytest.raises(InvalidInputError, match="not a valid SkyCoord or string"):
        cutout.get_cutouts(coordinates=[12345])


def test_bad_arguments(l2_file, positions):
    with pytest.raises(InvalidInputError, match="At least one coordinate"):
        astrocut.ASDFCutout(l2_file, [], 5)
    with pytest.raises(InvalidInputError, match="Fill value must be an integer or a float"):
        astrocut.ASDFCutout(l2_file, positions[0], 5, fill_value="x")
    with pytest.raises(InvalidInputError, match="asdf_kwargs must be a dictionary"):
        astrocut.ASDFCutout(l2_file, positions[0], 5, asdf_kwargs=[1])
    with pytest.warns(DataWarning), pytest.raises(InvalidQueryError, match="no data"):
        astrocut.ASDFCutout(l2_file, positions[2], 5)


def test_asdf_cut_writes_1x_names(l2_file, positions, tmp_path):
    c = positions[0]
    paths = astrocut.asdf_cut([l2_file], c.ra.deg, c.dec.deg, 10, output_dir=tmp_path)
    assert [os.path.basename(p) for p in paths] == [
        f"wfi_l2_cal_{c.ra.deg:.7f}_{c.dec.deg:.7f}_10-x-10_lite_astrocut.asdf"]
    fits_paths = astrocut.asdf_cut([l2_file], c.ra.deg, c.dec.deg, 10, output_dir=tmp_path,
                                   output_format="fits")
    assert fits.getdata(fits_paths[0], 1).shape == (10, 10)
    table = astrocut.asdf_cut([l2_file], c.ra.deg, c.dec.deg, 10, write_file=False)
    assert table["cutout"][0].data.shape == (10, 10)
    with pytest.raises(InvalidInputError, match="Output format .invalid is not recognized"):
        astrocut.asdf_cut([l2_file], c.ra.deg, c.dec.deg, 10, output_format="invalid")


def test_zip_and_pictures(l2_file, roman_dir, positions, tmp_path):
    import shutil

    from PIL import Image

    copies = []
    for index in range(4):
        copy = roman_dir / f"copy_{index}.asdf"
        if not copy.exists():
            shutil.copy(l2_file, copy)
        copies.append(str(copy))
    cutout = astrocut.ASDFCutout(copies[:3], positions[:2], 8)
    archive = cutout.write_as_zip(output_dir=tmp_path, output_format=".fits")
    assert os.path.basename(archive) == "astrocut_fits_cutouts.zip"
    with zipfile.ZipFile(archive) as handle:
        names = handle.namelist()
        assert len(names) == 6 and all(n.endswith("_astrocut.fits") for n in names)
        with fits.open(io.BytesIO(handle.read(names[0]))) as hdulist:
            assert hdulist[1].data.shape == (8, 8)
    with pytest.raises(InvalidInputError, match="either '.asdf' or '.fits'"):
        cutout.write_as_zip(output_dir=tmp_path, output_format=".png")
    colour = cutout.write_as_img(colorize=True, output_dir=tmp_path, output_format="png")
    assert len(colour) == 2
    with Image.open(colour[0]) as picture:
        assert picture.mode == "RGB" and picture.size == (8, 8)
    grey = cutout.get_image_cutouts(input_files=copies[:1])
    assert len(grey) == 2 and np.array(grey["cutout"][0]).shape == (8, 8)
    many = astrocut.ASDFCutout(copies, positions[:1], 8)
    with pytest.warns(InputWarning, match="More than 3 cutouts"):
        assert len(many.get_image_cutouts(colorize=True)) == 1
    with pytest.warns(InputWarning, match="require 3 input images"):
        assert len(many.get_image_cutouts(colorize=True, input_files=copies[:2])) == 0
