"""Header cards of a simulated FFI and writing the file."""

from __future__ import annotations

import datetime

import numpy as np
from astropy import constants as const
from astropy import units as u
from astropy.coordinates import SkyCoord, get_body_barycentric
from astropy.io import fits
from astropy.time import Time

from .constants import (BJDREFI, CRBLKSZ, FRAMETIM, INT_TIME, QUALITY_DESAT,
                        QUALITY_MANUAL_EXCLUDE, QUALITY_STRAY_LIGHT, READTIME, _GAINS, _MEAN_BLACK,
                        _READ_NOISE)
from .wcs import _drop_celestial_wcs


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
        # SPOC names the pixel BARYCORR was computed for; here the one at CRVAL.
        ("BTC_PIX1", frame["btc_pix1"], "reference col for barycentric time correction"),
        ("BTC_PIX2", frame["btc_pix2"], "reference row for barycentric time correction"),
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
        # SPOC keys the readout delay by camera and CCD.
        (f"TMOFST{camera}{ccd}", 1.99, f"(s) readout delay for camera {camera} and ccd {ccd}"),
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
