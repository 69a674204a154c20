"""A moving source for the simulated sky: straight-line motion in pixels, constant flux.

Its ``path`` is what an ephemeris would give (an astropy Table of ``time`` and
``position``), so the moving-target cutter can be tested against the truth: at frame ``i``
the source sits at pixel ``pixel_at(times[i])`` of the simulated image.
"""

import attrs
import numpy as np


@attrs.frozen
class SimulatedMover:
    """A source moving across the image.

    Attributes
    ----------
    x0, y0 : float
        0-based pixel at BTJD ``t0``.
    vx, vy : float
        Pixels per hour.
    flux : float
        e-/s.
    t0 : float
        BTJD of (x0, y0).
    path : astropy.table.Table or None
        ``time`` (spacecraft time, TDB) and ``position`` (ICRS SkyCoord) at every frame's
        mid-time, and one hour before the first and after the last.
    """

    x0: float
    y0: float
    vx: float
    vy: float
    flux: float
    t0: float = 0.0
    path: object = attrs.field(default=None, eq=False, repr=False)

    def pixel_at(self, btjd):
        """0-based ``(x, y)`` at BTJD ``btjd`` (scalar or array)."""
        hours = (np.asarray(btjd, dtype=float) - self.t0) * 24.0
        return self.x0 + self.vx * hours, self.y0 + self.vy * hours


def make_mover(spec, mid, barycorr, wcs):
    """A :class:`SimulatedMover` from ``spec`` = ``(x0, y0, vx, vy, flux)`` (pixels at the
    first frame's mid-time, pixels per hour, e-/s), with its path through ``wcs``.

    The path's times are spacecraft times (mid-time minus the frame's barycentric
    correction), the times an ephemeris is computed at.
    """
    from astropy.coordinates import SkyCoord
    from astropy.table import Table
    from astropy.time import Time

    x0, y0, vx, vy, flux = (float(v) for v in spec)
    mover = SimulatedMover(x0=x0, y0=y0, vx=vx, vy=vy, flux=flux, t0=float(mid[0]))
    hour = 1.0 / 24.0
    times = np.concatenate([[mid[0] - hour], mid, [mid[-1] + hour]])
    corrections = np.concatenate([[barycorr[0]], barycorr, [barycorr[-1]]])
    x, y = mover.pixel_at(times)
    ra, dec = wcs.all_pix2world(x, y, 0)
    path = Table({"time": Time(times - corrections + 2457000.0, format="jd", scale="tdb"),
                  "position": SkyCoord(ra, dec, unit="deg")})
    return attrs.evolve(mover, path=path)
