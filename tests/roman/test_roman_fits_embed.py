"""FITS cutouts of Roman files embed the cutout's ASDF metadata (1.x's ASDF-in-FITS HDU)."""

import os
import shutil
import sys
import types
import warnings

import numpy as np
import pytest
from astropy.io import fits

import astrocut
from astrocut import fits_cut
from astrocut.exceptions import ModuleWarning

from roman_files import gwcs_of, sky_at


def _names(path_or_hdulist):
    if isinstance(path_or_hdulist, fits.HDUList):
        return [hdu.name for hdu in path_or_hdulist]
    with fits.open(path_or_hdulist) as hdulist:
        return [hdu.name for hdu in hdulist]


def _asdf_in_fits():
    return pytest.importorskip("stdatamodels.asdf_in_fits")


def _source_meta(path):
    import asdf

    with asdf.open(path, lazy_load=False) as handle:
        return dict(handle.tree["roman"]["meta"])


@pytest.fixture
def no_stdatamodels(monkeypatch):
    """stdatamodels made unimportable, as on a machine without it."""
    for name in [n for n in sys.modules if n.startswith("stdatamodels.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "stdatamodels", None)


def test_fits_cut_embeds_the_lite_meta_with_the_exact_gwcs(l2_file, tmp_path):
    asdf_in_fits = _asdf_in_fits()
    target = sky_at(l2_file, 70.3, 90.8)
    path = fits_cut([l2_file], target, 11, output_dir=str(tmp_path / "a"))
    assert _names(path) == ["PRIMARY", "CUTOUT", "ASDF"]
    with fits.open(path, checksum=True) as hdulist:
        header = hdulist["CUTOUT"].header
        corner = header["CUT_X0"], header["CUT_Y0"]
        assert "CHECKSUM" in hdulist["ASDF"].header
    with asdf_in_fits.open(path) as embedded:
        node = embedded["roman"]
        assert set(node) == {"meta"}
        meta = node["meta"]
        assert set(meta) == {"wcs", "orig_file", "coordinate"}
        assert meta["orig_file"] == header["ORIG_FLE"] == os.path.basename(l2_file)
        ra, dec = (float(v) for v in target.split())
        assert [float(v) for v in meta["coordinate"].split()] == pytest.approx([ra, dec], abs=1e-8)
        ys, xs = np.mgrid[0:11, 0:11].astype(float)
        written = np.array(meta["wcs"](xs, ys))
    expected = np.array(gwcs_of(l2_file)(xs + corner[0], ys + corner[1], with_bounding_box=False))
    np.testing.assert_allclose(written, expected, rtol=0, atol=1e-12)
    # The same cutout gives the same bytes, embedded tree included.
    again = fits_cut([l2_file], target, 11, output_dir=str(tmp_path / "b"))
    assert open(again, "rb").read() == open(path, "rb").read()


def test_full_asdfcutout_embeds_the_source_meta(l2_file, tmp_path):
    asdf_in_fits = _asdf_in_fits()
    source = _source_meta(l2_file)
    cutout = astrocut.ASDFCutout(l2_file, sky_at(l2_file, 120, 140), 9, lite=False)
    (path,) = cutout.write_as_fits(str(tmp_path))
    in_memory = cutout.fits_cutouts["cutout"][0]
    assert _names(path) == _names(in_memory) == ["PRIMARY", "CUTOUT", "ASDF"]
    for opened in (path, in_memory):
        with asdf_in_fits.open(opened) as embedded:
            meta = embedded["roman"]["meta"]
            assert set(meta) == set(source) | {"orig_file", "coordinate"}
            assert meta["telescope"] == source["telescope"]
            assert meta["instrument"]["name"] == source["instrument"]["name"]
            assert meta["instrument"]["detector"] == source["instrument"]["detector"]
            assert meta["filename"] == source["filename"]
            assert meta["wcsinfo"]["ra_ref"] == source["wcsinfo"]["ra_ref"]
            # The footprint is the cutout's, the WCS the cutout's 9 x 9 pixels.
            assert meta["wcsinfo"]["s_region"] != source["wcsinfo"]["s_region"]
            assert meta["wcs"].pixel_shape == (9, 9)
            assert meta["orig_file"] == os.path.basename(l2_file)


def test_several_cutouts_in_one_file_each_have_their_meta(l2_file, tmp_path):
    asdf_in_fits = _asdf_in_fits()
    copy = shutil.copy(l2_file, tmp_path / "copy_of_l2.asdf")
    target = sky_at(l2_file, 40, 50)
    path = fits_cut([l2_file, str(copy)], target, 7, output_dir=str(tmp_path))
    assert _names(path) == ["PRIMARY", "CUTOUT", "CUTOUT", "ASDF"]
    with fits.open(path) as hdulist, asdf_in_fits.open(path) as embedded:
        entries = embedded["roman"]["cutouts"]
        assert [entry["extension"] for entry in entries] == [1, 2]
        assert [entry["meta"]["orig_file"] for entry in entries] == [
            hdulist[1].header["ORIG_FLE"], hdulist[2].header["ORIG_FLE"]] == [
            os.path.basename(l2_file), "copy_of_l2.asdf"]
        assert embedded["roman"]["meta"]["orig_file"] == os.path.basename(l2_file)


def test_embedding_leaves_pixels_headers_and_wcs_unchanged(l2_file, tmp_path, monkeypatch):
    _asdf_in_fits()
    target = sky_at(l2_file, 200.6, 30.1)
    with_tree = fits_cut([l2_file], target, 12, output_dir=str(tmp_path / "with"))
    with monkeypatch.context() as patched:
        patched.setitem(sys.modules, "stdatamodels", None)
        with pytest.warns(ModuleWarning):
            without = fits_cut([l2_file], target, 12, output_dir=str(tmp_path / "without"))
    with fits.open(with_tree) as embedded, fits.open(without) as plain:
        assert len(embedded) == 3 and len(plain) == 2
        for index in (0, 1):
            assert embedded[index].header == plain[index].header  # CHECKSUM/DATASUM included
        np.testing.assert_array_equal(embedded[1].data, plain[1].data)
        assert embedded[1].data.dtype == plain[1].data.dtype


def test_without_stdatamodels_a_warning_names_the_extra(l2_file, tmp_path, no_stdatamodels):
    target = sky_at(l2_file, 90, 90)
    with pytest.warns(ModuleWarning, match=r"stdatamodels package cannot be imported.*"
                                           r"pip install 'astrocut\[roman\]'"):
        path = fits_cut([l2_file], target, 5, output_dir=str(tmp_path))
    assert _names(path) == ["PRIMARY", "CUTOUT"]
    with pytest.warns(ModuleWarning, match="cannot be imported"):
        hdulist = astrocut.ASDFCutout(l2_file, target, 5).fits_cutouts["cutout"][0]
    assert _names(hdulist) == ["PRIMARY", "CUTOUT"]
    # ASDF output never needs stdatamodels.
    with warnings.catch_warnings():
        warnings.simplefilter("error", ModuleWarning)
        astrocut.ASDFCutout(l2_file, target, 5).write_as_asdf(str(tmp_path))


def test_too_old_stdatamodels_warns_with_its_version(l2_file, tmp_path, no_stdatamodels,
                                                     monkeypatch):
    old = types.ModuleType("stdatamodels")
    old.__version__ = "4.0.2"
    monkeypatch.setitem(sys.modules, "stdatamodels", old)
    with pytest.warns(ModuleWarning, match=r"not available in the correct version "
                                           r"\(found 4\.0\.2, need >= 4\.1\).*stdatamodels>=4\.1"):
        path = fits_cut([l2_file], sky_at(l2_file, 90, 90), 5, output_dir=str(tmp_path))
    assert _names(path) == ["PRIMARY", "CUTOUT"]


def test_fits_files_of_other_images_get_no_asdf_hdu(tmp_path):
    from astropy.wcs import WCS

    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [10.0, 20.0]
    wcs.wcs.crpix = [16, 16]
    wcs.wcs.cdelt = [-1e-4, 1e-4]
    image = tmp_path / "image.fits"
    fits.PrimaryHDU(np.ones((32, 32), np.float32), header=wcs.to_header()).writeto(image)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ModuleWarning)  # nothing to embed: no warning either
        path = fits_cut([str(image)], "10 20", 5, output_dir=str(tmp_path / "out"))
    assert _names(path) == ["PRIMARY", "CUTOUT"]


def test_fits_cutout_with_its_asdf_hdu_passes_fitsverify(l2_file, tmp_path):
    import subprocess

    _asdf_in_fits()
    if shutil.which("fitsverify") is None:
        pytest.skip("fitsverify is not installed")
    path = fits_cut([l2_file], sky_at(l2_file, 10, 250), 8, output_dir=str(tmp_path))
    assert _names(path)[-1] == "ASDF"
    report = subprocess.run(["fitsverify", "-q", path], capture_output=True, text=True)
    assert report.stdout.startswith("verification OK"), report.stdout


def test_asdf_cut_and_zip_fits_outputs_embed_too(l2_file, tmp_path):
    import io
    import zipfile

    asdf_in_fits = _asdf_in_fits()
    ra, dec = (float(v) for v in sky_at(l2_file, 150, 60).split())
    (path,) = astrocut.asdf_cut([l2_file], ra, dec, 6, output_dir=str(tmp_path),
                                output_format=".fits")
    assert _names(path) == ["PRIMARY", "CUTOUT", "ASDF"]
    archive = astrocut.ASDFCutout(l2_file, f"{ra} {dec}", 6).write_as_zip(
        str(tmp_path), output_format=".fits")
    with zipfile.ZipFile(archive) as zipped:
        (name,) = zipped.namelist()
        with fits.open(io.BytesIO(zipped.read(name))) as hdulist:
            assert _names(hdulist) == ["PRIMARY", "CUTOUT", "ASDF"]
            with asdf_in_fits.open(hdulist) as embedded:
                assert embedded["roman"]["meta"]["wcs"].pixel_shape == (6, 6)
