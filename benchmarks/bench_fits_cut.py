"""fits_cut on large drizzled-HST-like images: this project against the reference tool.

Two 10000x10000 float32 images (TAN, 0.03"/pixel, F606W and F814W; ~400 MB each) are
simulated once into ``--workdir``. For each stamp size both tools cut the same positions
from both images into one file per call, each in a fresh process of its own interpreter:
every process first cuts all positions once untimed (so both read from a warm page cache),
then times ``--passes`` more passes. Processes of the two tools alternate for ``--rounds``
rounds. On a shared machine single timings are noisy (other jobs, disk write-back), so a
position's time is its best over all passes and rounds, and the table gives the median
over positions of that; "process s" is the best whole cold process (imports, the first
pass); peak MB is the process tree's largest anonymous memory. Each pass writes new files
(removed after the pass, untimed); ``--overwrite`` rewrites the same ones instead.

Usage::

    python benchmarks/bench_fits_cut.py --reference-python /opt/refvenv/bin/python
"""

import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "generic_fits"))

from common import gigabytes, new_parser, print_table, run_python, run_reference  # noqa: E402

SCRIPT = """
import os, time, warnings
warnings.simplefilter("ignore")
started = time.perf_counter()
from astrocut import fits_cut
files, out = PAYLOAD["files"], PAYLOAD["out"]
positions, size = PAYLOAD["positions"], PAYLOAD["size"]
os.makedirs(out, exist_ok=True)
import shutil
passes = 0
def one_pass():
    # Fresh files, as a user cutting new positions makes them (unless --overwrite):
    # replacing a large file on ext4 flushes it to disk first, which both tools then pay.
    global passes
    passes += 1
    target = out if PAYLOAD["overwrite"] else os.path.join(out, f"pass{passes}")
    os.makedirs(target, exist_ok=True)
    times = []
    for ra, dec in positions:
        t = time.perf_counter()
        fits_cut(files, f"{ra} {dec}", size, single_outfile=True, output_dir=target)
        times.append(time.perf_counter() - t)
    if not PAYLOAD["overwrite"]:
        shutil.rmtree(target)
    return times
one_pass()
first_pass = time.perf_counter() - started
print(json.dumps({"times": [one_pass() for _ in range(PAYLOAD["passes"])],
                  "first_pass": first_pass}))
"""


def simulate(workdir):
    """The two HST-like images (reused when already in ``workdir``) and their WCS."""
    import gf_simulate
    from astropy.io import fits
    from astropy.wcs import WCS

    os.makedirs(workdir, exist_ok=True)
    paths = []
    for name, scale in (("f606w", 1.0), ("f814w", 1.6)):
        path = os.path.join(workdir, f"hlsp_bench_hst_acs_field_{name}_v1.0_drz.fits")
        if not os.path.exists(path):
            print(f"simulating {path} ...", flush=True)
            gf_simulate.write_hst_like(path + ".part", (10000, 10000), seed=7,
                                       filter_name=name.upper(), flux_scale=scale)
            os.replace(path + ".part", path)
        paths.append(path)
    return paths, WCS(fits.getheader(paths[0]))


def positions(wcs, count, size, seed=5):
    """``count`` sky positions whose stamps of ``size`` pixels lie on the image."""
    import numpy as np

    rng = np.random.default_rng(seed)
    margin = size / 2 + 2
    x = rng.uniform(margin, 10000 - margin, count)
    y = rng.uniform(margin, 10000 - margin, count)
    return [[float(a), float(b)] for a, b in wcs.all_pix2world(np.c_[x, y], 0)]


def _runs(python, payload, rounds, reference):
    runs = []
    for _ in range(rounds):
        if reference:
            runs.append(run_reference(python, SCRIPT, payload))
        else:
            runs.append(run_python(python, SCRIPT, payload))
    return runs


def summarise(runs):
    """(ms per call, best process seconds, peak MB) from several processes' passes."""
    passes = [times for run in runs for times in run["result"]["times"]]
    best = [min(column) for column in zip(*passes)]
    return (1000 * statistics.median(best), min(run["seconds"] for run in runs),
            1024 * gigabytes(max(run["peak_anon_bytes"] for run in runs)))


def main():
    parser = new_parser(__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,200x300,1000,3000",
                        help="stamp sizes, comma-separated: N or NXxNY (default %(default)s)")
    parser.add_argument("--count", type=int, default=20,
                        help="positions per size (default %(default)s; 4 for sides >= 2000)")
    parser.add_argument("--passes", type=int, default=3, help="timed passes per process")
    parser.add_argument("--rounds", type=int, default=2, help="processes per tool and size")
    parser.add_argument("--overwrite", action="store_true",
                        help="every pass rewrites the same files (default: new files)")
    args = parser.parse_args()
    files, wcs = simulate(args.workdir)
    rows = []
    for text in args.sizes.split(","):
        nx, _, ny = text.partition("x")
        size = [int(nx), int(ny or nx)]
        count = args.count if max(size) < 2000 else min(args.count, 4)
        payload = dict(files=files, size=size, positions=positions(wcs, count, max(size)),
                       passes=args.passes, overwrite=args.overwrite)
        ours_runs, ref_runs = [], []
        for _ in range(args.rounds):  # alternate, so both meet the same machine load
            ours_runs += _runs(sys.executable, dict(payload, out=os.path.join(
                args.workdir, "out-ours")), 1, reference=False)
            if args.reference_python:
                ref_runs += _runs(args.reference_python, dict(payload, out=os.path.join(
                    args.workdir, "out-ref")), 1, reference=True)
        ours = summarise(ours_runs)
        ref = summarise(ref_runs) if ref_runs else (None, None, None)
        ratio = (lambda a, b: a / b if b else None)
        rows.append([f"{size[0]}x{size[1]}", count, ours[0], ref[0], ratio(ours[0], ref[0]),
                     ours[1], ref[1], ratio(ours[1], ref[1]), ours[2], ref[2]])
    print()
    print("fits_cut, 2 HST-like 10000x10000 float32 inputs -> one FITS file per call"
          + (", overwriting" if args.overwrite else ", new files"))
    print_table(rows, ["stamp", "positions", "ours ms/call", "ref ms/call", "ratio",
                       "ours process s", "ref process s", "ratio", "ours peak MB",
                       "ref peak MB"])


if __name__ == "__main__":
    main()
