"""ASDF output (lite and full), the plugin's discovery and the core's neutrality."""

import os
import subprocess
import sys

import numpy as np
import pytest

from astrocut.dispatch import write_cutouts
from astrocut.geometry import parse_coordinates, parse_cutout_size

from roman_files import gwcs_of, sky_at


def cut(path, coordinates, size):
    from astrocut_roman.cutter import cut_file

    return cut_file(path, parse_coordinates(coordinates), parse_cutout_size(size))


def every_pixel_world(wcs, shape):
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]].astype(float)
    return np.array(wcs(xs, ys))


def test_lite_asdf_keeps_data_and_exact_gwcs(l2_file, tmp_path):
    import asdf

    cutout = cut(l2_file, sky_at(l2_file, 60.5, 200.2), 13)
    path = write_cutouts([cutout], "asdf", tmp_path / "lite.asdf")
    with asdf.open(path, lazy_load=False) as handle:
        node = handle.tree["roman"]
        assert set(node) == {"meta", "data"}
        assert node["meta"]["orig_file"] == l2_file
        np.testing.assert_array_equal(node["data"], cutout.data)
        written = every_pixel_world(node["meta"]["wcs"], cutout.shape)
    x0, y0 = cutout.corner
    ys, xs = np.mgrid[0:13, 0:13].astype(float)
    expected = np.array(gwcs_of(l2_file)(xs + x0, ys + y0, with_bounding_box=False))
    np.testing.assert_allclose(written, expected, rtol=0, atol=1e-12)


def test_full_asdf_is_a_valid_roman_model(l2_file, tmp_path):
    import roman_datamodels.datamodels as dm

    cutout = cut(l2_file, sky_at(l2_file, 100, 120), 9)
    path = write_cutouts([cutout], "asdf", tmp_path / "full.asdf", {"lite": False})
    with dm.open(path) as model, dm.open(l2_file) as original:
        assert isinstance(model, dm.ImageModel)
        model.validate()
        x0, y0 = cutout.corner
        for name in ("data", "err", "dq", "var_poisson", "chisq"):
            np.testing.assert_array_equal(np.asarray(model[name]),
                                          np.asarray(original[name])[y0:y0 + 9, x0:x0 + 9])
        assert model.meta.filename == "full.asdf"
        assert model.meta.instrument.name == original.meta.instrument.name
        region = model.meta.wcsinfo.s_region
        assert region.startswith("POLYGON ICRS ") and region != original.meta.wcsinfo.s_region
        corners = np.array(region.split()[2:], float).reshape(4, 2)
        footprint = np.array(cutout.gwcs.footprint(axis_type="spatial"))
        np.testing.assert_allclose(corners, footprint, atol=1e-8)


def test_full_mosaic_is_a_valid_mosaic_model(l3_file, tmp_path):
    import roman_datamodels.datamodels as dm

    cutout = cut(l3_file, sky_at(l3_file, 20, 30), 11)
    path = write_cutouts([cutout], "asdf", tmp_path / "mosaic.asdf", {"lite": False})
    with dm.open(path) as model:
        assert isinstance(model, dm.MosaicModel)
        assert model.data.shape == (11, 11)


def test_plugin_found_through_entry_point():
    from astrocut.plugins import get_plugin_manager

    names = [name for name, plugin in get_plugin_manager().list_name_plugin() if plugin]
    assert "roman" in names


def _run(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=os.path.dirname(__file__))


def test_import_astrocut_never_imports_asdf():
    result = _run("import sys, astrocut; astrocut.get_plugin_manager(); "
                  "print('asdf' in sys.modules, 'gwcs' in sys.modules)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]


def test_missing_asdf_is_one_line_naming_the_extra(l2_file):
    # astropy.table imports asdf-astropy when it is installed: tell it it is not.
    code = ("import sys\n"
            "import astropy.utils.compat.optional_deps as deps\n"
            "deps.HAS_ASDF_ASTROPY = False\n"
            "sys.modules['asdf'] = None\n"
            "from astrocut import fits_cut\n"
            "from astrocut.errors import InvalidInputError\n"
            "try:\n"
            f"    fits_cut([{l2_file!r}], '80 -30', 5, memory_only=True)\n"
            "except InvalidInputError as exc:\n"
            "    print('ERR', exc)\n")
    result = _run(code)
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip()
    assert line.startswith("ERR") and "\n" not in line
    assert "astrocut[roman]" in line


def test_core_holds_no_roman_word():
    import astrocut

    root = os.path.dirname(astrocut.__file__)
    for name in os.listdir(root):
        if name.endswith(".py"):
            with open(os.path.join(root, name)) as handle:
                text = handle.read().lower()
            assert "roman" not in text and "asdf" not in text, name


def test_full_mosaic_updates_its_grid_fields(roman_dir):
    import asdf

    import roman_files
    from astrocut_roman.writer import full_node

    path = roman_dir / "grid_mosaic.asdf"
    shape = (100, 120)
    gwcs = roman_files.l3_gwcs(shape, 30.0, 45.0)
    ra_ref, dec_ref = gwcs(59.5, 49.5)
    wcsinfo = {"ra_ref": float(ra_ref), "dec_ref": float(dec_ref), "x_ref": 59.5,
               "y_ref": 49.5, "image_shape": list(shape), "pixel_scale": -1.0,
               "orientation": -1.0, "ra": -1.0, "dec": -1.0, "projection": "TAN",
               "skycell_name": "030p45x00y00", "s_region": "POLYGON ICRS 0 0 0 1 1 1 1 0"}
    asdf.AsdfFile({"roman": {"meta": {"wcs": gwcs, "wcsinfo": wcsinfo},
                             "data": roman_files.position_coded(shape)}}).write_to(path)
    cutout = cut(str(path), sky_at(str(path), 40.0, 60.0), [12, 8])
    info = full_node(cutout, "out.asdf")["meta"]["wcsinfo"]
    assert info["projection"] == "TAN" and info["skycell_name"] == "030p45x00y00"
    assert info["image_shape"] == [8, 12]
    x0, y0 = cutout.corner
    assert info["x_ref"] == pytest.approx(59.5 - x0, abs=1e-6)
    assert info["y_ref"] == pytest.approx(49.5 - y0, abs=1e-6)
    assert info["pixel_scale"] == pytest.approx(roman_files.PIXEL_SCALE_DEG, rel=1e-4)
    assert (info["orientation"] + 180) % 360 - 180 == pytest.approx(0.0, abs=1e-2)  # +y is north
    assert (info["ra"], info["dec"]) == pytest.approx(cutout.gwcs(5.5, 3.5), abs=1e-12)
