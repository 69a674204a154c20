"""The stamp's linear WCS: this project's minimax fit against the reference tool's fit.

For square stamps of 1-200 pixels, at the centre and near the corners of a CCD, fits a linear
TAN WCS to a distorted TAN-SIP WCS with both tools and measures, at every stamp pixel, the
separation between the linear and the full WCS:

- the largest separation (what ``WCS_MSEP`` should say) in arcsec, ours and the reference's;
- the separation at the target, in pixels (the target sits in the stamp's central pixel, at a
  few sub-pixel offsets);
- the time our fit takes for a stamp (median).

WCS sources: the real FFI WCS header the reference ships in its tests (``ex_ffi_wcs.txt``,
SIP order 2; read as data) and the simulator's SIP order-3 WCS (sector 1, camera 1). The
reference's linear WCS is computed by the reference tool itself (its cutout's own fitting
method, given the stamp's full WCS), in its venv.

    python benchmarks/bench_wcs.py --reference-python /opt/refvenv/bin/python
"""

import json
import os
import statistics
import sys
import time

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import new_parser, print_table, run_reference  # noqa: E402

from astrocut.wcs_fit import angular_separation_deg, fit_linear_wcs, stamp_grid  # noqa: E402

SIZES = (1, 2, 3, 5, 10, 25, 50, 100, 150, 200)
REFERENCE_HEADER = ("/opt/refvenv/lib/python3.11/site-packages/astrocut/tests/data/"
                    "ex_ffi_wcs.txt")
# Sub-pixel offsets of the target from the stamp's centre pixel.
TARGET_OFFSETS = ((0.0, 0.0), (0.3, -0.2), (-0.45, 0.4))

REFERENCE_FIT = """
import warnings
warnings.simplefilter("ignore")
from astropy.io import fits
from astropy.wcs import WCS
from astrocut.tess_cube_cutout import TessCubeCutout
out = []
for name, (x0, y0), (nx, ny) in PAYLOAD["cases"]:
    header = fits.Header.fromstring(PAYLOAD["headers"][name])
    # Shifted in the header, as the reference does (a WCS's Sip keeps its own CRPIX).
    header["CRPIX1"] -= x0
    header["CRPIX2"] -= y0
    full = WCS(header, relax=True)
    instance = object.__new__(TessCubeCutout.CubeCutoutInstance)
    instance.wcs = full
    instance.wcs_fit = {"WCS_MSEP": [None, ""], "WCS_SIG": [None, ""]}
    instance._fit_cutout_wcs((ny, nx))
    out.append(instance.wcs.to_header_string(relax=True))
print(json.dumps(out))
"""


def _sources():
    sources = {}
    if os.path.exists(REFERENCE_HEADER):
        with open(REFERENCE_HEADER) as handle:
            sources["reference's FFI WCS (SIP 2)"] = fits.Header.fromstring(handle.read())
    from astrocut_tess.simulate import FULL_SIZE, make_wcs_header

    sources["simulator s1 cam1 (SIP 3)"] = make_wcs_header(FULL_SIZE, sector=1, camera=1, ccd=1)
    return sources


def _corners(size):
    """Stamp corners: the CCD centre and two science-area corners."""
    return {"centre": (1068 - size // 2, 1024 - size // 2),
            "corner (45, 1)": (45, 1),
            "corner (2091, 2047)": (2092 - size, 2048 - size)}


def _errors(full, linear, corner, size):
    xs, ys = stamp_grid(corner, (size, size))
    ra, dec = full.all_pix2world(xs, ys, 0)
    fra, fdec = linear.all_pix2world(xs - corner[0], ys - corner[1], 0)
    max_arcsec = float(np.max(angular_separation_deg(ra, dec, fra, fdec))) * 3600
    scale = np.sqrt(abs(np.linalg.det(full.pixel_scale_matrix))) * 3600
    at_target = 0.0
    for dx, dy in TARGET_OFFSETS:
        tx, ty = (size - 1) / 2 + dx, (size - 1) / 2 + dy
        tra, tdec = full.all_pix2world([[corner[0] + tx, corner[1] + ty]], 0)[0]
        lra, ldec = linear.all_pix2world([[tx, ty]], 0)[0]
        at_target = max(at_target, float(angular_separation_deg(tra, tdec, lra, ldec)) * 3600
                        / scale)
    return max_arcsec, at_target


def main():
    args = new_parser(__doc__.splitlines()[0]).parse_args()
    sources = _sources()
    cases, keys = [], []
    for name, header in sources.items():
        for size in SIZES:
            for place, corner in _corners(size).items():
                cases.append((name, corner, (size, size)))
                keys.append((name, size, place, corner))

    reference = None
    if args.reference_python:
        reference = run_reference(args.reference_python, REFERENCE_FIT,
                                  {"cases": cases, "headers": {name: header.tostring() for name, header in sources.items()}})["result"]

    rows = []
    worst_ratio_5up = 0.0
    for index, (name, size, place, corner) in enumerate(keys):
        full = WCS(sources[name], relax=True)
        ours = fit_linear_wcs(full, corner, (size, size))
        assert abs(ours.max_separation * 3600 - _errors(full, ours.wcs, corner, size)[0]) < 1e-6
        ours_max, ours_target = _errors(full, ours.wcs, corner, size)
        ref_max = ref_target = ratio = None
        if reference:
            linear = WCS(fits.Header.fromstring(reference[index]))
            ref_max, ref_target = _errors(full, linear, corner, size)
            ratio = ours_max / ref_max if ref_max > 0 else None
            if size >= 5 and ratio is not None:
                worst_ratio_5up = max(worst_ratio_5up, ratio)
        rows.append([name, size, place, ref_max, ours_max, ratio, ref_target, ours_target])
    print_table(rows, ["WCS", "size", "where", "ref max \"", "ours max \"", "ours/ref",
                       "ref at target px", "ours at target px"])
    if reference:
        print(f"\nworst ours/ref max-error ratio, stamps of 5 px and up: {worst_ratio_5up:.3f}")

    full = WCS(sources[next(iter(sources))], relax=True)
    timing = []
    for size in (10, 100):
        corner = (45, 1)
        fit_linear_wcs(full, corner, (size, size))
        times = []
        for _ in range(30):
            started = time.perf_counter()
            fit_linear_wcs(full, corner, (size, size))
            times.append(time.perf_counter() - started)
        timing.append([f"{size}x{size}", statistics.median(times) * 1000, min(times) * 1000])
    print()
    print_table(timing, ["stamp", "fit ms (median of 30)", "fit ms (best)"])
    print(json.dumps({"worst_ratio_5up": worst_ratio_5up}))


if __name__ == "__main__":
    main()
