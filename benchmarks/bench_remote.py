"""Cutting from cubes over the network, side by side with the reference tool (astrocut 1.4).

1. One 30x30 stamp from a cube of 1000 simulated 200x200 FFIs read as ``s3://`` from a
   local S3 endpoint that adds 20 ms to every request: the tests' aiohttp range server
   answering S3-style paths (``/bucket/key``: HEAD and ranged GET are all s3fs and botocore
   ask for an anonymous read). moto's server is not used here: it reads the whole object for
   every ranged GET (0.45 s a request for this 321 MB cube, measured), which would swamp the
   20 ms; with ``--moto`` the run goes through moto behind a 20 ms proxy anyway. Each tool
   runs in a fresh process (its first call: headers, table and stamp) and then cuts a
   second stamp elsewhere; the server counts the requests and body bytes each moved. The
   reference is pointed at the local endpoint with botocore's ``AWS_ENDPOINT_URL_S3`` (it
   hard-codes ``anon=True`` and no endpoint) and runs with ``threads="auto"``; ours with its
   default 32 requests in flight. Both write the TPF to a file.
2. 200 targets of 10x10 over HTTP (a Range-capable aiohttp server on 127.0.0.1, 20 ms per
   request): our ``cube_cut_many`` against the reference's ``cube_cut`` once per target
   (timed on a few targets and scaled). Over HTTP the reference downloads the whole cube for
   every call (astropy's ``download_file``); its per-target loop over S3 is shown too.

    python benchmarks/bench_remote.py --reference-python /opt/refvenv/bin/python
"""

import os
import shutil
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "remote"))
from common import new_parser, print_table, run_ours, run_python, run_reference  # noqa: E402

BUCKET = "stpubdata"
KEY = "tess/public/mast/tess-s0001-1-1-cube.fits"

OURS_SINGLE = """
import time
from astrocut import CutoutFactory
# What the reference imports with "import astrocut", imported here too before the clock
# starts (ours imports them on first use); the process column counts them for both.
import astropy.coordinates, astropy.table, astropy.wcs, aiohttp, fsspec.implementations.http
from astrocut.plugins import get_plugin_manager
get_plugin_manager()
kwargs = {"anon": True, "endpoint_url": PAYLOAD["endpoint"]}
SETTLE
times = []
for ra, dec in PAYLOAD["targets"]:
    started = time.perf_counter()
    CutoutFactory().cube_cut(PAYLOAD["url"], f"{ra} {dec}", PAYLOAD["size"],
                             output_path=PAYLOAD["out"], fsspec_kwargs=kwargs)
    times.append(time.perf_counter() - started)
print(json.dumps({"times": times}))
"""

REFERENCE_SINGLE = """
import time
from astrocut import CutoutFactory
SETTLE
times = []
for ra, dec in PAYLOAD["targets"]:
    started = time.perf_counter()
    CutoutFactory().cube_cut(PAYLOAD["url"], f"{ra} {dec}", PAYLOAD["size"],
                             output_path=PAYLOAD["out"], threads="auto")
    times.append(time.perf_counter() - started)
print(json.dumps({"times": times}))
"""

# Both tools start their clock on a settled interpreter: the imports leave enough objects
# that Python's first full garbage collection (~30 ms) falls inside whichever call runs
# next, by chance of the allocation counts rather than by anything either tool does there.
_SETTLE = "import gc; gc.collect()"
OURS_SINGLE = OURS_SINGLE.replace("SETTLE", _SETTLE)
REFERENCE_SINGLE = REFERENCE_SINGLE.replace("SETTLE", _SETTLE)

OURS_MANY = """
import time
from astrocut import cube_cut_many
started = time.perf_counter()
table = cube_cut_many(PAYLOAD["url"], [f"{ra} {dec}" for ra, dec in PAYLOAD["targets"]],
                      PAYLOAD["size"], output_path=PAYLOAD["out"], verbose=False)
seconds = time.perf_counter() - started
assert all(table["status"] == "ok"), table[table["status"] != "ok"]
print(json.dumps({"seconds": seconds}))
"""

REFERENCE_LOOP = """
import time
from astrocut import CutoutFactory
factory = CutoutFactory()
started = time.perf_counter()
for ra, dec in PAYLOAD["targets"]:
    factory.cube_cut(PAYLOAD["url"], f"{ra} {dec}", PAYLOAD["size"], output_path=PAYLOAD["out"],
                     threads="auto")
print(json.dumps({"seconds": time.perf_counter() - started}))
"""


def build_cube(workdir, n_ffi, size):
    from astrocut import CubeFactory
    from astrocut_tess.simulate import simulate_ffis

    cube = os.path.join(workdir, f"remote-{n_ffi}-{size}x{size}-cube.fits")
    if not os.path.exists(cube):
        sector = simulate_ffis(os.path.join(workdir, f"ffi-remote-{n_ffi}-{size}"),
                               n_ffi=n_ffi, size=(size, size), seed=11)
        CubeFactory().make_cube(sector.files, cube, verbose=False)
    return cube


def targets(cube, count, stamp, seed=0):
    """Sky positions whose stamps lie well inside the cube (its middle WCS)."""
    import numpy as np

    from astrocut.cubes import open_cube

    with open_cube(cube) as handle:
        wcs = handle.wcs
        n_rows, n_cols = handle.info.image_shape
    rng = np.random.default_rng(seed)
    margin = stamp // 2 + 5
    xs = rng.uniform(margin, n_cols - margin, count)
    ys = rng.uniform(margin, n_rows - margin, count)
    ra, dec = wcs.all_pix2world(xs, ys, 0)
    return [(float(r), float(d)) for r, d in zip(ra, dec)]


def counted(counter, run):
    counter.reset_counters()
    result = run()
    return result, counter.requests, counter.bytes_sent


def main():
    parser = new_parser(__doc__)
    parser.add_argument("--n-ffi", type=int, default=1000)
    parser.add_argument("--size", type=int, default=200, help="FFI side in pixels")
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per request")
    parser.add_argument("--stamp", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes per tool")
    parser.add_argument("--targets", type=int, default=200)
    parser.add_argument("--many-stamp", type=int, default=10)
    parser.add_argument("--moto", action="store_true",
                        help="serve the S3 part from moto behind a latency proxy")
    parser.add_argument("--loop-sample", type=int, default=3,
                        help="targets timed for the reference's per-target loop (scaled)")
    args = parser.parse_args()
    if not args.reference_python:
        parser.error("--reference-python is required (the side-by-side baseline)")

    from servers import LatencyProxy, RangeServer, start_moto, upload

    os.makedirs(args.workdir, exist_ok=True)
    cube = build_cube(args.workdir, args.n_ffi, args.size)
    cube_bytes = os.path.getsize(cube)
    positions = targets(cube, max(args.targets, 2), args.stamp)
    payload_bytes = args.stamp * args.stamp * args.n_ffi * 8

    url = f"s3://{BUCKET}/{KEY}"
    rows = []
    if args.moto:
        moto, endpoint = start_moto()
        upload(endpoint, BUCKET, {KEY: cube})
        server = LatencyProxy(endpoint, args.latency)
    else:
        moto = None
        server = RangeServer({f"{BUCKET}/{KEY}": open(cube, "rb").read()})
        server.latency = args.latency
    with server as proxy:
        single = {"ours": [], "reference": []}
        for _ in range(args.repeat):
            payload = {"url": url, "endpoint": proxy.url, "size": args.stamp,
                       "targets": positions[:2],
                       "out": os.path.join(args.workdir, "remote-ours-single")}
            # Both tools write into an emptied folder: replacing the last run's 21 MB files
            # would add the time the kernel takes to drop them (~15 ms) to either.
            shutil.rmtree(payload["out"], ignore_errors=True)
            single["ours"].append(counted(proxy, lambda: run_python(
                sys.executable, OURS_SINGLE, payload, sample_memory=False)))
            ref_env_payload = dict(payload, out=os.path.join(args.workdir, "remote-ref-single"))
            shutil.rmtree(ref_env_payload["out"], ignore_errors=True)
            single["reference"].append(counted(proxy, lambda: _reference(
                args.reference_python, REFERENCE_SINGLE, ref_env_payload, proxy.url)))
        medians = {}
        for tool, runs in single.items():
            first = statistics.median(r[0]["result"]["times"][0] for r in runs)
            second = statistics.median(r[0]["result"]["times"][1] for r in runs)
            requests = statistics.median(r[1] for r in runs)
            moved = statistics.median(r[2] for r in runs)
            medians[tool] = first
            process = statistics.median(r[0]["seconds"] for r in runs)
            rows.append([tool, process, first, second, int(requests), moved / 1e6,
                         moved / (2 * payload_bytes)])
            medians[tool + " process"] = process
        s3_loop = counted(proxy, lambda: _reference(
            args.reference_python, REFERENCE_LOOP,
            {"url": url, "size": args.many_stamp, "targets": positions[:args.loop_sample],
             "out": os.path.join(args.workdir, "remote-ref-s3")}, proxy.url))
    if moto is not None:
        moto.stop()
    where = "moto S3 behind a proxy" if args.moto else "an S3-style aiohttp endpoint"
    print(f"\n30x30 stamp, {args.n_ffi} frames of {args.size}x{args.size} "
          f"({cube_bytes / 1e6:.0f} MB cube) over s3:// from {where}, {args.latency * 1000:.0f} ms per "
          f"request; medians of {args.repeat} fresh processes; stamp payload "
          f"{payload_bytes / 1e6:.2f} MB each\n")
    print_table(rows, ["tool", "whole process s", "first stamp s", "second stamp s",
                       "requests (2 stamps)", "MB moved (2 stamps)", "x payload"])
    print(f"\nours / reference: first stamp {medians['ours'] / medians['reference']:.3f}, "
          f"whole process {medians['ours process'] / medians['reference process']:.3f}")

    with RangeServer({"tess-s0001-1-1-cube.fits": open(cube, "rb").read()}) as server:
        server.latency = args.latency
        http_url = f"{server.url}/tess-s0001-1-1-cube.fits"
        many = counted(server, lambda: run_ours(OURS_MANY, {
            "url": http_url, "size": args.many_stamp, "targets": positions[:args.targets],
            "out": os.path.join(args.workdir, "remote-ours-many")}))
        loop = counted(server, lambda: run_reference(args.reference_python, REFERENCE_LOOP, {
            "url": http_url, "size": args.many_stamp, "targets": positions[:args.loop_sample],
            "out": os.path.join(args.workdir, "remote-ref-http")}))
    ours_s = many[0]["result"]["seconds"]
    ref_http = loop[0]["result"]["seconds"] / args.loop_sample * args.targets
    ref_s3 = s3_loop[0]["result"]["seconds"] / args.loop_sample * args.targets
    print(f"\n{args.targets} targets of {args.many_stamp}x{args.many_stamp}, "
          f"{args.latency * 1000:.0f} ms per request\n")
    print_table([
        ["ours: cube_cut_many over HTTP", ours_s, 1000 * ours_s / args.targets,
         many[1], many[2] / 1e6, ""],
        [f"reference cube_cut loop over HTTP ({args.loop_sample} timed, scaled)", ref_http,
         1000 * ref_http / args.targets, loop[1], loop[2] / 1e6, f"{ref_http / ours_s:.1f}x"],
        [f"reference cube_cut loop over S3 ({args.loop_sample} timed, scaled)", ref_s3,
         1000 * ref_s3 / args.targets, s3_loop[1], s3_loop[2] / 1e6,
         f"{ref_s3 / ours_s:.1f}x"],
    ], ["run", "seconds", "ms / target", "requests", "MB moved", "ours faster by"])


def _reference(python, script, payload, endpoint):
    # botocore reads the endpoint from the environment: the reference has no option for it.
    from common import run_python

    return run_python(python, script, payload, sample_memory=False,
                      env={"PYTHONPATH": "", "AWS_ENDPOINT_URL_S3": endpoint,
                           "AWS_ENDPOINT_URL": endpoint})


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"\n(benchmark took {time.perf_counter() - started:.0f} s)")
