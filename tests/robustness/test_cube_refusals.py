"""TESS cubes refuse what they cannot keep, and damaged files cost bounded work (issue 10
items 1, 6, 7, 8 on the TESS side): damaged cards, a lost END card, memory limits, scaled or
sector-less cubes, symlinks, permission bits, the writers' lock."""

import os
import stat
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc

import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits

from astrocut import CubeFactory, CutoutFactory
from astrocut.errors import AstrocutError, InvalidInputError, OutputError
from astrocut.locking import exclusive, lock_path
from astrocut_tess import cube as cube_module
from astrocut_tess.cutout import TessCube
from astrocut_tess.ffi import read_ffi
from astrocut_tess.rawfits import BLOCK, MAX_HEADER_BLOCKS
from astrocut_tess.simulate import simulate_ffis


@pytest.fixture(scope="module")
def sector(tmp_path_factory):
    return simulate_ffis(tmp_path_factory.mktemp("refusal-ffis"), n_ffi=5, size=(32, 32),
                         seed=9)


@pytest.fixture()
def cube(sector, tmp_path):
    path = tmp_path / "cube.fits"
    CubeFactory().make_cube(sector.files[:3], str(path), verbose=False)
    return path


def _replace_card(src, dst, hdu, key, new):
    raw = bytearray(open(src, "rb").read())
    with fits.open(src) as hdulist:
        start, end = hdulist[hdu].fileinfo()["hdrLoc"], hdulist[hdu].fileinfo()["datLoc"]
    for at in range(start, end, 80):
        if raw[at:at + 8].decode().rstrip() == key:
            raw[at:at + 80] = new.ljust(80).encode()
            break
    else:
        raise KeyError(key)
    open(dst, "wb").write(raw)


# ------------------------------------------------------------------ 6: damaged cards

DAMAGED = [
    (1, "NAXIS", "NAXIS   =                   -2", "NAXIS"),
    (1, "NAXIS", "NAXIS   = 'abc'", "NAXIS"),
    (1, "BITPIX", "BITPIX  = 'abc'", "BITPIX"),
    (0, "BITPIX", "BITPIX  =                   -3", "BITPIX"),
    (1, "NAXIS2", "COMMENT NAXIS2 lost", "NAXIS2"),
    (2, "NAXIS2", "COMMENT NAXIS2 lost", "NAXIS2"),
    (1, "CRVAL1", "CRVAL1  = NAN", "CRVAL1"),
    (0, "SECTOR", "SECTOR  = NAN", "SECTOR"),
]


@pytest.mark.parametrize("hdu,key,card,named", DAMAGED,
                         ids=[f"{h}-{c.split('=')[-1].strip() or c}" for h, _, c, _ in DAMAGED])
def test_one_damaged_card_is_named(sector, tmp_path, hdu, key, card, named):
    bad = str(tmp_path / "damaged_ffic.fits")
    _replace_card(sector.files[1], bad, hdu, key, card)
    with pytest.raises(AstrocutError) as raised:
        CubeFactory().make_cube([sector.files[0], bad], str(tmp_path / "c.fits"), verbose=False)
    assert bad in str(raised.value) and named in str(raised.value)
    assert not isinstance(raised.value, (KeyError, fits.VerifyError))
    assert os.listdir(tmp_path) == ["damaged_ffic.fits"]
    # The plugin's update path gives the same error (the core may also refuse it first).
    base = tmp_path / "base.fits"
    CubeFactory().make_cube([sector.files[0]], str(base), verbose=False)
    before = base.read_bytes()
    with pytest.raises(AstrocutError) as raised:
        CubeFactory().update_cube([bad], str(base), verbose=False)
    assert bad in str(raised.value)
    assert base.read_bytes() == before


def test_update_of_a_cube_with_a_non_numeric_axis_is_named(cube, sector, tmp_path):
    damaged = tmp_path / "naxis3.fits"
    _replace_card(str(cube), str(damaged), 1, "NAXIS3", "NAXIS3  = 'abc'")
    before = damaged.read_bytes()
    with pytest.raises(InvalidInputError, match=r"naxis3\.fits.*NAXIS3"):
        CubeFactory().update_cube(sector.files[3:], str(damaged), verbose=False)
    assert damaged.read_bytes() == before


# --------------------------------------------------------------- 7: bounded header scans

def _lose_end(path, hdu):
    with fits.open(path) as hdulist:
        start, end = hdulist[hdu].fileinfo()["hdrLoc"], hdulist[hdu].fileinfo()["datLoc"]
    raw = open(path, "rb").read(end)
    at = next(at for at in range(start, end, 80) if raw[at:at + 8] == b"END     ")
    with open(path, "r+b") as handle:
        handle.seek(at)
        handle.write(b"ENX     ")


def test_a_lost_end_card_in_a_cube_stops_at_its_data(cube, sector, tmp_path):
    big = tmp_path / "big.fits"
    CubeFactory().make_cube(sector.files, str(big), verbose=False)
    _lose_end(big, 1)
    before = big.read_bytes()
    with pytest.raises(InvalidInputError, match=r"big\.fits.*HDU 1.*END card"):
        CutoutFactory().cube_cut(str(big), SkyCoord(0, 0, unit="deg"), 3,
                                 output_path=str(tmp_path), verbose=False)
    with pytest.raises(InvalidInputError, match=r"big\.fits.*HDU 1.*END card"):
        CubeFactory().update_cube(sector.files[3:], str(big), verbose=False)
    assert big.read_bytes() == before


def test_a_header_with_no_end_stops_after_the_documented_size(tmp_path):
    # Text all the way (so nothing tells data from header): the scan stops at the limit
    # and holds only that much, whatever the file's size.
    endless = tmp_path / "endless.fits"
    fits.PrimaryHDU().writeto(endless)
    raw = endless.read_bytes().replace(b"END" + b" " * 77, b" " * 80)
    with open(endless, "wb") as handle:
        handle.write(raw)
        handle.write(b" " * (3 * MAX_HEADER_BLOCKS * BLOCK))
    # The plugin's readers (the core's identification is astropy's and not bounded here).
    message = rf"endless\.fits.*no END card in its first {MAX_HEADER_BLOCKS} blocks"
    for read in (TessCube.open, read_ffi):
        tracemalloc.start()
        try:
            with pytest.raises(InvalidInputError, match=message):
                read(str(endless))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 3 * MAX_HEADER_BLOCKS * BLOCK  # a few MB, not the file


MEMORY_CHILD = textwrap.dedent(r"""
    import resource, sys
    from astrocut import CubeFactory
    from astrocut.errors import AstrocutError
    import astrocut_tess.cube, astrocut_tess.bands  # noqa: F401
    files, cube, mode = sys.argv[1].split(","), sys.argv[2], sys.argv[3]
    if mode == "update":
        CubeFactory().make_cube(files[:2], cube, verbose=False)
    pages = int(open("/proc/self/statm").read().split()[0])
    limit = pages * resource.getpagesize() + 2 * 2 ** 20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        if mode == "make":
            CubeFactory().make_cube(files, cube, verbose=False, max_memory=1.0)
        else:
            CubeFactory().update_cube(files[2:], cube, verbose=False, max_memory=1.0)
        print("OK")
    except AstrocutError as exc:
        print(type(exc).__name__, exc)
    except MemoryError:
        print("bare MemoryError")
""")


@pytest.mark.parametrize("mode", ["make", "update"])
def test_under_a_memory_limit_the_error_names_max_memory(sector, tmp_path, mode):
    out = subprocess.run([sys.executable, "-c", MEMORY_CHILD, ",".join(sector.files),
                          str(tmp_path / "cube.fits"), mode], capture_output=True, text=True,
                         timeout=120)
    line = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else out.stderr
    assert line.startswith("InvalidInputError") and "max_memory" in line, (line, out.stderr)
    assert not any(name.endswith(".part") for name in os.listdir(tmp_path))


# ------------------------------------------------------------- 8: what update refuses

def test_update_refuses_a_scaled_cube(cube, sector, tmp_path):
    scaled = tmp_path / "scaled.fits"
    with fits.open(cube) as hdulist:
        hdulist[1].header["BZERO"] = 1.0
        hdulist.writeto(scaled, output_verify="silentfix")
    before = scaled.read_bytes()
    with pytest.raises(InvalidInputError, match=r"scaled\.fits"):
        CubeFactory().update_cube(sector.files[3:], str(scaled), verbose=False)
    assert scaled.read_bytes() == before


def _without_sector(cube, path, rename_ffis=False):
    with fits.open(cube) as hdulist:
        hdulist[0].header["SECTOR"] = None
        if rename_ffis:
            hdulist[2].data["FFI_FILE"] = [f"ffi-{i}.fits" for i in range(len(hdulist[2].data))]
        hdulist.writeto(path)


def test_update_learns_the_sector_of_a_cube_without_one(cube, sector, tmp_path):
    no_sector = tmp_path / "no-sector.fits"
    _without_sector(cube, no_sector)
    other = simulate_ffis(tmp_path / "other", n_ffi=1, size=(32, 32), sector=7, seed=1)
    before = no_sector.read_bytes()
    with pytest.raises(InvalidInputError, match="SECTOR 7"):
        CubeFactory().update_cube(other.files, str(no_sector), verbose=False)
    assert no_sector.read_bytes() == before
    CubeFactory().update_cube(sector.files[3:], str(no_sector), verbose=False)
    with fits.open(no_sector) as hdulist:
        assert hdulist[0].header["SECTOR"] == sector.sector
        assert hdulist[1].header["NAXIS2"] == 5


def test_update_refuses_a_sectorless_cube_until_sector_is_given(cube, sector, tmp_path):
    no_sector = tmp_path / "anonymous.fits"
    _without_sector(cube, no_sector, rename_ffis=True)
    before = no_sector.read_bytes()
    with pytest.raises(InvalidInputError, match=r"anonymous\.fits.*sector="):
        CubeFactory().update_cube(sector.files[3:], str(no_sector), verbose=False)
    assert no_sector.read_bytes() == before
    from astrocut.models import CubeRequest

    request = CubeRequest(files=tuple(sector.files[3:]), cube_file=str(no_sector),
                          kind="tess.ffi", mission_options={"sector": sector.sector},
                          verbose=False)
    cube_module.update_cube(request)
    with fits.open(no_sector) as hdulist:
        assert hdulist[0].header["SECTOR"] == sector.sector


def test_update_through_a_symlink_updates_the_target(cube, sector, tmp_path):
    link = tmp_path / "link.fits"
    link.symlink_to(cube)
    CubeFactory().update_cube(sector.files[3:], str(link), verbose=False)
    assert link.is_symlink() and os.readlink(link) == str(cube)
    with fits.open(cube) as hdulist:
        assert hdulist[1].header["NAXIS2"] == 5


def test_replaced_cube_and_tpf_keep_their_permission_bits(cube, sector, tmp_path):
    os.chmod(cube, 0o600)
    CubeFactory().update_cube(sector.files[3:], str(cube), verbose=False)
    assert stat.S_IMODE(os.stat(cube).st_mode) == 0o600
    CubeFactory().make_cube(sector.files, str(cube), verbose=False)
    assert stat.S_IMODE(os.stat(cube).st_mode) == 0o600
    star = sector.variable_star
    coord = SkyCoord(star.ra, star.dec, unit="deg")
    tpf = CutoutFactory().cube_cut(str(cube), coord, 3, output_path=str(tmp_path),
                                   verbose=False)
    os.chmod(tpf, 0o640)
    CutoutFactory().cube_cut(str(cube), coord, 3, output_path=str(tmp_path), verbose=False)
    assert stat.S_IMODE(os.stat(tpf).st_mode) == 0o640


# ------------------------------------------------------------------- 1: the lock itself

def test_a_held_lock_refuses_after_the_timeout_and_readers_never_wait(cube, sector, tmp_path):
    from astrocut.models import CubeRequest

    timed = CubeRequest(files=tuple(sector.files[3:]), cube_file=str(cube), kind="tess.ffi",
                        verbose=False, mission_options={"timeout": 0.3})
    before = cube.read_bytes()
    with exclusive(str(cube)):
        assert os.path.exists(lock_path(str(cube)))
        started = time.monotonic()
        with pytest.raises(OutputError, match=r"cube\.fits.*lock.*0\.3 s") as raised:
            cube_module.update_cube(timed)
        assert 0.25 < time.monotonic() - started < 5
        assert raised.value.filename == str(cube)
        # Readers never take the lock: a cutout is made while a writer holds it.
        star = sector.variable_star
        CutoutFactory().cube_cut(str(cube), SkyCoord(star.ra, star.dec, unit="deg"), 3,
                                 output_path=str(tmp_path / "tpfs"), verbose=False)
    assert cube.read_bytes() == before
    assert not os.path.exists(lock_path(str(cube)))  # its holder removed it


def test_a_cube_replaced_during_an_update_is_not_renamed_over(cube, sector, tmp_path,
                                                               monkeypatch):
    real = cube_module.write_band
    replaced = threading.Event()

    def replacing(*args, **kwargs):
        if not replaced.is_set():
            replaced.set()
            # Someone who does not take the lock puts another file in place.
            other = tmp_path / "other.fits"
            CubeFactory().make_cube(sector.files[:2], str(other), verbose=False)
            os.replace(other, cube)
        return real(*args, **kwargs)

    monkeypatch.setattr(cube_module, "write_band", replacing)
    with pytest.raises(OutputError, match=r"cube\.fits.*replaced"):
        CubeFactory().update_cube(sector.files[3:], str(cube), verbose=False, max_memory=1.0)
    with fits.open(cube) as hdulist:
        assert hdulist[1].header["NAXIS2"] == 2  # the replacement, untouched
    assert sorted(os.listdir(tmp_path)) == ["cube.fits"]
    assert np.isfinite(fits.getdata(cube, 1)).all()
