"""find_cubes, cube_cut_from_footprint, TessFootprintCutout, ra_dec_crossmatch,
get_tess_sectors and the check of cube WCSs against tess-point's tables."""

import os
import shutil
import warnings
import zipfile

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import Table

import astrocut
from astrocut.errors import DataWarning, InvalidInputError, InvalidQueryError


def _pixel_to_sky(path, x, y):
    from astrocut_tess.cutout import TessCube

    with TessCube.open(path) as cube:
        ra, dec = cube.wcs.all_pix2world([[x, y]], 0)[0]
    return SkyCoord(ra, dec, unit="deg")


@pytest.fixture(scope="module")
def both(cube_set):
    """A position on the sector 1 and sector 27 cubes (camera 1, CCD 1) only."""
    directory, made = cube_set
    return _pixel_to_sky(made[(1, 1, 1)][0], 10.0, 20.0)


def test_names_import_from_astrocut():
    for name in ("find_cubes", "cube_cut_from_footprint", "TessFootprintCutout",
                 "ra_dec_crossmatch", "get_tess_sectors", "CubeCollection"):
        assert callable(getattr(astrocut, name))
    from astrocut import find_cubes  # noqa: F401


def test_find_cubes(cube_set, both):
    directory, made = cube_set
    assert [e.sector for e in astrocut.find_cubes(both, 5, directory)] == [1, 27]
    assert [e.sector for e in astrocut.find_cubes(both, 0, directory, sequence=27)] == [27]
    assert [e.sector for e in astrocut.find_cubes(both, [0, 0], directory)] == [1, 27]
    with pytest.raises(InvalidInputError, match="collection is required"):
        astrocut.find_cubes(both, 5)


def test_cube_cut_from_footprint_writes_one_tpf_per_cube(cube_set, both, tmp_path):
    directory, made = cube_set
    paths = astrocut.cube_cut_from_footprint(both, 5, collection=directory,
                                             output_dir=str(tmp_path))
    assert len(paths) == 2 and all(str(tmp_path) in p for p in paths)
    for path, sector in zip(paths, (1, 27), strict=True):
        direct = astrocut.CutoutFactory().cube_cut(made[(sector, 1, 1)][0], both, 5,
                                                   memory_only=True)
        with fits.open(path) as tpf:
            assert tpf[0].header["SECTOR"] == sector
            assert tpf[1].data["FLUX"].shape == (6, 5, 5)
            np.testing.assert_array_equal(tpf[1].data["FLUX"], direct[1].data["FLUX"])
    memory = astrocut.cube_cut_from_footprint(both, 5, sequence=[27], memory_only=True,
                                              collection=directory)
    assert len(memory) == 1 and isinstance(memory[0], fits.HDUList)
    assert memory[0][0].header["SECTOR"] == 27


def test_footprint_errors(cube_set, both):
    directory, _ = cube_set
    with pytest.raises(InvalidQueryError, match="No files were found for sequences: -1"):
        astrocut.cube_cut_from_footprint(both, 5, sequence=-1, collection=directory)
    with pytest.raises(InvalidQueryError, match="not found within the specified sequence"):
        astrocut.cube_cut_from_footprint(both, 5, sequence=2, collection=directory)
    with pytest.raises(InvalidInputError, match="Invalid coordinates input"):
        astrocut.cube_cut_from_footprint("400 -120", 5, collection=directory)


def test_tess_footprint_cutout(cube_set, both, tmp_path):
    directory, _ = cube_set
    cutout = astrocut.TessFootprintCutout(both, [4, 6], collection=directory)
    assert [hdulist[0].header["SECTOR"] for hdulist in cutout.tpf_cutouts] == [1, 27]
    assert set(cutout.tpf_cutouts_by_file) == {e.path for e in cutout.entries}
    assert cutout.tpf_cutouts[0][1].data["FLUX"].shape == (6, 6, 4)
    paths = cutout.write_as_tpf(str(tmp_path / "tpfs"))
    assert [fits.getheader(p)["SECTOR"] for p in paths] == [1, 27]
    archive = cutout.write_as_zip(str(tmp_path), filename="both")
    assert archive.endswith("both.zip")
    with zipfile.ZipFile(archive) as zf:
        assert sorted(zf.namelist()) == sorted(os.path.basename(p) for p in paths)
    with pytest.raises(InvalidInputError, match="fill_value"):
        astrocut.TessFootprintCutout(both, 5, fill_value=0, collection=directory)


def test_ra_dec_crossmatch(cube_set, both, tmp_path):
    directory, made = cube_set
    index = astrocut.CubeCollection.load(directory).write(tmp_path / "cubes.ecsv")
    table = Table.read(index, format="ascii.ecsv")
    for source in (table, index, directory):
        matched = astrocut.ra_dec_crossmatch(source, both, 0)
        assert isinstance(matched, Table)
        assert list(matched["sector"]) == [1, 27]
    assert len(astrocut.ra_dec_crossmatch(table, "10 10", 5)) == 0


# ---------------------------------------------------------------------------- tess-point

def test_get_tess_sectors_from_pointing_tables():
    tess_stars2px = pytest.importorskip("tess_stars2px")
    table = astrocut.get_tess_sectors("350 -80", 0)
    assert table.colnames == ["sectorName", "sector", "camera", "ccd"]
    # tess-point itself, called directly, for the same position
    result = tess_stars2px.tess_stars2px_function_entry(1, 350.0, -80.0)
    expected = sorted(zip(result[3], result[4], result[5], strict=True))
    assert [tuple(r) for r in table["sector", "camera", "ccd"]] == expected
    assert len(table) >= 7
    assert table["sectorName"][0] == f"tess-s{expected[0][0]:04d}-{expected[0][1]}-{expected[0][2]}"
    for size in (5, 1 * u.arcmin, [5, 5], (3 * u.arcsec, 3 * u.arcsec)):
        assert set(astrocut.get_tess_sectors("350 -80", size)["sector"]) >= set(table["sector"])
    with pytest.raises(InvalidInputError, match="Invalid coordinates input"):
        astrocut.get_tess_sectors("400 -120", 0)


def test_get_tess_sectors_is_ra_dec_crossmatch_over_the_tables(monkeypatch):
    pytest.importorskip("tess_stars2px")
    from astropy.table import Table

    from astrocut_tess import footprint

    crossmatched = astrocut.ra_dec_crossmatch(None, "350 -80", 2 * u.arcmin, 21)
    assert crossmatched.colnames == ["sectorName", "sector", "camera", "ccd"]
    by_name = astrocut.get_tess_sectors("350 -80", 2 * u.arcmin)
    assert len(by_name) >= 7 and list(crossmatched["sectorName"]) == list(by_name["sectorName"])
    # 1.x's module name, as 1.x's tests patch it
    assert astrocut.tess_footprint_cutout is footprint
    assert footprint.get_tess_sectors is astrocut.get_tess_sectors
    empty = Table(names=["sectorName", "sector", "camera", "ccd"],
                  dtype=["S10", "i4", "i4", "i4"])
    monkeypatch.setattr("astrocut.tess_footprint_cutout.ra_dec_crossmatch",
                        lambda *_a, **_k: empty)
    assert len(astrocut.get_tess_sectors("350 -80", 0)) == 0


def test_a_stamp_reaching_onto_a_ccd_finds_it():
    tess_stars2px = pytest.importorskip("tess_stars2px")
    # A position just past the left science edge of sector 1, camera 1, CCD 1 (column 45 is
    # the first science column): a 40-pixel stamp centred there reaches onto it.
    ra, dec, _ = tess_stars2px.tess_stars2px_reverse_function_entry(1, 1, 1, 30.0, 1000.0)
    point = astrocut.get_tess_sectors(f"{ra} {dec}", 0)
    assert (1, 1, 1) not in [tuple(r) for r in point["sector", "camera", "ccd"]]
    stamp = astrocut.get_tess_sectors(f"{ra} {dec}", 40)
    assert (1, 1, 1) in [tuple(r) for r in stamp["sector", "camera", "ccd"]]


def _cube_with_pointing_wcs(source, target, sector, camera, ccd, shift=0.0):
    """Copy ``source`` to ``target`` with every table row's WCS fitted to tess-point's
    mapping of its pixels (SIP terms zeroed), CRPIX1 moved by ``shift`` pixels."""
    tess_stars2px = pytest.importorskip("tess_stars2px")
    from astropy.wcs.utils import fit_wcs_from_points

    shutil.copy(source, target)
    with fits.open(target, mode="update") as hdulist:
        rows, cols = hdulist[1].shape[:2]
        x, y = np.meshgrid(np.linspace(0, cols - 1, 6), np.linspace(0, rows - 1, 6))
        sky = [tess_stars2px.tess_stars2px_reverse_function_entry(
            sector, camera, ccd, float(xx) + 1.0, float(yy) + 1.0)[:2]
            for xx, yy in zip(x.ravel(), y.ravel(), strict=True)]
        ra, dec = np.array(sky).T
        wcs = fit_wcs_from_points((x.ravel(), y.ravel()), SkyCoord(ra, dec, unit="deg"),
                                  projection="TAN")
        header = wcs.to_header()
        table = hdulist[2].data
        for key in ("CRVAL1", "CRVAL2", "CRPIX1", "CRPIX2"):
            table[key][:] = header[key] + (shift if key == "CRPIX1" else 0.0)
        cd = wcs.wcs.cd if wcs.wcs.has_cd() else wcs.wcs.get_pc() * wcs.wcs.cdelt[:, None]
        for i in (1, 2):
            for j in (1, 2):
                table[f"CD{i}_{j}"][:] = cd[i - 1, j - 1]
        for name in table.columns.names:
            if name[:2] in ("A_", "B_") or name[:3] in ("AP_", "BP_"):
                if not name.endswith(("ORDER", "DMAX")):
                    table[name][:] = 0.0
    return target


def test_cube_wcs_checked_against_pointing_tables(cube_set, tmp_path):
    pytest.importorskip("tess_stars2px")
    from astrocut_tess.pointing import compare_with_cubes

    _, made = cube_set
    source = made[(1, 1, 1)][0]
    good = _cube_with_pointing_wcs(source, tmp_path / "tess-s0001-1-1-cube.fits", 1, 1, 1)
    shifted_dir = tmp_path / "shifted"
    shifted_dir.mkdir()
    shifted = _cube_with_pointing_wcs(source, shifted_dir / "tess-s0001-1-1-cube.fits",
                                      1, 1, 1, shift=2.0)
    target = _pixel_to_sky(str(good), 50.0, 20.0)  # column 51: on the science pixels
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        table = compare_with_cubes(target, [str(good)])
    assert len(table) == 1 and table["distance"][0] < 0.1
    assert table["wcs_column"][0] == pytest.approx(51.0, abs=1e-6)
    with pytest.warns(DataWarning, match=r"disagree by (1\.9|2\.0)\d pixels"):
        table = compare_with_cubes(target, [str(shifted)])
    assert table["distance"][0] == pytest.approx(2.0, abs=0.1)
    # The simulator's own pointing is not TESS's: the tables put the target elsewhere.
    other = _pixel_to_sky(made[(2, 1, 1)][0], 50.0, 20.0)
    with pytest.warns(DataWarning, match="tess-point's tables put it off"):
        compare_with_cubes(other, [made[(2, 1, 1)][0]])


def test_without_tess_point_one_line_error(monkeypatch):
    import builtins

    from astrocut_tess import pointing

    real_import = builtins.__import__

    def no_tess_point(name, *args, **kwargs):
        if name == "tess_stars2px":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tess_point)
    with pytest.raises(InvalidInputError, match=r"astrocut\[pointing\]"):
        pointing.get_tess_sectors("350 -80", 0)


