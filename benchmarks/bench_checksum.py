"""CHECKSUM/DATASUM of a whole TPF: this writer's numpy sums against astropy's.

For TPFs of 10x10 and 100x100 pixels with 40 and 1282 cadences (a 2018 sector of 30-minute
FFIs), times signing the three HDUs (:func:`astrocut_tess.checksum.sign`, median of 50) and
astropy's ``add_checksum`` on the same HDUs.

    python benchmarks/bench_checksum.py
"""

import os
import statistics
import sys
import time

import numpy as np
from astropy.io import fits

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import print_table  # noqa: E402

from astrocut_tess import checksum  # noqa: E402


def _hdus(n, side):
    rows = np.zeros(n, dtype=[("TIME", ">f8"), ("TIMECORR", ">f4"), ("CADENCENO", ">i4"),
                              ("RAW_CNTS", ">i4", (side, side)), ("FLUX", ">f4", (side, side)),
                              ("FLUX_ERR", ">f4", (side, side)), ("FLUX_BKG", ">f4", (side, side)),
                              ("FLUX_BKG_ERR", ">f4", (side, side)), ("QUALITY", ">i4"),
                              ("POS_CORR1", ">f4"), ("POS_CORR2", ">f4"), ("FFI_FILE", "S44")])
    rng = np.random.default_rng(0)
    rows["FLUX"] = rng.normal(100, 5, rows["FLUX"].shape)
    table = fits.BinTableHDU(rows)
    image = fits.ImageHDU(np.ones((side, side), dtype=">i4"))
    return [fits.PrimaryHDU(), table, image]


def _ours(hdus):
    pieces = []
    for hdu in hdus:
        cards = [card.image for card in hdu.header.cards] + checksum.checksum_cards()
        text = "".join(cards) + "END".ljust(80)
        header = text.ljust(-(-len(text) // 2880) * 2880).encode("ascii")
        data = b"" if hdu.data is None else hdu.data.tobytes() if hdu.data.dtype.names is None \
            else np.ascontiguousarray(hdu.data).view(np.uint8)
        pieces.append((header, data))
    return pieces


def _median(function, repeat=50):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main():
    rows = []
    for n, side in ((40, 10), (1282, 10), (40, 100), (1282, 100)):
        hdus = _hdus(n, side)
        pieces = _ours(hdus)
        ours = _median(lambda: [checksum.sign(h, d) for h, d in pieces])
        theirs = _median(lambda: [hdu.add_checksum() for hdu in hdus], repeat=10)
        size = sum(len(h) + len(d) for h, d in pieces) / 1e6
        rows.append([f"{side}x{side}", n, f"{size:.2f}", ours * 1000, theirs * 1000,
                     theirs / ours])
    print_table(rows, ["stamp", "cadences", "MB", "ours ms", "astropy add_checksum ms",
                       "x faster"])


if __name__ == "__main__":
    main()
