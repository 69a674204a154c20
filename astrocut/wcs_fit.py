"""The default WCS fitter: a linear TAN WCS matched to an image's full WCS over a stamp.

Registered as a plugin (``trylast``) so a mission with a better model can answer first.

Why not :func:`astropy.wcs.utils.fit_wcs_from_points`: it runs a non-linear least-squares
fit that took 4 ms for a 10x10 stamp and 146 ms for 100x100 here, which the bulk path cannot
afford. With the tangent point fixed at the sky position of the stamp centre, a TAN WCS is
linear in the CD matrix once the sky positions are projected onto the tangent plane, so the
projection is done by astropy and the CD matrix is an ordinary linear least-squares solution.
``tests/core/test_wcs_fit.py`` checks the two agree.
"""

import numpy as np

from .geometry import celestial_wcs
from .hookspecs import hookimpl
from .models import FittedWCS


def _linear_tan(crval, crpix, cd):
    from astropy.wcs import WCS

    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.cunit = ["deg", "deg"]
    wcs.wcs.radesys = "ICRS"
    wcs.wcs.crval = crval
    wcs.wcs.crpix = crpix
    wcs.wcs.cd = cd
    wcs.wcs.set()
    return wcs


def stamp_grid(corner, shape):
    """0-based image pixel coordinates ``(x, y)`` of every stamp pixel, as flat arrays."""
    (x0, y0), (ny, nx) = corner, shape
    ys, xs = np.mgrid[0:ny, 0:nx]
    return (xs.ravel() + x0).astype(float), (ys.ravel() + y0).astype(float)


def angular_separation_deg(lon1, lat1, lon2, lat2):
    """Angular separation in degrees between arrays of positions given in degrees."""
    from astropy.coordinates import angular_separation

    return np.degrees(angular_separation(np.radians(lon1), np.radians(lat1),
                                         np.radians(lon2), np.radians(lat2)))


def fit_linear_wcs(wcs, corner, shape):
    """Fit a linear TAN WCS (stamp pixel coordinates) to ``wcs`` over a stamp.

    Returns a :class:`FittedWCS`; its separations are measured at every stamp pixel.
    """
    celestial = celestial_wcs(wcs)
    (ny, nx) = shape
    xs, ys = stamp_grid(corner, shape)
    ra, dec = celestial.all_pix2world(xs, ys, 0)

    # Tangent point at the stamp centre, which is where the fit should be best.
    center_x, center_y = corner[0] + (nx - 1) / 2, corner[1] + (ny - 1) / 2
    crval = np.array(celestial.all_pix2world([[center_x, center_y]], 0)[0])
    crpix = np.array([(nx - 1) / 2 + 1, (ny - 1) / 2 + 1])

    # With CD = identity and CRPIX = 0, 1-based "pixels" are the tangent-plane coordinates.
    plane = _linear_tan(crval, [0.0, 0.0], np.eye(2))
    xi, eta = plane.wcs_world2pix(ra, dec, 1)
    offsets = np.column_stack([xs - corner[0] + 1 - crpix[0], ys - corner[1] + 1 - crpix[1]])
    if len(offsets) >= 3 and nx > 1 and ny > 1:
        solution, *_ = np.linalg.lstsq(offsets, np.column_stack([xi, eta]), rcond=None)
        cd = solution.T
    else:
        # A single row or column cannot constrain both axes: use the local Jacobian instead.
        cd = _local_cd(celestial, center_x, center_y, plane)
    fitted = _linear_tan(crval, crpix, cd)

    fit_ra, fit_dec = fitted.wcs_pix2world(xs - corner[0], ys - corner[1], 0)
    separation = angular_separation_deg(ra, dec, fit_ra, fit_dec)
    return FittedWCS(wcs=fitted, max_separation=float(np.max(separation)),
                     sigma=float(np.sqrt(np.sum(separation ** 2))))


def _local_cd(celestial, x, y, plane):
    points = np.array([[x, y], [x + 1, y], [x, y + 1]])
    ra, dec = celestial.all_pix2world(points[:, 0], points[:, 1], 0)
    xi, eta = plane.wcs_world2pix(ra, dec, 1)
    return np.array([[xi[1] - xi[0], xi[2] - xi[0]], [eta[1] - eta[0], eta[2] - eta[0]]])


@hookimpl(trylast=True)
def astrocut_fit_wcs(wcs, corner, shape):
    """Default fitter: see :func:`fit_linear_wcs`."""
    if wcs is None or not wcs.has_celestial:
        return None
    return fit_linear_wcs(wcs, corner, shape)
