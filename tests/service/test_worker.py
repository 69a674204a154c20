"""The cutting process's side: cubes stay open between requests, a replaced cube is reopened."""

import os
import shutil

import numpy as np
import pytest

# The server stack (extra 'serve') and the collection (issue 15) naming the cubes it cuts.
for _module in ("starlette", "uvicorn", "astrocut_tess.collection"):
    pytest.importorskip(_module, exc_type=ModuleNotFoundError)

from astrocut import CutoutFactory


@pytest.fixture
def worker(tmp_path):
    from astrocut_tess.service import worker

    worker._close_all()
    worker._SCRATCH = str(tmp_path / "scratch")
    os.mkdir(worker._SCRATCH)
    yield worker
    worker._close_all()


def test_cut_tpf_is_the_library_tpf_and_leaves_no_file(worker, collection, star):
    entry = collection.entries[0]
    data, shape = worker.cut_tpf(entry.path, star.ra, star.dec, [6, 4])
    assert shape == (4, 6)
    local = CutoutFactory().cube_cut(entry.path, f"{star.ra} {star.dec}", [6, 4],
                                     memory_only=True)
    from astropy.io import fits
    import io

    served = fits.open(io.BytesIO(data))
    np.testing.assert_array_equal(served[1].data["FLUX"], local[1].data["FLUX"])
    assert os.listdir(worker._SCRATCH) == []


def test_open_cubes_are_reused_until_the_file_is_replaced(worker, collection, star, tmp_path):
    from astropy.io import fits
    import io

    by_sector = {e.sector: e.path for e in collection.entries}
    path = str(tmp_path / "cube.fits")
    shutil.copy(by_sector[1], path)
    first = worker._cube(path)
    assert worker._cube(path) is first
    replacement = str(tmp_path / "new.fits")
    shutil.copy(by_sector[27], replacement)
    os.replace(replacement, path)  # what a store does when it publishes a rebuilt cube
    second = worker._cube(path)
    assert second is not first
    data, _ = worker.cut_tpf(path, star.ra, star.dec, 3)
    assert fits.getheader(io.BytesIO(data), 0)["SECTOR"] == 27


def test_a_handle_is_reopened_after_many_stamp_shapes(worker, collection, star):
    path = collection.entries[0].path
    first = worker._cube(path)
    for n in range(1, worker._MAX_SHAPES + 1):
        worker.cut_tpf(path, star.ra, star.dec, [n, 2])
        assert worker._cube(path) is first
    worker.cut_tpf(path, star.ra, star.dec, [1, 3])  # one shape more: memory is let go
    assert worker._cube(path) is not first
