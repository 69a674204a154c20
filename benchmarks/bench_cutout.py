"""Single-target TESS cutouts: this project against the reference tool.

For stamps of 5, 25 and 100 pixels from one cube (default: 40 simulated full-size FFIs,
shared with ``bench_many.py``), measures

- in-process: the median of several ``CutoutFactory().cube_cut(...)`` calls, each opening the
  cube and writing a TPF as a user's script would (after one warm-up call, so both tools read
  a cube that is in the page cache);
- cold command: the wall time of a fresh process doing one cut, ``astrocut cut CUBE RA DEC
  --size N`` for this project and the equivalent ``python -c "from astrocut import
  CutoutFactory; CutoutFactory().cube_cut(...)"`` one-liner for the reference tool.

    python benchmarks/bench_cutout.py --reference-python /opt/refvenv/bin/python

Prints one table with the ratios (ours / reference: below 1 is faster). The issue's goal is
at most 0.33 in-process and 0.6 cold.
"""

import os
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import new_parser, print_table, run_reference  # noqa: E402

STAMPS = (5, 25, 100)

REFERENCE_IN_PROCESS = """
import statistics, time, warnings
warnings.simplefilter("ignore")
from astrocut import CutoutFactory
out = {}
for stamp in PAYLOAD["stamps"]:
    times = []
    for index in range(PAYLOAD["repeat"] + 1):
        started = time.perf_counter()
        CutoutFactory().cube_cut(PAYLOAD["cube"], PAYLOAD["target"], stamp,
                                 output_path=PAYLOAD["out"])
        times.append(time.perf_counter() - started)
    out[str(stamp)] = statistics.median(times[1:])
print(json.dumps(out))
"""

REFERENCE_ONE_LINER = ("from astrocut import CutoutFactory; "
                       "CutoutFactory().cube_cut({cube!r}, {target!r}, {stamp}, "
                       "output_path={out!r})")


def _cube(workdir, n_ffi, size, seed=11):
    """The benchmark cube (simulated and built on first use, then reused)."""
    from astrocut_tess.simulate import simulate_ffis

    from astrocut import CubeFactory

    name = f"many-{n_ffi}-{size[0]}x{size[1]}-cube.fits"  # the same data as bench_many.py
    cube = os.path.join(workdir, name)
    if not os.path.exists(cube):
        print(f"simulating {n_ffi} FFIs of {size[0]}x{size[1]} and building {cube} ...",
              flush=True)
        sector = simulate_ffis(os.path.join(workdir, f"ffi-many-{n_ffi}-{size[0]}x{size[1]}"),
                               n_ffi=n_ffi, size=size, seed=seed)
        CubeFactory().make_cube(sector.files, cube, verbose=False)
    return cube


def _target(cube):
    """Sky position of a pixel in the middle of the science area (through the cube's WCS)."""
    from astrocut_tess.cutout import TessCube

    with TessCube.open(cube) as opened:
        n_rows, n_cols = opened.info.image_shape
        ra, dec = opened.wcs.all_pix2world([[n_cols * 0.37 + 0.3, n_rows * 0.58 + 0.2]], 0)[0]
    return f"{ra} {dec}"


def _ours_in_process(cube, target, stamps, repeat, out):
    from astrocut import CutoutFactory

    results = {}
    for stamp in stamps:
        times = []
        for _ in range(repeat + 1):
            started = time.perf_counter()
            CutoutFactory().cube_cut(cube, target, stamp, output_path=out)
            times.append(time.perf_counter() - started)
        results[stamp] = statistics.median(times[1:])
    return results


def _cold(command, repeat, cwd, env=None):
    # A neutral working directory: ``python -c`` puts it first on sys.path, and in a source
    # checkout this project's ``astrocut`` package would shadow the reference's.
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, cwd=cwd,
                              env={**os.environ, **(env or {})})
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise RuntimeError(f"{command[0]} failed:\n{done.stderr[-2000:]}")
    return statistics.median(times)


def _our_command():
    """The ``astrocut`` console script of this interpreter (not a pyenv shim)."""
    script = os.path.join(os.path.dirname(sys.executable), "astrocut")
    if not os.path.exists(script):
        script = shutil.which("astrocut")
    return [script] if script else [sys.executable, "-m", "astrocut"]


def main():
    parser = new_parser(__doc__)
    parser.add_argument("--n-ffi", type=int, default=40)
    parser.add_argument("--size", default="2136x2078", help="FFI COLUMNSxROWS")
    parser.add_argument("--cube", help="use this cube instead of the simulated one")
    parser.add_argument("--repeat", type=int, default=15, help="in-process calls per stamp")
    parser.add_argument("--cold-repeat", type=int, default=5, help="cold runs per stamp")
    args = parser.parse_args()

    os.makedirs(args.workdir, exist_ok=True)
    size = tuple(int(v) for v in args.size.lower().split("x"))
    cube = args.cube or _cube(args.workdir, args.n_ffi, size)
    target = _target(cube)
    out = os.path.join(args.workdir, "cutout-out")
    ours_out, reference_out = os.path.join(out, "ours"), os.path.join(out, "reference")
    for path in (ours_out, reference_out):
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path)

    ours = _ours_in_process(cube, target, STAMPS, args.repeat, ours_out)
    ra, dec = target.split()
    ours_cold = {stamp: _cold(_our_command() + ["cut", cube, ra, dec, "--size", str(stamp),
                                                "-o", ours_out], args.cold_repeat, out)
                 for stamp in STAMPS}

    reference = reference_cold = None
    if args.reference_python:
        measured = run_reference(args.reference_python, REFERENCE_IN_PROCESS,
                                 {"cube": cube, "target": target, "stamps": list(STAMPS),
                                  "repeat": args.repeat, "out": reference_out})
        reference = {int(k): v for k, v in measured["result"].items()}
        reference_cold = {
            stamp: _cold([args.reference_python, "-c", REFERENCE_ONE_LINER.format(
                cube=cube, target=target, stamp=stamp, out=reference_out)],
                args.cold_repeat, out, env={"PYTHONPATH": ""})
            for stamp in STAMPS}

    from astrocut_tess.cutout import TessCube

    with TessCube.open(cube) as opened:
        n_ffi = opened.info.n_ffi
        n_rows, n_cols = opened.info.image_shape
    print(f"\nOne target, {os.path.basename(cube)} ({n_ffi} FFIs of {n_cols}x{n_rows}); "
          f"in-process: median of {args.repeat} calls; cold: median of {args.cold_repeat} "
          f"processes\n")
    rows = []
    for stamp in STAMPS:
        row = [f"{stamp}x{stamp}", f"{ours[stamp] * 1e3:.1f}"]
        if reference:
            row += [f"{reference[stamp] * 1e3:.1f}", f"{ours[stamp] / reference[stamp]:.2f}"]
        else:
            row += ["-", "-"]
        row.append(f"{ours_cold[stamp]:.2f}")
        if reference_cold:
            row += [f"{reference_cold[stamp]:.2f}",
                    f"{ours_cold[stamp] / reference_cold[stamp]:.2f}"]
        else:
            row += ["-", "-"]
        rows.append(row)
    print_table(rows, ["stamp", "ours ms", "reference ms", "ratio", "ours cold s",
                       "reference cold s", "cold ratio"])
    if not args.reference_python:
        print("\n(no --reference-python: reference columns left empty)")


if __name__ == "__main__":
    main()
