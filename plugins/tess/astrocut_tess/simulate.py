"""Simulated SPOC FFIs: the public names of :mod:`astrocut_tess.sample`, where they live."""

from . import sample as _sample
from .sample import *  # noqa: F401,F403 - this module is that package's public face

__all__ = list(_sample.__all__)
