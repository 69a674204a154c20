"""Racing writers of one cube (issue 10 item 1): real processes update one cube at once.

Each worker process is started once and then told, trial after trial, to run one
``update_cube`` (or ``make_cube``) on the same cube at the same moment as the others. After
every trial the cube must hold exactly the FFIs of the updates that returned success, and
every frame's data must equal the FFI its table row names.
"""

import json
import os
import select
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from astropy.io import fits

from astrocut import CubeFactory
from astrocut_tess.simulate import simulate_ffis

N_WORKERS = 3
N_TRIALS = 20
N_BASE = 3

WORKER = textwrap.dedent(r"""
    import json, os, sys, time
    from concurrent.futures import ThreadPoolExecutor
    from astrocut.models import CubeRequest
    from astrocut_tess import cube
    executor = ThreadPoolExecutor(2)
    print("READY", flush=True)
    for line in sys.stdin:
        job = json.loads(line)
        options = {} if job.get("timeout") is None else {"timeout": job["timeout"]}
        request = CubeRequest(files=tuple(job["files"]), cube_file=job["cube"], kind="tess.ffi",
                              max_memory=job["max_memory"], verbose=False,
                              executor=executor if job["executor"] else None,
                              mission_options=options)
        # Start together: every worker waits for the same wall-clock moment.
        time.sleep(max(0.0, job["at"] - time.time()))
        try:
            (cube.build_cube if job["mode"] == "make" else cube.update_cube)(request)
            result = {"ok": True}
        except Exception as exc:
            result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(result), flush=True)
""")


@pytest.fixture(scope="module")
def sector(tmp_path_factory):
    n = N_BASE + 2 * N_WORKERS
    return simulate_ffis(tmp_path_factory.mktemp("race-ffis"), n_ffi=n, size=(32, 32), seed=5)


@pytest.fixture(scope="module")
def base_cube(sector, tmp_path_factory):
    path = tmp_path_factory.mktemp("race-base") / "base.fits"
    CubeFactory().make_cube(sector.files[:N_BASE], str(path), verbose=False)
    return path


@pytest.fixture(scope="module")
def workers():
    procs = [subprocess.Popen([sys.executable, "-c", WORKER], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True) for _ in range(N_WORKERS)]
    try:
        for proc in procs:
            assert _line(proc, 60) == "READY"
        yield procs
    finally:
        for proc in procs:
            proc.stdin.close()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _line(proc, timeout):
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, "a worker did not answer in time"
    return proc.stdout.readline().strip()


def _race(workers, jobs):
    import time

    at = time.time() + 0.1
    for proc, job in zip(workers, jobs):
        proc.stdin.write(json.dumps({**job, "at": at}) + "\n")
        proc.stdin.flush()
    return [json.loads(_line(proc, 120)) for proc in workers]


_FFI_DATA = {}


def _ffi_data(path):
    if path not in _FFI_DATA:
        with fits.open(path) as ffi:
            _FFI_DATA[path] = (ffi[1].data.copy(), ffi[2].data.copy())
    return _FFI_DATA[path]


def _check_frames(path, ffi_dir):
    """Every frame equals the FFI its row names; returns the row names."""
    with fits.open(path) as hdulist:
        data = hdulist[1].data
        names = [name.strip() for name in hdulist[2].data["FFI_FILE"]]
        starts = list(hdulist[2].data["TSTART"])
        assert data.shape[2] == len(names)
        assert starts == sorted(starts)
        for index, name in enumerate(names):
            flux, error = _ffi_data(os.path.join(ffi_dir, name))
            np.testing.assert_array_equal(data[:, :, index, 0], flux, err_msg=name)
            np.testing.assert_array_equal(data[:, :, index, 1], error, err_msg=name)
    return names


def test_racing_updaters_keep_exactly_the_successful_updates(sector, base_cube, workers,
                                                             tmp_path):
    ffi_dir = os.path.dirname(sector.files[0])
    extra = sector.files[N_BASE:]
    failures = 0
    for trial in range(N_TRIALS):
        cube = tmp_path / f"cube-{trial}.fits"
        shutil.copyfile(base_cube, cube)
        # Each worker adds its own two FFIs; some trials give a short timeout, so that some
        # updaters are refused while another holds the lock.
        timeout = 0.0 if trial % 5 == 4 else None
        # Odd trials build the bands as executor tasks (which open the old cube by name and
        # check it is the file read), even ones in the updater's threads (its one handle).
        use_executor = trial % 2 == 1
        jobs = [{"mode": "update", "cube": str(cube), "files": extra[2 * k:2 * k + 2],
                 "max_memory": 1.0, "executor": use_executor, "timeout": timeout}
                for k in range(N_WORKERS)]
        results = _race(workers, jobs)
        expected = {os.path.basename(f) for f in sector.files[:N_BASE]}
        for job, result in zip(jobs, results):
            if result["ok"]:
                expected |= {os.path.basename(f) for f in job["files"]}
            else:
                failures += 1
                assert "lock" in result["error"] and str(cube) in result["error"], result
        assert set(_check_frames(cube, ffi_dir)) == expected, (trial, results)
        assert sorted(os.listdir(tmp_path)) == sorted(
            p.name for p in tmp_path.iterdir() if p.suffix == ".fits"), "leftover files"
    # The refusals really happened, and so did the waiting (the other trials all succeeded).
    assert failures >= 1


def test_make_cube_racing_updaters_never_mixes_frames(sector, workers, tmp_path):
    ffi_dir = os.path.dirname(sector.files[0])
    base = sector.files[:N_BASE]
    for trial in range(4):
        cube = tmp_path / f"cube-{trial}.fits"
        CubeFactory().make_cube(base, str(cube), verbose=False)
        jobs = [{"mode": "make", "cube": str(cube), "files": base, "max_memory": 1e-6,
                 "executor": False}]
        jobs += [{"mode": "update", "cube": str(cube),
                  "files": sector.files[N_BASE + 2 * k:N_BASE + 2 * k + 2],
                  "max_memory": 1e-6, "executor": False} for k in range(1, N_WORKERS)]
        results = _race(workers, jobs)
        assert all(result["ok"] for result in results), results
        names = set(_check_frames(cube, ffi_dir))
        # make_cube rewrote the base at some point: the cube is the base plus the updates
        # that ran after it.
        assert {os.path.basename(f) for f in base} <= names
