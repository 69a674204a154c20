"""Failed reruns keep the earlier results; a full disk is an OutputError (issue 10, 5, 6, 9).

The disk-full cases use a 2 MB tmpfs mounted by the test, which needs root; elsewhere they
skip and say so.
"""

import errno
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from astropy.io import fits

import robustness_helpers as H
from astrocut import CutoutFactory, fits_cut, img_cut
from astrocut.errors import InvalidInputError, OutputError


def _inputs(directory, count=3):
    """``count`` copies of the generic image under distinct names (one output each)."""
    os.makedirs(directory, exist_ok=True)
    return [H.write_image(os.path.join(directory, f"field{i}_drz.fits")) for i in range(count)]


def _state(paths):
    return {path: (H.file_hash(path), os.stat(path).st_ino, os.stat(path).st_mode)
            for path in paths}


def _center():
    ra, dec = H.IMAGE_CENTER
    return f"{ra} {dec}"


@pytest.fixture
def tmpfs(tmp_path):
    """A 2 MB tmpfs, mounted for the test (root only)."""
    if os.geteuid() != 0 or not sys.platform.startswith("linux"):
        pytest.skip("disk-full tests mount a 2 MB tmpfs, which needs root on Linux")
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield str(mount)
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(directory, leave):
    """Fill the file system of ``directory`` until only ``leave`` bytes are free."""
    stats = os.statvfs(directory)
    free = stats.f_bavail * stats.f_frsize
    with open(os.path.join(directory, "filler"), "wb") as handle:
        handle.write(b"\0" * max(0, free - leave))


@pytest.mark.parametrize("which", ["fits_cut", "img_cut"])
def test_a_rename_failing_in_the_final_batch_restores_the_previous_files(tmp_path, monkeypatch,
                                                                       which):
    inputs = _inputs(tmp_path / "in")
    out = str(tmp_path / "out")
    if which == "fits_cut":
        def call():
            return fits_cut(inputs, _center(), 10, single_outfile=False, output_dir=out)
    else:
        def call():
            return img_cut(inputs, _center(), 10, img_format="png", output_dir=out)
    first = call()
    assert len(first) == 3
    for path in first:
        os.chmod(path, 0o640)
    before = _state(first)

    real_replace = os.replace
    renames = []

    def failing_replace(source, target):
        if os.fspath(source).endswith(".staged.part"):  # the final batch of renames
            renames.append(target)
            if len(renames) == 3:
                raise OSError(errno.EIO, "Input/output error")
        return real_replace(source, target)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OutputError) as info:
        call()
    monkeypatch.setattr(os, "replace", real_replace)
    assert info.value.errno == errno.EIO and info.value.filename in first
    # Two files had been renamed over: both are back, byte for byte, same inode and mode.
    assert _state(first) == before
    assert sorted(os.listdir(out)) == sorted(os.path.basename(p) for p in first)


def test_a_disk_full_rerun_keeps_the_previous_files(tmpfs, tmp_path):
    inputs = _inputs(tmp_path / "in")
    first = fits_cut(inputs, _center(), 40, single_outfile=False, output_dir=tmpfs)
    before = _state(first)
    size = os.path.getsize(first[0])
    _fill(tmpfs, leave=size + size // 2)  # room for one more output, not three
    with pytest.raises(OutputError) as info:
        fits_cut(inputs, _center(), 40, single_outfile=False, output_dir=tmpfs)
    assert info.value.errno == errno.ENOSPC
    assert info.value.filename and os.path.dirname(info.value.filename) == tmpfs
    assert "full" in str(info.value) and tmpfs in str(info.value)
    assert _state(first) == before
    assert H.part_files(tmpfs) == []


def test_disk_full_while_writing_a_tpf(tmpfs, cube, sector):
    star = f"{sector.variable_star.ra} {sector.variable_star.dec}"
    _fill(tmpfs, leave=8192)
    with pytest.raises(OutputError) as info:
        CutoutFactory().cube_cut(cube.path, star, 20, output_path=tmpfs)
    assert info.value.errno == errno.ENOSPC
    assert tmpfs in str(info.value)
    assert H.part_files(tmpfs) == [] and sorted(os.listdir(tmpfs)) == ["filler"]


def test_disk_full_on_the_command_line_is_one_line(tmpfs, tmp_path):
    inputs = _inputs(tmp_path / "in", 2)
    _fill(tmpfs, leave=4096)
    ra, dec = H.IMAGE_CENTER
    run = subprocess.run([sys.executable, "-m", "astrocut", "fits-cut", *inputs, "--ra",
                          str(ra), "--dec", str(dec), "--size", "40", "--per-file", "-o",
                          tmpfs], capture_output=True, text=True, timeout=120)
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert run.returncode == 1 and len(lines) == 1, run.stderr
    assert "No space left" in lines[0] and tmpfs in lines[0]
    assert sorted(os.listdir(tmpfs)) == ["filler"]


def test_target_pixel_file_in_a_new_directory(cube, sector, tmp_path):
    star = f"{sector.variable_star.ra} {sector.variable_star.dec}"
    target = tmp_path / "new" / "dir" / "x.fits"
    assert CutoutFactory().cube_cut(cube.path, star, 4, target_pixel_file=str(target)) == \
        str(target)
    with fits.open(target) as hdulist:
        assert hdulist[1].data["FLUX"].shape[1:] == (4, 4)


def test_fits_cut_refuses_a_truncated_tile_compressed_file(tmp_path):
    header = H.image_wcs_header((200, 200))
    data = np.random.default_rng(0).normal(size=(200, 200)).astype("f4")
    whole = str(tmp_path / "tiles.fits")
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(data, header=header,
                                                         tile_shape=(10, 200))]).writeto(whole)
    cut_short = str(tmp_path / "tiles_truncated.fits")
    with open(whole, "rb") as source, open(cut_short, "wb") as target:
        target.write(source.read()[:-4000])  # the last tiles are lost; the first survive
    from astropy.wcs import WCS

    near_first_tiles = WCS(header).pixel_to_world(100, 10)
    out = str(tmp_path / "out")
    assert os.path.isfile(fits_cut(whole, near_first_tiles, 5, output_dir=out))
    with pytest.warns(Warning):  # astropy's own "may have been truncated"
        with pytest.raises(InvalidInputError, match="tiles_truncated.fits.*truncated"):
            fits_cut(cut_short, near_first_tiles, 5, output_dir=str(tmp_path / "out2"))
    assert not os.path.exists(tmp_path / "out2") or os.listdir(tmp_path / "out2") == []
    shutil.rmtree(out)
