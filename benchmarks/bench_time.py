"""TIME error against position on the CCD: the FFI's BARYCORR vs the per-target correction.

Truth: astropy's ``Time.light_travel_time`` toward the target from a TESS-like observer
(1.25 light-seconds from the geocentre, three directions); the FFI's BARYCORR is the same
computation toward the FFI's reference pixel (BTC_PIX1/2), as SPOC does. Also times the
correction of 10,000 cadences.

    python benchmarks/bench_time.py
"""

import time
import warnings

import astropy.units as u
import numpy as np
from astropy.coordinates import EarthLocation, SkyCoord
from astropy.time import Time
from astropy.utils import iers
from astropy.wcs import WCS

from astrocut_tess import barycentric
from astrocut_tess.simulate import FULL_SIZE, make_wcs_header

iers.conf.auto_download = False
C = 299792458.0
OFFSETS = [(1.25, 0.0, 0.0), (0.0, -0.9, 0.85), (0.5, 0.7, -0.8)]


def ltt(btjd, ra, dec, location):
    times = Time(2457000.0, btjd, format="jd", scale="tdb")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return times.light_travel_time(SkyCoord(ra * u.deg, dec * u.deg), "barycentric",
                                       location=location, ephemeris="builtin").to_value(u.s)


def main():
    ref = (1068.0, 1024.0)
    places = {"reference pixel": (ref[0] - 1, ref[1] - 1), "edge middle (x=45)": (45, 1023),
              "corner (45, 1)": (45, 1), "corner (2090, 2046)": (2090, 2046)}
    print("| sector/camera/ccd | position | distance deg | FFI BARYCORR max error s | "
          "ours max error s |")
    print("|---|---|---|---|---|")
    for sector, camera, ccd in [(1, 1, 1), (14, 2, 3), (27, 4, 2), (60, 3, 4)]:
        wcs = WCS(make_wcs_header(FULL_SIZE, sector=sector, camera=camera, ccd=ccd))
        ref_sky = wcs.all_pix2world([[ref[0] - 1, ref[1] - 1]], 0)[0]
        sc = 1325.3 + 27.4 * (sector - 1) + np.linspace(0.0, 27.0, 40)
        for name, (x, y) in places.items():
            ra, dec = wcs.all_pix2world([[x, y]], 0)[0]
            target = SkyCoord(ra * u.deg, dec * u.deg)
            ffi_err = ours_err = 0.0
            for offset in OFFSETS:
                tess = EarthLocation.from_geocentric(*(np.array(offset) * C), unit=u.m)
                barycorr = ltt(sc, *ref_sky, tess) / 86400.0
                truth = ltt(sc, ra, dec, tess)
                result = barycentric.correct_times(sc + barycorr, barycorr, target, wcs,
                                                   {"BTC_PIX1": ref[0], "BTC_PIX2": ref[1]},
                                                   (FULL_SIZE[1], FULL_SIZE[0]))
                ffi_err = max(ffi_err, np.max(np.abs(barycorr * 86400 - truth)))
                ours_err = max(ours_err, np.max(np.abs(result.timecorr * 86400 - truth)))
            dist = target.separation(SkyCoord(*ref_sky, unit="deg")).deg
            print(f"| {sector}/{camera}/{ccd} | {name} | {dist:.1f} | {ffi_err:.2f} | "
                  f"{ours_err:.3f} |")

    wcs = WCS(make_wcs_header(FULL_SIZE, sector=1, camera=1, ccd=1))
    times = 1330.0 + np.arange(10000) * (200.0 / 86400.0)
    target = SkyCoord(*wcs.all_pix2world([[45, 1]], 0)[0], unit="deg")
    barycentric.correct_times(times, np.zeros(10000), target, wcs, {}, (2078, 2136))
    best = min(_timed(lambda: barycentric.correct_times(times, np.zeros(10000), target, wcs,
                                                        {}, (2078, 2136))) for _ in range(5))
    print(f"\n10,000 cadences corrected in {best * 1000:.1f} ms (best of 5)")


def _timed(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
