"""Load on ``astrocut serve``: concurrent clients on loopback against one full-size cube.

From one run:
- ``astrocut serve`` (a real process, ``--workers`` cutting processes) under N concurrent
  clients (aiohttp) for ``--duration`` seconds, once with stamps mixed from 5 to 30 px and
  once with 10x10 stamps only: errors, requests/s, p50/p99 latency, and the server's RSS
  (all its processes) sampled through the run;
- the same requests through the library in one process (``CutoutFactory.cube_cut`` with
  ``memory_only=False``, one file per request), for as long.

    python benchmarks/bench_serve.py [--duration 60] [--clients 32] [--workers 2]
"""

import asyncio
import io
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_many import build_cube, random_targets  # noqa: E402
from common import _process_tree, _status_bytes, new_parser, print_table  # noqa: E402

API = "/tesscut/api/v0.1/astrocut"


class RssSampler(threading.Thread):
    """VmRSS of a process and its children, once a second."""

    def __init__(self, pid, interval=1.0):
        super().__init__(daemon=True)
        self.pid, self.interval, self.samples = pid, interval, []
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            self.samples.append(sum(_status_bytes(p, "VmRSS") for p in _process_tree(self.pid)))
            self.done.wait(self.interval)

    def stop(self):
        self.done.set()
        self.join()
        return self.samples


def start_server(cube_dir, port, workers, max_concurrent):
    process = subprocess.Popen(
        [sys.executable, "-m", "astrocut", "serve", "--cubes", cube_dir, "--port", str(port),
         "--workers", str(workers), "--max-concurrent", str(max_concurrent)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import urllib.request

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return process
        except OSError:
            if process.poll() is not None:
                raise RuntimeError("astrocut serve exited")
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("astrocut serve did not start")


def requests_for(targets, sizes, seed):
    rng = random.Random(seed)
    while True:
        ra, dec = rng.choice(targets)
        nx, ny = rng.choice(sizes), rng.choice(sizes)
        yield ra, dec, nx, ny


async def _client(session, url, stream, stop_at, record):
    while time.monotonic() < stop_at:
        ra, dec, nx, ny = next(stream)
        params = {"ra": f"{ra!r}", "dec": f"{dec!r}", "x": nx, "y": ny, "units": "px"}
        started = time.perf_counter()
        try:
            async with session.get(url, params=params) as reply:
                body = await reply.read()
                ok = reply.status == 200 and len(zipfile.ZipFile(io.BytesIO(body)).namelist()) == 1
        except Exception:
            ok = False
        record.append((time.perf_counter() - started, ok))


async def _load(port, clients, duration, stream):
    import aiohttp

    url = f"http://127.0.0.1:{port}{API}"
    record = []
    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        # A short warm-up: every cutting process opens the cube once.
        await asyncio.gather(*(_client(session, url, stream, time.monotonic() + 1.0, [])
                               for _ in range(clients)))
        started = time.monotonic()
        await asyncio.gather(*(_client(session, url, stream, started + duration, record)
                               for _ in range(clients)))
        elapsed = time.monotonic() - started
    return record, elapsed


def run_load(server, port, clients, duration, stream):
    sampler = RssSampler(server.pid)
    sampler.start()
    record, elapsed = asyncio.run(_load(port, clients, duration, stream))
    rss = sampler.stop()
    latencies = np.array([seconds for seconds, _ in record]) * 1000
    errors = sum(1 for _, ok in record if not ok)
    return {"requests": len(record), "errors": errors, "rate": len(record) / elapsed,
            "p50": float(np.percentile(latencies, 50)), "p99": float(np.percentile(latencies, 99)),
            "rss_start": rss[1] if len(rss) > 1 else rss[0], "rss_end": rss[-1],
            "rss_max": max(rss)}


def run_library(cube, duration, stream):
    from astrocut import CutoutFactory

    factory = CutoutFactory()
    out = tempfile.mkdtemp(prefix="bench-serve-lib-")
    latencies = []
    try:
        stop_at = time.monotonic() + duration
        started = time.monotonic()
        while time.monotonic() < stop_at:
            ra, dec, nx, ny = next(stream)
            t = time.perf_counter()
            path = factory.cube_cut(cube, f"{ra} {dec}", [nx, ny], output_path=out)
            os.remove(path)
            latencies.append(time.perf_counter() - t)
        elapsed = time.monotonic() - started
    finally:
        shutil.rmtree(out, ignore_errors=True)
    latencies = np.array(latencies) * 1000
    return {"requests": len(latencies), "errors": 0, "rate": len(latencies) / elapsed,
            "p50": float(np.percentile(latencies, 50)), "p99": float(np.percentile(latencies, 99))}


def main():
    parser = new_parser(__doc__)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per load run (60)")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--n-ffi", type=int, default=40)
    parser.add_argument("--size", default="2136x2078", help="FFI COLUMNSxROWS")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    os.makedirs(args.workdir, exist_ok=True)
    cube = build_cube(args.workdir, args.n_ffi, size)
    # The server is given a directory holding only this cube (as a link: no copy).
    cube_dir = os.path.join(args.workdir, f"serve-{args.n_ffi}-{args.size}")
    os.makedirs(cube_dir, exist_ok=True)
    link = os.path.join(cube_dir, "tess-s0001-1-1-cube.fits")
    if not os.path.exists(link):
        os.symlink(cube, link)
    targets = random_targets(cube, 500, 30, seed=3)
    mixed, tens = list(range(5, 31)), [10]

    server = start_server(cube_dir, args.port, args.workers, max_concurrent=2 * args.workers)
    try:
        load_mixed = run_load(server, args.port, args.clients, args.duration,
                              requests_for(targets, mixed, 1))
        load_tens = run_load(server, args.port, args.clients, args.duration,
                             requests_for(targets, tens, 2))
    finally:
        server.terminate()
        server.wait(60)
    lib_duration = min(args.duration, 20.0)
    lib_mixed = run_library(cube, lib_duration, requests_for(targets, mixed, 1))
    lib_tens = run_library(cube, lib_duration, requests_for(targets, tens, 2))

    mib = 1024 ** 2
    print(f"\ncube: {args.n_ffi} frames of {size[0]}x{size[1]}; {args.clients} clients, "
          f"{args.duration:g} s per load run; server --workers {args.workers}\n")
    rows = []
    for name, result in (("serve, 5-30 px mixed", load_mixed), ("serve, 10x10", load_tens),
                         ("library, 1 process, 5-30 px mixed", lib_mixed),
                         ("library, 1 process, 10x10", lib_tens)):
        rss = (f"{result['rss_start'] / mib:.0f} / {result['rss_end'] / mib:.0f} / "
               f"{result['rss_max'] / mib:.0f}" if "rss_end" in result else "")
        rows.append([name, result["requests"], result["errors"], result["rate"],
                     result["p50"], result["p99"], rss])
    print_table(rows, ["run", "requests", "errors", "requests/s", "p50 ms", "p99 ms",
                       "server RSS MiB start / end / max"])
    print(f"\nserve / library requests/s: mixed {load_mixed['rate'] / lib_mixed['rate']:.2f}, "
          f"10x10 {load_tens['rate'] / lib_tens['rate']:.2f}; goal: >= 50 requests/s for 10x10 "
          f"(got {load_tens['rate']:.0f}), 0 errors, flat RSS")


if __name__ == "__main__":
    main()
