"""Writing one simulated sector of FFIs."""

from __future__ import annotations

import os

import numpy as np
from astropy.time import Time
from astropy.wcs import WCS

from .constants import (BJDREFI, CR_KEEP_FRACTION, FRAMETIM, FULL_SIZE, INT_TIME,
                        _CCD_OFFSET_PIX, _LAUNCH_BTJD, _MIN_SIZE, _MIN_STARS, _READ_NOISE,
                        _STAR_DENSITY, _VIRTUAL_LEVEL)
from .files import (_barycentric_correction, _check_indices, _default_flags, _image_cards, _iso,
                    _primary_cards, _timestamp, _write_ffi)
from .mover import make_mover
from .sky import (_background, _make_stars, _psf_sigma, _psf_stamps, _science_region, _splat,
                  _virtual_regions)
from .stars import SimulatedSector
from .wcs import _camera_pointing, _ccd_layout, make_wcs_header


def simulate_ffis(output_dir, n_ffi=20, size=FULL_SIZE, *, sector=1, camera=1, ccd=1,
                  seed=0, cadence_minutes=30.0, start_btjd=1325.30, n_stars=None,
                  invalid_wcs_frames=(), flagged_frames=None, verbose=False, mover=None):
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
    mover : (x0, y0, vx, vy, flux), optional
        Add a source moving in a straight line: 0-based pixel at the first frame's
        mid-time, pixels per hour, e-/s (see :class:`~astrocut_tess.sample.mover.SimulatedMover`;
        ``SimulatedSector.mover.path`` is its ephemeris). The other pixels are unchanged.

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
    moving = None if mover is None else make_mover(mover, mid, barycorr, wcs)

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
        if moving is not None:
            mx, my = (np.atleast_1d(v) for v in moving.pixel_at(mid[i]))
            mx0, my0, mweights = _psf_stamps(mx, my, _psf_sigma(mx, my, crpix, to_boresight))
            _splat(model, mx0, my0, mweights, np.array([moving.flux]))
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
            "btc_pix1": float(wcs_header["CRPIX1"]), "btc_pix2": float(wcs_header["CRPIX2"]),
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
                           shape=(n_cols, n_rows), times=mid, mover=moving)
