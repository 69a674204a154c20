"""Cube collections: indexing cubes from their headers and finding the cubes that hold a stamp."""

import functools
import os
import shutil

import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS
from astrocut_tess import cube_headers
from astrocut_tess.collection import CubeCollection, CubeEntry

from astrocut.cli import main
from astrocut.errors import InvalidInputError

from collection_helpers import N_FRAMES, SIZE, make_cube

WCS_KEYS = ("CTYPE1", "CTYPE2", "CRVAL1", "CRVAL2", "CRPIX1", "CRPIX2", "CD1_1", "CD1_2",
            "CD2_1", "CD2_2", "A_ORDER", "B_ORDER", "AP_ORDER", "BP_ORDER")


@functools.lru_cache
def truth_wcs(path):
    """The WCS of the cube's middle table row, read with astropy alone."""
    with fits.open(path) as hdulist:
        table = hdulist[2].data
        row = table[len(table) // 2]
        header = fits.Header()
        for name in table.columns.names:
            if name in WCS_KEYS or name[:2] in ("A_", "B_") or name[:3] in ("AP_", "BP_"):
                value = row[name]
                if isinstance(value, str) or np.isfinite(value):
                    header[name] = value.strip() if isinstance(value, str) else value
        shape = hdulist[1].shape  # FITS order reversed: (rows, columns, n, 2)
    header["NAXIS"] = 2
    return WCS(header), (shape[0], shape[1])


def holds(path, coord, nx, ny):
    """Whether a stamp of nx x ny centred on coord has a pixel on the cube's image."""
    wcs, (rows, cols) = truth_wcs(path)
    x, y = wcs.all_world2pix([[coord.ra.deg, coord.dec.deg]], 0)[0]
    x0, y0 = round(x - (nx - 1) / 2), round(y - (ny - 1) / 2)  # centred, as cube_cut places it
    return x0 < cols and x0 + nx > 0 and y0 < rows and y0 + ny > 0


def test_directory_entries_from_headers(cube_set):
    directory, made = cube_set
    collection = CubeCollection.load(directory)
    assert len(collection.entries) == len(made)
    by_key = {(e.sector, e.camera, e.ccd): e for e in collection.entries}
    assert set(by_key) == set(made)
    for key, (path, sector) in made.items():
        entry = by_key[key]
        assert isinstance(entry, CubeEntry)
        assert entry.path == os.path.abspath(path)
        assert entry.n_frames == N_FRAMES
        with fits.open(path) as hdulist:
            table = hdulist[2].data
            assert entry.tstart == pytest.approx(table["TSTART"][0])
            assert entry.tstop == pytest.approx(table["TSTOP"][-1])
        # s_region: the four outer pixel corners through the middle row's WCS
        words = entry.s_region.split()
        assert words[:2] == ["POLYGON", "ICRS"]
        ra, dec = np.array(words[2::2], float), np.array(words[3::2], float)
        wcs, (rows, cols) = truth_wcs(path)
        x, y = wcs.all_world2pix(np.column_stack([ra, dec]), 0).T
        np.testing.assert_allclose(x, [-0.5, cols - 0.5, cols - 0.5, -0.5], atol=1e-4)
        np.testing.assert_allclose(y, [-0.5, -0.5, rows - 0.5, rows - 0.5], atol=1e-4)


def _probe_positions(made, step=7):
    """Sky positions on a grid reaching 10 pixels past every cube's edges."""
    positions = []
    for path, _ in made.values():
        wcs, (rows, cols) = truth_wcs(path)
        xs = np.arange(-10.3, cols + 10, step)
        ys = np.arange(-10.3, rows + 10, step)
        gx, gy = np.meshgrid(xs, ys)
        ra, dec = wcs.all_pix2world(gx.ravel(), gy.ravel(), 0)
        positions.extend(zip(ra, dec, strict=True))
    return positions


@pytest.mark.parametrize("size", [1, (12, 5)])
def test_find_answers_exactly_the_cubes_whose_pixels_hold_the_stamp(cube_set, size):
    directory, made = cube_set
    collection = CubeCollection.load(directory)
    nx, ny = (size, size) if np.ndim(size) == 0 else size
    both = only_one = 0
    for ra, dec in _probe_positions(made):
        coord = SkyCoord(ra, dec, unit="deg")
        expected = {os.path.abspath(path) for path, _ in made.values()
                    if holds(path, coord, nx, ny)}
        found = {entry.path for entry in collection.find(coord, size)}
        assert found == expected, (ra, dec)
        both += len(expected) == 2
        only_one += len(expected) == 1
    # The grid saw the overlap of sectors 1 and 27 and positions on one cube only.
    assert both > 5 and only_one > 5


def test_overlapping_sectors_and_filters(cube_set):
    directory, made = cube_set
    collection = CubeCollection.load(directory)
    s1, s27 = made[(1, 1, 1)][0], made[(27, 1, 1)][0]
    wcs, (rows, cols) = truth_wcs(s1)
    inside_both = SkyCoord(*wcs.all_pix2world([[10.0, 20.0]], 0)[0], unit="deg")
    only_s1 = SkyCoord(*wcs.all_pix2world([[60.0, 20.0]], 0)[0], unit="deg")
    assert holds(s27, inside_both, 1, 1) and not holds(s27, only_s1, 1, 1)
    assert [e.sector for e in collection.find(inside_both)] == [1, 27]
    assert [e.sector for e in collection.find(only_s1)] == [1]
    assert [e.sector for e in collection.find(inside_both, sector=27)] == [27]
    assert [e.sector for e in collection.find(inside_both, sector=[1, 2])] == [1]
    assert collection.find(inside_both, camera=2) == []
    assert collection.find(inside_both, ccd=2) == []
    # A 40-pixel stamp centred just off sector 27's image still has pixels on it.
    assert [e.sector for e in collection.find(only_s1, 40)] == [1, 27]
    assert collection.find("10 10") == []
    with pytest.raises(InvalidInputError, match="sector"):
        collection.find(inside_both, sector="one")


def test_index_file_round_trip(cube_set, tmp_path):
    directory, made = cube_set
    collection = CubeCollection.load(directory)
    index = collection.write(tmp_path / "cubes.ecsv")
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".part")]
    again = CubeCollection.load(index)
    assert again.entries == collection.entries
    table = Table.read(index, format="ascii.ecsv")
    assert table.colnames[:8] == ["path", "sector", "camera", "ccd", "tstart", "tstop",
                                  "n_frames", "s_region"]
    positions = _probe_positions(made, step=11)
    for ra, dec in positions:
        assert again.find(f"{ra} {dec}", 3) == collection.find(f"{ra} {dec}", 3)


def test_index_answers_by_pixels_without_opening_cubes(cube_set, tmp_path, monkeypatch):
    directory, made = cube_set
    index = CubeCollection.load(directory).write(tmp_path / "cubes.ecsv")

    def refuse(*args, **kwargs):
        raise AssertionError("a cube was opened")

    monkeypatch.setattr(cube_headers, "open_ranged", refuse)
    collection = CubeCollection.load(index)
    wcs, _ = truth_wcs(made[(1, 1, 1)][0])
    ra, dec = wcs.all_pix2world([[10.0, 20.0]], 0)[0]
    assert [e.sector for e in collection.find(f"{ra} {dec}")] == [1, 27]


def test_minimal_index_and_relative_paths(cube_set, tmp_path):
    directory, made = cube_set
    for key in ((1, 1, 1), (27, 1, 1)):
        shutil.copy(made[key][0], tmp_path)
    full = CubeCollection.load(str(tmp_path))
    table = full.to_table()
    table.keep_columns(["path", "sector", "camera", "ccd", "tstart", "tstop", "n_frames",
                        "s_region"])
    table["path"] = [os.path.basename(p) for p in table["path"]]
    table.write(tmp_path / "minimal.ecsv", format="ascii.ecsv")
    minimal = CubeCollection.load(str(tmp_path / "minimal.ecsv"))
    assert minimal.entries == full.entries  # relative paths resolved beside the index
    wcs, _ = truth_wcs(made[(1, 1, 1)][0])
    for x in (10.0, 60.0):
        ra, dec = wcs.all_pix2world([[x, 20.0]], 0)[0]
        assert minimal.find(f"{ra} {dec}") == full.find(f"{ra} {dec}")


def test_headers_are_read_without_the_image_data(cube_set, monkeypatch):
    directory, made = cube_set
    path = made[(1, 1, 1)][0]
    with fits.open(path) as hdulist:
        start = hdulist[1].fileinfo()["datLoc"]
        end = start + hdulist[1].size  # bytes
    ranges = []
    original = cube_headers.open_ranged

    def recording(name, fsspec_kwargs=None):
        ranged = original(name, fsspec_kwargs)
        read = ranged.read_ranges

        def read_ranges(pairs):
            ranges.extend(pairs)
            return read(pairs)

        ranged.read_ranges = read_ranges
        return ranged

    monkeypatch.setattr(cube_headers, "open_ranged", recording)
    CubeCollection.load([path])
    assert ranges
    assert all(offset + length <= start or offset >= end for offset, length in ranges)


def test_wcs_row_follows_the_cutout_reader(tmp_path):
    """With the middle frame's WCS invalid, the index uses the row a cutout uses."""
    from astrocut_tess.cutout import TessCube

    path, _ = make_cube(str(tmp_path), 3, 1, 1, invalid_wcs_frames=(N_FRAMES // 2,))
    headers = CubeCollection.load([path]).footprint(CubeCollection.load([path]).entries[0])
    with TessCube.open(path) as cube:
        assert headers.wcs_row == cube.info.wcs_row == N_FRAMES // 2 + 1
        x, y = np.meshgrid(np.arange(0, SIZE[0], 9.0), np.arange(0, SIZE[1], 9.0))
        np.testing.assert_allclose(headers.wcs.all_pix2world(x, y, 0),
                                   cube.wcs.all_pix2world(x, y, 0), atol=1e-10)


def test_bad_sources_are_one_line_errors(cube_set, tmp_path):
    directory, made = cube_set
    ffi = made[(1, 1, 1)][1].files[0]
    with pytest.raises(InvalidInputError, match="tess2"):
        CubeCollection.load([made[(1, 1, 1)][0], ffi])  # an FFI named in a list
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    shutil.copy(ffi, mixed)
    shutil.copy(made[(2, 1, 1)][0], mixed)
    assert [e.sector for e in CubeCollection.load(str(mixed)).entries] == [2]  # FFI skipped
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InvalidInputError, match="holds no TESS cube"):
        CubeCollection.load(str(empty))
    with pytest.raises(InvalidInputError, match="does not exist"):
        CubeCollection.load(str(tmp_path / "nope.ecsv"))
    with pytest.raises(InvalidInputError, match="empty"):
        CubeCollection.load([])
    with pytest.raises(InvalidInputError, match="cannot open"):
        CubeCollection.load([str(tmp_path / "missing-cube.fits")])
    with pytest.raises(InvalidInputError, match=r"\.ecsv"):
        CubeCollection.load(directory).write(tmp_path / "cubes.csv")


def test_index_and_find_commands(cube_set, tmp_path, capsys):
    directory, made = cube_set
    index = str(tmp_path / "cubes.ecsv")
    assert main(["index", directory, "-o", index]) == 0
    assert f"{index}: {len(made)} cubes" in capsys.readouterr().out
    assert len(CubeCollection.load(index)) == len(made)
    wcs, _ = truth_wcs(made[(1, 1, 1)][0])
    ra, dec = wcs.all_pix2world([[10.0, 20.0]], 0)[0]
    assert main(["find", str(ra), str(dec), "--cubes", index]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[:3] for line in lines] == [["1", "1", "1"], ["27", "1", "1"]]
    assert main(["find", str(ra), str(dec), "--cubes", index, "--sector", "27"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1
    assert main(["find", "10", "10", "--cubes", index]) == 4
    assert main(["index", str(tmp_path), "-o", str(tmp_path / "x.ecsv")]) == 1
    assert "holds no TESS cube" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "x.ecsv")


def test_cubes_over_http_are_indexed_from_a_few_ranges(cube_set, tmp_path):
    pytest.importorskip("fsspec")
    pytest.importorskip("aiohttp")
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "remote"))
    from servers import RangeServer

    from astrocut import remote

    directory, made = cube_set
    keys = [(1, 1, 1), (27, 1, 1)]
    local = CubeCollection.load([made[key][0] for key in keys])
    remote.cache.clear()
    with RangeServer() as server:
        for key in keys:
            with open(made[key][0], "rb") as handle:
                server.put(os.path.basename(made[key][0]), handle.read())
        urls = [f"{server.url}/{os.path.basename(made[key][0])}" for key in keys]
        collection = CubeCollection.load(urls)
        # Headers and a few table rows: the first 64 KiB (which opening the URL asks for)
        # and ranges in the table, never the image data in between.
        tables = []
        for key in keys:
            with fits.open(made[key][0]) as hdulist:
                tables.append(hdulist.fileinfo(2)["hdrLoc"])
        ranges = [tuple(map(int, r.split("=")[1].split("-"))) for _, r in server.log]
        assert ranges.count((0, 65535)) == 2
        assert all(start >= min(tables) for start, _ in ranges if start != 0)
        assert len(ranges) <= 2 * 5  # per cube: the opening, the table header, three rows
    assert [e.path for e in collection.entries] == urls
    for mine, theirs in zip(collection.entries, local.entries, strict=True):
        assert attrs_without_path(mine) == attrs_without_path(theirs)
    wcs, _ = truth_wcs(made[(1, 1, 1)][0])
    ra, dec = wcs.all_pix2world([[10.0, 20.0]], 0)[0]
    assert [e.path for e in collection.find(f"{ra} {dec}")] == urls
    index = collection.write(tmp_path / "remote.ecsv")
    assert [e.path for e in CubeCollection.load(index).entries] == urls


def attrs_without_path(entry):
    import attrs

    values = attrs.asdict(entry)
    values.pop("path")
    return values
