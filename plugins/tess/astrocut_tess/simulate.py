"""Simulated SPOC calibrated full-frame images (``*_ffic.fits``).

The files mimic what the TESS Science Processing Operations Center delivers: a header-only
primary HDU with the mission keywords, a float32 calibrated image (e-/s) and a float32
uncertainty image, both carrying the timing keywords and a TAN-SIP celestial WCS. The sky
holds stars at fixed positions, one sinusoidal variable and one transiting star, over a
smooth background with photon and read noise. Everything derives from ``seed``, so a seed
always gives byte-identical files.

Examples
--------
>>> sector = simulate_ffis("ffis", n_ffi=12, size=(80, 60), seed=42)  # doctest: +SKIP
>>> sector.variable_star.flux_at(sector.times)  # doctest: +SKIP
"""

from __future__ import annotations

import datetime
import os
import re

import attrs
import numpy as np
from astropy import constants as const
from astropy import units as u
from astropy.coordinates import SkyCoord, get_body_barycentric
from astropy.io import fits
from astropy.time import Time
from astropy.wcs import WCS

__all__ = [
    "FULL_SIZE",
    "SimulatedSector",
    "SimulatedStar",
    "make_wcs_header",
    "parse_size",
    "simulate_ffis",
]

#: (columns, rows) of a whole SPOC FFI, virtual pixels included.
FULL_SIZE = (2136, 2078)
#: Virtual (underclock/overclock) columns on each side and rows at the top of a full FFI.
N_VIRTUAL_COLUMNS = 44
N_VIRTUAL_ROWS = 30

BJDREFI = 2457000
PIXEL_SCALE_DEG = 21.0 / 3600.0
# Reference pixel of real FFIs (1-based), rescaled for smaller images.
_FULL_CRPIX = (1045.0, 1001.0)
# Largest SIP shift at the corners of a full CCD. Kept to a few pixels as the project asked;
# real SPOC headers reach A_DMAX ~ 45 px, so raise this for a harsher distortion test.
SIP_CORNER_SHIFT_PIX = 4.0
SIP_ORDER = 3
SIP_INVERSE_ORDER = 4
# Focal-plane offset (pixels) between a CCD centre and its camera's boresight.
_CCD_OFFSET_PIX = 1060.0

# Frame timing shared by all SPOC FFIs.
INT_TIME = 1.98  # s of photon accumulation per 2 s frame
READTIME = 0.02
FRAMETIM = INT_TIME + READTIME
CR_KEEP_FRACTION = 0.8  # on-board cosmic-ray mitigation keeps 8 of each 10 frames
CRBLKSZ = 10
# BTJD of launch (2018-04-18 22:51 UTC): FFIINDEX counts cadences from about then.
_LAUNCH_BTJD = 1227.45

_GAINS = (5.22, 5.21, 5.21, 5.26)
_READ_NOISE = (9.52, 9.16, 9.56, 9.25)  # e- per read, outputs A-D
_MEAN_BLACK = (6472, 6522, 6559, 6517)

# SPOC DQUALITY bits used for the default flags.
QUALITY_DESAT = 32  # reaction wheel desaturation (momentum dump)
QUALITY_MANUAL_EXCLUDE = 128
QUALITY_STRAY_LIGHT = 2048

PSF_HALF_WIDTH = 5  # star stamps are (2 * 5 + 1) pixels square
_STAR_DENSITY = 2000.0 / (FULL_SIZE[0] * FULL_SIZE[1])
_MIN_STARS = 10
_MIN_SIZE = 32
_VARIABLE_FLUX = 5.0e4
_TRANSIT_FLUX = 2.0e4
_CLEAR_RADIUS = 6.0
# Calibrated virtual pixels hold only a small residual bias and read noise.
_VIRTUAL_LEVEL = np.float32(0.3)  # no other star this close (px) to the variable and transit stars


@attrs.frozen
class SimulatedStar:
    """A star of the simulated sky.

    Parameters
    ----------
    name : str
        ``"star-0007"`` for constant stars, ``"variable"`` or ``"transit"``.
    ra, dec : float
        Fixed ICRS position in degrees.
    flux : float
        Mean flux in e-/s.
    kind : str
        ``"constant"``, ``"variable"`` or ``"transit"``.
    period : float
        Days: the sinusoid period (variable) or the orbital period (transit).
    amplitude : float
        Fractional: the sinusoid semi-amplitude (variable) or the transit depth.
    epoch : float
        BTJD of phase zero (variable) or of mid-transit (transit).
    duration : float
        Transit duration in days.
    """

    name: str
    ra: float
    dec: float
    flux: float
    kind: str
    period: float = 0.0
    amplitude: float = 0.0
    epoch: float = 0.0
    duration: float = 0.0

    def flux_at(self, btjd):
        """Model flux (e-/s) at the given BTJD times.

        Parameters
        ----------
        btjd : array_like
            Times in BJD - 2457000.

        Returns
        -------
        numpy.ndarray
            Flux at each time, same shape as ``btjd``.
        """
        t = np.asarray(btjd, dtype=float)
        if self.kind == "variable":
            phase = 2.0 * np.pi * (t - self.epoch) / self.period
            return self.flux * (1.0 + self.amplitude * np.sin(phase))
        if self.kind == "transit":
            # Distance from the nearest mid-transit, so every orbit in range dips.
            offset = (t - self.epoch + 0.5 * self.period) % self.period - 0.5 * self.period
            in_transit = np.abs(offset) <= 0.5 * self.duration
            return self.flux * np.where(in_transit, 1.0 - self.amplitude, 1.0)
        return np.full(t.shape, float(self.flux))


@attrs.frozen
class SimulatedSector:
    """What :func:`simulate_ffis` wrote.

    Attributes
    ----------
    files : list of str
        FFI paths sorted by time.
    stars : list of SimulatedStar
        Every star placed on the image.
    sector, camera, ccd : int
        Where the FFIs claim to come from.
    shape : tuple of int
        ``(n_columns, n_rows)``, i.e. ``(NAXIS1, NAXIS2)``.
    times : numpy.ndarray
        Mid-exposure BTJD of each FFI.
    """

    files: list[str]
    stars: list[SimulatedStar]
    sector: int
    camera: int
    ccd: int
    shape: tuple[int, int]
    times: np.ndarray = attrs.field(eq=attrs.cmp_using(eq=np.array_equal))

    def _only(self, kind):
        found = [star for star in self.stars if star.kind == kind]
        if len(found) != 1:
            raise LookupError(f"expected one {kind} star, found {len(found)}")
        return found[0]

    @property
    def variable_star(self):
        """The sinusoidal variable (bright, near the image centre)."""
        return self._only("variable")

    @property
    def transit_star(self):
        """The star with box-shaped transits."""
        return self._only("transit")


_SIZE_RE = re.compile(r"^\s*(\d+)\s*[xX]\s*(\d+)\s*$")


def parse_size(text):
    """Parse ``"COLUMNSxROWS"``.

    Parameters
    ----------
    text : str
        For example ``"200x150"``: 200 columns (NAXIS1) by 150 rows (NAXIS2).

    Returns
    -------
    tuple of int
        ``(n_columns, n_rows)``.

    Raises
    ------
    ValueError
        If ``text`` is not two positive integers joined by ``x``.
    """
    match = _SIZE_RE.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"invalid size {text!r}: expected COLUMNSxROWS, e.g. '200x150'")
    columns, rows = int(match.group(1)), int(match.group(2))
    if columns < 1 or rows < 1:
        raise ValueError(f"invalid size {text!r}: columns and rows must be positive")
    return columns, rows


# ----------------------------------------------------------------------------- pointing

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


# --------------------------------------------------------------------------------- SIP

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
        ("WCSNAMEP", "PHYSICAL", "name of world coordinate system alternate P"),
        ("WCSAXESP", 2, "number of WCS physical axes"),
        ("CTYPE1P", "RAWX", "physical WCS axis 1 type CCD col"),
        ("CUNIT1P", "PIXEL", "physical WCS axis 1 unit"),
        ("CRPIX1P", 1, "reference CCD column"),
        ("CRVAL1P", 1, "value at reference CCD column"),
        ("CDELT1P", 1.0, "physical WCS axis 1 step"),
        ("CTYPE2P", "RAWY", "physical WCS axis 2 type CCD row"),
        ("CUNIT2P", "PIXEL", "physical WCS axis 2 units"),
        ("CRPIX2P", 1, "reference CCD row"),
        ("CRVAL2P", 1, "value at reference CCD row"),
        ("CDELT2P", 1.0, "physical WCS axis 2 step"),
    ]
    return fits.Header(cards)


_CELESTIAL_KEY = re.compile(
    r"^(WCSAXES|CTYPE[12]|CRVAL[12]|CRPIX[12]|CUNIT[12]|CD[12]_[12]"
    r"|A_ORDER|B_ORDER|AP_ORDER|BP_ORDER|A_DMAX|B_DMAX|(A|B|AP|BP)_\d+_\d+)$")


def _drop_celestial_wcs(header):
    for key in [key for key in header if _CELESTIAL_KEY.match(key)]:
        del header[key]


# ------------------------------------------------------------------------------- image

def _science_region(n_cols, n_rows):
    """Slices of the science pixels: the whole image unless it is full size."""
    if n_cols >= FULL_SIZE[0] and n_rows >= FULL_SIZE[1]:
        return (slice(0, n_rows - N_VIRTUAL_ROWS),
                slice(N_VIRTUAL_COLUMNS, n_cols - N_VIRTUAL_COLUMNS))
    return slice(0, n_rows), slice(0, n_cols)


def _virtual_regions(n_cols, n_rows):
    """Slices of the virtual pixels (none unless the image is full size)."""
    if n_cols >= FULL_SIZE[0] and n_rows >= FULL_SIZE[1]:
        return [(slice(None), slice(0, N_VIRTUAL_COLUMNS)),
                (slice(None), slice(n_cols - N_VIRTUAL_COLUMNS, n_cols)),
                (slice(n_rows - N_VIRTUAL_ROWS, n_rows), slice(None))]
    return []


def _psf_stamps(x, y, sigma):
    """Normalised Gaussian stamps around 0-based pixel positions.

    Returns the lower-left pixel of each stamp and the weights, shape (n, w, w).
    """
    offsets = np.arange(-PSF_HALF_WIDTH, PSF_HALF_WIDTH + 1)
    x0 = np.rint(x).astype(np.int64) - PSF_HALF_WIDTH
    y0 = np.rint(y).astype(np.int64) - PSF_HALF_WIDTH
    dx = (x0[:, None] + PSF_HALF_WIDTH + offsets[None, :]) - x[:, None]
    dy = (y0[:, None] + PSF_HALF_WIDTH + offsets[None, :]) - y[:, None]
    s2 = 2.0 * sigma[:, None] ** 2
    px = np.exp(-dx ** 2 / s2)
    py = np.exp(-dy ** 2 / s2)
    # Normalising over the whole stamp, even where it hangs off the image, so edge stars
    # lose the light that falls outside.
    px /= px.sum(axis=1, keepdims=True)
    py /= py.sum(axis=1, keepdims=True)
    return x0, y0, py[:, :, None] * px[:, None, :]


def _splat(image, x0, y0, weights, flux):
    """Add ``flux * weights`` stamps to ``image`` (rows, columns), clipping at its edges."""
    n_rows, n_cols = image.shape
    width = weights.shape[1]
    offsets = np.arange(width)
    cols = x0[:, None, None] + offsets[None, None, :]
    rows = y0[:, None, None] + offsets[None, :, None]
    cols, rows = np.broadcast_arrays(cols, rows)
    values = flux[:, None, None] * weights
    inside = (cols >= 0) & (cols < n_cols) & (rows >= 0) & (rows < n_rows)
    # add.at sums stamps that overlap; a reshaped C-contiguous image is a view.
    np.add.at(image.reshape(-1), rows[inside] * n_cols + cols[inside],
              values[inside].astype(image.dtype))


def _psf_sigma(x, y, crpix, to_boresight):
    # The PSF broadens away from the optical axis: 0.8 px on axis to ~1.0 px at 3000 px.
    r = np.hypot(x + 1 - crpix[0] - to_boresight[0], y + 1 - crpix[1] - to_boresight[1])
    return 0.8 + 0.2 * np.clip(r / 3000.0, 0.0, 1.0)


def _special_position(n_cols, n_rows, fx, fy, dx, dy):
    """0-based pixel at fractional offset (fx, fy) from the centre plus a sub-pixel (dx, dy),
    kept at least 10 px from every edge."""
    margin = 10.5
    x = np.clip((n_cols - 1) / 2.0 + fx * n_cols + dx, margin, n_cols - 1 - margin)
    y = np.clip((n_rows - 1) / 2.0 + fy * n_rows + dy, margin, n_rows - 1 - margin)
    return float(x), float(y)


def _make_stars(rng, wcs, n_cols, n_rows, n_stars, times, cadence_days):
    """The variable, the transiting and the constant stars, at fixed sky positions."""
    science_rows, science_cols = _science_region(n_cols, n_rows)
    # Sub-pixel offsets keep the special stars off the pixel grid, as real stars are.
    vx, vy = _special_position(n_cols, n_rows, 0.12, -0.10, 0.31, 0.23)
    tx, ty = _special_position(n_cols, n_rows, -0.25, 0.20, -0.17, 0.38)

    n_constant = n_stars - 2
    # Draw extra candidates; those too close to the special stars are dropped.
    n_draw = n_constant * 2 + 8
    x = rng.uniform(science_cols.start - 1.5, science_cols.stop + 0.5, n_draw)
    y = rng.uniform(science_rows.start - 1.5, science_rows.stop + 0.5, n_draw)
    # TESS magnitudes 9-17 with counts rising towards faint stars (dN/dm ~ 10**(0.3 m));
    # Tmag 10 gives about 15000 e-/s.
    lo, hi = 10 ** (0.3 * 9.0), 10 ** (0.3 * 17.0)
    tmag = np.log10(rng.uniform(lo, hi, n_draw)) / 0.3
    flux = 1.5e4 * 10 ** (-0.4 * (tmag - 10.0))
    clear = ((np.hypot(x - vx, y - vy) > _CLEAR_RADIUS)
             & (np.hypot(x - tx, y - ty) > _CLEAR_RADIUS))
    x, y, flux = x[clear][:n_constant], y[clear][:n_constant], flux[clear][:n_constant]

    span = len(times) * cadence_days
    start = times[0] - 0.5 * cadence_days
    var_period = max(span / 4.0, 8.0 * cadence_days)
    tr_period = 0.7 * span
    tr_epoch = start + 0.4 * span
    tr_duration = min(max(0.02 * tr_period, 3.0 * cadence_days), 0.25 * tr_period)

    all_x = np.concatenate([[vx, tx], x])
    all_y = np.concatenate([[vy, ty], y])
    world = wcs.all_pix2world(np.column_stack([all_x, all_y]), 0)
    stars = [
        SimulatedStar("variable", float(world[0, 0]), float(world[0, 1]), _VARIABLE_FLUX,
                      "variable", period=float(var_period), amplitude=0.10,
                      epoch=float(start)),
        SimulatedStar("transit", float(world[1, 0]), float(world[1, 1]), _TRANSIT_FLUX,
                      "transit", period=float(tr_period), amplitude=0.01,
                      epoch=float(tr_epoch), duration=float(tr_duration)),
    ]
    stars += [SimulatedStar(f"star-{i:04d}", float(ra), float(dec), float(f), "constant")
              for i, (ra, dec, f) in enumerate(
                  zip(world[2:, 0], world[2:, 1], flux, strict=True))]
    return stars


def _background(rng, n_cols, n_rows):
    """A smooth sky of a few tens of e-/s with a gentle gradient and curvature."""
    level = rng.uniform(40.0, 70.0)
    gx, gy = rng.uniform(-15.0, 15.0, 2)
    curve = rng.uniform(5.0, 20.0)
    xs = (np.arange(n_cols, dtype=np.float32) / max(n_cols - 1, 1) - 0.5)[None, :]
    ys = (np.arange(n_rows, dtype=np.float32) / max(n_rows - 1, 1) - 0.5)[:, None]
    # Scattered light brightens towards one corner, as near the edge of a TESS field.
    return (level + gx * xs + gy * ys + curve * (xs + 0.5) ** 2 * (ys + 0.5) ** 2).astype(
        np.float32)


# ------------------------------------------------------------------------------ headers

def _default_flags(n_ffi):
    if n_ffi < 3:
        return {}
    return {n_ffi // 4: QUALITY_DESAT,
            (2 * n_ffi) // 3: QUALITY_MANUAL_EXCLUDE | QUALITY_DESAT,
            n_ffi - 1: QUALITY_STRAY_LIGHT}


def _check_indices(indices, n_ffi, what):
    for index in indices:
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"{what}: frame index {index!r} is not an integer")
        if not 0 <= index < n_ffi:
            raise ValueError(f"{what}: frame index {index} outside 0..{n_ffi - 1}")


def _iso(times):
    """UTC ISO strings with milliseconds and a trailing Z, as SPOC writes them."""
    return [f"{text}Z" for text in np.atleast_1d(times.utc.isot)]


def _primary_cards(frame):
    return [
        ("SIMPLE", True, "conforms to FITS standards"),
        ("BITPIX", 8, "array data type"),
        ("NAXIS", 0, "number of array dimensions"),
        ("EXTEND", True, "file contains extensions"),
        ("NEXTEND", 2, "number of standard extensions"),
        ("EXTNAME", "PRIMARY", "name of extension"),
        ("EXTVER", 1, "extension version number (not format version)"),
        ("SIMDATA", False, "file is based on simulated data"),
        ("ORIGIN", "NASA/Ames", "institution responsible for creating this file"),
        ("DATE", frame["date"], "file creation date."),
        ("TSTART", frame["tstart"], "observation start time in TJD"),
        ("TSTOP", frame["tstop"], "observation stop time in TJD"),
        ("DATE-OBS", frame["date_obs"], "TSTART as UTC calendar date"),
        ("DATE-END", frame["date_end"], "TSTOP as UTC calendar date"),
        ("CREATOR", "astrocut_tess.simulate", "program used to produce this file"),
        ("PROCVER", "spoc-4.0.14-20200108", "SW version"),
        ("FILEVER", "1.0", "file format version"),
        ("TIMVERSN", "OGIP/93-003", "OGIP memo number for file format"),
        ("PACKET", 8, "spacecraft data packet identifier"),
        ("TELESCOP", "TESS", "telescope"),
        ("INSTRUME", "TESS Photometer", "detector type"),
        ("DATA_REL", frame["data_rel"], "data release version number"),
        ("SECTOR", frame["sector"], "Observing sector"),
        ("CAMERA", frame["camera"], "Camera number"),
        ("CCD", frame["ccd"], "CCD chip number"),
        ("PXTABLE", 129, "pixel table id"),
        ("RADESYS", "ICRS", "reference frame of celestial coordinates"),
        ("RA_NOM", frame["ra_nom"], "[deg] RA of camera boresight"),
        ("DEC_NOM", frame["dec_nom"], "[deg] DEC of camera boresight"),
        ("ROLL_NOM", frame["roll_nom"], "[deg] roll angle of camera"),
        ("DQUALITY", frame["dquality"], "data quality flags"),
        ("FFIINDEX", frame["ffiindex"], "number of FFI cadence interval of first cadence"),
        ("CRMITEN", True, "spacecraft cosmic ray mitigation enabled"),
        ("CRBLKSZ", CRBLKSZ, "[exposures] s/c cosmic ray mitigation block siz"),
        ("CRSPOC", False, "SPOC cosmic ray cleaning enabled"),
    ]


def _image_cards(frame, kind):
    camera, ccd = frame["camera"], frame["ccd"]
    cards = [
        ("INHERIT", True, "inherit the primary header"),
        ("EXTNAME", f"CAMERA.CCD {camera}.{ccd} {kind}", "extension name"),
        ("EXTVER", 1, "extension version number (not format version)"),
        ("TELESCOP", "TESS", "telescope"),
        ("INSTRUME", "TESS Photometer", "detector type"),
        ("CAMERA", camera, "Camera number"),
        ("CCD", ccd, "CCD chip number"),
        ("IMAGTYPE", kind, "FFI image type: raw, cal, uncert"),
        ("BUNIT", "electrons/s", "physical units of image data"),
        ("TIMEREF", "SOLARSYSTEM", "barycentric correction applied to times"),
        ("TASSIGN", "SPACECRAFT", "where time is assigned"),
        ("TIMESYS", "TDB", "time system is Barycentric Dynamical Time (TDB)"),
        ("BJDREFI", BJDREFI, "integer part of BTJD reference date"),
        ("BJDREFF", 0.0, "fraction of the day in BTJD reference date"),
        ("TIMEUNIT", "d", "time unit for TIME, TSTART and TSTOP"),
        ("TELAPSE", frame["telapse"], "[d] TSTOP - TSTART"),
        ("LIVETIME", frame["livetime"], "[d] TELAPSE multiplied by DEADC"),
        ("TSTART", frame["tstart"], "observation start time in BTJD"),
        ("TSTOP", frame["tstop"], "observation stop time in BTJD"),
        ("DATE-OBS", frame["date_obs"], "TSTART as UTC calendar date"),
        ("DATE-END", frame["date_end"], "TSTOP as UTC calendar date"),
        # wcslib derives MJD-OBS/MJD-END from DATE-OBS/DATE-END and warns when it must.
        ("MJD-OBS", frame["mjd_obs"], "[d] TSTART as UTC modified Julian date"),
        ("MJD-END", frame["mjd_end"], "[d] TSTOP as UTC modified Julian date"),
        ("BARYCORR", frame["barycorr"], "[d] barycentric time correction"),
        ("DEADC", frame["deadc"], "deadtime correction"),
        ("TIMEPIXR", 0.5, "bin time beginning=0 middle=0.5 end=1"),
        ("TIERRELA", 1.16e-05, "[d] relative time error"),
        ("EXPOSURE", frame["exposure"], "[d] time on source"),
        ("INT_TIME", INT_TIME, "[s] photon accumulation time per frame"),
        ("READTIME", READTIME, "[s] readout time per frame"),
        ("FRAMETIM", FRAMETIM, "[s] frame time (INT_TIME + READTIME)"),
        ("NUM_FRM", frame["num_frm"], "number of frames per time stamp"),
        ("TIMEDEL", frame["timedel"], "[d] time resolution of data"),
        ("BACKAPP", False, "background is subtracted"),
        ("DEADAPP", True, "deadtime applied"),
        ("VIGNAPP", True, "vignetting or collimator correction applied"),
    ]
    for letter, value in zip("ABCD", _GAINS, strict=True):
        cards.append((f"GAIN{letter}", value, f"[electrons/count] CCD output {letter} gain"))
    for letter, value in zip("ABCD", _READ_NOISE, strict=True):
        cards.append((f"READNOI{letter}", value, f"[electrons] read noise CCD output {letter}"))
    cards += [
        ("NREADOUT", frame["nreadout"], "number of read per cadence"),
        ("FXDOFF", 209700, "compression fixed offset"),
    ]
    for letter, value in zip("ABCD", _MEAN_BLACK, strict=True):
        cards.append((f"MEANBLC{letter}", value,
                      f"[count] FSW mean black level CCD output {letter}"))
    cards.append(("DQUALITY", frame["dquality"], "data quality flags"))
    return cards


def _barycentric_correction(btjd, ra, dec):
    """Light-travel time (days) from the Earth to the barycentre towards (ra, dec).

    TESS stays within ~1.3 light-seconds of the Earth, so the Earth's position will do. The
    builtin ephemeris needs neither downloads nor Earth-orientation tables.
    """
    times = Time(np.asarray(btjd) + BJDREFI, format="jd", scale="tdb")
    earth = get_body_barycentric("earth", times).xyz.to_value(u.m)
    direction = SkyCoord(ra * u.deg, dec * u.deg).cartesian.xyz.value
    return np.atleast_1d(direction @ earth / const.c.to_value(u.m / u.day))


def _timestamp(date_end):
    moment = datetime.datetime.strptime(date_end[:19], "%Y-%m-%dT%H:%M:%S")
    return moment.strftime("%Y%j%H%M%S")


def _write_ffi(path, primary_cards, image_cards, wcs_header, valid_wcs, flux, error, when):
    hdus = fits.HDUList([fits.PrimaryHDU(header=fits.Header(primary_cards))])
    for cards, data in ((image_cards[0], flux), (image_cards[1], error)):
        header = fits.Header(cards)
        header.extend(wcs_header)
        if not valid_wcs:
            _drop_celestial_wcs(header)
        hdus.append(fits.ImageHDU(data=data, header=header))
    # writeto would add EXTEND after the checksums were computed, breaking them.
    hdus.update_extend()
    # Checksums stamped with the frame time rather than the wall clock keep files
    # byte-identical for a seed.
    for hdu in hdus:
        hdu.add_checksum(when=when)
    hdus.writeto(path, overwrite=True, output_verify="exception")


# -------------------------------------------------------------------------------- main

def simulate_ffis(output_dir, n_ffi=20, size=FULL_SIZE, *, sector=1, camera=1, ccd=1,
                  seed=0, cadence_minutes=30.0, start_btjd=1325.30, n_stars=None,
                  invalid_wcs_frames=(), flagged_frames=None, verbose=False):
    """Write simulated SPOC calibrated FFIs.

    Parameters
    ----------
    output_dir : str or path-like
        Directory for the files (created if missing; existing files are overwritten).
    n_ffi : int
        Number of FFIs, one per cadence.
    size : tuple of int
        ``(n_columns, n_rows)``; the default is a whole FFI, virtual pixels included.
    sector, camera, ccd : int
        Header values and pointing (camera and CCD 1-4).
    seed : int
        Seed of the random generator: a seed always gives the same files.
    cadence_minutes : float
        FFI cadence (30, 10 and 200/60 minutes in the real mission).
    start_btjd : float
        TSTART of the first FFI (BJD - 2457000).
    n_stars : int, optional
        Stars on the image, the variable and transit stars included; by default about
        2000 on a full CCD, scaled by area, at least 10.
    invalid_wcs_frames : iterable of int
        Frame indices whose image headers carry no celestial WCS.
    flagged_frames : dict of {int: int}, optional
        DQUALITY bits by frame index; by default a few frames carry a desaturation,
        manual-exclude or stray-light flag. ``{}`` flags none.
    verbose : bool
        Print one line per file written.

    Returns
    -------
    SimulatedSector
        File paths (sorted by time), stars, mid-exposure times and shape.

    Raises
    ------
    ValueError
        On a size below 32x32, no FFI, an unknown camera/CCD, a cadence under 2 s, a frame
        index out of range or a negative DQUALITY.
    TypeError
        On a frame index or DQUALITY that is not an integer.
    """
    n_cols, n_rows = (int(v) for v in size)
    if n_cols < _MIN_SIZE or n_rows < _MIN_SIZE:
        raise ValueError(f"size {n_cols}x{n_rows} too small: at least {_MIN_SIZE}x{_MIN_SIZE}")
    if n_ffi < 1:
        raise ValueError(f"n_ffi must be at least 1, got {n_ffi}")
    if camera not in (1, 2, 3, 4) or ccd not in (1, 2, 3, 4):
        raise ValueError(f"camera and ccd must be 1-4, got camera={camera} ccd={ccd}")
    if sector < 1:
        raise ValueError(f"sector must be positive, got {sector}")
    # File names resolve whole seconds: a cadence must last at least one 2 s frame.
    if not cadence_minutes * 60.0 >= FRAMETIM:
        raise ValueError(f"cadence_minutes must be at least {FRAMETIM / 60:.4f} "
                         f"(one {FRAMETIM:g} s frame), got {cadence_minutes}")
    if n_stars is None:
        n_stars = max(_MIN_STARS, round(_STAR_DENSITY * n_cols * n_rows))
    if n_stars < 2:
        raise ValueError(f"n_stars must be at least 2 (variable and transit), got {n_stars}")
    invalid = set(invalid_wcs_frames)
    _check_indices(invalid, n_ffi, "invalid_wcs_frames")
    flags = _default_flags(n_ffi) if flagged_frames is None else dict(flagged_frames)
    _check_indices(flags, n_ffi, "flagged_frames")
    for index, bits in flags.items():
        if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)):
            raise TypeError(f"flagged_frames: DQUALITY of frame {index} must be an integer, "
                            f"got {bits!r}")
        if bits < 0:
            raise ValueError(f"flagged_frames: DQUALITY of frame {index} is negative: {bits}")

    os.makedirs(output_dir, exist_ok=True)
    rng = np.random.default_rng(seed)

    # Timing: spacecraft cadences, SPOC frame bookkeeping.
    cadence_s = cadence_minutes * 60.0
    timedel = cadence_s / 86400.0
    num_frm = max(1, round(cadence_s / FRAMETIM))
    nreadout = round(num_frm * CR_KEEP_FRACTION)
    deadc = (INT_TIME / FRAMETIM) * (nreadout / num_frm)
    exposure_s = nreadout * INT_TIME
    tstart = start_btjd + timedel * np.arange(n_ffi)
    tstop = tstart + timedel
    mid = 0.5 * (tstart + tstop)
    t_start = Time(tstart + BJDREFI, format="jd", scale="tdb")
    t_stop = Time(tstop + BJDREFI, format="jd", scale="tdb")
    date_obs, date_end = _iso(t_start), _iso(t_stop)
    # From the rounded strings, so wcslib finds MJD-OBS consistent with DATE-OBS.
    mjd_obs = Time([d[:-1] for d in date_obs], scale="utc").mjd
    mjd_end = Time([d[:-1] for d in date_end], scale="utc").mjd

    wcs_header = make_wcs_header((n_cols, n_rows), sector=sector, camera=camera, ccd=ccd)
    wcs_header_sized = wcs_header.copy()
    wcs_header_sized["NAXIS"] = 2
    wcs_header_sized["NAXIS1"] = n_cols
    wcs_header_sized["NAXIS2"] = n_rows
    wcs = WCS(wcs_header_sized)
    ra_nom, dec_nom, roll_nom = _camera_pointing(sector, camera)
    barycorr = _barycentric_correction(mid, wcs_header["CRVAL1"], wcs_header["CRVAL2"])

    # The sky: fixed stars, placed through the SIP WCS.
    stars = _make_stars(rng, wcs, n_cols, n_rows, n_stars, mid, timedel)
    ra = np.array([s.ra for s in stars])
    dec = np.array([s.dec for s in stars])
    pix = wcs.all_world2pix(np.column_stack([ra, dec]), 0)
    x, y = pix[:, 0], pix[:, 1]
    crpix = (wcs_header["CRPIX1"], wcs_header["CRPIX2"])
    signs, orientation = _ccd_layout(ccd)
    to_boresight = orientation.T @ (-signs * _CCD_OFFSET_PIX)
    sigma = _psf_sigma(x, y, crpix, to_boresight)
    x0, y0, weights = _psf_stamps(x, y, sigma)

    science = _science_region(n_cols, n_rows)
    static = np.zeros((n_rows, n_cols), dtype=np.float32)
    static[science] = _background(rng, science[1].stop - science[1].start,
                                  science[0].stop - science[0].start)
    constant = np.array([s.kind == "constant" for s in stars])
    _splat(static, x0[constant], y0[constant], weights[constant],
           np.array([s.flux for s in stars])[constant])
    virtual = _virtual_regions(n_cols, n_rows)
    for region in virtual:
        static[region] = _VIRTUAL_LEVEL
    varying = np.flatnonzero(~constant)
    varying_flux = np.array([stars[i].flux_at(mid) for i in varying])  # (n_varying, n_ffi)

    # Per-read noise summed over NREADOUT reads, in e-/s.
    read_var = np.float32(nreadout * np.mean(_READ_NOISE) ** 2 / exposure_s ** 2)
    inv_exposure = np.float32(1.0 / exposure_s)

    files = []
    for i in range(n_ffi):
        model = static.copy()
        _splat(model, x0[varying], y0[varying], weights[varying], varying_flux[:, i])
        for region in virtual:
            model[region] = _VIRTUAL_LEVEL
        variance = np.maximum(model, 0.0) * inv_exposure + read_var
        error = np.sqrt(variance, dtype=np.float32)
        noise = rng.standard_normal((n_rows, n_cols), dtype=np.float32)
        flux = model + error * noise

        frame = {
            "date": date_end[i][:10],
            "tstart": float(tstart[i]), "tstop": float(tstop[i]),
            "date_obs": date_obs[i], "date_end": date_end[i],
            "mjd_obs": float(mjd_obs[i]), "mjd_end": float(mjd_end[i]),
            "data_rel": max(1, sector), "sector": sector, "camera": camera, "ccd": ccd,
            "ra_nom": ra_nom, "dec_nom": dec_nom, "roll_nom": roll_nom,
            "dquality": int(flags.get(i, 0)),
            "ffiindex": round(float(tstart[i] - _LAUNCH_BTJD) / timedel),
            "telapse": float(tstop[i] - tstart[i]),
            "livetime": float((tstop[i] - tstart[i]) * deadc),
            "exposure": float((tstop[i] - tstart[i]) * deadc),
            "barycorr": float(barycorr[i]), "deadc": deadc,
            "num_frm": num_frm, "nreadout": nreadout, "timedel": timedel,
        }
        name = (f"tess{_timestamp(date_end[i])}-s{sector:04d}-{camera}-{ccd}"
                f"-0120-s_ffic.fits")
        path = os.path.join(os.fspath(output_dir), name)
        _write_ffi(path, _primary_cards(frame),
                   (_image_cards(frame, "cal"), _image_cards(frame, "uncert")),
                   wcs_header, i not in invalid, flux, error,
                   when=f"HDU checksum updated {date_end[i][:19]}Z")
        if verbose:
            print(f"wrote {path}")
        files.append(path)

    return SimulatedSector(files=files, stars=stars, sector=sector, camera=camera, ccd=ccd,
                           shape=(n_cols, n_rows), times=mid)
