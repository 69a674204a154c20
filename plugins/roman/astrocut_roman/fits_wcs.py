"""FITS WCSs for GWCS images: a local one to place stamps, a fitted one for FITS output.

A FITS file cannot hold a GWCS, so a FITS cutout carries a FITS WCS fitted to the cutout's
GWCS over the stamp (gwcs's own ``to_fits_sip``: SIP of the lowest degree that meets the
tolerance, plain TAN when the GWCS is linear there) and says how far the fit is from the
GWCS at every stamp pixel in ``WCS_MSEP``/``WCS_SIG``, as the TESS cutouts do.
"""

import warnings

import numpy as np

from astrocut.wcs_fit import linear_tan

# Tolerance of the SIP fit, in pixels: a tenth of what gwcs allows by default (0.25 px),
# since a stamp is small and its distortion is smooth over it.
MAX_PIX_ERROR = 0.01
MAX_SIP_DEGREE = 6


def world(gwcs, x, y):
    """``(ra, dec)`` in degrees of 0-based pixels ``x``, ``y``, ignoring the bounding box."""
    ra, dec = gwcs(np.asarray(x, float), np.asarray(y, float), with_bounding_box=False)
    return np.asarray(getattr(ra, "value", ra), float), np.asarray(getattr(dec, "value", dec), float)


def target_pixel(gwcs, coord):
    """0-based ``(x, y)`` of ``coord`` through the GWCS (its inverse, or gwcs's numerical one)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x, y = gwcs.invert(np.atleast_1d(coord.ra.deg), np.atleast_1d(coord.dec.deg),
                           with_bounding_box=False)
    x, y = (float(np.asarray(getattr(v, "value", v)).ravel()[0]) for v in (x, y))
    return x, y


def local_wcs(gwcs, x, y):
    """A TAN WCS exact at pixel ``(x, y)``, with the GWCS's local scale and rotation.

    It lets the core's stamp placement and angular sizes work unchanged on a GWCS image: its
    reference pixel is the target's, so the target's pixel is the GWCS's own.
    """
    ra, dec = world(gwcs, [x, x + 1, x], [y, y, y + 1])
    plane = linear_tan([ra[0], dec[0]], [0.0, 0.0], np.eye(2))
    xi, eta = plane.wcs_world2pix(ra, dec, 1)
    cd = np.array([[xi[1] - xi[0], xi[2] - xi[0]], [eta[1] - eta[0], eta[2] - eta[0]]])
    return linear_tan([ra[0], dec[0]], [x + 1, y + 1], cd)


def fitted_fits_wcs(cutout_gwcs, shape):
    """Fit a FITS WCS to ``cutout_gwcs`` over a stamp of ``shape`` ``(ny, nx)``.

    Returns ``(wcs, max_separation_deg, rss_separation_deg)``; the separations compare the
    fit with the GWCS at every stamp pixel.
    """
    ny, nx = shape
    wcs = None
    if nx >= 3 and ny >= 3:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                header = cutout_gwcs.to_fits_sip(
                    bounding_box=((-0.5, nx - 0.5), (-0.5, ny - 0.5)),
                    max_pix_error=MAX_PIX_ERROR, degree=range(1, MAX_SIP_DEGREE + 1),
                    max_inv_pix_error=MAX_PIX_ERROR, crpix=((nx + 1) / 2, (ny + 1) / 2))
                from astropy.wcs import WCS

                wcs = WCS(header)
            except Exception:  # a fit gwcs cannot make falls back to the local TAN below
                wcs = None
    if wcs is None:
        wcs = local_wcs(cutout_gwcs, (nx - 1) / 2, (ny - 1) / 2)
    return (wcs,) + separations(wcs, cutout_gwcs, shape)


def separations(wcs, cutout_gwcs, shape):
    """Largest and root-sum-square separation (deg) of ``wcs`` from the GWCS over the stamp."""
    from astropy.coordinates import angular_separation

    ny, nx = shape
    ys, xs = np.mgrid[0:ny, 0:nx]
    xs, ys = xs.ravel().astype(float), ys.ravel().astype(float)
    ra, dec = world(cutout_gwcs, xs, ys)
    fit_ra, fit_dec = wcs.all_pix2world(xs, ys, 0)
    separation = np.degrees(angular_separation(np.radians(ra), np.radians(dec),
                                               np.radians(fit_ra), np.radians(fit_dec)))
    return float(np.max(separation)), float(np.sqrt(np.sum(separation ** 2)))
