"""The 1.x classes are faces over the same hooks: their outputs equal the functions'."""

import io
import zipfile

import numpy as np
import pytest
from astropy.io import fits

import astrocut
from astrocut import (CubeFactory, CutoutsCombiner, build_default_combine_function, cube_cut,
                      fits_cut, get_center_pixel)
from astrocut.errors import DataWarning, InvalidQueryError

CENTER = "251.51 32.36"


@pytest.fixture
def cubes(ffis, tmp_path):
    first = CubeFactory().make_cube(ffis, str(tmp_path / "a-cube.fits"), verbose=False)
    second = CubeFactory().make_cube(ffis[:3], str(tmp_path / "b-cube.fits"), verbose=False)
    return [first, second]


def _same_tpf(a, b):
    for name in ("FLUX", "FLUX_ERR", "TIME"):
        np.testing.assert_array_equal(a[1].data[name], b[1].data[name])
    np.testing.assert_array_equal(a[2].data, b[2].data)
    assert a[1].header["WCS_MSEP"] == b[1].header["WCS_MSEP"]


def test_tess_cube_cutout_equals_cube_cut(cubes, tmp_path):
    from astrocut import TessCubeCutout

    cutout = TessCubeCutout(cubes, CENTER, [5, 3])
    assert [c.shape for c in cutout.cutouts] == [(4, 3, 5), (3, 3, 5)]
    assert list(cutout.cutouts_by_file) == cubes
    _same_tpf(cutout.tpf_cutouts[0], cube_cut(cubes[0], CENTER, [5, 3], memory_only=True))
    assert set(cutout.tpf_cutouts_by_file) == set(cubes)
    first = cutout.cutouts[0]
    np.testing.assert_array_equal(first.data, cutout.tpf_cutouts[0][1].data["FLUX"])
    assert first.wcs_fit["WCS_MSEP"][0] == cutout.tpf_cutouts[0][1].header["WCS_MSEP"]
    paths = cutout.write_as_tpf(str(tmp_path / "out"))
    assert len(paths) == 2
    with fits.open(paths[0]) as written:
        _same_tpf(written, cutout.tpf_cutouts[0])
    legacy = cutout.write_as_tpf(str(tmp_path / "legacy"), legacy_filenames=True)
    assert legacy[0].endswith("a_251.510000_32.360000_5x3_astrocut.fits")
    archive = cutout.write_as_zip(str(tmp_path / "z"))
    with zipfile.ZipFile(archive) as zipped:
        names = zipped.namelist()
        assert len(names) == 2
        with fits.open(io.BytesIO(zipped.read(names[0]))) as member:
            _same_tpf(member, cutout.tpf_cutouts[0])


def test_tess_cube_cutout_fill_value_and_misses(cubes):
    from astrocut import TessCubeCutout

    # A stamp hanging off the image: off-image pixels take fill_value, aperture 0.
    cutout = TessCubeCutout(cubes[0], CENTER, 60, fill_value=1.5).cutouts[0]
    off = cutout.aperture == 0
    assert off.any() and (cutout.data[:, off] == 1.5).all()
    with pytest.warns(DataWarning, match="does not overlap"), \
            pytest.raises(InvalidQueryError, match="contains no data"):
        TessCubeCutout(cubes[0], "10 10", 3)


def test_fits_cutout_equals_fits_cut(images, tmp_path):
    from astrocut import FITSCutout

    single = FITSCutout(images[:2], "150 2", 6)
    [expected] = fits_cut(images[:2], "150 2", 6, memory_only=True)
    [got] = single.fits_cutouts
    assert len(got) == len(expected) == 3
    for a, b in zip(got[1:], expected[1:]):
        np.testing.assert_array_equal(a.data, b.data)
    assert [c.shape for c in single.cutouts] == [(6, 6), (6, 6)]
    per_file = FITSCutout(images[:2], "150 2", 6, single_outfile=False)
    assert len(per_file.fits_cutouts) == 2
    paths = per_file.write_as_fits(str(tmp_path / "f"))
    expected_paths = fits_cut(images[:2], "150 2", 6, single_outfile=False,
                              output_dir=str(tmp_path / "f2"))
    assert [p.split("/")[-1] for p in paths] == [p.split("/")[-1] for p in expected_paths]
    pictures = single.get_image_cutouts(stretch="linear")
    assert [p.size for p in pictures] == [(6, 6), (6, 6)]
    flipped = single.get_image_cutouts(stretch="linear", flip_orientation=False)
    np.testing.assert_array_equal(np.asarray(flipped[0]), np.asarray(pictures[0])[::-1])
    colour = single.__class__(images[:3], "150 2", 6).write_as_img(
        colorize=True, output_format=".png", output_dir=str(tmp_path / "c"))
    assert colour.endswith("cutout_150.000000_2.000000_6-x-6_astrocut.png")
    with zipfile.ZipFile(single.write_as_zip(str(tmp_path / "z"))) as zipped:
        assert len(zipped.namelist()) == 1


def test_cutouts_combiner_means_the_pixels_with_data(images, tmp_path):
    first = fits_cut(images[:2], "150 2", 4, cutout_prefix="one", output_dir=str(tmp_path))
    second = fits_cut(images[2:], "150 2", 4, cutout_prefix="two", output_dir=str(tmp_path))
    combiner = CutoutsCombiner([first, second])
    assert len(combiner.input_hdulists) == 2 and len(combiner.input_hdulists[0]) == 2
    out = combiner.combine(str(tmp_path / "combined.fits"))
    with fits.open(out) as combined, fits.open(first) as a, fits.open(second) as b:
        np.testing.assert_allclose(combined[1].data, (a[1].data + b[1].data) / 2)
        assert combined[0].header["RA_OBJ"] == pytest.approx(150.0)
    # Pixels without data in an input are left out of its mean; none anywhere stays NaN.
    one = fits.ImageHDU(np.array([[1.0, np.nan], [np.nan, np.nan]]))
    two = fits.ImageHDU(np.array([[3.0, 5.0], [np.nan, np.nan]]))
    combine = build_default_combine_function([one, two])
    result = combine([one, two])
    assert result[0, 0] == 2.0 and result[0, 1] == 5.0 and np.isnan(result[1]).all()


def test_get_center_pixel_with_an_astropy_wcs(images):
    from astropy.wcs import WCS

    x, y = get_center_pixel(WCS(fits.getheader(images[0])), 150.0, 2.0)
    assert (x, y) == pytest.approx((14.0, 14.0))


def test_mission_names_come_from_the_plugins():
    import astrocut_generic_fits.legacy
    import astrocut_tess.legacy

    assert astrocut.TessCubeCutout is astrocut_tess.legacy.TessCubeCutout
    assert astrocut.FITSCutout is astrocut_generic_fits.legacy.FITSCutout
    assert {"TessCubeCutout", "FITSCutout"} <= set(dir(astrocut))
