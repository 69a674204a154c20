"""Shared fixtures for the TESS plugin tests."""

import pytest
from astrocut_tess.simulate import simulate_ffis


@pytest.fixture(scope="session")
def small_sector(tmp_path_factory):
    """Twelve simulated 80x60 SPOC FFIs (seed 42), as a ``SimulatedSector``."""
    directory = tmp_path_factory.mktemp("small_sector")
    return simulate_ffis(directory, n_ffi=12, size=(80, 60), seed=42)


# --- cutout / TPF fixtures (issue 4) -------------------------------------------------------

def stack_ffis(files, cube_file):
    """A cube in the archive layout (spec §2) from ``files``, with numpy and astropy only.

    Used while (or where) the plugin's own cube builder is unavailable; the cube builder's
    own tests check that its cubes match this layout.
    """
    import os

    import numpy as np
    from astropy.io import fits

    frames = []
    for path in files:
        with fits.open(path) as hdulist:
            frames.append((hdulist[1].header["TSTART"], path, hdulist[0].header.copy(),
                           hdulist[1].header.copy(), hdulist[1].data.copy(),
                           hdulist[2].data.copy()))
    frames.sort(key=lambda frame: frame[0])
    n_rows, n_cols = frames[0][4].shape
    cube = np.empty((n_rows, n_cols, len(frames), 2), dtype=np.float32)
    keys = {}
    for index, (_, _, _, header, flux, error) in enumerate(frames):
        cube[:, :, index, 0] = flux
        cube[:, :, index, 1] = error
        for key, value in header.items():
            if key and key not in ("COMMENT", "HISTORY") and key not in keys:
                keys[key] = value
    primary = frames[0][2]
    for key in ("CHECKSUM", "DATASUM"):
        primary.remove(key, ignore_missing=True)
    primary["TSTOP"] = frames[-1][2].get("TSTOP", frames[-1][3]["TSTOP"])
    primary["DATE-END"] = frames[-1][2].get("DATE-END", frames[-1][3].get("DATE-END", ""))
    primary["ORIGIN"] = "astrocut tests"
    columns = []
    for key, template in keys.items():
        values = [frame[3].get(key) for frame in frames]
        if isinstance(template, str):
            width = max(1, max(len(v) for v in values if isinstance(v, str)))
            array = np.array([v if isinstance(v, str) else "" for v in values], dtype=f"S{width}")
            columns.append(fits.Column(name=key, format=f"{width}A", array=array))
        elif isinstance(template, (bool, int)):
            columns.append(fits.Column(name=key, format="J", array=np.array(
                [int(v) if isinstance(v, (bool, int)) else 0 for v in values], dtype=np.int32)))
        else:
            columns.append(fits.Column(name=key, format="D", array=np.array(
                [float(v) if isinstance(v, (int, float)) else np.nan for v in values])))
    names = [os.path.basename(frame[1]) for frame in frames]
    width = max(len(name) for name in names)
    columns.append(fits.Column(name="FFI_FILE", format=f"{width}A", array=np.array(names)))
    fits.HDUList([fits.PrimaryHDU(header=primary), fits.ImageHDU(data=cube),
                  fits.BinTableHDU.from_columns(columns)]).writeto(cube_file, overwrite=True)
    return str(cube_file)


def build_test_cube(files, cube_file):
    """The plugin's cube builder when it is installed, else :func:`stack_ffis`."""
    from astrocut import CubeFactory
    from astrocut.errors import PluginError

    try:
        return CubeFactory().make_cube(files, str(cube_file), verbose=False)
    except (PluginError, ImportError, ModuleNotFoundError):
        return stack_ffis(files, cube_file)


@pytest.fixture(scope="session")
def small_cube(small_sector, tmp_path_factory):
    """Path of a cube built from ``small_sector``."""
    directory = tmp_path_factory.mktemp("small_cube")
    return build_test_cube(small_sector.files, directory / "small-s0001-1-1-cube.fits")


@pytest.fixture(scope="session")
def stack_builder():
    """``build_test_cube`` for tests that need cubes of their own FFIs."""
    return build_test_cube
