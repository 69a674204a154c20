"""Many targets in one pass, with and without executors (Toy mission: fast and mission-free)."""

import os
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import Table

from astrocut import CubeFactory, CutoutFactory, cube_cut_many
from astrocut.cli import main
from astrocut.errors import InvalidInputError


@pytest.fixture
def toy_cube(toy_plugin, tmp_path):
    from astrocut_toymission.simulate import simulate

    paths, header = simulate(str(tmp_path), n_frames=5, shape=(60, 70))
    cube = CubeFactory().make_cube(paths, str(tmp_path / "field.toycube"), verbose=False)
    return cube, header


def _targets(header, offsets):
    ra0, dec0 = header["pointing"]
    scale = header["arcsec_per_pixel"] / 3600
    return Table({"name": [f"t{i}" for i in range(len(offsets))],
                  "ra": [ra0 - dx * scale / np.cos(np.radians(dec0)) for dx, _ in offsets],
                  "dec": [dec0 + dy * scale for _, dy in offsets]})


def test_every_target_is_what_cube_cut_writes(toy_cube, tmp_path):
    cube, header = toy_cube
    table = _targets(header, [(0, 0), (10, -5), (-20, 12)])
    result = cube_cut_many(cube, table, cutout_size=[6, 4], output_path=str(tmp_path / "many"),
                           verbose=False)
    assert list(result["status"]) == ["ok"] * 3
    assert list(result["name"]) == ["t0", "t1", "t2"]
    for row in result:
        single = CutoutFactory().cube_cut(cube, f"{row['ra']} {row['dec']}", [6, 4],
                                          output_path=str(tmp_path / "single"))
        assert os.path.basename(single) == os.path.basename(row["path"])
        with fits.open(single) as one, fits.open(row["path"]) as other:
            np.testing.assert_array_equal(one["FLUX"].data, other["FLUX"].data)
            assert (row["size_x"], row["size_y"]) == (6, 4)


def test_bad_targets_are_reported_and_the_rest_written(toy_cube, tmp_path, caplog):
    cube, header = toy_cube
    targets = ["210.5 -12.25", "10 80", "not a position", SkyCoord(210.501, -12.25, unit="deg")]
    result = cube_cut_many(cube, targets, cutout_size=5, output_path=str(tmp_path), verbose=True)
    assert list(result["status"]) == ["ok", "error", "error", "ok"]
    assert "not in the footprint" in result["message"][1] or "no pixel" in result["message"][1]
    assert "could not be read" in result["message"][2]
    assert all(os.path.isfile(path) for path in result["path"][[0, 3]])
    assert result["path"][1] == ""
    # verbose=True: INFO records on the astrocut logger (stderr unless logging is configured)
    assert any("2 of 4 targets written" in r.getMessage() for r in caplog.records
               if r.name.startswith("astrocut") and r.levelname == "INFO")


def test_per_target_sizes_from_a_csv(toy_cube, tmp_path):
    cube, header = toy_cube
    csv = tmp_path / "targets.csv"
    ra, dec = header["pointing"]
    csv.write_text(f"name,ra,dec,size\na,{ra},{dec},3\nb,{ra},{dec},\nc,{ra},{dec},-2\n")
    result = cube_cut_many(cube, str(csv), cutout_size=7, output_path=str(tmp_path / "o"),
                           verbose=False)
    assert list(result["size_x"][:2]) == [3, 7]
    assert result["status"][2] == "error" and "positive" in result["message"][2]


@pytest.mark.parametrize("make_executor", [lambda: ThreadPoolExecutor(2),
                                           lambda: ProcessPoolExecutor(2)],
                         ids=["threads", "processes"])
def test_results_do_not_depend_on_the_executor(toy_cube, tmp_path, make_executor):
    cube, header = toy_cube
    offsets = [(dx, dy) for dx in range(-20, 21, 8) for dy in range(-15, 16, 10)]
    table = _targets(header, offsets)
    serial = cube_cut_many(cube, table, cutout_size=5, output_path=str(tmp_path / "serial"),
                           verbose=False)
    with make_executor() as executor:
        parallel = cube_cut_many(cube, table, cutout_size=5, output_path=str(tmp_path / "par"),
                                 executor=executor, verbose=False)
    assert list(serial["status"]) == list(parallel["status"]) == ["ok"] * len(offsets)
    for a, b in zip(serial["path"], parallel["path"]):
        assert os.path.basename(a) == os.path.basename(b)
        assert open(a, "rb").read() == open(b, "rb").read()


def test_targets_argument_errors(toy_cube, tmp_path):
    cube, _ = toy_cube
    with pytest.raises(InvalidInputError, match="'ra' and 'dec'"):
        cube_cut_many(cube, Table({"x": [1]}), cutout_size=3, output_path=str(tmp_path))
    with pytest.raises(InvalidInputError, match="targets file"):
        cube_cut_many(cube, str(tmp_path / "missing.csv"), output_path=str(tmp_path))


def test_cli_targets_writes_tpfs_and_a_manifest(toy_cube, tmp_path):
    cube, header = toy_cube
    csv = tmp_path / "targets.csv"
    ra, dec = header["pointing"]
    csv.write_text(f"name,ra,dec\nstar,{ra},{dec}\nfar,{ra + 30},{dec}\n")
    out = tmp_path / "out"
    code = main(["cut", cube, "--targets", str(csv), "--size", "4", "-o", str(out),
                 "--workers", "2"])
    assert code == 3  # one target failed: the exit code says so
    manifest = Table.read(str(out / "manifest.csv"), format="ascii.csv")
    assert list(manifest["name"]) == ["star", "far"]
    assert list(manifest["status"]) == ["ok", "error"]
    assert os.path.isfile(manifest["path"][0])
