"""Tests of the TESS cube builder (issue 3): layout, values, memory bands, updates, errors."""

import json
import os
import random
import re
import shutil
import subprocess
import sys
import textwrap
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
from astropy.io import fits

import astrocut_tess.cube as cube_module
from astrocut import CubeFactory
from astrocut.cli import main
from astrocut.errors import AstrocutError, DataWarning, InputWarning, InvalidInputError, OutputError
from astrocut.models import CubeRequest
from astrocut_tess.simulate import simulate_ffis

from reference_cube_writer import reference_cube


def build(files, cube_file, **options):
    options.setdefault("verbose", False)
    return CubeFactory().make_cube([str(f) for f in files], str(cube_file), **options)


def update(files, cube_file, **options):
    options.setdefault("verbose", False)
    return CubeFactory().update_cube([str(f) for f in files], str(cube_file), **options)


def no_leftovers(directory):
    return [name for name in os.listdir(directory) if name.endswith(".part")] == []


def same_column(a, b):
    if a.dtype.kind == "f":
        return np.array_equal(a, b, equal_nan=True)
    if a.dtype.kind in "SU":
        return [str(x).strip() for x in a] == [str(x).strip() for x in b]
    return np.array_equal(a, b)


def assert_same_tables(ours, theirs, names=None):
    names = names or theirs.columns.names
    assert set(names) <= set(ours.columns.names)
    for name in names:
        assert same_column(ours[name], theirs[name]), name


@pytest.fixture
def fixed_date(monkeypatch):
    """Cubes built on either side of midnight would differ in DATE only: pin it."""
    monkeypatch.setattr(cube_module, "_today", lambda: "2024-01-02")


@pytest.fixture(scope="module")
def full_cube(small_sector, tmp_path_factory):
    path = tmp_path_factory.mktemp("cube") / "full-cube.fits"
    build(small_sector.files, path)
    return str(path)


@pytest.fixture(scope="module")
def odd_sets(tmp_path_factory):
    """Small FFI sets that differ from ``small_sector`` in one way each."""
    root = tmp_path_factory.mktemp("odd")
    make = lambda name, **kw: simulate_ffis(root / name, n_ffi=2, seed=7, **{  # noqa: E731
        "size": (80, 60), **kw}).files
    return {
        "shape": make("shape", size=(64, 48)),
        "sector": make("sector", sector=2),
        "camera": make("camera", camera=2),
        "ccd": make("ccd", ccd=3),
        "wcs": simulate_ffis(root / "wcs", n_ffi=5, size=(80, 60), seed=3,
                             invalid_wcs_frames=(0, 3)).files,
    }


# --------------------------------------------------------------------------- layout

def test_layout(small_sector, tmp_path):
    files = list(small_sector.files)
    random.Random(1).shuffle(files)
    cube_file = build(files, tmp_path / "cube.fits")
    with fits.open(cube_file) as hdulist:
        assert len(hdulist) == 3
        primary, image, table = hdulist[0].header, hdulist[1].header, hdulist[2]
        assert image["BITPIX"] == -32 and image["NAXIS"] == 4
        assert [image[f"NAXIS{i}"] for i in range(1, 5)] == [2, 12, 80, 60]
        data = hdulist[1].data
        assert data.shape == (60, 80, 12, 2) and data.dtype == np.dtype(">f4")
        for key in ("ORIGIN", "DATE", "CAMERA", "CCD", "SECTOR", "TSTOP", "DATE-END"):
            assert key in primary
        assert "CHECKSUM" not in primary
        assert primary["ORIGIN"] == "astrocut" and primary["SECTOR"] == 1
        assert primary["EXTNAME"] == "PRIMARY"
        with fits.open(small_sector.files[0]) as first, fits.open(small_sector.files[-1]) as last:
            assert primary["TSTART"] == first[0].header["TSTART"]
            assert primary["TSTOP"] == last[1].header["TSTOP"]
            assert primary["DATE-END"] == last[1].header["DATE-END"]
            keys = [k for k in first[1].header.keys() if k not in ("COMMENT", "HISTORY")]
        names = table.columns.names
        assert names == keys + ["FFI_FILE"]
        assert list(table.data["FFI_FILE"]) == [os.path.basename(f) for f in small_sector.files]
        assert np.all(np.diff(table.data["TSTART"]) > 0)
        formats = dict(zip(names, table.columns.formats))
        assert formats["TSTART"] == "D" and formats["DQUALITY"] == "J"
        assert formats["CTYPE1"] == "12A" and formats["INHERIT"] == "J"
        # keyword comments describe the columns (not the archive's KEY = 'comment' cards)
        number = names.index("TSTART") + 1
        assert table.header.comments[f"TTYPE{number}"] == "observation start time in BTJD"
        assert "TSTART" not in table.header and "EXTNAME" not in table.header


@pytest.mark.skipif(shutil.which("fitsverify") is None, reason="needs fitsverify")
def test_fitsverify_finds_no_errors(full_cube):
    result = subprocess.run(["fitsverify", "-e", full_cube], capture_output=True, text=True)
    assert "0 error(s)" in result.stdout, result.stdout[-2000:]


def test_values_equal_the_ffis(small_sector, full_cube):
    with fits.open(full_cube) as hdulist:
        data = hdulist[1].data
        for index, path in enumerate(small_sector.files):
            with fits.open(path) as ffi:
                np.testing.assert_array_equal(data[:, :, index, 0], ffi[1].data)
                np.testing.assert_array_equal(data[:, :, index, 1], ffi[2].data)
                assert hdulist[2].data["DQUALITY"][index] == ffi[1].header["DQUALITY"]


def test_equals_the_spec_writer(small_sector, full_cube):
    expected = reference_cube(small_sector.files)
    with fits.open(full_cube) as ours:
        np.testing.assert_array_equal(ours[1].data, expected[1].data)
        assert ours[2].columns.names == expected[2].columns.names
        assert ours[2].columns.formats == expected[2].columns.formats
        assert_same_tables(ours[2].data, expected[2].data)
        for key, value in expected[0].header.items():
            if key not in ("COMMENT", "HISTORY"):
                assert ours[0].header[key] == value, key


def test_tiny_max_memory_is_byte_identical(small_sector, tmp_path, fixed_date):
    one = build(small_sector.files, tmp_path / "one.fits", max_memory=50)
    rows = build(small_sector.files, tmp_path / "rows.fits", max_memory=1e-9)
    some = build(small_sector.files, tmp_path / "some.fits", max_memory=0.0002)
    with open(one, "rb") as a, open(rows, "rb") as b, open(some, "rb") as c:
        reference = a.read()
        assert b.read() == reference
        assert c.read() == reference


def test_band_plan_respects_memory():
    plan = cube_module.BandPlan(output="x", data_offset=0, shape=(2078, 2136, 40, 2),
                                sources=(cube_module.Source("f", 0, 0, ">f4"),) * 40,
                                groups=((0, 0, 20), (20, 20, 20)))
    for gigabytes in (50, 1.6, 0.142, 0.01, 1e-9):
        bands = cube_module.plan_bands(plan, gigabytes, workers=2)
        assert bands[0][0] == 0 and bands[-1][1] == 2078
        assert all(a[1] == b[0] for a, b in zip(bands, bands[1:]))
        rows = max(stop - start for start, stop in bands)
        held = 2 * (rows * plan.row_bytes + plan.fixed_bytes())
        assert held <= max(gigabytes * 1e9, 2 * (plan.row_bytes + plan.fixed_bytes()))


def test_invalid_wcs_frames_are_accepted(odd_sets, tmp_path):
    files = odd_sets["wcs"]
    cube_file = build(files, tmp_path / "wcs.fits")
    expected = reference_cube(files)
    with fits.open(cube_file) as ours:
        table = ours[2].data
        assert list(table["WCSAXES"]) == [0, 2, 2, 0, 2]
        assert [c.strip() for c in table["CTYPE1"]] == ["", "RA---TAN-SIP", "RA---TAN-SIP", "",
                                                        "RA---TAN-SIP"]
        assert np.isnan(table["CRVAL1"][0]) and np.isfinite(table["CRVAL1"][1])
        # column order comes from the first FFI with a WCS, not from the WCS-less first one
        assert ours[2].columns.names == expected[2].columns.names
        assert_same_tables(table, expected[2].data)
        np.testing.assert_array_equal(ours[1].data, expected[1].data)


def test_duplicate_inputs_are_built_once(small_sector, tmp_path):
    files = small_sector.files[:3] + [small_sector.files[1]]
    with pytest.warns(InputWarning, match=re.escape(os.path.basename(small_sector.files[1]))):
        cube_file = build(files, tmp_path / "dup.fits")
    with fits.open(cube_file) as hdulist:
        assert hdulist[1].data.shape[2] == 3


def test_sector_argument(small_sector, odd_sets, tmp_path):
    cube_file = build(small_sector.files[:2], tmp_path / "s1.fits", sector=1)
    assert fits.getval(cube_file, "SECTOR") == 1
    target = tmp_path / "s5.fits"
    with pytest.raises(InvalidInputError, match=r"sector=5.*" + re.escape(small_sector.files[0])):
        build(small_sector.files[:2], target, sector=5)
    assert not target.exists()


def test_sector_argument_sets_a_missing_sector(small_sector, tmp_path):
    path = tmp_path / "nosector_ffic.fits"
    with fits.open(small_sector.files[0]) as hdulist:
        del hdulist[0].header["SECTOR"]
        hdulist.writeto(path)
    cube_file = build([path], tmp_path / "c.fits", sector=3)
    assert fits.getval(cube_file, "SECTOR") == 3


# --------------------------------------------------------------------------- update

def _compare_with_full(updated, full, history=True):
    with fits.open(updated) as a, fits.open(full) as b:
        np.testing.assert_array_equal(a[1].data, b[1].data)
        assert [a[2].header.comments[f"TTYPE{i}"] for i in range(1, 10)] == \
            [b[2].header.comments[f"TTYPE{i}"] for i in range(1, 10)]
        assert a[1].data.dtype == np.dtype(">f4")
        assert a[2].columns.names == b[2].columns.names
        assert_same_tables(a[2].data, b[2].data)
        for key in ("TSTART", "TSTOP", "DATE-OBS", "DATE-END", "SECTOR", "CAMERA", "CCD"):
            assert a[0].header[key] == b[0].header[key], key
        if history:
            assert "Updated on" in str(a[0].header["HISTORY"])


def test_update_appends(small_sector, full_cube, tmp_path):
    cube_file = build(small_sector.files[:7], tmp_path / "cube.fits")
    assert update(small_sector.files[7:], cube_file) == cube_file
    _compare_with_full(cube_file, full_cube)


def test_update_interleaves_and_skips_duplicates(small_sector, full_cube, tmp_path):
    files = small_sector.files
    cube_file = build(files[1::2], tmp_path / "cube.fits", max_memory=1e-9)
    duplicate = os.path.basename(files[3])
    with pytest.warns(DataWarning, match=re.escape(duplicate)):
        update(files[::2] + [files[3]], cube_file, max_memory=1e-9)
    _compare_with_full(cube_file, full_cube)


def test_update_skips_same_tstart_under_another_name(small_sector, tmp_path):
    cube_file = build(small_sector.files[:3], tmp_path / "cube.fits")
    renamed = tmp_path / "renamed_ffic.fits"
    shutil.copy(small_sector.files[1], renamed)
    before = open(cube_file, "rb").read()
    with pytest.raises(InvalidInputError, match="No new images"), \
            pytest.warns(DataWarning, match="renamed_ffic.fits.*TSTART"):
        update([renamed], cube_file)
    assert open(cube_file, "rb").read() == before


def test_update_earlier_ffis_moves_the_start(small_sector, full_cube, tmp_path):
    cube_file = build(small_sector.files[6:], tmp_path / "cube.fits")
    update(small_sector.files[:6], cube_file)
    _compare_with_full(cube_file, full_cube)


def test_update_a_cube_from_another_writer(small_sector, full_cube, tmp_path):
    """Cubes in the archive layout written by other tools can be extended."""
    cube_file = str(tmp_path / "other.fits")
    reference_cube(small_sector.files[:5]).writeto(cube_file)
    update(small_sector.files[5:], cube_file)
    _compare_with_full(cube_file, full_cube)


def test_update_refuses_mismatched_ffis(small_sector, odd_sets, tmp_path):
    cube_file = build(small_sector.files[:3], tmp_path / "cube.fits")
    before = open(cube_file, "rb").read()
    for kind, pattern in (("shape", "64x48"), ("sector", "SECTOR 2"), ("camera", "CAMERA 2"),
                          ("ccd", "CCD 3")):
        bad = odd_sets[kind][0]
        with pytest.raises(InvalidInputError, match=re.escape(bad) + ".*" + pattern):
            update([small_sector.files[5], bad], cube_file)
    assert open(cube_file, "rb").read() == before
    assert no_leftovers(tmp_path)


def test_update_keeps_old_cube_on_failure(small_sector, tmp_path, monkeypatch):
    cube_file = build(small_sector.files[:4], tmp_path / "cube.fits")
    before = open(cube_file, "rb").read()
    _fail_on_second_band(monkeypatch)
    with pytest.raises(RuntimeError, match="simulated crash"):
        update(small_sector.files[4:], cube_file, max_memory=1e-9)
    assert open(cube_file, "rb").read() == before
    assert no_leftovers(tmp_path)


# --------------------------------------------------------------------------- errors

def _fail_on_second_band(monkeypatch):
    real = cube_module.write_band
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("simulated crash")
        return real(*args, **kwargs)

    monkeypatch.setattr(cube_module, "write_band", failing)


def test_interrupted_build_leaves_nothing(small_sector, tmp_path, monkeypatch):
    _fail_on_second_band(monkeypatch)
    target = tmp_path / "cube.fits"
    with pytest.raises(RuntimeError, match="simulated crash"):
        build(small_sector.files, target, max_memory=1e-9)
    assert not target.exists()
    assert no_leftovers(tmp_path)


def _bad_files(small_sector, directory):
    good = small_sector.files[0]
    made = {}
    with fits.open(good) as hdulist:
        primary, flux = hdulist[0].copy(), hdulist[1].copy()
        fits.HDUList([primary.copy(), flux.copy()]).writeto(directory / "noerr_ffic.fits")
        made["no uncertainty"] = ("noerr_ffic.fits", "no uncertainty extension")
        header = flux.header.copy()
        del header["TSTART"]
        fits.HDUList([primary.copy(), fits.ImageHDU(flux.data, header),
                      hdulist[2].copy()]).writeto(directory / "notstart_ffic.fits")
        made["no TSTART"] = ("notstart_ffic.fits", "no usable TSTART")
        table = fits.BinTableHDU.from_columns([fits.Column("A", "J", array=np.arange(3))])
        fits.HDUList([primary.copy(), table]).writeto(directory / "table.fits")
        made["table"] = ("table.fits", "HDU 1 is not a 2-D image")
        fits.HDUList([primary.copy()]).writeto(directory / "header_only.fits")
        made["no image"] = ("header_only.fits", "no image extension")
        fits.HDUList([primary.copy(), flux.copy(),
                      fits.ImageHDU(np.zeros((5, 5), np.float32))]).writeto(
            directory / "smallerr_ffic.fits")
        made["bad uncertainty"] = ("smallerr_ffic.fits", "HDU 2 should be the uncertainty")
        fits.HDUList([primary.copy(), fits.CompImageHDU(flux.data, flux.header),
                      fits.CompImageHDU(hdulist[2].data)]).writeto(directory / "packed_ffic.fits")
        made["fpacked"] = ("packed_ffic.fits", "tile-compressed")
    raw = open(good, "rb").read()
    (directory / "truncated_ffic.fits").write_bytes(raw[:-4000])
    made["truncated"] = ("truncated_ffic.fits", "is truncated")
    (directory / "text.fits").write_text("this is not FITS\n" * 300)
    made["not FITS"] = ("text.fits", "not a FITS file")
    (directory / "short.fits").write_bytes(b"SIMPLE  =")
    made["tiny"] = ("short.fits", "not a FITS file")
    return made


def test_bad_inputs_are_named(small_sector, tmp_path):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    for label, (name, pattern) in _bad_files(small_sector, inputs).items():
        target = out / "cube.fits"
        path = str(inputs / name)
        with pytest.raises(InvalidInputError, match=re.escape(path) + ".*" + pattern):
            build([small_sector.files[0], path, small_sector.files[1]], target)
        assert not target.exists(), label
        assert os.listdir(out) == [], label


def test_bad_first_input_is_named(small_sector, tmp_path):
    bad = _bad_files(small_sector, tmp_path)
    for label in ("not FITS", "table", "truncated"):
        path = str(tmp_path / bad[label][0])
        with pytest.raises(InvalidInputError, match=re.escape(path)):
            build([path, small_sector.files[0]], tmp_path / "cube.fits")
        assert not (tmp_path / "cube.fits").exists()


@pytest.mark.parametrize("kind,pattern", [("shape", r"64x48 .* 80x60"), ("sector", "SECTOR"),
                                          ("camera", "CAMERA"), ("ccd", "CCD")])
def test_mismatched_ffis_are_named(small_sector, odd_sets, tmp_path, kind, pattern):
    bad = odd_sets[kind][1]
    target = tmp_path / "cube.fits"
    with pytest.raises(InvalidInputError, match=re.escape(bad) + ".*" + pattern):
        build(small_sector.files[:3] + [bad], target)
    assert not target.exists()
    assert no_leftovers(tmp_path)


def test_empty_list_and_bad_destination(small_sector, tmp_path):
    with pytest.raises(InvalidInputError, match="empty"):
        build([], tmp_path / "cube.fits")
    request = CubeRequest(files=(), cube_file=str(tmp_path / "c.fits"), kind="tess.ffi")
    with pytest.raises(InvalidInputError, match="empty"):
        cube_module.build_cube(request)
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match=re.escape(str(blocker))):
        build(small_sector.files[:2], blocker / "cube.fits")
    copy = tmp_path / "copy_ffic.fits"
    shutil.copy(small_sector.files[0], copy)
    before = copy.read_bytes()
    # the core may refuse first (OutputError); the plugin refuses too (InvalidInputError)
    with pytest.raises(AstrocutError, match="cube_file.*" + re.escape(str(copy))):
        build([copy, small_sector.files[1]], copy)
    with pytest.raises(InvalidInputError, match="cube_file.*" + re.escape(str(copy))):
        cube_module.build_cube(CubeRequest(files=(str(copy),), cube_file=str(copy),
                                           kind="tess.ffi", verbose=False))
    assert copy.read_bytes() == before
    directory = tmp_path / "a_directory"
    directory.mkdir()
    with pytest.raises(OutputError, match=re.escape(str(directory))):
        build(small_sector.files[:2], directory)


# --------------------------------------------------------------------------- output, executor

def test_verbose_output_and_silence(small_sector, tmp_path, capsys, caplog):
    build(small_sector.files[:3], tmp_path / "quiet.fits", verbose=False)
    assert capsys.readouterr().out == "" and not caplog.records
    build(small_sector.files[:3], tmp_path / "loud.fits", verbose=True, max_memory=1e-9)
    out = "\n".join(r.getMessage() for r in caplog.records)
    for number in (1, 2, 3):
        assert f"Read header {number} of 3" in out
    assert "Completed block 60 of 60" in out
    # The wall-clock parts add up to the total (to the printed rounding and the rename).
    header = float(re.search(r"Header pass: (\d+\.\d\d) sec", out).group(1))
    building = float(re.search(r"Cube build: (\d+\.\d\d) sec", out).group(1))
    total = float(re.search(r"Total time elapsed: (\d+\.\d\d) sec", out).group(1))
    assert header + building <= total + 0.02
    assert total - (header + building) < 0.5
    assert re.search(r"file write time: \d+\.\d\d sec, summed over the band writers", out)
    assert out.index("Header pass") < out.index("Cube build") < out.index("Total time elapsed")


def test_executor_build_is_byte_identical(small_sector, tmp_path, fixed_date):
    plain = build(small_sector.files, tmp_path / "plain.fits")
    with ProcessPoolExecutor(2) as executor:
        parallel = build(small_sector.files, tmp_path / "pool.fits", executor=executor,
                         max_memory=1e-4)
    assert open(plain, "rb").read() == open(parallel, "rb").read()


def test_cli(small_sector, tmp_path, capsys):
    directory = os.path.dirname(small_sector.files[0])
    target = str(tmp_path / "cli.fits")
    assert main(["cube", directory, "-o", target, "--quiet", "--max-memory", "0.001",
                 "--option", "sector=1"]) == 0
    assert capsys.readouterr().out.strip() == target
    assert fits.getdata(target, 1).shape == (60, 80, 12, 2)

    part = str(tmp_path / "part.fits")
    assert main(["cube", *small_sector.files[:4], "-o", part, "--quiet"]) == 0
    assert main(["cube", "--append", *small_sector.files[4:], "-o", part, "--quiet"]) == 0
    capsys.readouterr()
    _compare_with_full(part, target)

    assert main(["cube", small_sector.files[0], "-o", str(tmp_path / "x.fits"),
                 "--option", "sector=9", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("astrocut: error:") and os.path.basename(small_sector.files[0]) in err


# --------------------------------------------------------------------------- memory

MEMORY_SCRIPT = textwrap.dedent("""
    import json, sys, threading
    from astrocut import CubeFactory

    def anon():
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) * 1024

    files, out, warm, gigabytes = json.loads(sys.argv[1])
    CubeFactory().make_cube(files[:2], warm, max_memory=gigabytes, verbose=False)
    base = anon()
    peak = [base]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], anon())
            stop.wait(0.002)

    thread = threading.Thread(target=sample)
    thread.start()
    CubeFactory().make_cube(files, out, max_memory=gigabytes, verbose=False)
    stop.set()
    thread.join()
    print(json.dumps(peak[0] - base))
""")


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux /proc")
def test_anonymous_memory_stays_within_max_memory(tmp_path):
    sector = simulate_ffis(tmp_path / "ffis", n_ffi=24, size=(1000, 800), seed=5)
    cube_bytes = 24 * 1000 * 800 * 8  # 154 MB
    gigabytes = 0.02
    payload = json.dumps([sector.files, str(tmp_path / "c.fits"), str(tmp_path / "w.fits"),
                          gigabytes])
    result = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, payload], check=True,
                            capture_output=True, text=True)
    grown = json.loads(result.stdout.strip().splitlines()[-1])
    # a generous constant for interpreter noise, still far below the 154 MB cube
    assert grown < gigabytes * 1e9 + 40e6 < cube_bytes / 2
    with fits.open(tmp_path / "c.fits") as hdulist:
        assert hdulist[1].data.shape == (800, 1000, 24, 2)


# --------------------------------------------------------------------------- reference tool

REFERENCE_PYTHON = os.environ.get("ASTROCUT_REFERENCE_PYTHON")

REFERENCE_SCRIPT = textwrap.dedent("""
    import json, sys, warnings
    warnings.simplefilter("ignore")
    from astrocut import CubeFactory, CutoutFactory
    files, ref_cube, our_cube, ra, dec, outdir = json.loads(sys.argv[1])
    CubeFactory().make_cube(files, ref_cube, verbose=False)
    CubeFactory().make_cube(files[:6], ref_cube + ".half.fits", verbose=False)
    tpf = CutoutFactory().cube_cut(our_cube, f"{ra} {dec}", 5, output_path=outdir, verbose=False)
    print(json.dumps(tpf))
""")


@pytest.mark.skipif(not REFERENCE_PYTHON, reason="set ASTROCUT_REFERENCE_PYTHON to the "
                    "reference astrocut's python to compare with it")
def test_matches_the_reference_tool(small_sector, full_cube, tmp_path):
    ref_cube = str(tmp_path / "ref-cube.fits")
    star = small_sector.variable_star
    payload = json.dumps([list(small_sector.files), ref_cube, full_cube, star.ra, star.dec,
                          str(tmp_path)])
    result = subprocess.run([REFERENCE_PYTHON, "-c", REFERENCE_SCRIPT, payload],
                            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ""},
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    tpf = json.loads(result.stdout.strip().splitlines()[-1])
    with fits.open(full_cube) as ours, fits.open(ref_cube) as theirs:
        np.testing.assert_array_equal(ours[1].data, theirs[1].data)
        assert ours[1].header == theirs[1].header
        assert ours[2].columns.names == theirs[2].columns.names
        assert_same_tables(ours[2].data, theirs[2].data)
        for key, value in theirs[0].header.items():
            if key not in ("ORIGIN", "DATE", "SECTOR", "DATASUM"):
                assert ours[0].header[key] == value, key
        data = ours[1].data
    # we extend a cube the reference wrote: the result equals our own build of all the FFIs
    half = ref_cube + ".half.fits"
    update(small_sector.files[6:], half)
    with fits.open(half) as extended, fits.open(full_cube) as ours:
        np.testing.assert_array_equal(extended[1].data, ours[1].data)
        assert_same_tables(extended[2].data, ours[2].data)
        assert extended[0].header["TSTOP"] == ours[0].header["TSTOP"]
    # the reference's cutter reads our cube: its stamp is a 5x5 window of our pixels (found by
    # search, as this reference version writes no physical-WCS keywords to locate it)
    with fits.open(tpf) as cut:
        flux = np.asarray(cut[1].data["FLUX"], dtype=np.float32)
        times = cut[1].data["TIME"]
    assert flux.shape == (12, 5, 5)
    series = np.moveaxis(flux, 0, 2)
    rows, cols = data.shape[:2]
    found = [(y, x) for y in range(rows - 4) for x in range(cols - 4)
             if np.array_equal(data[y:y + 5, x:x + 5, :, 0], series)]
    assert len(found) == 1
    np.testing.assert_allclose(times, small_sector.times)
