"""Realistic test images: drizzled-HST-like mosaics (TAN) and distorted images (TAN-SIP).

Used by the test fixtures and by ``benchmarks/bench_fits_cut.py``. Large images are written
in blocks of rows (a cheap noise background, plus sources added only in small windows
around each), so a 10000x10000 float32 image takes about a second and little memory.
"""

import numpy as np
from astropy.io import fits

HST_SCALE_ARCSEC = 0.03
HST_CENTER = (150.1163213, 2.2009731)  # COSMOS-like field


def hst_header(shape, center=HST_CENTER, scale_arcsec=HST_SCALE_ARCSEC, filter_name="F606W",
               rotation_deg=0.0):
    """A drizzled-HST-like primary header: TAN, CD matrix, north up (optionally rotated)."""
    ny, nx = shape
    scale = scale_arcsec / 3600.0
    theta = np.deg2rad(rotation_deg)
    cd = scale * np.array([[-np.cos(theta), np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    header = fits.Header()
    header["SIMPLE"] = True
    header["BITPIX"] = -32
    header["NAXIS"] = 2
    header["NAXIS1"] = nx
    header["NAXIS2"] = ny
    header["EXTEND"] = True
    cards = [
        ("TELESCOP", "HST", "telescope used to acquire data"),
        ("INSTRUME", "ACS", "identifier for instrument used to acquire data"),
        ("DETECTOR", "WFC", "detector in use: WFC, HRC, or SBC"),
        ("FILTER", filter_name, "element selected from filter wheel"),
        ("EXPTIME", 4000.0, "exposure duration (seconds)--calculated"),
        ("BUNIT", "ELECTRONS/S", "brightness units"),
        ("FILENAME", f"hlsp_sim_hst_acs_field_{filter_name.lower()}_v1.0_drz.fits", ""),
        ("D001VER", "WCSLIB Version 7.7", "Drizzle, task version"),
        ("D001PIXF", 0.8, "Drizzle, linear size of drop"),
        ("D001KERN", "square", "Drizzle, form of weight distribution kernel"),
        ("WCSAXES", 2, "number of World Coordinate System axes"),
        ("CRPIX1", nx / 2.0 + 0.5, "x-coordinate of reference pixel"),
        ("CRPIX2", ny / 2.0 + 0.5, "y-coordinate of reference pixel"),
        ("CRVAL1", center[0], "first axis value at reference pixel"),
        ("CRVAL2", center[1], "second axis value at reference pixel"),
        ("CTYPE1", "RA---TAN", "the coordinate type for the first axis"),
        ("CTYPE2", "DEC--TAN", "the coordinate type for the second axis"),
        ("CD1_1", cd[0, 0], "partial of first axis coordinate w.r.t. x"),
        ("CD1_2", cd[0, 1], "partial of first axis coordinate w.r.t. y"),
        ("CD2_1", cd[1, 0], "partial of second axis coordinate w.r.t. x"),
        ("CD2_2", cd[1, 1], "partial of second axis coordinate w.r.t. y"),
        ("RADESYS", "ICRS", ""),
        ("EQUINOX", 2000.0, ""),
    ]
    header.extend(cards)
    for i in range(60):  # drizzled headers are long: keep header parsing realistic
        header[f"HIST{i:04d}"] = (
            f"input_{i:03d}_flt.fits[sci,1]", "drizzle input")
    return header


def _sources(rng, shape, count, flux_scale):
    ny, nx = shape
    x = rng.uniform(0, nx, count)
    y = rng.uniform(0, ny, count)
    sigma = np.where(rng.random(count) < 0.7, rng.uniform(1.0, 1.6, count),
                     rng.uniform(2.0, 6.0, count))  # stars and small galaxies
    flux = flux_scale * 10 ** rng.uniform(0.0, 2.5, count)
    return x, y, sigma, flux


def _add_gaussian(block, row0, x, y, sigma, flux):
    half = int(np.ceil(4 * sigma))
    x0, x1 = max(int(x) - half, 0), min(int(x) + half + 1, block.shape[1])
    y0, y1 = max(int(y) - half, row0), min(int(y) + half + 1, row0 + block.shape[0])
    if x0 >= x1 or y0 >= y1:
        return
    xs = np.arange(x0, x1) - x
    ys = np.arange(y0, y1) - y
    g = np.exp(-0.5 * (ys[:, None] ** 2 + xs[None, :] ** 2) / sigma ** 2)
    block[y0 - row0:y1 - row0, x0:x1] += (flux / (2 * np.pi * sigma ** 2) * g).astype(block.dtype)


def write_hst_like(path, shape=(10000, 10000), seed=0, filter_name="F606W", center=HST_CENTER,
                   n_sources=3000, flux_scale=1.0, markers=(), rotation_deg=0.0,
                   block_rows=1000):
    """Write a drizzled-HST-like float32 image; return its header.

    ``markers`` are extra ``(x, y, sigma, flux)`` sources (0-based pixels), e.g. a bright
    star at a test coordinate. The source list depends on ``seed`` only through positions,
    so two filters of one field share positions when given the same ``seed`` and differ in
    noise and fluxes through ``flux_scale``.
    """
    ny, nx = shape
    header = hst_header(shape, center, filter_name=filter_name, rotation_deg=rotation_deg)
    positions = np.random.default_rng(seed)
    xs, ys, sigmas, fluxes = _sources(positions, shape, n_sources, flux_scale)
    noise = np.random.default_rng(seed + sum(filter_name.encode()))
    tile = (0.002 + 0.003 * noise.standard_normal((min(block_rows, ny), min(1024, nx)),
                                                   dtype=np.float32))
    reps = int(np.ceil(nx / tile.shape[1]))
    background = np.tile(tile, (1, reps))[:, :nx]
    all_sources = list(zip(xs, ys, sigmas, fluxes)) + [tuple(m) for m in markers]
    order = sorted(all_sources, key=lambda s: s[1])
    with open(path, "wb") as handle:
        handle.write(header.tostring().encode("ascii"))
        for row0 in range(0, ny, block_rows):
            rows = min(block_rows, ny - row0)
            block = np.roll(background[:rows], shift=(row0 // block_rows) * 37, axis=1).copy()
            for x, y, sigma, flux in order:
                if y + 4 * sigma + 1 < row0:
                    continue
                if y - 4 * sigma - 1 > row0 + rows:
                    break
                _add_gaussian(block, row0, x, y, sigma, flux)
            handle.write(block.astype(">f4").tobytes())
        handle.write(b"\0" * ((-ny * nx * 4) % 2880))
    return header


def sip_header(shape, center=(210.8023, 54.3489), scale_arcsec=0.4, strength=1.0):
    """A TAN-SIP image header with several pixels of distortion at the image edges."""
    ny, nx = shape
    scale = scale_arcsec / 3600.0
    header = fits.Header()
    header["CTYPE1"] = "RA---TAN-SIP"
    header["CTYPE2"] = "DEC--TAN-SIP"
    header["CRPIX1"] = nx / 2.0 - 20.3
    header["CRPIX2"] = ny / 2.0 + 11.7
    header["CRVAL1"] = center[0]
    header["CRVAL2"] = center[1]
    header["CD1_1"] = -scale * 0.9998
    header["CD1_2"] = scale * 0.02
    header["CD2_1"] = scale * 0.02
    header["CD2_2"] = scale * 0.9998
    header["RADESYS"] = "ICRS"
    header["A_ORDER"] = 3
    header["B_ORDER"] = 3
    half = max(nx, ny) / 2.0
    # Coefficients chosen so the distortion reaches a few pixels at the corners.
    header["A_2_0"] = strength * 3.0 / half ** 2
    header["A_1_1"] = strength * -2.0 / half ** 2
    header["A_0_2"] = strength * 1.5 / half ** 2
    header["A_3_0"] = strength * 1.0 / half ** 3
    header["B_2_0"] = strength * 1.2 / half ** 2
    header["B_1_1"] = strength * 2.5 / half ** 2
    header["B_0_2"] = strength * -3.0 / half ** 2
    header["B_0_3"] = strength * 1.0 / half ** 3
    return header


def write_sip_image(path, shape=(1500, 1200), seed=1, extname=None, primary_data=False,
                    dtype=np.float32, extra_header=None):
    """Write a TAN-SIP image with stars (in an extension by default); return its header."""
    rng = np.random.default_rng(seed)
    header = sip_header(shape)
    if extra_header:
        header.update(extra_header)
    data = (10 + rng.standard_normal(shape)).astype(np.float32)
    xs, ys, sigmas, fluxes = _sources(rng, shape, 200, 50.0)
    for x, y, sigma, flux in zip(xs, ys, sigmas, fluxes):
        _add_gaussian(data, 0, x, y, sigma, flux)
    data = data.astype(dtype)
    if primary_data:
        hdus = [fits.PrimaryHDU(data=data, header=header)]
    else:
        hdus = [fits.PrimaryHDU(), fits.ImageHDU(data=data, header=header, name=extname or "SCI")]
    fits.HDUList(hdus).writeto(path, overwrite=True)
    return header
