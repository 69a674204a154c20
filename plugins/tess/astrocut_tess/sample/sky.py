"""The simulated image: stars through a PSF, background, virtual pixels."""

from __future__ import annotations

import numpy as np

from .constants import (FULL_SIZE, N_VIRTUAL_COLUMNS, N_VIRTUAL_ROWS, PSF_HALF_WIDTH,
                        _CLEAR_RADIUS, _TRANSIT_FLUX, _VARIABLE_FLUX)
from .stars import SimulatedStar


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
