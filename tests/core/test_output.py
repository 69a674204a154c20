"""Atomic output and output directories."""

import os

import pytest

from astrocut.errors import OutputError
from astrocut.output import atomic_path, prepare_directory


def test_atomic_path_renames_only_on_success(tmp_path):
    target = tmp_path / "result.fits"
    with atomic_path(str(target)) as temporary:
        assert os.path.dirname(temporary) == str(tmp_path)
        assert not target.exists()
        open(temporary, "w").write("new")
    assert target.read_text() == "new"
    assert os.listdir(tmp_path) == ["result.fits"]


def test_atomic_path_replaces_an_existing_file_and_keeps_it_on_failure(tmp_path):
    target = tmp_path / "result.fits"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(str(target)) as temporary:
            open(temporary, "w").write("half")
            raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["result.fits"]
    with atomic_path(str(target)) as temporary:
        open(temporary, "w").write("new")
    assert target.read_text() == "new"


def test_written_files_get_normal_permissions(tmp_path):
    target = tmp_path / "result.fits"
    with atomic_path(str(target)) as temporary:
        open(temporary, "w").write("x")
    mask = os.umask(0)
    os.umask(mask)
    assert os.stat(target).st_mode & 0o777 == 0o666 & ~mask


def test_prepare_directory(tmp_path):
    created = tmp_path / "a" / "b"
    assert prepare_directory(str(created)) == str(created)
    assert created.is_dir()
    a_file = tmp_path / "file"
    a_file.write_text("")
    with pytest.raises(OutputError, match="output_path .* is a file"):
        prepare_directory(str(a_file))


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_directory(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(OutputError, match="not writable"):
        prepare_directory(str(locked), "output_dir")


def test_orphaned_temporary_files_of_dead_writers_are_removed(tmp_path):
    import subprocess
    import sys
    import time

    from astrocut.output import remove_orphaned_parts

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])  # exits, never reaped below
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with open(f"/proc/{zombie.pid}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                    break
            time.sleep(0.01)
        names = {
            "dead": f".a.fits.{dead.pid}-0123abcd.part",
            "zombie": f".b.fits.{zombie.pid}-0123abcd.part",
            "alive": f".c.fits.{alive.pid}-0123abcd.part",
            "ours": f".d.fits.{os.getpid()}-0123abcd.part",
            "unnamed": ".e.fits.0123abcd.part",  # not atomic_path's pattern: not ours to judge
        }
        for name in names.values():
            (tmp_path / name).write_bytes(b"half")
        removed = remove_orphaned_parts(str(tmp_path))
        assert sorted(os.path.basename(p) for p in removed) == sorted(
            [names["dead"], names["zombie"]])
        assert sorted(os.listdir(tmp_path)) == sorted(
            [names["alive"], names["ours"], names["unnamed"]])
    finally:
        alive.kill()
        alive.wait()
        zombie.wait()


def test_atomic_path_names_its_writer(tmp_path):
    with atomic_path(str(tmp_path / "x.fits")) as temporary:
        name = os.path.basename(temporary)
        assert name.startswith(".x.fits.") and name.endswith(".part")
        assert name.split(".")[-2].split("-")[0] == str(os.getpid())
