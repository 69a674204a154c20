"""Simulated SPOC calibrated full-frame images (``*_ffic.fits``): a test-data generator.

The files mimic what the TESS Science Processing Operations Center delivers: a header-only
primary HDU with the mission keywords, a float32 calibrated image (e-/s) and a float32
uncertainty image, both carrying the timing keywords and a TAN-SIP celestial WCS. The sky
holds stars at fixed positions, one sinusoidal variable and one transiting star, over a
smooth background with photon and read noise. Everything derives from ``seed``, so a seed
always gives byte-identical files.

Modules: ``constants`` (sizes, timing, gains), ``stars`` (the sky's stars and the result),
``wcs`` (pointing, TAN-SIP and physical WCS), ``sky`` (the image), ``files`` (header cards,
writing a file) and ``sector`` (:func:`simulate_ffis`). ``astrocut_tess.simulate`` re-exports
the public names.

Examples
--------
>>> sector = simulate_ffis("ffis", n_ffi=12, size=(80, 60), seed=42)  # doctest: +SKIP
>>> sector.variable_star.flux_at(sector.times)  # doctest: +SKIP
"""

from .constants import FULL_SIZE
from .sector import simulate_ffis
from .stars import SimulatedSector, SimulatedStar, parse_size
from .wcs import make_wcs_header

__all__ = [
    "FULL_SIZE",
    "SimulatedSector",
    "SimulatedStar",
    "make_wcs_header",
    "parse_size",
    "simulate_ffis",
]
