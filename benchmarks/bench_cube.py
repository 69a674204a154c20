"""Benchmark: building a TESS cube from N simulated full-size FFIs.

One run prints one table, every row measured in its own fresh process: wall time of the build
inside it, wall time and CPU time (user + system) of the whole process, and peak RssAnon of the
process tree. Rows:

- this project at ``--max-memory`` (default: enough for the whole cube) and at a tenth of the
  cube's size;
- a numpy-only lower bound: read every FFI into one array, transpose, write;
- an I/O floor: read every FFI byte once and write the cube's bytes once, no transpose;
- with ``--reference-python``, the reference tool's ``CubeFactory`` at the same two budgets.

The FFIs are simulated once into ``--workdir`` and reused; every contender reads them from a
warm page cache (they are read once before each run). Dirty pages are flushed (``os.sync``)
before each run, and the machine is given a second to settle, so one run's writeback does not
slow the next. On a shared virtual machine, writing a gigabyte into the page cache still takes
anywhere from 0.3 to 3 s (``dd`` shows the same spread), so the contenders run in ``--repeat``
rounds (5), each round running every row once in a shuffled order; the table shows medians, the best build time,
and the largest RssAnon. The CPU column is the steadiest measure of the work each one does.

Example::

    python benchmarks/bench_cube.py --n 40 --reference-python /opt/refvenv/bin/python
"""

import glob
import math
import os
import random
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import gigabytes, new_parser, print_table, run_ours, run_reference  # noqa: E402

FULL = (2136, 2078)

OURS = """
import time
from astrocut import CubeFactory
# The reference imports astropy.io.fits with its package; the plugin imports it on first use.
# Import both before the clock starts so "build s" times the build alone on both sides.
import astrocut_tess.cube
started = time.perf_counter()
CubeFactory().make_cube(PAYLOAD["files"], PAYLOAD["out"], max_memory=PAYLOAD["max_memory"],
                        verbose=False)
print(json.dumps({"seconds": time.perf_counter() - started}))
"""

REFERENCE = """
import time, warnings
warnings.simplefilter("ignore")
from astrocut import CubeFactory
started = time.perf_counter()
CubeFactory().make_cube(PAYLOAD["files"], PAYLOAD["out"], max_memory=PAYLOAD["max_memory"],
                        verbose=False)
print(json.dumps({"seconds": time.perf_counter() - started}))
"""

# Both baselines find the data offsets with astropy (header parsing is not what they measure),
# then use plain file reads and writes.
_OFFSETS = """
import time
import numpy as np
from astropy.io import fits

def offsets(path):
    with fits.open(path, memmap=True) as hdulist:
        return (hdulist[1]._data_offset, hdulist[2]._data_offset, hdulist[1].header["NAXIS2"],
                hdulist[1].header["NAXIS1"])

started = time.perf_counter()
files = PAYLOAD["files"]
layout = [offsets(path) for path in files]
rows, cols = layout[0][2], layout[0][3]
n = len(files)
header = (fits.Header([("SIMPLE", True), ("BITPIX", 8), ("NAXIS", 0), ("EXTEND", True)]).tostring()
          + fits.Header([("XTENSION", "IMAGE"), ("BITPIX", -32), ("NAXIS", 4), ("NAXIS1", 2),
                         ("NAXIS2", n), ("NAXIS3", cols), ("NAXIS4", rows), ("PCOUNT", 0),
                         ("GCOUNT", 1)]).tostring()).encode()
"""

NUMPY = _OFFSETS + """
stack = np.empty((n, 2, rows, cols), dtype=">f4")
for index, (path, (flux, error, _, _)) in enumerate(zip(files, layout)):
    with open(path, "rb", buffering=0) as handle:
        handle.seek(flux)
        handle.readinto(stack[index, 0])
        handle.seek(error)
        handle.readinto(stack[index, 1])
cube = np.ascontiguousarray(stack.transpose(2, 3, 0, 1))
del stack
with open(PAYLOAD["out"], "wb") as handle:
    handle.write(header)
    handle.write(memoryview(cube).cast("B"))
print(json.dumps({"seconds": time.perf_counter() - started}))
"""

FLOOR = _OFFSETS + """
image = np.empty((rows, cols), dtype=">f4")
for path, (flux, error, _, _) in zip(files, layout):
    with open(path, "rb", buffering=0) as handle:
        handle.seek(flux)
        handle.readinto(image)
        handle.seek(error)
        handle.readinto(image)
chunk = np.zeros(64 * 2 ** 20, dtype=np.uint8)
remaining = rows * cols * n * 2 * 4
with open(PAYLOAD["out"], "wb", buffering=0) as handle:
    handle.write(header)
    while remaining:
        count = min(remaining, chunk.nbytes)
        handle.write(chunk[:count])
        remaining -= count
print(json.dumps({"seconds": time.perf_counter() - started}))
"""

BASELINE = """
import time
from astropy.io import fits
import numpy
import astrocut
print(json.dumps({"seconds": 0.0}))
"""


def _simulate(directory, n, size):
    files = sorted(glob.glob(os.path.join(directory, "*ffic.fits")))
    if len(files) == n:
        return files
    from astrocut_tess.simulate import simulate_ffis

    for path in files:
        os.unlink(path)
    print(f"simulating {n} FFIs of {size[0]}x{size[1]} into {directory} ...", flush=True)
    return simulate_ffis(directory, n_ffi=n, size=size, seed=0).files


def _warm(files):
    for path in files:
        with open(path, "rb", buffering=0) as handle:
            while handle.read(16 * 2 ** 20):
                pass


def _run_once(runner, script, payload):
    if os.path.exists(payload["out"]):
        os.unlink(payload["out"])
    _warm(payload["files"])
    os.sync()
    time.sleep(1.0)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = runner(script, payload)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result["cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result


def _summary(runs):
    middle = lambda values: sorted(values)[len(values) // 2]  # noqa: E731
    builds = [r["result"]["seconds"] for r in runs]
    return {"seconds": middle([r["seconds"] for r in runs]), "build": middle(builds),
            "cpu": middle([r["cpu"] for r in runs]),
            "best": min(builds), "all_builds": builds,
            "peak_anon_bytes": max(r["peak_anon_bytes"] for r in runs)}


def _same_data(path_a, path_b):
    from astropy.io import fits
    import numpy as np

    with fits.open(path_a, memmap=True) as a, fits.open(path_b, memmap=True) as b:
        rows = a[1].data.shape[0]
        step = 64
        return all(np.array_equal(a[1].data[r:r + step], b[1].data[r:r + step])
                   for r in range(0, rows, step))


def _same_bytes(path_a, path_b, chunk=64 * 2 ** 20):
    with open(path_a, "rb") as a, open(path_b, "rb") as b:
        while True:
            x, y = a.read(chunk), b.read(chunk)
            if x != y:
                return False
            if not x:
                return True


def main(argv=None):
    parser = new_parser(__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40, help="number of FFIs (40)")
    parser.add_argument("--size", default=f"{FULL[0]}x{FULL[1]}", help="COLUMNSxROWS")
    parser.add_argument("--repeat", type=int, default=5, help="runs per row; median shown (5)")
    parser.add_argument("--max-memory", type=float, default=None,
                        help="GB for the main runs (default: the cube's size + 10%%, one block)")
    args = parser.parse_args(argv)
    cols, rows = (int(v) for v in args.size.lower().split("x"))
    directory = os.path.join(args.workdir, f"ffis-{args.n}-{cols}x{rows}")
    os.makedirs(directory, exist_ok=True)
    files = _simulate(directory, args.n, (cols, rows))

    cube_gb = rows * cols * args.n * 8 / 1e9
    big = args.max_memory or math.ceil(cube_gb * 1.1 * 10) / 10
    small = round(cube_gb / 10, 4)
    out = lambda name: os.path.join(args.workdir, name)  # noqa: E731

    ref_runner = lambda script, payload: run_reference(args.reference_python, script,  # noqa: E731
                                                       payload)
    # (label, max_memory, runner, script, output name)
    contenders = [
        ("python + astropy + astrocut imported (idle)", None, run_ours, BASELINE, "none"),
        ("I/O floor: read FFIs once, write cube bytes once", None, run_ours, FLOOR, "floor.fits"),
        ("numpy: read all, transpose, write", None, run_ours, NUMPY, "numpy.fits"),
        ("this project", big, run_ours, OURS, "ours-big.fits"),
        ("this project", small, run_ours, OURS, "ours-small.fits"),
    ]
    if args.reference_python:
        contenders += [("reference CubeFactory", big, ref_runner, REFERENCE, "ref-big.fits"),
                       ("reference CubeFactory", small, ref_runner, REFERENCE, "ref-small.fits")]
    # Rounds rather than one contender at a time, in a shuffled order: the machine's speed
    # drifts (other work, memory handed back to the host) and a run is slowed by the one
    # before it; rounds and shuffling spread both over every row alike.
    runs = [[] for _ in contenders]
    for number in range(args.repeat):
        print(f"round {number + 1} of {args.repeat} ...", flush=True)
        order = list(range(len(contenders)))
        random.Random(number).shuffle(order)
        for index in order:
            label, memory, runner, script, name = contenders[index]
            payload = {"files": files, "out": out(name), "max_memory": memory}
            runs[index].append(_run_once(runner, script, payload))
    results = [(label, memory, _summary(measured))
               for (label, memory, *_), measured in zip(contenders, runs)]
    floor = results[1][2]
    reference = {memory: result for label, memory, result in results
                 if label.startswith("reference")}

    floor_s = floor["build"]
    table = []
    for label, memory, result in results:
        seconds = result["build"]
        ref = reference.get(memory) if memory is not None and label == "this project" else None
        table.append([
            label,
            "" if memory is None else f"{memory:g}",
            seconds if label != results[0][0] else None,
            result["best"] if label != results[0][0] else None,
            result["seconds"],
            result["cpu"],
            f"{gigabytes(result['peak_anon_bytes']):.2f}",
            f"{seconds / floor_s:.2f}" if label != results[0][0] else None,
            f"{seconds / ref['build']:.2f}" if ref else None,
            " ".join(f"{value:.2f}" for value in result["all_builds"])
            if label != results[0][0] else None,
        ])
    print()
    print(f"{args.n} FFIs of {cols}x{rows}; cube {cube_gb:.2f} GB (1e9 bytes); max_memory in GB; "
          f"times in seconds (build: inside the process; process: whole process, imports "
          f"included; CPU: user + system of the process); RssAnon in GiB, summed over the "
          f"process tree; medians of {args.repeat} rounds; ratios of median build times")
    print_table(table, ["run", "max_memory", "build s (median)", "best s", "process s",
                        "process CPU s", "peak RssAnon",
                        "x I/O floor", "x reference", "all builds s"])
    print()
    print(f"our cubes at {big:g} and {small:g} GB byte-identical: "
          f"{_same_bytes(out('ours-big.fits'), out('ours-small.fits'))}")
    if args.reference_python:
        print(f"our cube's data equal to the reference's: "
              f"{_same_data(out('ours-big.fits'), out('ref-big.fits'))}")
    for *_, name in contenders:
        if os.path.exists(out(name)):
            os.unlink(out(name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
