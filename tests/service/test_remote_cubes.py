"""Cubes on a shared HTTP store: the server (and its cutting processes) read them by URL."""

import io
import os
import sys
import zipfile

import numpy as np
import pytest

# The server stack (extra 'serve') and the collection (issue 15) naming the cubes it cuts.
for _module in ("starlette", "uvicorn", "astrocut_tess.collection"):
    pytest.importorskip(_module, exc_type=ModuleNotFoundError)

pytest.importorskip("fsspec")
pytest.importorskip("aiohttp")
requests = pytest.importorskip("requests")

REMOTE_TESTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                            "remote")


def test_cubes_at_urls_are_cut_like_local_ones(collection, star, serve):
    from astropy.io import fits

    from astrocut import CutoutFactory
    from astrocut_tess.collection import CubeCollection
    from astrocut_tess.service.app import create_app

    sys.path.insert(0, REMOTE_TESTS)
    try:
        from servers import RangeServer
    finally:
        sys.path.remove(REMOTE_TESTS)
    local = {os.path.basename(e.path): e.path for e in collection.entries}
    files = {}
    for name, path in local.items():
        with open(path, "rb") as handle:
            files[name] = handle.read()
    with RangeServer(files) as store:
        remote = CubeCollection.load([f"{store.url}/{name}" for name in sorted(files)])
        with serve(create_app(remote, workers=1)) as url:
            reply = requests.get(f"{url}/tesscut/api/v0.1/astrocut", timeout=60,
                                 params={"ra": star.ra, "dec": star.dec, "x": 5, "y": 5})
        assert store.gets > 0
    assert reply.status_code == 200, reply.text
    archive = zipfile.ZipFile(io.BytesIO(reply.content))
    names = archive.namelist()
    assert [n[:14] for n in names] == ["tess-s0001-1-1", "tess-s0027-1-1"]
    for name in names:
        served = fits.open(io.BytesIO(archive.read(name)))
        cube = local[f"{name[:14]}-cube.fits"]
        expected = CutoutFactory().cube_cut(cube, f"{star.ra} {star.dec}", 5, memory_only=True)
        np.testing.assert_array_equal(served[1].data["FLUX"], expected[1].data["FLUX"])
