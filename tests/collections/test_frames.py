"""Frame ranges, time ranges and binning of cube cutouts: values, reads, headers, CLI."""

import os

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from astrocut import CutoutFactory, cube_cut_many
from astrocut.cli import main
from astrocut.errors import InvalidInputError, InvalidQueryError
from astrocut.frames import frame_selection

from collection_helpers import make_cube

N = 12


@pytest.fixture(scope="module")
def cube(tmp_path_factory):
    """A 12-frame cube with flagged frames 1 (32), 2 (128) and 7 (2048), and its variable star."""
    path, sector = make_cube(str(tmp_path_factory.mktemp("frames")), 5, 1, 1, n_ffi=N,
                             flagged_frames={1: 32, 2: 128, 7: 2048})
    star = sector.variable_star
    return path, f"{star.ra} {star.dec}"


def cut(cube, **kwargs):
    path, target = cube
    return CutoutFactory().cube_cut(path, target, [7, 5], memory_only=True, **kwargs)


@pytest.fixture(scope="module")
def full(cube):
    return cut(cube)[1].data


def test_frame_range_keeps_exactly_those_frames(cube, full):
    tpf = cut(cube, frames=(3, 9))
    data = tpf[1].data
    assert len(data) == 6
    for name in ("FLUX", "FLUX_ERR", "TIME", "TIMECORR", "QUALITY", "CADENCENO", "FFI_FILE"):
        np.testing.assert_array_equal(data[name], full[name][3:9])
    np.testing.assert_array_equal(cut(cube, frames=slice(-4, None))[1].data["FLUX"],
                                  full["FLUX"][-4:])
    np.testing.assert_array_equal(cut(cube, frames="2:")[1].data["TIME"], full["TIME"][2:])
    header = tpf[0].header
    with fits.open(cube[0]) as cube_file:
        table = cube_file[2].data
        assert header["TSTART"] == pytest.approx(table["TSTART"][3])
        assert header["TSTOP"] == pytest.approx(table["TSTOP"][8])
        assert header["DATE-OBS"] == table["DATE-OBS"][3].strip()
        assert header["DATE-END"] == table["DATE-END"][8].strip()
    assert (header["FRAMES"], header["BINSIZE"], header["BINMETH"]) == ("3:9", 1, "sum")
    assert tpf[1].header["TSTART"] == pytest.approx(header["TSTART"])


def test_time_range(cube, full):
    time = full["TIME"]
    data = cut(cube, times=(time[4] - 1e-4, time[7] + 1e-4))[1].data
    np.testing.assert_array_equal(data["TIME"], time[4:8])
    np.testing.assert_array_equal(cut(cube, times=f"{time[9]}:")[1].data["TIME"], time[9:])
    with pytest.raises(InvalidQueryError, match="select 0 of the 12 frames"):
        cut(cube, times=(0, 1))


@pytest.mark.parametrize("method", ["sum", "mean"])
def test_binned_tpf_equals_sums_or_means_of_the_unbinned(cube, full, method):
    k = 3
    data = cut(cube, bin_size=k, bin_method=method)[1].data
    assert len(data) == N // k
    flux = full["FLUX"].astype(np.float64).reshape(N // k, k, 5, 7)
    variance = (full["FLUX_ERR"].astype(np.float64) ** 2).reshape(N // k, k, 5, 7)
    scale = k if method == "mean" else 1
    np.testing.assert_allclose(data["FLUX"], flux.sum(axis=1) / scale, rtol=1e-6)
    np.testing.assert_allclose(data["FLUX_ERR"], np.sqrt(variance.sum(axis=1)) / scale,
                               rtol=1e-6)
    np.testing.assert_allclose(data["TIME"], full["TIME"].reshape(-1, k).mean(axis=1),
                               rtol=0, atol=1e-9)
    np.testing.assert_allclose(data["TIMECORR"], full["TIMECORR"].reshape(-1, k).mean(axis=1),
                               rtol=1e-6)
    np.testing.assert_array_equal(data["QUALITY"],
                                  np.bitwise_or.reduce(full["QUALITY"].reshape(-1, k), axis=1))
    assert list(data["QUALITY"]) == [32 | 128, 0, 2048, 0]
    np.testing.assert_array_equal(data["CADENCENO"], full["CADENCENO"][::k])


def test_binning_a_range_drops_the_partial_bin(cube, full):
    tpf = cut(cube, frames=(1, 12), bin_size=4, bin_method="mean")  # 11 frames: 2 bins
    data = tpf[1].data
    assert len(data) == 2
    np.testing.assert_allclose(data["FLUX"][1], full["FLUX"][5:9].astype(float).mean(axis=0),
                               rtol=1e-6)
    assert tpf[0].header["FRAMES"] == "1:9"
    assert tpf[1].header["TIMEDEL"] == pytest.approx(4 * cut(cube)[1].header["TIMEDEL"])
    with pytest.raises(InvalidQueryError, match="fewer than one bin"):
        cut(cube, frames=(0, 3), bin_size=4)


def test_only_the_selected_frames_are_read(cube, monkeypatch):
    from astrocut_tess import cutout

    reads = []
    original = cutout.read_exact

    def recording(fd, view, offset, path):
        reads.append((offset, len(view)))
        return original(fd, view, offset, path)

    monkeypatch.setattr(cutout, "read_exact", recording)
    path, target = cube
    with fits.open(path) as hdulist:
        data_offset = hdulist[1].fileinfo()["datLoc"]
    cut(cube, frames=(4, 6))
    pixel = N * 2 * 4
    assert len(reads) == 5 * 7  # one run per stamp pixel
    for offset, length in reads:
        assert length == 2 * 2 * 4  # two frames of flux and error
        assert (offset - data_offset) % pixel == 4 * 2 * 4  # starting at frame 4
    reads.clear()
    cut(cube)
    assert sum(length for _, length in reads) == 5 * 7 * pixel


def test_selection_arguments():
    assert frame_selection() is None
    assert frame_selection(bin_size=1) is None
    with pytest.raises(InvalidInputError, match="not both"):
        frame_selection(frames=(0, 2), times=(1, 2))
    with pytest.raises(InvalidInputError, match="bin_size"):
        frame_selection(bin_size=0)
    with pytest.raises(InvalidInputError, match="bin_method"):
        frame_selection(bin_size=2, bin_method="median")
    with pytest.raises(InvalidInputError, match="stop 2 must be after start 5"):
        frame_selection(frames="5:2")
    with pytest.raises(InvalidInputError, match="integers"):
        frame_selection(frames=(0.5, 3))
    with pytest.raises(InvalidInputError, match="step"):
        frame_selection(frames=slice(0, 6, 2))


def test_cube_cut_many_and_cli(cube, full, tmp_path, capsys):
    path, target = cube
    ra, dec = (float(v) for v in target.split())
    table = cube_cut_many(path, [target], cutout_size=[7, 5], output_path=str(tmp_path / "m"),
                          frames=(2, 10), bin_size=2, verbose=False)
    assert list(table["status"]) == ["ok"]
    with fits.open(table["path"][0]) as tpf:
        np.testing.assert_allclose(
            tpf[1].data["FLUX"],
            full["FLUX"][2:10].astype(float).reshape(4, 2, 5, 7).sum(axis=1), rtol=1e-6)
    out = tmp_path / "cli"
    assert main(["cut", path, str(ra), str(dec), "--size", "7", "--size-y", "5", "-o",
                 str(out), "--frames", "0:6", "--bin", "3", "--bin-method", "mean"]) == 0
    written = capsys.readouterr().out.strip()
    with fits.open(written) as tpf:
        assert len(tpf[1].data) == 2
        assert tpf[0].header["BINMETH"] == "mean"
    time = full["TIME"]
    assert main(["cut", path, str(ra), str(dec), "-o", str(out), "--times",
                 f"{time[10] - 1e-4}:"]) == 0
    with fits.open(capsys.readouterr().out.strip()) as tpf:
        assert len(tpf[1].data) == 2
    assert main(["cut", path, str(ra), str(dec), "-o", str(out), "--bin", "0"]) == 1
    assert "bin_size" in capsys.readouterr().err
    targets = tmp_path / "targets.csv"
    Table({"ra": [ra], "dec": [dec]}).write(targets, format="ascii.csv")
    assert main(["cut", path, "--targets", str(targets), "-o", str(tmp_path / "t"),
                 "--frames", "0:4"]) == 0
    manifest = Table.read(tmp_path / "t" / "manifest.csv", format="ascii.csv")
    with fits.open(manifest["path"][0]) as tpf:
        assert len(tpf[1].data) == 4
    assert os.path.exists(manifest["path"][0])


def test_frame_range_over_http_reads_only_those_frames(cube, full):
    pytest.importorskip("fsspec")
    pytest.importorskip("aiohttp")
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "remote"))
    from servers import RangeServer

    from astrocut import remote

    path, target = cube
    remote.cache.clear()
    with RangeServer() as server, open(path, "rb") as handle:
        server.put("cube.fits", handle.read())
        url = f"{server.url}/cube.fits"
        CutoutFactory().cube_cut(url, target, [7, 5], memory_only=True)  # headers cached
        server.reset_counters()
        whole = CutoutFactory().cube_cut(url, target, [7, 5], memory_only=True)
        whole_bytes = server.bytes_sent
        server.reset_counters()
        part = CutoutFactory().cube_cut(url, target, [7, 5], memory_only=True, frames=(4, 6))
        part_bytes = server.bytes_sent
    np.testing.assert_array_equal(whole[1].data["FLUX"], full["FLUX"])
    np.testing.assert_array_equal(part[1].data["FLUX"], full["FLUX"][4:6])
    # Two frames of flux and error per pixel, and one byte: the GET that asks whether the
    # cached headers still describe the file (its ETag).
    assert part_bytes == 5 * 7 * 2 * 2 * 4 + 1
    assert whole_bytes == 5 * 7 * N * 2 * 4 + 1


def test_selected_tpfs_have_distinguishing_default_names(cube, full, tmp_path):
    path, target = cube
    factory = CutoutFactory()
    plain = factory.cube_cut(path, target, [7, 5], output_path=str(tmp_path))
    stem = os.path.basename(plain)[:-len("_astrocut.fits")]
    start = float(full["TIME"][8])
    cases = [({"frames": (3, 9)}, "_frames3to9"),
             ({"frames": (-4, None)}, "_frames-4to"),
             ({"times": (start, None)}, f"_times{start!r}to"),
             ({"bin_size": 2}, "_bin2sum"),
             ({"frames": (0, 6), "bin_size": 3, "bin_method": "mean"}, "_frames0to6_bin3mean")]
    for kwargs, part in cases:
        written = factory.cube_cut(path, target, [7, 5], output_path=str(tmp_path), **kwargs)
        assert os.path.basename(written) == f"{stem}{part}_astrocut.fits"
        assert len(fits.getdata(written, 1)) < N  # each holds its own selection
    # none overwrote another's file, nor the unselected one
    assert len(os.listdir(tmp_path)) == len(cases) + 1
    assert len(fits.getdata(plain, 1)) == N
    legacy = factory.cube_cut(path, target, [7, 5], output_path=str(tmp_path),
                              legacy_filenames=True, bin_size=2)
    assert legacy.endswith("_7x5_bin2sum_astrocut.fits")
    table = cube_cut_many(path, [target], cutout_size=[7, 5], output_path=str(tmp_path / "m"),
                          frames=(2, 10), verbose=False)
    assert os.path.basename(table["path"][0]) == f"{stem}_frames2to10_astrocut.fits"
