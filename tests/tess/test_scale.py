"""Issue 6 on TESS data: bulk cutouts and cube builds on process pools and a dask cluster."""

import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from astrocut import CubeFactory, CutoutFactory, cube_cut_many


def _data_and_table(path):
    with fits.open(path) as hdulist:
        return hdulist[1].data.copy(), hdulist[2].data.copy(), hdulist[0].header.copy()


@pytest.fixture(scope="module")
def sector_cube(small_sector, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("scale") / "scale-cube.fits")
    return CubeFactory().make_cube(small_sector.files, path, verbose=False)


def _targets(small_sector, count=12):
    stars = small_sector.stars[:count]
    return Table({"name": [s.name for s in stars], "ra": [s.ra for s in stars],
                  "dec": [s.dec for s in stars]})


def test_bulk_equals_single_target_cuts(small_sector, sector_cube, tmp_path):
    targets = _targets(small_sector)
    result = cube_cut_many(sector_cube, targets, cutout_size=[5, 4], output_path=str(tmp_path / "b"),
                           verbose=False)
    ok = result[result["status"] == "ok"]
    assert len(ok) >= len(targets) - 2  # stars near an edge still cut (padded)
    for row in ok[:4]:
        single = CutoutFactory().cube_cut(sector_cube, f"{row['ra']} {row['dec']}", [5, 4],
                                          output_path=str(tmp_path / "s"))
        with fits.open(single) as a, fits.open(row["path"]) as b:
            for column in ("TIME", "FLUX", "FLUX_ERR", "QUALITY"):
                np.testing.assert_array_equal(a[1].data[column], b[1].data[column])
            assert a[1].header["1CRV5P"] == b[1].header["1CRV5P"]


def test_cube_build_on_a_process_pool_is_byte_identical(small_sector, sector_cube, tmp_path):
    path = str(tmp_path / "pool-cube.fits")
    with ProcessPoolExecutor(2) as pool:
        CubeFactory(max_memory=0.0005).make_cube(small_sector.files, path, verbose=False,
                                                 executor=pool)
    assert open(path, "rb").read() == open(sector_cube, "rb").read()


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("dask.distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_dask_cluster_builds_an_identical_cube(small_sector, sector_cube, dask_client, tmp_path):
    path = str(tmp_path / "dask-cube.fits")
    CubeFactory(max_memory=0.0005).make_cube(small_sector.files, path, verbose=False,
                                             executor=dask_client.get_executor())
    assert open(path, "rb").read() == open(sector_cube, "rb").read()


def test_dask_cluster_cuts_identical_tpfs(small_sector, sector_cube, dask_client, tmp_path):
    targets = _targets(small_sector)
    serial = cube_cut_many(sector_cube, targets, cutout_size=6, output_path=str(tmp_path / "one"),
                           verbose=False)
    distributed = cube_cut_many(sector_cube, targets, cutout_size=6,
                                output_path=str(tmp_path / "dask"),
                                executor=dask_client.get_executor(), verbose=False)
    assert list(serial["status"]) == list(distributed["status"])
    for a, b in zip(serial["path"], distributed["path"]):
        if a:
            assert os.path.basename(a) == os.path.basename(b)
            assert open(a, "rb").read() == open(b, "rb").read()


def test_a_batch_with_bad_targets_explains_each(small_sector, sector_cube, tmp_path):
    star = small_sector.variable_star
    targets = Table({"name": ["good", "off", "nan", "tiny"],
                     "ra": [star.ra, star.ra + 40, np.nan, star.ra],
                     "dec": [star.dec, star.dec, star.dec, star.dec],
                     "size": [5, 5, 5, 0]})
    result = cube_cut_many(sector_cube, targets, output_path=str(tmp_path), verbose=False)
    assert list(result["status"]) == ["ok", "error", "error", "error"]
    assert "footprint" in result["message"][1] or "no pixel" in result["message"][1]
    assert "coordinates" in result["message"][2]
    assert "positive" in result["message"][3]
    assert sorted(os.listdir(tmp_path)) == [os.path.basename(result["path"][0])]


def test_cli_builds_a_cube_with_workers(small_sector, sector_cube, tmp_path, capsys):
    from astrocut.cli import main

    path = str(tmp_path / "cli-cube.fits")
    assert main(["cube", *small_sector.files, "-o", path, "--workers", "2", "--quiet",
                 "--max-memory", "0.0005"]) == 0
    assert capsys.readouterr().out.strip() == path
    assert open(path, "rb").read() == open(sector_cube, "rb").read()
    assert main(["cube", "--append", small_sector.files[0], "-o", path, "--option", "sector=3"]) == 1
    assert "--append" in capsys.readouterr().err


def test_update_on_a_process_pool_equals_a_serial_update(small_sector, tmp_path):
    files = small_sector.files
    serial, pooled = str(tmp_path / "serial-cube.fits"), str(tmp_path / "pooled-cube.fits")
    for path in (serial, pooled):
        CubeFactory().make_cube(files[::2], path, verbose=False)
    CubeFactory(max_memory=0.0005).update_cube(files[1::2], serial, verbose=False)
    with ProcessPoolExecutor(2) as pool:
        CubeFactory(max_memory=0.0005).update_cube(files[1::2], pooled, verbose=False,
                                                   executor=pool)
    assert open(serial, "rb").read() == open(pooled, "rb").read()
    with fits.open(pooled) as hdulist:
        assert hdulist[1].data.shape[2] == len(files)
