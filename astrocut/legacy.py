"""1.x names without a better home: ``log`` and ``get_center_pixel``."""

import logging

import numpy as np

#: The ``astrocut`` logger (1.x ``astrocut.log``); verbose=True sends INFO records to it.
log = logging.getLogger("astrocut")


def get_center_pixel(gwcsobj, ra, dec):
    """The ``(x, y)`` pixel of ``ra``, ``dec`` (degrees) through a WCS, as floats.

    ``gwcsobj`` is a :class:`gwcs.wcs.WCS` (inverted without its bounding box, so positions
    past the edge still map) or an :class:`astropy.wcs.WCS`.
    """
    if hasattr(gwcsobj, "invert"):
        x, y = gwcsobj.invert(np.atleast_1d(ra), np.atleast_1d(dec), with_bounding_box=False)
    else:
        x, y = gwcsobj.celestial.world_to_pixel_values(np.atleast_1d(ra), np.atleast_1d(dec))
    x, y = (np.asarray(getattr(v, "value", v), dtype=float).ravel()[0] for v in (x, y))
    return float(x), float(y)
