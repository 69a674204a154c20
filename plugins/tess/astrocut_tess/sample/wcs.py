"""Camera pointing and the TAN-SIP celestial WCS (with its physical alternate) of a simulated CCD."""

from __future__ import annotations

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.wcs import WCS

from ..keywords import is_celestial_wcs, physical_wcs
from .constants import (FULL_SIZE, PIXEL_SCALE_DEG, SIP_CORNER_SHIFT_PIX, SIP_INVERSE_ORDER,
                        SIP_ORDER, _CCD_OFFSET_PIX, _FULL_CRPIX)


def _camera_pointing(sector, camera):
    """Boresight (RA, Dec) and roll (deg) of a camera, from the TESS survey layout.

    Cameras sit along a line of ecliptic longitude at latitudes 18, 42, 66 and 90 deg, the
    longitude advancing about 27.7 deg per sector; the hemisphere swaps every 13 sectors.
    """
    south = ((sector - 1) // 13) % 2 == 0
    sign = -1.0 if south else 1.0
    lon = (315.8 + 27.69 * (sector - 1)) % 360.0
    lat = sign * (18.0 + 24.0 * (camera - 1))
    # The ecliptic-ward neighbour fixes the roll even for camera 4, which sits on the pole.
    toward_ecliptic = lat - sign * 24.0
    points = SkyCoord([lon, lon] * u.deg, [lat, toward_ecliptic] * u.deg,
                      frame="barycentricmeanecliptic").icrs
    boresight, neighbour = points[0], points[1]
    # Camera +Y points away from the ecliptic.
    roll = (boresight.position_angle(neighbour).deg + 180.0) % 360.0
    if roll > 180.0:
        roll -= 360.0
    return float(boresight.ra.deg), float(boresight.dec.deg), float(roll)


def _ccd_layout(ccd):
    """Focal-plane position of a CCD centre (unit signs) and its pixel-axis orientation."""
    signs = {1: (1.0, 1.0), 2: (-1.0, 1.0), 3: (-1.0, -1.0), 4: (1.0, -1.0)}[ccd]
    # CCDs 3 and 4 face CCDs 1 and 2, their read-out registers on the outer edge.
    orientation = np.eye(2) if ccd in (1, 2) else -np.eye(2)
    return np.array(signs), orientation


def _rotation_cd(scale, roll_deg):
    """CD matrix with east to the left (parity flip) and +Y at position angle ``roll``."""
    theta = np.deg2rad(roll_deg)
    return scale * np.array([[-np.cos(theta), np.sin(theta)],
                             [np.sin(theta), np.cos(theta)]])


def _poly_terms(order, min_degree):
    return [(p, degree - p) for degree in range(min_degree, order + 1)
            for p in range(degree, -1, -1)]


def _poly_eval(coeffs, u_, v_):
    total = np.zeros(np.broadcast(u_, v_).shape)
    for (p, q), c in coeffs.items():
        total = total + c * u_ ** p * v_ ** q
    return total


def _forward_sip(axis_to_boresight, corners):
    """A/B coefficients of a third-order radial distortion about the optical axis.

    The shift ``k * w * |w|**2`` with ``w`` measured from the boresight, expanded about
    CRPIX; the constant and linear parts belong to CRVAL and CD, so only the quadratic and
    cubic terms remain, scaled so the largest shift at a full-CCD corner is
    ``SIP_CORNER_SHIFT_PIX``.
    """
    ox, oy = axis_to_boresight
    a = {(3, 0): 1.0, (1, 2): 1.0, (2, 0): 3 * ox, (1, 1): 2 * oy, (0, 2): ox}
    b = {(0, 3): 1.0, (2, 1): 1.0, (0, 2): 3 * oy, (1, 1): 2 * ox, (2, 0): oy}
    cu, cv = corners
    shift = np.hypot(_poly_eval(a, cu, cv), _poly_eval(b, cu, cv)).max()
    k = SIP_CORNER_SHIFT_PIX / shift
    return ({key: k * c for key, c in a.items()}, {key: k * c for key, c in b.items()})


def _fit_inverse_sip(a, b, u_grid, v_grid, order):
    """Least-squares AP/BP so that ``U + AP(U, V)`` recovers ``u`` where ``U = u + A(u, v)``."""
    big_u = u_grid + _poly_eval(a, u_grid, v_grid)
    big_v = v_grid + _poly_eval(b, u_grid, v_grid)
    terms = _poly_terms(order, 1)
    # Scaled coordinates keep the normal equations well conditioned on a full CCD.
    scale = max(np.abs(big_u).max(), np.abs(big_v).max(), 1.0)
    su, sv = big_u.ravel() / scale, big_v.ravel() / scale
    design = np.stack([su ** p * sv ** q for p, q in terms], axis=1)
    ap, *_ = np.linalg.lstsq(design, (u_grid - big_u).ravel(), rcond=None)
    bp, *_ = np.linalg.lstsq(design, (v_grid - big_v).ravel(), rcond=None)
    return ({t: c / scale ** sum(t) for t, c in zip(terms, ap, strict=True)},
            {t: c / scale ** sum(t) for t, c in zip(terms, bp, strict=True)})


def make_wcs_header(size=FULL_SIZE, *, sector=1, camera=1, ccd=1):
    """The celestial and physical WCS cards of a simulated FFI extension.

    Parameters
    ----------
    size : tuple of int
        ``(n_columns, n_rows)`` of the image.
    sector, camera, ccd : int
        Select the pointing (RA/Dec of the CCD, roll) and the CCD orientation.

    Returns
    -------
    astropy.io.fits.Header
        RADESYS, EQUINOX, WCSAXES, CTYPE, CRVAL, CRPIX, CUNIT, CD, the A/B/AP/BP SIP terms,
        A_DMAX/B_DMAX and the PHYSICAL (RAWX/RAWY) alternate WCS, in SPOC order.
    """
    n_cols, n_rows = size
    ra_nom, dec_nom, roll = _camera_pointing(sector, camera)
    signs, orientation = _ccd_layout(ccd)
    cd_camera = _rotation_cd(PIXEL_SCALE_DEG, roll)

    camera_wcs = WCS(naxis=2)
    camera_wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    camera_wcs.wcs.crval = [ra_nom, dec_nom]
    camera_wcs.wcs.crpix = [0.0, 0.0]
    camera_wcs.wcs.cd = cd_camera
    centre = signs * _CCD_OFFSET_PIX
    crval = camera_wcs.wcs_pix2world(centre[None, :], 1)[0]
    cd = cd_camera @ orientation

    crpix1 = round(2.0 * _FULL_CRPIX[0] * n_cols / FULL_SIZE[0]) / 2.0
    crpix2 = round(2.0 * _FULL_CRPIX[1] * n_rows / FULL_SIZE[1]) / 2.0
    # Boresight seen from CRPIX, in this CCD's pixel axes; the physical distortion is that
    # of a full CCD, so a small image only sees its gentle middle.
    to_boresight = orientation.T @ (-centre)
    full_u = np.array([1.0, FULL_SIZE[0]]) - _FULL_CRPIX[0]
    full_v = np.array([1.0, FULL_SIZE[1]]) - _FULL_CRPIX[1]
    corners = np.meshgrid(full_u, full_v)
    a, b = _forward_sip(to_boresight, corners)

    # Fit the inverse over the image and a small margin around it.
    grid_u = np.linspace(-1.0, n_cols + 2.0, 48) - crpix1
    grid_v = np.linspace(-1.0, n_rows + 2.0, 48) - crpix2
    gu, gv = np.meshgrid(grid_u, grid_v)
    ap, bp = _fit_inverse_sip(a, b, gu, gv, SIP_INVERSE_ORDER)
    a_dmax = float(np.abs(_poly_eval(a, gu, gv)).max())
    b_dmax = float(np.abs(_poly_eval(b, gu, gv)).max())

    cards = [
        ("RADESYS", "ICRS", "reference frame of celestial coordinates"),
        ("EQUINOX", 2000.0, "equinox of celestial coordinate system"),
        ("WCSAXES", 2, "number of World Coordinate System axes"),
        ("CTYPE1", "RA---TAN-SIP", "Gnomonic projection + SIP distortions"),
        ("CTYPE2", "DEC--TAN-SIP", "Gnomonic projection + SIP distortions"),
        ("CRVAL1", float(crval[0]), "RA at CRPIX1, CRPIX2"),
        ("CRVAL2", float(crval[1]), "DEC at CRPIX1, CRPIX2"),
        ("CRPIX1", crpix1, "X reference pixel"),
        ("CRPIX2", crpix2, "Y reference pixel"),
        ("CUNIT1", "deg", "X pixel unit"),
        ("CUNIT2", "deg", "Y pixel unit"),
        ("CD1_1", float(cd[0, 0]), "transformation matrix"),
        ("CD1_2", float(cd[0, 1]), "transformation matrix"),
        ("CD2_1", float(cd[1, 0]), "transformation matrix"),
        ("CD2_2", float(cd[1, 1]), "transformation matrix"),
        ("A_ORDER", SIP_ORDER, "Polynomial order, axis 1"),
        ("B_ORDER", SIP_ORDER, "Polynomial order, axis 2"),
    ]
    cards += [(f"A_{p}_{q}", float(c), "distortion coefficient") for (p, q), c in a.items()]
    cards += [(f"B_{p}_{q}", float(c), "distortion coefficient") for (p, q), c in b.items()]
    cards += [("AP_ORDER", SIP_INVERSE_ORDER, "Inv polynomial order, axis 1"),
              ("BP_ORDER", SIP_INVERSE_ORDER, "Inv polynomial order, axis 2")]
    cards += [(f"AP_{p}_{q}", float(c), "inv distortion coefficient") for (p, q), c in ap.items()]
    cards += [(f"BP_{p}_{q}", float(c), "inv distortion coefficient") for (p, q), c in bp.items()]
    cards += [
        ("A_DMAX", a_dmax, "maximum distortion, axis 1"),
        ("B_DMAX", b_dmax, "maximum distortion, axis 2"),
    ]
    cards += physical_wcs(1, 1)
    return fits.Header(cards)


def _drop_celestial_wcs(header):
    for key in [key for key in header if is_celestial_wcs(key)]:
        del header[key]
