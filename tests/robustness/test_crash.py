"""Crash tests: SIGKILL a cube build or update at several points, then look at the disk.

Guarantees checked:

* after a killed ``make_cube`` there is no file at ``cube_file`` unless it is the complete,
  correct cube (and a cube that was there before the build is still intact);
* after a killed ``update_cube`` the cube is either the old cube or the new one, byte for
  byte, never a mixture;
* running the same call again gives a cube byte-identical to an uninterrupted run.

A killed process cannot clean up, so its temporary file (``.<cube name>.<random>.part``,
hidden, beside the cube) may remain; nothing else may. The tests list such files in their
output and check that they are the only leftovers.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from astrocut_tess.simulate import simulate_ffis

from astrocut import CubeFactory

import robustness_helpers as H

N_FFI = 30
SIZE = (300, 300)
N_OLD = 20  # FFIs in the cube that update_cube extends
MAX_MEMORY = 1e-6  # GB: bands of one row, the most passes the builder makes

CHILD = r"""
import json, sys, time
args = json.load(open(sys.argv[1]))
from astrocut import CubeFactory
from astrocut.plugins import get_plugin_manager
get_plugin_manager()
import astrocut_tess.cube  # noqa: F401  (imported before READY so timing is the build's)
factory = CubeFactory()
print("READY", flush=True)
started = time.perf_counter()
if args["mode"] == "make":
    factory.make_cube(args["files"], args["cube_file"], max_memory=args["max_memory"],
                      verbose=False)
else:
    factory.update_cube(args["files"], args["cube_file"], max_memory=args["max_memory"],
                        verbose=False)
print("DONE", time.perf_counter() - started, flush=True)
"""


@pytest.fixture(scope="module")
def ffis(tmp_path_factory):
    return simulate_ffis(tmp_path_factory.mktemp("crash-ffis"), n_ffi=N_FFI, size=SIZE,
                         seed=11).files


class Child:
    """``make_cube``/``update_cube`` running in a fresh Python process."""

    def __init__(self, directory, mode, files, cube_file):
        self.args_file = os.path.join(directory, f".args-{mode}-{time.monotonic_ns()}.json")
        with open(self.args_file, "w") as handle:
            json.dump({"mode": mode, "files": files, "cube_file": cube_file,
                       "max_memory": MAX_MEMORY}, handle)
        self.process = subprocess.Popen([sys.executable, "-c", CHILD, self.args_file],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True)
        line = self.process.stdout.readline()
        assert line.strip() == "READY", line + self.process.stderr.read()

    def _wait_for_part(self, directory):
        started = time.perf_counter()
        deadline = time.monotonic() + 30
        while not H.part_files(directory) and self.process.poll() is None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.0005)
        return time.perf_counter() - started

    def finish(self, directory):
        """Let it run; return (seconds until its temporary file appeared, total seconds)."""
        until_part = self._wait_for_part(directory)
        out, err = self.process.communicate(timeout=120)
        os.unlink(self.args_file)
        assert self.process.returncode == 0, err
        return until_part, float(out.split()[-1])

    def kill_after(self, delay, after_part_in=None):
        """SIGKILL ``delay`` s after READY, or after a ``*.part`` file shows in a directory.

        Returns True if the process was still running when killed.
        """
        if after_part_in is not None:
            self._wait_for_part(after_part_in)
        time.sleep(delay)
        running = self.process.poll() is None
        if running:
            self.process.send_signal(signal.SIGKILL)
        self.process.communicate(timeout=60)
        os.unlink(self.args_file)
        return running


def _leftovers(directory, expected):
    """Files in ``directory`` besides ``expected``; all must be ``*.part`` temporaries, or
    the empty lock file of a writer killed while holding it (the kernel released the lock;
    the next writer reuses the file and removes it)."""
    extra = sorted(set(os.listdir(directory)) - set(expected))
    others = [name for name in extra if not name.endswith(".part")
              and not (name.endswith(".lock")
                       and os.path.getsize(os.path.join(directory, name)) == 0)]
    assert others == [], f"unexpected files after a kill: {others}"
    return [name for name in extra if not name.endswith(".lock")]  # a rerun removes those


def _kill_points(until_part, duration, few=False):
    """Where to kill: during the header pass, as the temporary file appears, while bands
    are written, and after the process has finished."""
    writing = max(duration - until_part, 0.0)
    if few:
        return [dict(delay=0.0, part=True), dict(delay=0.5 * writing, part=True)]
    return [dict(delay=0.5 * until_part, part=False),
            dict(delay=0.0, part=True), dict(delay=0.33 * writing, part=True),
            dict(delay=0.66 * writing, part=True), dict(delay=1.5 * duration, part=False)]


def _kill(child, point, directory):
    return child.kill_after(point["delay"], after_part_in=directory if point["part"] else None)


@pytest.mark.parametrize("over_existing", [False, True], ids=["fresh", "over-an-old-cube"])
def test_killed_make_cube(ffis, tmp_path, over_existing):
    # The uninterrupted reference, timed.
    reference_dir = tmp_path / "reference"
    reference_dir.mkdir()
    reference = str(reference_dir / "sector-cube.fits")
    until_part, duration = Child(str(reference_dir), "make", ffis, reference).finish(
        str(reference_dir))
    reference_digest = H.cube_digest(reference)
    reference_bytes = H.file_hash(reference)
    old = None
    if over_existing:
        old = CubeFactory().make_cube(ffis[:N_OLD], str(tmp_path / "old-cube.fits"),
                                      verbose=False)

    report, interrupted = [], 0
    for number, point in enumerate(_kill_points(until_part, duration, few=over_existing)):
        work = tmp_path / f"kill{number}"
        work.mkdir()
        cube_file = str(work / "sector-cube.fits")
        if old:
            H.copy(old, cube_file)
        child = Child(str(work), "make", ffis, cube_file)
        running = _kill(child, point, str(work))
        interrupted += running
        # No complete-looking wrong cube: absent, the old cube intact, or the right cube.
        if os.path.exists(cube_file):
            digest = H.file_hash(cube_file)
            if old and digest == H.file_hash(old):
                state = "old cube intact"
            else:
                assert H.cube_digest(cube_file) == reference_digest, (
                    f"kill point {point}: a wrong cube was left at cube_file")
                state = "complete cube"
        else:
            assert not old, f"kill point {point}: the existing cube was removed"
            state = "no cube"
        leftovers = _leftovers(str(work), ["sector-cube.fits"])
        report.append((point, running, state, leftovers))
        # Running it again gives exactly the uninterrupted cube.
        CubeFactory().make_cube(ffis, cube_file, max_memory=MAX_MEMORY, verbose=False)
        assert H.cube_digest(cube_file) == reference_digest
        assert H.file_hash(cube_file) == reference_bytes
        assert _leftovers(str(work), ["sector-cube.fits"]) == leftovers  # rerun adds none
    for line in report:
        print("make_cube kill", *line)
    assert interrupted >= 2, f"the build ({duration:.2f} s) finished before most kills: {report}"


def test_killed_update_cube(ffis, tmp_path):
    old = CubeFactory().make_cube(ffis[:N_OLD], str(tmp_path / "old-cube.fits"), verbose=False)
    old_bytes = H.file_hash(old)
    new_files = ffis[N_OLD:]
    reference_dir = tmp_path / "reference"
    reference_dir.mkdir()
    reference = H.copy(old, str(reference_dir / "sector-cube.fits"))
    until_part, duration = Child(str(reference_dir), "update", new_files, reference).finish(
        str(reference_dir))
    new_digest = H.cube_digest(reference)
    new_bytes = H.file_hash(reference)
    # Updating gives the cube a fresh build of all the FFIs gives (data and table).
    full = CubeFactory().make_cube(ffis, str(tmp_path / "full-cube.fits"), verbose=False)
    assert H.cube_digest(full)[0] == new_digest[0]

    report, interrupted = [], 0
    for number, point in enumerate(_kill_points(until_part, duration)):
        work = tmp_path / f"kill{number}"
        work.mkdir()
        cube_file = H.copy(old, str(work / "sector-cube.fits"))
        child = Child(str(work), "update", new_files, cube_file)
        running = _kill(child, point, str(work))
        interrupted += running
        digest = H.file_hash(cube_file)
        assert digest in (old_bytes, new_bytes), (
            f"kill point {point}: the cube is neither the old nor the new one")
        state = "old" if digest == old_bytes else "new"
        leftovers = _leftovers(str(work), ["sector-cube.fits"])
        report.append((point, running, state, leftovers))
        if state == "old":  # the update did not happen: running it again completes it
            CubeFactory().update_cube(new_files, cube_file, max_memory=MAX_MEMORY,
                                      verbose=False)
        assert H.file_hash(cube_file) == new_bytes
    for line in report:
        print("update_cube kill", *line)
    assert interrupted >= 2, f"the update ({duration:.2f} s) finished before most kills: {report}"


@pytest.mark.parametrize("append", [False, True], ids=["cube", "cube-append"])
def test_ctrl_c_cleans_up(ffis, tmp_path, append):
    """SIGINT (Ctrl-C) while the cube is being written: exit 130, one line, no temporary
    file, and the cube absent (build) or the old one (append)."""
    cube_file = str(tmp_path / "sector-cube.fits")
    if append:
        CubeFactory().make_cube(ffis[:N_OLD], cube_file, verbose=False)
        old = H.file_hash(cube_file)
        args = ["cube", "--append", *ffis[N_OLD:]]
    else:
        args = ["cube", *ffis]
    # faulthandler: a child that hangs after the interrupt is made to print every thread's
    # stack (SIGABRT below), so a rare hang under load says where it waits.
    process = subprocess.Popen([sys.executable, "-X", "faulthandler", "-m", "astrocut", *args,
                                "-o", cube_file, "--quiet", "--max-memory", str(MAX_MEMORY)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not H.part_files(str(tmp_path)) and process.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.0005)
    # A little after the temporary file appears: bands are being written. (An interrupt in
    # the very instant the file is created is test_interrupt_as_the_temporary_file_appears.)
    time.sleep(0.02)
    interrupted = process.poll() is None
    process.send_signal(signal.SIGINT)
    try:
        _out, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)
        _out, err = process.communicate(timeout=30)
        pytest.fail(f"no exit 60 s after SIGINT; the child's threads:\n{err}")
    assert H.part_files(str(tmp_path)) == [], (
        process.returncode, err, [(name, os.path.getsize(tmp_path / name))
                                  for name in H.part_files(str(tmp_path))])
    if not interrupted or process.returncode == 0:
        pytest.skip("the build finished before it could be interrupted")
    assert process.returncode == 130, err
    assert err.strip() == "astrocut: interrupted", err
    if append:
        assert H.file_hash(cube_file) == old
    else:
        assert not os.path.exists(cube_file)


def test_interrupt_as_the_temporary_file_appears(tmp_path, monkeypatch):
    """Ctrl-C in the instant between the temporary file's creation and the code that would
    remove it on error. Deterministic stand-in for a race the Ctrl-C test above hits now and
    then when its signal lands right as the ``.part`` file appears (it then leaves a 0-byte
    ``.part``): the interrupt is raised just after the temporary file was created."""

    from astrocut.output import atomic_path

    real_open = os.open

    def interrupted_open(*args, **kwargs):
        real_open(*args, **kwargs)  # the file now exists ...
        raise KeyboardInterrupt     # ... and Ctrl-C lands before its descriptor is returned

    monkeypatch.setattr(os, "open", interrupted_open)
    target = tmp_path / "result.fits"
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(str(target)) as temporary:
            open(temporary, "wb").write(b"data")
    monkeypatch.undo()
    assert os.listdir(tmp_path) == []
