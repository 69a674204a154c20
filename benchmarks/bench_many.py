"""Bulk cutouts: 1000 targets of 10x10 from one cube.

Compares, from one run:
- this project's ``cube_cut_many`` (in one process, and on a 2-process pool),
- this project's own single-target loop (``CutoutFactory.cube_cut`` once per target),
- the reference tool's ``CutoutFactory.cube_cut`` once per target, in its own venv.

The cube is read once (untimed) before the first timed run, so every run finds it in the
page cache: otherwise the first run (ours) pays the disk reads that the runs after it get
for free, which moved the 200-target figure by ~2 ms a target. Each run's output folder is
emptied and the file system synced before its timer starts.

    python benchmarks/bench_many.py --reference-python /path/to/ref-venv/bin/python
"""

import os
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import new_parser, print_table, run_reference  # noqa: E402

REFERENCE_LOOP = """
import time
from astrocut import CutoutFactory
factory = CutoutFactory()
started = time.perf_counter()
for ra, dec in PAYLOAD["targets"]:
    factory.cube_cut(PAYLOAD["cube"], f"{ra} {dec}", PAYLOAD["size"], output_path=PAYLOAD["out"])
print(json.dumps({"seconds": time.perf_counter() - started}))
"""


def build_cube(workdir, n_ffi, size):
    from astrocut import CubeFactory
    from astrocut_tess.simulate import simulate_ffis

    cube = os.path.join(workdir, f"many-{n_ffi}-{size[0]}x{size[1]}-cube.fits")
    if not os.path.exists(cube):
        sector = simulate_ffis(os.path.join(workdir, f"ffi-many-{n_ffi}-{size[0]}x{size[1]}"),
                               n_ffi=n_ffi, size=size, seed=11)
        CubeFactory().make_cube(sector.files, cube, verbose=False)
    return cube


def warm_page_cache(path, chunk=64 * 1024 * 1024):
    """Read ``path`` once, so that no timed run pays disk reads the others are spared."""
    with open(path, "rb", buffering=0) as handle:
        while handle.read(chunk):
            pass


def random_targets(cube, count, stamp, seed=0):
    """Sky positions whose stamps lie on the science area of the cube's middle WCS."""
    from astropy.io import fits
    from astropy.wcs import WCS

    with fits.open(cube) as hdulist:
        table = hdulist[2].data
        header = fits.Header()
        row = table[len(table) // 2]
        for name in table.columns.names:
            if name.startswith(("CTYPE", "CRVAL", "CRPIX", "CD", "A_", "B_", "AP_", "BP_", "CUNIT")):
                header[name] = row[name]
        n_rows, n_columns = hdulist[1].shape[:2]
    wcs = WCS(header)
    rng = np.random.default_rng(seed)
    margin = stamp + 50
    xs = rng.uniform(margin, n_columns - margin, count)
    ys = rng.uniform(margin, n_rows - margin, count)
    ra, dec = wcs.all_pix2world(xs, ys, 0)
    return [(float(r), float(d)) for r, d in zip(ra, dec)]


def main():
    parser = new_parser(__doc__)
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--stamp", type=int, default=10)
    parser.add_argument("--n-ffi", type=int, default=40)
    parser.add_argument("--size", default="2136x2078", help="FFI COLUMNSxROWS")
    parser.add_argument("--loop-sample", type=int, default=100,
                        help="targets timed for the per-target loops (scaled to --targets)")
    args = parser.parse_args()

    from astropy.table import Table

    from astrocut import CutoutFactory, cube_cut_many

    os.makedirs(args.workdir, exist_ok=True)
    size = tuple(int(v) for v in args.size.lower().split("x"))
    cube = build_cube(args.workdir, args.n_ffi, size)
    targets = random_targets(cube, args.targets, args.stamp)
    table = Table(rows=targets, names=("ra", "dec"))
    out = os.path.join(args.workdir, "many-out")
    rows = []
    warm_page_cache(cube)

    def fresh(name):
        path = os.path.join(out, name)
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path)
        # The file system finishes removing the last run's files later, in the next timed
        # run's time (a run after a 1000-target run was 1.5x slower): settle it first.
        os.sync()
        return path

    # Output folders are emptied before the timer starts (removing the last run's 1000 files
    # was inside the timed call before).
    serial_out = fresh("serial")
    started = time.perf_counter()
    result = cube_cut_many(cube, table, cutout_size=args.stamp, output_path=serial_out,
                           verbose=False)
    serial = time.perf_counter() - started
    assert (result["status"] == "ok").all(), result[result["status"] != "ok"]
    rows.append(["cube_cut_many, 1 process", serial, serial / args.targets * 1e3])

    pool_out = fresh("pool")
    with ProcessPoolExecutor(2) as pool:
        started = time.perf_counter()
        cube_cut_many(cube, table, cutout_size=args.stamp, output_path=pool_out,
                      executor=pool, verbose=False)
        pooled = time.perf_counter() - started
    rows.append(["cube_cut_many, 2 processes", pooled, pooled / args.targets * 1e3])

    sample = targets[: args.loop_sample]
    factory = CutoutFactory()
    loop_out = fresh("loop")
    started = time.perf_counter()
    for ra, dec in sample:
        factory.cube_cut(cube, f"{ra} {dec}", args.stamp, output_path=loop_out)
    loop = (time.perf_counter() - started) / len(sample) * args.targets
    rows.append([f"our cube_cut loop (x{len(sample)}, scaled)", loop, loop / args.targets * 1e3])

    reference = None
    if args.reference_python:
        measured = run_reference(args.reference_python, REFERENCE_LOOP,
                                 {"cube": cube, "targets": sample, "size": args.stamp,
                                  "out": fresh("reference")})
        reference = measured["result"]["seconds"] / len(sample) * args.targets
        rows.append([f"reference cube_cut loop (x{len(sample)}, scaled)", reference,
                     reference / args.targets * 1e3])

    best = min(serial, pooled)
    print(f"\n{args.targets} targets of {args.stamp}x{args.stamp} from {os.path.basename(cube)}"
          f" ({args.n_ffi} FFIs of {size[0]}x{size[1]})\n")
    table_rows = []
    for name, seconds, per_target in rows:
        table_rows.append([name, f"{seconds:.2f}", f"{per_target:.2f}",
                           f"{seconds / best:.1f}x", ""])
    if reference:
        table_rows[0][4] = f"{reference / serial:.1f}x faster"
        table_rows[1][4] = f"{reference / pooled:.1f}x faster"
    print_table(table_rows, ["run", "seconds", "ms / target", "vs best", "vs reference"])


if __name__ == "__main__":
    main()
