"""A third-party mission drops in through its entry point, with no change to the core."""

import os
import subprocess
import sys

import numpy as np
import pytest
from astropy.io import fits

from astrocut import CubeFactory, CutoutFactory


@pytest.fixture
def toy_frames(toy_plugin, tmp_path):
    from astrocut_toymission.simulate import simulate

    paths, header = simulate(str(tmp_path), n_frames=6, shape=(40, 50))
    return paths, header


def test_cube_factory_builds_a_toy_cube_without_being_told(toy_frames, tmp_path):
    from astrocut_toymission import formats

    paths, _ = toy_frames
    cube = CubeFactory().make_cube(paths, str(tmp_path / "sky.toycube"), verbose=False)
    header, stack = formats.open_cube(cube)
    assert stack.shape == (6, 40, 50)
    times = [frame["time"] for frame in header["frames"]]
    assert times == sorted(times)
    first = min(paths, key=lambda p: formats.read_image_header(p)["time"])
    np.testing.assert_array_equal(stack[0], formats.read_image(first)[1])


def test_cutout_factory_cuts_a_toy_cube(toy_frames, tmp_path):
    paths, header = toy_frames
    cube = CubeFactory().make_cube(paths, str(tmp_path / "sky.toycube"), verbose=False)
    ra, dec = header["pointing"]
    out = CutoutFactory().cube_cut(cube, f"{ra} {dec}", [7, 5], output_path=str(tmp_path))
    assert os.path.basename(out) == f"sky.toycube_{ra!r}_{dec!r}_7x5_astrocut.fits"
    with fits.open(out) as hdulist:
        assert hdulist[0].header["TELESCOP"] == "TOY"
        flux = hdulist["FLUX"].data
        assert flux.shape == (6, 5, 7)
        # The star sits on the pointing, pixel (24, 19); the 7x5 stamp is centred on it:
        # it starts at round(24 - 3) = 21 and round(19 - 2) = 17, the star in its middle.
        assert np.unravel_index(np.argmax(flux[0]), flux[0].shape) == (2, 3)
        # The core's default WCS fitter ran on the Toy WCS (a plain TAN: a perfect fit).
        assert hdulist["FLUX"].header["WCS_MSEP"] < 1e-8
        assert np.all(np.diff(hdulist["TIME"].data["TIME"]) > 0)


def test_cli_lists_the_installed_third_party_plugin(toy_plugin_site):
    env = {**os.environ, "PYTHONPATH": toy_plugin_site}
    result = subprocess.run([sys.executable, "-m", "astrocut", "plugins"], env=env,
                            capture_output=True, text=True, check=True)
    assert "toymission  (astrocut-toymission 0.3.0)" in result.stdout
    assert "astrocut_open_cube" in result.stdout


def test_installing_the_toy_plugin_leaves_no_build_files_in_the_tree(toy_plugin_site):
    toy_source = os.path.join(os.path.dirname(__file__), os.pardir, "plugins", "toymission")
    left = [name for name in os.listdir(toy_source)
            if name == "build" or name.endswith(".egg-info")]
    assert left == []
    assert os.path.isfile(os.path.join(toy_plugin_site, "astrocut_toymission", "plugin.py"))
