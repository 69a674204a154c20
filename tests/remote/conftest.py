"""Fixtures for the remote-read tests: real servers on 127.0.0.1 and small sample files.

Every test here needs the optional ``remote`` extra (fsspec, aiohttp, s3fs) and skips
cleanly without it; the S3 tests also need moto's server and boto3.
"""

import numpy as np
import pytest

pytest.importorskip("fsspec")
pytest.importorskip("aiohttp")

from astropy.io import fits  # noqa: E402

from astrocut import remote  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts without cached headers, so what it counts is its own."""
    remote.cache.clear()
    yield
    remote.cache.clear()


@pytest.fixture
def http_server():
    from servers import RangeServer

    with RangeServer() as server:
        yield server


@pytest.fixture(scope="session")
def moto_endpoint():
    pytest.importorskip("s3fs")
    pytest.importorskip("boto3")
    pytest.importorskip("moto.server")
    from servers import start_moto

    server, endpoint = start_moto()
    yield endpoint
    server.stop()


def tan_header(shape, center=(30.0, -20.0), scale_arcsec=1.0):
    header = fits.Header()
    ny, nx = shape
    header.update(CTYPE1="RA---TAN", CTYPE2="DEC--TAN", CRVAL1=center[0], CRVAL2=center[1],
                  CRPIX1=nx / 2 + 0.5, CRPIX2=ny / 2 + 0.5, CUNIT1="deg", CUNIT2="deg",
                  CD1_1=-scale_arcsec / 3600, CD1_2=0.0, CD2_1=0.0, CD2_2=scale_arcsec / 3600)
    return header


@pytest.fixture(scope="session")
def images(tmp_path_factory):
    """Four 300x400 images of one sky region: plain float32, int16 with BLANK, scaled
    int16 (BSCALE/BZERO) and tile-compressed; ``{kind: path}``."""
    directory = tmp_path_factory.mktemp("remote_images")
    shape = (300, 400)
    rng = np.random.default_rng(3)
    values = rng.normal(100, 10, shape).astype(np.float32)
    header = tan_header(shape)
    paths = {}
    paths["float"] = directory / "float.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(values, header=header, name="SCI")]
                 ).writeto(paths["float"])
    counts = np.round(values * 10).astype(np.int16)
    counts[5, 7] = -999
    blank = header.copy()
    blank["BLANK"] = -999
    paths["int"] = directory / "int.fits"
    fits.PrimaryHDU(counts, header=blank).writeto(paths["int"])
    scaled = fits.PrimaryHDU(values.astype(np.float64), header=header.copy())
    scaled.scale("int16", bscale=0.01, bzero=100.0)
    paths["scaled"] = directory / "scaled.fits"
    scaled.writeto(paths["scaled"])
    paths["compressed"] = directory / "compressed.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(values, header=header)]
                 ).writeto(paths["compressed"])
    return paths


@pytest.fixture(scope="session")
def cube_file(tmp_path_factory):
    """A TESS cube of 10 simulated 60x50 FFIs (needs the TESS plugin)."""
    pytest.importorskip("astrocut_tess")
    from astrocut_tess.simulate import simulate_ffis

    from astrocut import CubeFactory

    directory = tmp_path_factory.mktemp("remote_cube")
    sector = simulate_ffis(directory / "ffis", n_ffi=10, size=(60, 50), seed=7)
    cube = CubeFactory().make_cube(sector.files, str(directory / "tess-s0001-1-1-cube.fits"),
                                   verbose=False)
    return cube, sector
