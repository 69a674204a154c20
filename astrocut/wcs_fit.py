"""The default WCS fitter: the best linear TAN WCS for an image's full WCS over a stamp.

Registered as a plugin (``trylast``) so a mission with a better model can answer first.

The fit. The tangent point is the sky position of the stamp centre. Every stamp pixel's sky
position through the full WCS is projected onto that tangent plane, where a TAN WCS is
affine: ``plane = CD @ (pixel - CRPIX)``. CD and CRPIX are fitted together (six numbers) to
minimise the largest distance between the two over the stamp (a minimax, or Chebyshev, fit),
because ``WCS_MSEP`` - the largest error - is what a user reading a linear WCS has to live
with. ``benchmarks/bench_wcs.py``: the reference tool's least-squares fit leaves 1.3-1.6x
larger largest errors; the price is a larger error at the stamp centre (0.07 px at 100 px).

How. Lawson's algorithm: iteratively reweighted least squares whose weights grow with each
point's error, which converges to the minimax solution; each step is a 3x3 solve (normal
equations) on the stamp's border and a coarse interior grid (the distortions are smooth
polynomials, so the largest errors lie there). ``WCS_MSEP`` and ``WCS_SIG`` are then
measured at every stamp pixel, as angles on the sphere. The projections are numpy vector
algebra (:func:`sky_vectors`, :func:`to_plane`, :func:`from_plane`), ~3x faster than going
through astropy's ``all_pix2world``/``wcs_world2pix`` for 10,000 pixels; the tests prove them
equal to astropy's.

Why not :func:`astropy.wcs.utils.fit_wcs_from_points`: a non-linear least-squares fit, 4 ms
for 10x10 and 146 ms for 100x100 here, which the bulk path cannot afford; and it minimises
the sum of squares, not the largest error. ``tests/core/test_wcs_fit.py`` compares the two.
"""

import functools
import math

import numpy as np

from .geometry import celestial_wcs
from .hookspecs import hookimpl
from .models import FittedWCS

#: Lawson iterations at most, and the relative gap between the largest error and its lower
#: bound at which they stop (bench_wcs.py: within ~2% of the converged minimax).
LAWSON_STEPS = 40
LAWSON_GAP = 0.03
#: Interior points per axis of the fitting grid (the border is always used in full, thinned
#: to about this many points per side).
_GRID = 12
_GESV = getattr(getattr(np.linalg, "_umath_linalg", None), "solve", None)


def linear_tan(crval, crpix, cd):
    """An ICRS TAN WCS with reference pixel ``crpix`` (1-based), ``crval`` (deg) and ``cd``."""
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


@functools.lru_cache(maxsize=256)
def _fit_indices(nx, ny):
    """Flat indices of the stamp pixels the fit uses: the border and a coarse interior grid
    (remembered per shape: bulk stamps share a few shapes)."""
    def axis(n):
        return np.unique(np.linspace(0, n - 1, min(n, _GRID)).round().astype(int))

    cols, rows = axis(nx), axis(ny)
    grid = (rows[:, None] * nx + cols[None, :]).ravel()
    border = np.concatenate([cols, (ny - 1) * nx + cols, rows * nx, rows * nx + nx - 1])
    # Every border pixel of small stamps; the border corners and ends always.
    if nx * ny <= 4 * _GRID * _GRID:
        every = np.arange(nx * ny)
        on_edge = ((every % nx == 0) | (every % nx == nx - 1) | (every // nx == 0)
                   | (every // nx == ny - 1))
        border = every[on_edge]
    used = np.unique(np.concatenate([grid, border]))
    used.setflags(write=False)
    return used


def minimax_affine(design, targets, steps=LAWSON_STEPS, tolerance=LAWSON_GAP):
    """Coefficients ``C`` (``design.shape[1]`` x 2) minimising ``max |design @ C - targets|``.

    ``|.|`` is the Euclidean norm of each row's 2-vector. Lawson's reweighting, starting from
    the least-squares solution. For any weights, the weighted least-squares residual is a lower
    bound of the minimax error and the largest residual an upper bound: the loop stops once
    the two are within ``tolerance`` (relative), or after ``steps`` steps.
    """
    weights = np.full(len(design), 1.0 / len(design))
    coefficients = None
    transposed = design.T
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):  # see _solve
        for _ in range(steps):
            weighted = design * weights[:, None]
            solved = _solve(transposed @ weighted, weighted.T @ targets)
            if solved is None:
                break
            coefficients = solved
            residual = design @ coefficients - targets
            errors = np.hypot(residual[:, 0], residual[:, 1])
            largest = errors.max()
            spread = weights * errors
            lower = math.sqrt((spread * errors).sum())
            if not largest > 0 or largest <= lower * (1.0 + tolerance):
                break
            weights = spread / spread.sum()
    return coefficients


def _solve(matrix, right):
    """``np.linalg.solve(matrix, right)``, or ``None`` for a singular matrix.

    A Lawson step is a dozen small numpy operations, and ``np.linalg.solve``'s argument
    checks cost three times its LAPACK call; the same gufunc is called directly where numpy
    has it (the same solution, bit for bit: ``tests/core/test_wcs_fit.py``).
    """
    if _GESV is None:
        try:
            return np.linalg.solve(matrix, right)
        except np.linalg.LinAlgError:
            return None
    # A singular matrix gives NaN (under numpy's "invalid" error state; the caller silences
    # it) where np.linalg.solve raises.
    solved = _GESV(matrix, right, signature="dd->d")
    return solved if math.isfinite(solved.sum()) else None


def tangent_basis(ra_deg, dec_deg):
    """Unit vectors of the tangent point and of east and north there (rows of a 3x3)."""
    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    return np.array([[np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)],
                     [-np.sin(ra), np.cos(ra), 0.0],
                     [-np.sin(dec) * np.cos(ra), -np.sin(dec) * np.sin(ra), np.cos(dec)]])


def unit_vectors(ra_deg, dec_deg):
    """``(n, 3)`` unit vectors of positions in degrees."""
    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    cos_dec = np.cos(dec)
    return np.column_stack([cos_dec * np.cos(ra), cos_dec * np.sin(ra), np.sin(dec)])


def to_plane(vectors, basis):
    """Gnomonic (TAN) standard coordinates in degrees, as wcslib's intermediate world
    coordinates of a TAN WCS whose CRVAL is the tangent point."""
    local = vectors @ basis.T
    return np.degrees(local[:, 1:] / local[:, :1])


def from_plane(plane, basis):
    """Unit vectors of tangent-plane points (degrees): the inverse of :func:`to_plane`."""
    vectors = basis[0] + np.radians(plane) @ basis[1:]
    return vectors / np.sqrt(np.einsum("ij,ij->i", vectors, vectors))[:, None]


def vector_separation_deg(a, b):
    """Angles in degrees between rows of two arrays of unit vectors, from their chords
    (exact, and well conditioned for the small angles measured here)."""
    difference = a - b
    chord = np.sqrt(np.einsum("ij,ij->i", difference, difference))
    return np.degrees(2.0 * np.arcsin(np.minimum(chord / 2.0, 1.0)))


def _is_plain_tan(celestial):
    """Whether ``celestial`` is TAN (or TAN-SIP) with nothing but SIP on top, RA first,
    and the native pole where wcslib puts it by default (LONPOLE 180)."""
    core = celestial.wcs
    return (core.lng == 0 and core.lat == 1
            and all(ctype[5:8] == "TAN" for ctype in core.ctype)
            and core.lonpole == 180.0 and not core.get_pv()
            and celestial.cpdis1 is None and celestial.cpdis2 is None
            and celestial.det2im1 is None and celestial.det2im2 is None)


def sky_vectors(celestial, xs, ys):
    """Unit vectors of the sky positions of 0-based pixels ``(xs, ys)`` through the full WCS.

    For a TAN(-SIP) WCS this skips the spherical trigonometry: astropy applies SIP
    (``sip_pix2foc``) and the tangent-plane point becomes a vector directly (:func:`from_plane`),
    3x faster than ``all_pix2world`` plus :func:`unit_vectors`; otherwise it is exactly that.
    ``tests/core/test_wcs_fit.py`` proves the two equal.
    """
    if not _is_plain_tan(celestial):
        return unit_vectors(*celestial.all_pix2world(xs, ys, 0))
    offsets, matrix = _plane_offsets(celestial, xs, ys)
    return from_plane(offsets @ matrix.T, tangent_basis(*celestial.wcs.crval))


def stamp_frame_vectors(celestial, xs, ys, basis):
    """Directions of the sky positions of 0-based pixels ``(xs, ys)`` through the full WCS, in
    the frame whose axes are the rows of ``basis`` (:func:`tangent_basis`); not normalised.

    ``sky_vectors(...) @ basis.T`` up to length. For a TAN(-SIP) WCS the image's tangent plane
    maps to the stamp's by a rotation of ``(1, xi, eta)``, so this is one ``(n, 2) @ (2, 3)``
    matrix multiplication after SIP, with no normalisation (``tests/core/test_wcs_fit.py``).
    """
    if not _is_plain_tan(celestial):
        return sky_vectors(celestial, xs, ys) @ basis.T
    offsets, matrix = _plane_offsets(celestial, xs, ys)
    rotation = tangent_basis(*celestial.wcs.crval) @ basis.T
    return rotation[0] + offsets @ (np.radians(matrix).T @ rotation[1:])


def _plane_offsets(celestial, xs, ys):
    """Pixel offsets from CRPIX after SIP, and the CD matrix (degrees), of a plain TAN WCS."""
    core = celestial.wcs
    pixels = np.column_stack([xs + 1.0, ys + 1.0])
    if celestial.sip is not None:
        offsets = celestial.sip_pix2foc(pixels, 1)  # relative to CRPIX, SIP applied
    else:
        offsets = pixels - core.crpix
    matrix = np.asarray(core.cd) if core.has_cd() else core.get_pc() * core.cdelt[:, None]
    return offsets, matrix


@functools.lru_cache(maxsize=256)
def _centred_grid(nx, ny):
    """Offsets ``(x, y)`` of every pixel of an ``nx`` x ``ny`` stamp from its centre (exact
    half-integers; remembered per shape)."""
    ys, xs = np.mgrid[0:ny, 0:nx]
    grid = np.column_stack([xs.ravel() - (nx - 1) / 2, ys.ravel() - (ny - 1) / 2])
    grid.setflags(write=False)
    return grid


def fit_linear_wcs(wcs, corner, shape):
    """Fit a linear TAN WCS (stamp pixel coordinates) to ``wcs`` over a stamp.

    Returns a :class:`FittedWCS`; its separations are measured at every stamp pixel.
    """
    celestial = celestial_wcs(wcs)
    (ny, nx) = shape
    # Tangent point at the stamp centre.
    center_x, center_y = corner[0] + (nx - 1) / 2, corner[1] + (ny - 1) / 2
    crval = np.array(celestial.all_pix2world([[center_x, center_y]], 0)[0])
    basis = tangent_basis(*crval)
    # Offsets from the stamp centre keep the normal equations well conditioned.
    offsets = _centred_grid(nx, ny)
    truth = stamp_frame_vectors(celestial, offsets[:, 0] + center_x, offsets[:, 1] + center_y,
                                basis)
    targets = np.degrees(truth[:, 1:] / truth[:, :1])  # the stamp's tangent plane

    varying = [axis for axis, n in ((0, nx), (1, ny)) if n > 1]
    # A single row or column cannot constrain the other axis: its CD column is the local one.
    fixed = [axis for axis in (0, 1) if axis not in varying]
    cd = _local_cd(celestial, center_x, center_y, basis) if fixed else np.zeros((2, 2))
    known = offsets[:, fixed] @ cd[:, fixed].T if fixed else 0.0
    used = _fit_indices(nx, ny)
    # Row-major: the summation order of the matrix products (so the last bits) depends on it.
    design = np.ascontiguousarray(np.column_stack([offsets[used][:, varying],
                                                   np.ones(len(used))]))
    coefficients = minimax_affine(design, (targets - known)[used])
    for row, axis in enumerate(varying):
        cd[:, axis] = coefficients[row]
    shift = coefficients[-1]  # plane position of the stamp centre
    center_offset = np.linalg.solve(cd, shift)  # stamp centre - CRPIX, in pixels
    crpix = np.array([(nx - 1) / 2 + 1, (ny - 1) / 2 + 1]) - center_offset
    fitted = linear_tan(crval, crpix, cd)

    # What the fitted WCS gives at every pixel, in the same tangent plane (it is a TAN WCS
    # with this tangent point), compared on the sphere (as directions in the stamp's frame).
    model = np.radians(offsets @ cd.T + shift)
    separation = vector_separation_deg(_normalised(truth),
                                       _normalised(np.column_stack([np.ones(len(model)), model])))
    return FittedWCS(wcs=fitted, max_separation=float(np.max(separation)),
                     sigma=float(np.sqrt(np.sum(separation ** 2))))


def _normalised(vectors):
    return vectors / np.sqrt(np.einsum("ij,ij->i", vectors, vectors))[:, None]


def _local_cd(celestial, x, y, basis):
    points = np.array([[x, y], [x + 1, y], [x, y + 1]])
    ra, dec = celestial.all_pix2world(points[:, 0], points[:, 1], 0)
    plane = to_plane(unit_vectors(ra, dec), basis)
    return np.column_stack([plane[1] - plane[0], plane[2] - plane[0]])


@hookimpl(trylast=True)
def astrocut_fit_wcs(wcs, corner, shape):
    """Default fitter: see :func:`fit_linear_wcs`."""
    if wcs is None or not wcs.has_celestial:
        return None
    return fit_linear_wcs(wcs, corner, shape)
