"""Moving targets: the simulator's mover, and cube_cut_path following it across cubes."""

import os

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from astrocut_tess.path_cut import OFF_IMAGE, OFF_PATH, cube_cut_path
from astrocut_tess.simulate import simulate_ffis

import astrocut
from astrocut.cli import main
from astrocut.errors import InvalidInputError, InvalidQueryError

from collection_helpers import make_cube

N = 10
MOVER = (10.3, 22.2, 20.0, 2.0, 3.0e4)  # pixel, pixels per hour, e-/s
SIZE = 7


@pytest.fixture(scope="module")
def moving(tmp_path_factory):
    """Sector 1 with the mover, and sector 27 (same times, ~9 px shifted sky) without it."""
    directory = str(tmp_path_factory.mktemp("moving"))
    path_a, sector_a = make_cube(directory, 1, 1, 1, n_ffi=N, mover=MOVER, flagged_frames={})
    path_b, _ = make_cube(directory, 27, 1, 1, n_ffi=N, flagged_frames={})
    return path_a, path_b, sector_a


def test_simulated_mover_moves_and_keeps_other_pixels(tmp_path):
    still = simulate_ffis(tmp_path / "a", n_ffi=3, size=(48, 40), seed=3, n_stars=10)
    moved = simulate_ffis(tmp_path / "b", n_ffi=3, size=(48, 40), seed=3, n_stars=10,
                          mover=(12.0, 20.0, 8.0, 0.0, 2.0e4))
    assert still.mover is None
    x, y = moved.mover.pixel_at(moved.times)
    np.testing.assert_allclose(np.diff(x), 8.0 * 0.5)  # 8 px/h, 30-minute cadence
    for i in range(3):
        a, b = fits.getdata(still.files[i], 1), fits.getdata(moved.files[i], 1)
        diff = b - a
        peak = np.unravel_index(np.argmax(diff), diff.shape)
        assert abs(peak[1] - x[i]) <= 1 and abs(peak[0] - y[i]) <= 1
        assert diff.sum() == pytest.approx(2.0e4, rel=0.02)
        far = np.hypot(*np.meshgrid(np.arange(48) - x[i], np.arange(40) - y[i])) > 7
        assert np.all(diff[far] == 0)
    assert len(moved.mover.path) == 3 + 2


def test_stamps_follow_the_mover_and_its_flux_comes_back(moving):
    path_a, _, sector = moving
    tpf = cube_cut_path([path_a], sector.mover.path, SIZE, memory_only=True)
    data = tpf[1].data
    x, y = sector.mover.pixel_at(sector.times)
    on = x < 63.5
    assert len(data) == N
    np.testing.assert_allclose(data["TGT_X"] + data["CORNER_X"], x, atol=1e-6)
    np.testing.assert_allclose(data["TGT_Y"] + data["CORNER_Y"], y, atol=1e-6)
    assert np.all((data["TGT_X"] >= SIZE / 2 - 0.5) & (data["TGT_X"] <= SIZE / 2 + 0.5))
    np.testing.assert_array_equal(data["CORNER_X"], np.round(x - SIZE / 2).astype(int))
    np.testing.assert_array_equal(data["QUALITY"] & OFF_IMAGE != 0, ~on)
    for i in np.flatnonzero(x + SIZE / 2 < 63):  # stamps wholly on the image
        stamp = data["FLUX"][i]
        peak = np.unravel_index(np.argmax(stamp), stamp.shape)
        cx, cy = x[i] - data["CORNER_X"][i], y[i] - data["CORNER_Y"][i]
        assert abs(peak[1] - cx) <= 1 and abs(peak[0] - cy) <= 1
        ring = np.hypot(*np.meshgrid(np.arange(SIZE) - cx, np.arange(SIZE) - cy)) > 3.2
        background = np.median(stamp[ring])
        assert np.sum(stamp - background) == pytest.approx(MOVER[4], rel=0.05)
    assert data["TGT_RA"][0] == pytest.approx(sector.mover.path["position"][1].ra.deg)


def test_off_image_frames_hold_only_real_pixels(moving):
    from astrocut_tess.cutout import TessCube

    path_a, _, sector = moving
    data = cube_cut_path(path_a, sector.mover.path, SIZE, memory_only=True)[1].data
    with TessCube.open(path_a) as cube:
        for i in np.flatnonzero(data["QUALITY"] & OFF_IMAGE):
            corner = (int(data["CORNER_X"][i]), int(data["CORNER_Y"][i]))
            expected, _, _ = cube.read_stamp(corner, (SIZE, SIZE), (i, i + 1))
            np.testing.assert_array_equal(data["FLUX"][i], expected[0])  # NaN off the image
            assert np.isnan(data["FLUX"][i]).any()


def test_several_cubes_stack_in_time(moving, tmp_path):
    path_a, path_b, sector = moving
    out = cube_cut_path([path_a, path_b], sector.mover.path, SIZE,
                        output_file=str(tmp_path / "both.fits"))
    with fits.open(out, checksum=True) as hdulist:
        data, cubes = hdulist[1].data, hdulist[2].data
        assert [os.path.basename(p) for p in cubes["PATH"]] == [os.path.basename(path_a),
                                                                os.path.basename(path_b)]
        assert list(cubes["SECTOR"]) == [1, 27]
        # rows of one exposure (same spacecraft time) differ in TIME by the cubes'
        # barycentric corrections, well under a second apart here
        assert np.all(np.diff(data["TIME"]) >= -1 / 86400)
        x, _ = sector.mover.pixel_at(sector.times)
        spacecraft = data["TIME"] - data["TIMECORR"]
        for i, t in enumerate(sector.mover.path["time"].tdb.jd[1:-1] - 2457000.0):
            rows = data[np.isclose(spacecraft, t, atol=0.5 / 86400)]
            on = [bool(r["QUALITY"] & OFF_IMAGE == 0) for r in rows]
            if x[i] < 54:  # on both images: one row from each cube
                assert list(rows["CUBE"]) == [0, 1] and all(on)
            elif x[i] < 63.5:  # on sector 1's only: sector 27's row is dropped
                assert list(rows["CUBE"]) == [0] and all(on)
            else:  # on neither: both rows, flagged
                assert list(rows["CUBE"]) == [0, 1] and not any(on)


def test_path_outside_its_span_is_flagged_not_extrapolated(moving):
    path_a, _, sector = moving
    half = sector.mover.path[:5]  # the hour before, then frames 0-3
    data = cube_cut_path(path_a, half, SIZE, memory_only=True)[1].data
    covered = np.isfinite(data["TGT_RA"])
    assert covered[:4].all() and not covered[4:].any()
    assert np.all(data["QUALITY"][4:] & OFF_PATH)
    assert np.isnan(data["FLUX"][4:]).all()


def test_errors(moving, tmp_path):
    path_a, _, sector = moving
    with pytest.raises(InvalidInputError, match="one Time and one SkyCoord"):
        cube_cut_path(path_a, Table({"a": [1, 2]}), SIZE)
    with pytest.raises(InvalidInputError, match="does not exist"):
        cube_cut_path(path_a, str(tmp_path / "none.ecsv"), SIZE)
    far = sector.mover.path.copy()
    far["position"] = far["position"].directional_offset_by(0, 20 * far["position"].ra.unit)
    with pytest.raises(InvalidQueryError, match="does not cross"):
        cube_cut_path(path_a, far, SIZE)


def test_cut_path_command_and_public_name(moving, tmp_path, capsys):
    path_a, path_b, sector = moving
    ephemeris = tmp_path / "path.ecsv"
    sector.mover.path.write(ephemeris, format="ascii.ecsv")
    out = str(tmp_path / "cli.fits")
    assert main(["cut-path", path_a, path_b, "--path", str(ephemeris), "--size", "5",
                 "-o", out]) == 0
    assert capsys.readouterr().out.strip() == out
    with fits.open(out) as hdulist:
        assert hdulist[1].data["FLUX"].shape[1:] == (5, 5)
        rows = hdulist[1].data[hdulist[1].data["CUBE"] == 0]
        np.testing.assert_allclose(rows["TGT_X"] + rows["CORNER_X"],
                                   sector.mover.pixel_at(sector.times)[0], atol=1e-6)
    assert astrocut.cube_cut_path is cube_cut_path
    assert main(["cut-path", path_a, "--path", str(tmp_path / "no.ecsv"), "-o", out]) == 1




def test_path_to_footprints_then_center_on_path(moving, tmp_path):
    from astrocut_tess.cutout import TessCube
    from astrocut_tess.path_compat import center_on_path, path_to_footprints

    path_a, _, sector = moving
    with TessCube.open(path_a) as cube:
        wcs = cube.wcs.deepcopy()
        wcs.pixel_shape = cube.info.image_shape[::-1]
    positions = sector.mover.path["position"]
    footprints = path_to_footprints(positions, [SIZE, SIZE], wcs, max_pixels=600)
    assert len(footprints) >= 2 and all(f["size"][0] * f["size"][1] <= 600 for f in footprints)
    x, y = wcs.world_to_pixel(positions)
    on = (x >= -0.5) & (x < 63.5)
    boxes = []
    for f in footprints:
        cx, cy = wcs.world_to_pixel(f["center_coord"])
        ny, nx = f["size"]
        boxes.append((round(float(cx) - nx / 2), round(float(cy) - ny / 2), nx, ny))
    for px, py in zip(x[on], y[on], strict=True):  # every on-image stamp lies in a box
        sx, sy = round(px - SIZE / 2), round(py - SIZE / 2)
        assert any(bx <= sx and sx + SIZE <= bx + bw and by <= sy and sy + SIZE <= by + bh
                   for bx, by, bw, bh in boxes)
    # 1.x's second step: follow the target inside target pixel files cut from the cube
    tpfs = [astrocut.CutoutFactory().cube_cut(path_a, f["center_coord"], f["size"][::-1],
                                              output_path=str(tmp_path / "fp"))
            for f in footprints]
    out = center_on_path(sector.mover.path, [5, 5], tpfs, target="mover",
                         output_path=str(tmp_path))
    with fits.open(out) as hdulist:
        data = hdulist[1].data
        assert hdulist[0].header["OBJECT"] == "mover"
        truth_x, _ = sector.mover.pixel_at(sector.times)
        good = (data["QUALITY"] & OFF_IMAGE) == 0
        assert good.sum() >= 4
        assert len(hdulist) == 2  # as 1.x's: no CUBES extension, the inputs are INPUTn
        inputs = [hdulist[1].header[f"INPUT{i}"] for i in range(hdulist[0].header["NCUBES"])]
        assert sorted(inputs) == sorted(tpfs)
        offsets = [fits.getheader(p, 1)["1CRV5P"] - 1 for p in inputs]
        for row in data[good]:
            frame = int(np.argmin(np.abs(sector.times - row["TIME"])))
            image_x = row["CORNER_X"] + row["TGT_X"] + offsets[row["CUBE"]]
            assert image_x == pytest.approx(truth_x[frame], abs=0.05)
            stamp = row["FLUX"]
            if np.isfinite(stamp).all():
                peak = np.unravel_index(np.argmax(stamp), stamp.shape)
                assert abs(peak[1] - row["TGT_X"]) <= 1 and abs(peak[0] - row["TGT_Y"]) <= 1
    # given cubes, center_on_path is cube_cut_path
    out = center_on_path(sector.mover.path, [5, 5], [path_a], output_path=str(tmp_path))
    assert fits.getdata(out, 1)["FLUX"].shape == (N, 5, 5)
