"""Simulated SPOC FFIs: the public names of :mod:`astrocut_tess.sample`, where they live."""

from .sample import (FULL_SIZE, SimulatedSector, SimulatedStar, make_wcs_header, parse_size,
                     simulate_ffis)

__all__ = [
    "FULL_SIZE",
    "SimulatedSector",
    "SimulatedStar",
    "make_wcs_header",
    "parse_size",
    "simulate_ffis",
]
