"""Session fixtures of the robustness suite: small simulated sectors, a cube, a generic image,
and the damaged inputs of the bad-input corpus.

Everything here is small (FFIs of 64x48) so the whole suite stays fast; the crash tests make
their own, larger inputs.
"""

import os
import types

import pytest
from astrocut_tess.simulate import simulate_ffis

import robustness_helpers as H

SECTOR_SIZE = (64, 48)  # (columns, rows)
N_FFI = 6
SEED = 7
START = 1325.30
CADENCE_DAYS = 30.0 / 1440.0


@pytest.fixture(scope="session")
def sector(tmp_path_factory):
    """Six simulated 64x48 SPOC FFIs (sector 1, camera 1, CCD 1)."""
    return simulate_ffis(tmp_path_factory.mktemp("sector"), n_ffi=N_FFI, size=SECTOR_SIZE,
                         seed=SEED, start_btjd=START)


@pytest.fixture(scope="session")
def later_ffis(tmp_path_factory):
    """Three more FFIs of the same sector, after the six of ``sector`` (for update_cube)."""
    return simulate_ffis(tmp_path_factory.mktemp("later"), n_ffi=3, size=SECTOR_SIZE,
                         seed=SEED, start_btjd=START + N_FFI * CADENCE_DAYS).files


@pytest.fixture(scope="session")
def cube(sector, tmp_path_factory):
    """A cube of ``sector`` (read-only for the tests: copy it before changing it)."""
    from astrocut import CubeFactory

    path = CubeFactory().make_cube(sector.files, str(tmp_path_factory.mktemp("cube") /
                                                     "s1-cube.fits"), verbose=False)
    os.chmod(path, 0o444)
    return types.SimpleNamespace(path=path)


@pytest.fixture(scope="session")
def image(tmp_path_factory):
    """A generic 100x80 FITS image (HDU 1, TAN WCS) and its WCS."""
    path = H.write_image(tmp_path_factory.mktemp("image") / "field_drz.fits")
    return types.SimpleNamespace(path=path, wcs=H.wcs_of(path), data=H.image_data())


@pytest.fixture(scope="session")
def bad(sector, cube, image, tmp_path_factory):
    """Every damaged input of the corpus, by name (all small files in one directory)."""
    d = tmp_path_factory.mktemp("bad")
    good = sector.files[0]
    b = types.SimpleNamespace()
    b.dir = str(d)
    # -- not FITS at all
    b.text = H.write_text(d / "notes.fits")
    b.empty = H.write_empty(d / "empty.fits")
    b.header_only = H.write_header_only(d / "header_only.fits")
    b.tess_header_only = H.write_header_only(d / "tess_header_only.fits", telescope="TESS")
    # -- FFIs
    b.ffi_truncated = H.truncate(good, d / "truncated_ffic.fits", 0.5)
    b.ffi_truncated_header = H.truncate_at(good, d / "truncated_header_ffic.fits", 1000)
    b.ffi_no_tstart = H.edit_ffi(sector.files[1], d / "no_tstart_ffic.fits",
                                 drop_keys=("TSTART",))
    b.ffi_no_uncert = H.edit_ffi(sector.files[1], d / "no_uncert_ffic.fits", drop_hdu=2)
    mixed = {
        "shape": dict(size=(72, 48)),
        "sector": dict(sector=2),
        "camera": dict(camera=2),
        "ccd": dict(ccd=2),
    }
    for name, kwargs in mixed.items():
        options = dict(n_ffi=1, size=SECTOR_SIZE, seed=SEED, start_btjd=START + 0.5)
        options.update(kwargs)
        files = simulate_ffis(d / f"mixed_{name}", **options).files
        setattr(b, f"ffi_mixed_{name}", files[0])
    # -- cubes
    b.cube_truncated_data = H.truncate(cube.path, d / "truncated_data-cube.fits", 0.5)
    offsets = H.hdu_offsets(cube.path)
    table_header, table_data, table_size = offsets[2]
    b.cube_truncated_table = H.truncate_at(cube.path, d / "truncated_table-cube.fits",
                                           table_data + table_size // 2)
    b.cube_no_table = H.truncate_at(cube.path, d / "no_table-cube.fits", table_header)
    b.cube_no_tstart = H.edit_cube_table(cube.path, d / "no_tstart-cube.fits",
                                         drop_columns=("TSTART",))
    b.cube_no_wcs_rows = H.edit_cube_table(cube.path, d / "no_wcs_rows-cube.fits",
                                           blank_ctype2=True)
    # -- generic images
    header = H.image_wcs_header()
    for key in list(header):
        if key.startswith(("CTYPE", "CRVAL", "CRPIX", "CD", "CUNIT", "WCSAXES", "RADESYS")):
            del header[key]
    b.image_no_wcs = H.write_image(d / "no_wcs.fits", header=header)
    header = H.image_wcs_header()
    header["CRVAL1"] = -777.25  # patched to NaN below: astropy refuses to write NaN cards
    header["CRVAL2"] = -777.25
    b.image_nan_wcs = H.write_image(d / "nan_wcs.fits", header=header)
    H.patch_bytes(b.image_nan_wcs, b"%20s" % b"-777.25", b"%20s" % b"NaN")
    b.image_truncated = H.truncate(image.path, d / "truncated_drz.fits", 0.6)
    import numpy as np

    header = H.image_wcs_header()
    b.image_3d = H.write_image(d / "cube3d.fits", header=header,
                               data=np.zeros((3,) + H.IMAGE_SHAPE, dtype=np.float32))
    # -- plain files used as a "directory"
    b.a_file = H.write_text(d / "a_file.txt", "I am a file, not a directory\n")
    return b
