"""Issue 4: cutting stamps out of TESS cubes (``CutoutFactory.cube_cut`` and ``TessCube``).

Test names avoid the words "cube" and "simulate" so that the issue's test selection
(``-k "not simulate and not cube"``) keeps them.
"""

import json
import os
import pickle
import shutil
import subprocess
import textwrap

import astropy.units as u
import numpy as np
import pytest
from astrocut_tess.cutout import TessCube
from astrocut_tess.simulate import simulate_ffis
from astrocut_tess.tpf import write_tpf
from astropy.coordinates import SkyCoord
from astropy.io import fits

from astrocut import CutoutFactory
from astrocut.cubes import cut_from_cube, default_cutout_name, open_cube
from astrocut.errors import AstrocutError, InvalidInputError, InvalidQueryError
from astrocut.geometry import parse_coordinates, parse_cutout_size
from astrocut.models import CubeCutRequest


def _coord(star):
    return SkyCoord(star.ra, star.dec, unit="deg")


def _sky_at(path, x, y):
    """Sky position of 0-based image pixel (x, y) through the WCS the cutter uses."""
    with TessCube.open(path) as opened:
        ra, dec = opened.wcs.all_pix2world([[x, y]], 0)[0]
    return SkyCoord(ra, dec, unit="deg")


def _pixel_of(path, coord):
    with TessCube.open(path) as opened:
        x, y = opened.wcs.all_world2pix([[coord.ra.deg, coord.dec.deg]], 0)[0]
    return float(x), float(y)


def _cut(path, coord, size, **kwargs):
    kwargs.setdefault("memory_only", True)
    return CutoutFactory().cube_cut(path, coord, size, **kwargs)


def _corner(hdulist):
    return hdulist[1].header["1CRV5P"] - 1, hdulist[1].header["2CRV5P"] - 1


# ------------------------------------------------------------------------------ the data

def test_flux_equals_direct_slices_of_the_stack_and_the_ffis(small_sector, small_cube):
    coord = _coord(small_sector.variable_star)
    tpf = _cut(small_cube, coord, [7, 5])
    x0, y0 = _corner(tpf)
    flux, flux_err = tpf[1].data["FLUX"], tpf[1].data["FLUX_ERR"]
    assert flux.shape == (len(small_sector.files), 5, 7)
    with fits.open(small_cube) as hdulist:
        data = hdulist[1].data
        np.testing.assert_array_equal(flux, data[y0:y0 + 5, x0:x0 + 7, :, 0].transpose(2, 0, 1))
        np.testing.assert_array_equal(flux_err,
                                      data[y0:y0 + 5, x0:x0 + 7, :, 1].transpose(2, 0, 1))
    for index, path in enumerate(small_sector.files):
        with fits.open(path) as ffi:
            np.testing.assert_array_equal(flux[index], ffi[1].data[y0:y0 + 5, x0:x0 + 7])
            np.testing.assert_array_equal(flux_err[index], ffi[2].data[y0:y0 + 5, x0:x0 + 7])
    assert np.all(tpf[2].data & 1 == 1)  # bit 1: every pixel collected


def test_stamp_contains_the_target_pixel(small_sector, small_cube):
    for star in small_sector.stars[:6]:
        coord = _coord(star)
        x, y = _pixel_of(small_cube, coord)
        if not (0 <= round(x) < small_sector.shape[0] and 0 <= round(y) < small_sector.shape[1]):
            continue
        for size in (2, 3, 5, [6, 3], [2, 7]):
            tpf = _cut(small_cube, coord, size)
            x0, y0 = _corner(tpf)
            ny, nx = tpf[2].data.shape
            assert x0 <= round(x) < x0 + nx and y0 <= round(y) < y0 + ny
        # A single pixel follows the reference tool's rounding, round(x - 0.5): the pixel
        # holding x when pixel i spans [i, i + 1), so at most one pixel from round(x).
        x0, y0 = _corner(_cut(small_cube, coord, 1))
        assert abs(x0 - x) < 1 and abs(y0 - y) < 1


def test_window_is_centred_like_the_reference_tool(small_sector, small_cube):
    coord = _coord(small_sector.variable_star)
    x, y = _pixel_of(small_cube, coord)
    for nx, ny in ((5, 5), (4, 6), (10, 3)):
        tpf = _cut(small_cube, coord, [nx, ny], placement="reference")
        assert _corner(tpf) == (int(np.round(x - nx / 2)), int(np.round(y - ny / 2)))


def test_window_is_centred_on_the_target(small_sector, small_cube):
    coord = _coord(small_sector.variable_star)
    x, y = _pixel_of(small_cube, coord)
    for nx, ny in ((5, 5), (4, 6), (10, 3), (1, 1)):
        tpf = _cut(small_cube, coord, [nx, ny])
        x0, y0 = _corner(tpf)
        assert (x0, y0) == (int(np.round(x - (nx - 1) / 2)), int(np.round(y - (ny - 1) / 2)))
        assert abs(x0 + (nx - 1) / 2 - x) <= 0.5 and abs(y0 + (ny - 1) / 2 - y) <= 0.5


# ------------------------------------------------------------------------------ sizes

@pytest.mark.parametrize("size, expected", [
    (5, (5, 5)),
    ([7, 4], (4, 7)),            # [nx, ny]: 7 columns, 4 rows
    ((3, 8), (8, 3)),
    (6 * u.pixel, (6, 6)),
    ([5, 2] * u.pixel, (2, 5)),
    (105 * u.arcsec, (5, 5)),    # 21 arcsec pixels
    ([63, 126] * u.arcsec, (6, 3)),
    ([63 * u.arcsec, 2.1 * u.arcmin], (6, 3)),
    (np.int64(4), (4, 4)),
])
def test_sizes(small_sector, small_cube, size, expected):
    tpf = _cut(small_cube, _coord(small_sector.variable_star), size)
    ny, nx = expected
    assert tpf[2].data.shape == (ny, nx)
    assert tpf[1].data["FLUX"].shape[1:] == (ny, nx)
    assert tpf[1].header["TDIM5"] == f"({nx},{ny})"


# 0.2 arcsec (one pixel) and [1, 2, 3] (first two used) follow 1.x: tests/compat.
@pytest.mark.parametrize("size", [0, -3, [5, 0], [0, 5], 0 * u.arcsec, -1 * u.pixel,
                                  np.nan, "5", None, 5 * u.kg])
def test_bad_sizes_raise(small_sector, small_cube, size):
    with pytest.raises(InvalidInputError):
        _cut(small_cube, _coord(small_sector.variable_star), size)


# --------------------------------------------------------------------- names and output

def test_default_name_and_output_path(small_sector, small_cube, tmp_path, monkeypatch):
    coord = _coord(small_sector.variable_star)
    monkeypatch.chdir(tmp_path)
    path = CutoutFactory().cube_cut(small_cube, coord, [4, 3])
    base = os.path.basename(small_cube)[: -len("-cube.fits")]
    ra, dec = round(float(coord.ra.deg), 6), round(float(coord.dec.deg), 6)
    expected = f"{base}_{ra!r}_{dec!r}_4x3_astrocut.fits"
    assert os.path.basename(path) == expected
    assert os.path.isfile(tmp_path / expected)
    with open_cube(small_cube) as cube:
        assert expected == default_cutout_name(cube, parse_coordinates(coord), (3, 4))

    out = tmp_path / "new" / "nested"
    path = CutoutFactory().cube_cut(small_cube, coord, 4, output_path=str(out))
    assert os.path.dirname(path) == str(out) and os.path.isfile(path)

    path = CutoutFactory().cube_cut(small_cube, coord, 4, target_pixel_file="mine.fits",
                                    output_path=str(out))
    assert path == os.path.join(str(out), "mine.fits") and os.path.isfile(path)

    explicit = str(tmp_path / "elsewhere.fits")
    path = CutoutFactory().cube_cut(small_cube, coord, 4, target_pixel_file=explicit,
                                    output_path=str(out))
    assert path == explicit and os.path.isfile(explicit)
    leftovers = [name for name in os.listdir(out) if name.endswith(".part")]
    assert leftovers == []


def test_string_coordinates(small_sector, small_cube):
    star = small_sector.variable_star
    a = _cut(small_cube, f"{star.ra} {star.dec}", 5)
    b = _cut(small_cube, _coord(star), 5)
    np.testing.assert_array_equal(a[1].data["FLUX"], b[1].data["FLUX"])
    assert a[0].header["RA_OBJ"] == star.ra and a[0].header["DEC_OBJ"] == star.dec


def test_memory_only_writes_nothing(small_sector, small_cube, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CutoutFactory().cube_cut(small_cube, _coord(small_sector.variable_star), 5,
                                      memory_only=True, output_path=str(tmp_path / "not-made"))
    assert isinstance(result, fits.HDUList)
    assert [hdu.name for hdu in result] == ["PRIMARY", "PIXELS", "APERTURE"]
    assert os.listdir(tmp_path) == []
    on_disk = CutoutFactory().cube_cut(small_cube, _coord(small_sector.variable_star), 5)
    with fits.open(on_disk) as written:
        for column in ("TIME", "FLUX", "FLUX_ERR", "QUALITY", "FFI_FILE"):
            np.testing.assert_array_equal(result[1].data[column], written[1].data[column])


def test_verbose_logs_the_documented_lines(small_sector, small_cube, tmp_path, caplog):
    coord = _coord(small_sector.variable_star)
    path = CutoutFactory().cube_cut(small_cube, coord, 5, output_path=str(tmp_path),
                                    verbose=True)
    out = [r.getMessage() for r in caplog.records if r.name == "astrocut.cubes"]
    n_ffi = len(small_sector.files)
    with fits.open(path) as tpf:
        x0, y0 = _corner(tpf)
    assert out[0] == f"Cutout center coordinate: {coord.ra.deg},{coord.dec.deg}"
    assert out[1] == f"xmin,xmax: [{x0} {x0 + 5}]"
    assert out[2] == f"ymin,ymax: [{y0} {y0 + 5}]"
    assert out[3] == f"Image cutout cube shape: ({n_ffi}, 5, 5)"
    assert out[4] == f"Uncertainty cutout cube shape: ({n_ffi}, 5, 5)"
    assert out[5] == f"Target pixel file: {path}"
    assert out[6].startswith("Write time: ") and out[6].endswith(" sec")
    assert out[7].startswith("Total time: ") and out[7].endswith(" sec")


def test_quiet_by_default(small_sector, small_cube, capsys):
    _cut(small_cube, _coord(small_sector.variable_star), 5)
    assert capsys.readouterr().out == ""


# ------------------------------------------------------------------------------- edges

def test_partial_overlap_is_padded(small_sector, small_cube):
    n_cols, n_rows = small_sector.shape
    for x, y in ((1.2, 1.3), (n_cols - 1.6, n_rows - 2.2), (0.4, n_rows - 1.0)):
        tpf = _cut(small_cube, _sky_at(small_cube, x, y), 8)
        x0, y0 = _corner(tpf)
        aperture = tpf[2].data
        flux = tpf[1].data["FLUX"]
        ys, xs = np.mgrid[0:8, 0:8]
        on = (xs + x0 >= 0) & (xs + x0 < n_cols) & (ys + y0 >= 0) & (ys + y0 < n_rows)
        assert 0 < on.sum() < 64
        np.testing.assert_array_equal(aperture & 1, on.astype(np.int32))
        assert np.all(aperture[~on] == 0)
        assert np.all(np.isnan(flux[:, ~on])) and np.all(np.isnan(tpf[1].data["FLUX_ERR"][:, ~on]))
        assert np.all(np.isfinite(flux[:, on]))
        with fits.open(small_cube) as hdulist:
            data = hdulist[1].data
            iy, ix = np.nonzero(on)
            np.testing.assert_array_equal(flux[:, iy, ix],
                                          data[iy + y0, ix + x0, :, 0].T)


def test_no_overlap_raises(small_sector, small_cube):
    n_cols, n_rows = small_sector.shape
    for x, y in ((-30.0, 10.0), (n_cols + 20.0, 5.0), (10.0, n_rows + 8.0), (-9.0, -9.0)):
        with pytest.raises(InvalidQueryError, match="no pixel"):
            _cut(small_cube, _sky_at(small_cube, x, y), 5)


def test_far_away_coordinates_raise(small_sector, small_cube):
    star = small_sector.variable_star
    with pytest.raises(InvalidQueryError):
        _cut(small_cube, SkyCoord((star.ra + 180) % 360, -star.dec, unit="deg"), 5)
    with pytest.raises(InvalidQueryError):
        _cut(small_cube, SkyCoord((star.ra + 40) % 360, star.dec, unit="deg"), 5)


@pytest.mark.parametrize("coordinates", ["400 100", "12 -95", "nan 3", "ten twenty", 12.5,
                                         "", None])
def test_invalid_coordinates_raise(small_cube, coordinates):
    with pytest.raises(InvalidInputError):
        _cut(small_cube, coordinates, 5)


@pytest.fixture(scope="module")
def stacks_with_bad_wcs(tmp_path_factory, stack_builder):
    """Stacks of six FFIs whose WCS is invalid in some frames, keyed by the invalid frames."""
    made = {}
    for invalid in ((3,), (3, 4, 5), (0, 1, 2, 3, 4, 5)):
        directory = tmp_path_factory.mktemp("badwcs")
        sector = simulate_ffis(directory / "ffis", n_ffi=6, size=(40, 36), seed=7,
                               invalid_wcs_frames=invalid)
        made[invalid] = (sector, stack_builder(sector.files, directory / "bad-cube.fits"))
    return made


def test_wcs_row_choice_follows_the_reference_tool(stacks_with_bad_wcs):
    # The middle row (n // 2) if valid, else the next valid one, wrapping to the start.
    for invalid, expected in (((3,), 4), ((3, 4, 5), 0)):
        sector, path = stacks_with_bad_wcs[invalid]
        tpf = _cut(path, _coord(sector.variable_star), 5)
        assert tpf[1].header["WCS_FFI"] == os.path.basename(sector.files[expected])
        with TessCube.open(path) as opened:
            assert opened.info.wcs_row == expected


def test_no_valid_wcs_raises(stacks_with_bad_wcs):
    sector, path = stacks_with_bad_wcs[(0, 1, 2, 3, 4, 5)]
    with pytest.raises(InvalidInputError, match="valid WCS"):
        _cut(path, _coord(sector.variable_star), 5)


def test_files_that_are_not_stacks_raise(small_sector, small_cube, tmp_path):
    coord = _coord(small_sector.variable_star)
    text = tmp_path / "notes.txt"
    text.write_text("not a FITS file\n")
    image = tmp_path / "plain.fits"
    fits.PrimaryHDU(np.zeros((4, 4), dtype=np.float32)).writeto(image)
    for path in (small_sector.files[0], str(text), str(image), str(tmp_path / "missing.fits"),
                 str(tmp_path)):
        with pytest.raises(InvalidInputError):
            _cut(path, coord, 5)


def test_damaged_stacks_raise(small_sector, small_cube, tmp_path):
    coord = _coord(small_sector.variable_star)
    size = os.path.getsize(small_cube)
    with fits.open(small_cube) as hdulist:
        table_start = hdulist[2].fileinfo()["hdrLoc"]
    cases = {"truncated.fits": size // 2, "no-table.fits": table_start}
    for name, keep in cases.items():
        damaged = tmp_path / name
        with open(small_cube, "rb") as src, open(damaged, "wb") as dst:
            dst.write(src.read(keep))
        with pytest.raises(InvalidInputError, match="truncated|no table|not a complete"):
            _cut(str(damaged), coord, 5)
    # A table that lost its time columns.
    with fits.open(small_cube) as hdulist:
        keep = [c for c in hdulist[2].columns if c.name not in ("TSTART", "TSTOP")]
        broken = fits.HDUList([hdulist[0].copy(), hdulist[1].copy(),
                               fits.BinTableHDU.from_columns(keep)])
        broken.writeto(tmp_path / "no-times.fits")
    with pytest.raises(InvalidInputError, match="TSTART"):
        _cut(str(tmp_path / "no-times.fits"), coord, 5)


def test_errors_are_astrocut_errors_not_index_errors(small_sector, small_cube):
    n_cols, n_rows = small_sector.shape
    for x, y, size in ((n_cols + 3.0, n_rows + 3.0, 4), (-2.6, 20.0, 3)):
        with pytest.raises(AstrocutError):
            _cut(small_cube, _sky_at(small_cube, x, y), size)


# --------------------------------------------------------------------------- TessCube

def test_tess_handle_cuts_many_stamps_and_closes(small_sector, small_cube, tmp_path):
    requests = [CubeCutRequest(center=parse_coordinates(_coord(star)),
                               size=parse_cutout_size(4)) for star in small_sector.stars[:5]]
    with TessCube.open(small_cube) as opened:
        cutouts = [cut_from_cube(opened, request) for request in requests]
        assert "TessCube" in repr(opened)
    assert opened._handle is None
    opened.close()  # closing twice is harmless
    with pytest.raises(InvalidInputError, match="closed"):
        opened.read_stamp((0, 0), (2, 2))
    for cutout in cutouts:
        assert cutout.source_kind == "tess.cube" and cutout.fitted_wcs is not None
        assert cutout.flux.dtype == np.float32 and cutout.flux.dtype.isnative
        assert cutout.aperture.dtype == np.int32
    # Cutouts carry no open file: they pickle, and the copy writes the same file.
    copy = pickle.loads(pickle.dumps(cutouts[0]))
    a = write_tpf(cutouts[0], str(tmp_path / "a.fits"))
    b = write_tpf(copy, str(tmp_path / "b.fits"))
    with fits.open(a) as first, fits.open(b) as second:
        np.testing.assert_array_equal(first[1].data["FLUX"], second[1].data["FLUX"])
        assert first[1].header["WCS_MSEP"] == second[1].header["WCS_MSEP"]


def test_whole_rows_read_in_one_go(small_sector, small_cube):
    # A stamp as wide as the image takes the single-read path.
    n_cols = small_sector.shape[0]
    with TessCube.open(small_cube) as opened:
        flux, _, aperture = opened.read_stamp((0, 3), (4, n_cols))
    with fits.open(small_cube) as hdulist:
        np.testing.assert_array_equal(flux, hdulist[1].data[3:7, :, :, 0].transpose(2, 0, 1))
    assert aperture.all()


# ------------------------------------------------------------------ the reference tool

_REFERENCE_SCRIPT = textwrap.dedent("""
    import json, sys, warnings
    warnings.simplefilter("ignore")
    from astrocut import CutoutFactory
    args = json.loads(sys.argv[1])
    paths = []
    for index, (ra, dec, size) in enumerate(args["cuts"]):
        paths.append(CutoutFactory().cube_cut(args["path"], f"{ra} {dec}", size,
                                              output_path=args["out"],
                                              target_pixel_file=f"ref{index}.fits"))
    print(json.dumps(paths))
""")


def test_same_as_reference_tool(small_sector, small_cube, tmp_path):
    python = os.environ.get("ASTROCUT_REFERENCE_PYTHON")
    if not python or not shutil.which(python):
        pytest.skip("set ASTROCUT_REFERENCE_PYTHON to the reference tool's python")
    star = small_sector.variable_star
    edge = _sky_at(small_cube, 1.2, 2.4)
    cuts = [(star.ra, star.dec, 5), (star.ra, star.dec, [7, 4]), (star.ra, star.dec, 12),
            (edge.ra.deg, edge.dec.deg, 6)]
    script = tmp_path / "reference.py"
    script.write_text(_REFERENCE_SCRIPT)
    done = subprocess.run([python, str(script), json.dumps(
        {"path": str(small_cube), "cuts": cuts, "out": str(tmp_path)})],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ""}, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    paths = json.loads(done.stdout.strip().splitlines()[-1])
    for (ra, dec, size), reference_path in zip(cuts, paths):
        # The reference's pixels and the FFI's times (the defaults centre the stamp and move
        # the time to the target, issue 13).
        ours = _cut(small_cube, f"{ra} {dec}", size, placement="reference",
                    time_correction="ffi")
        target = SkyCoord(ra, dec, unit="deg")
        with fits.open(reference_path) as reference:
            for column in ("TIME", "FLUX", "FLUX_ERR", "QUALITY"):
                np.testing.assert_array_equal(ours[1].data[column], reference[1].data[column],
                                              err_msg=column)
            assert ours[2].data.shape == reference[2].data.shape
            # The reference's 1/0 is our bit 1 (collected); bits 2 and 4 are ours.
            np.testing.assert_array_equal(ours[2].data & 1, reference[2].data)
            # Same pixels: both linear WCSs put the target on the same stamp position.
            from astropy.wcs import WCS

            theirs = np.array(WCS(reference[2].header).world_to_pixel(target), dtype=float)
            mine = np.array(WCS(ours[2].header).world_to_pixel(target), dtype=float)
            np.testing.assert_allclose(mine, theirs, atol=0.05)


# ------------------------------------------------------------------------------- the CLI

def test_command_line_cut(small_sector, small_cube, tmp_path, capsys):
    from astrocut.cli import main

    star = small_sector.variable_star
    out = tmp_path / "cli"
    assert main(["cut", small_cube, str(star.ra), str(star.dec), "--size", "6", "--size-y",
                 "4", "-o", str(out)]) == 0
    path = capsys.readouterr().out.strip().splitlines()[-1]
    assert os.path.dirname(path) == str(out) and path.endswith("_6x4_astrocut.fits")
    with fits.open(path) as tpf:
        assert tpf[1].data["FLUX"].shape[1:] == (4, 6)
    # Errors are one line on stderr and exit code 1, no traceback.
    assert main(["cut", small_sector.files[0], str(star.ra), str(star.dec)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("astrocut: error:") and "Traceback" not in err
    far = (star.ra + 90) % 360
    assert main(["cut", small_cube, str(far), str(star.dec), "-o", str(out)]) == 1
    assert "astrocut: error:" in capsys.readouterr().err


_REFERENCE_BUILD = textwrap.dedent("""
    import json, sys, warnings
    warnings.simplefilter("ignore")
    from astrocut import CubeFactory, CutoutFactory
    args = json.loads(sys.argv[1])
    cube = CubeFactory().make_cube(args["files"], args["cube"], verbose=False)
    tpf = CutoutFactory().cube_cut(cube, args["target"], args["size"], output_path=args["out"])
    print(json.dumps([cube, tpf]))
""")


def test_reads_stacks_made_by_the_reference_tool(small_sector, tmp_path):
    # Archive cubes (the reference tool's layout) must cut the same as ours.
    python = os.environ.get("ASTROCUT_REFERENCE_PYTHON")
    if not python or not shutil.which(python):
        pytest.skip("set ASTROCUT_REFERENCE_PYTHON to the reference tool's python")
    star = small_sector.variable_star
    target = f"{star.ra} {star.dec}"
    script = tmp_path / "build.py"
    script.write_text(_REFERENCE_BUILD)
    done = subprocess.run([python, str(script), json.dumps(
        {"files": small_sector.files, "cube": str(tmp_path / "ref-cube.fits"),
         "target": target, "size": [6, 5], "out": str(tmp_path)})],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ""}, timeout=300,
        cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    reference_cube, reference_tpf = json.loads(done.stdout.strip().splitlines()[-1])
    ours = _cut(reference_cube, target, [6, 5], placement="reference", time_correction="ffi")
    with fits.open(reference_tpf) as reference:
        for column in ("TIME", "TIMECORR", "FLUX", "FLUX_ERR", "QUALITY"):
            np.testing.assert_array_equal(ours[1].data[column], reference[1].data[column],
                                          err_msg=column)
    assert ours[1].header["WCS_FFI"] == os.path.basename(small_sector.files[6])
