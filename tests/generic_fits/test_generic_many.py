"""fits_cut over many positions (issue 6), serially and on a process pool."""

import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from astrocut import InvalidInputError, fits_cut, fits_cut_many


def test_fits_cut_many_equals_fits_cut_per_target(small_images, tmp_path):
    center = small_images.tan_center
    offsets = [0.0, 0.01, -0.01]
    targets = Table({"name": ["a", "b", "c"],
                     "ra": [center.ra.deg + o for o in offsets],
                     "dec": [center.dec.deg] * 3})
    serial = fits_cut_many(small_images.multi, targets, cutout_size=[12, 8],
                           output_dir=str(tmp_path / "serial"), verbose=False)
    assert list(serial["status"]) == ["ok"] * 3
    with ProcessPoolExecutor(2) as pool:
        pooled = fits_cut_many(small_images.multi, targets, cutout_size=[12, 8],
                               output_dir=str(tmp_path / "pool"), executor=pool, verbose=False)
    for row, other in zip(serial, pooled):
        single = fits_cut(small_images.multi, f"{row['ra']} {row['dec']}", [12, 8],
                          output_dir=str(tmp_path / "single"))
        assert os.path.basename(single) == os.path.basename(row["path"])
        with fits.open(single) as a, fits.open(row["path"]) as b:
            np.testing.assert_array_equal(a[1].data, b[1].data)
            assert a[1].data.shape == (8, 12)
        assert open(row["path"], "rb").read() == open(other["path"], "rb").read()


def test_fits_cut_many_reports_each_bad_target(small_images, tmp_path):
    center = small_images.tan_center
    targets = [center, "10 80", "garbage"]
    result = fits_cut_many(small_images.multi, targets, cutout_size=5,
                           output_dir=str(tmp_path), verbose=False)
    assert list(result["status"]) == ["ok", "error", "error"]
    assert result["message"][1] and "coordinates" in result["message"][2]
    assert os.listdir(tmp_path) == [os.path.basename(result["path"][0])]


@pytest.mark.parametrize("input_files, match", [
    (123, "input_files must be a file path"),
    ([], "input_files is empty"),
    (["no-such-image.fits"], "does not exist"),
])
def test_fits_cut_many_checks_input_files_first(small_images, tmp_path, input_files, match):
    with pytest.raises(InvalidInputError, match=match):
        fits_cut_many(input_files, [small_images.tan_center], cutout_size=5,
                      output_dir=str(tmp_path / "out"), verbose=False)
    assert not (tmp_path / "out").exists()
