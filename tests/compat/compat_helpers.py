"""Helpers for the 1.x compatibility tests (imported by conftest.py and the tests)."""

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS


def point_ffis(files, ra, dec, drop_telescope=False, telescope=None):
    """Re-point simulated FFIs at ``ra``, ``dec`` (image centre); optionally change TELESCOP."""
    for path in files:
        with fits.open(path, mode="update") as hdulist:
            if drop_telescope:
                del hdulist[0].header["TELESCOP"]
            if telescope is not None:
                hdulist[0].header["TELESCOP"] = telescope
            for hdu in hdulist[1:3]:
                hdu.header["CRVAL1"], hdu.header["CRVAL2"] = ra, dec
                hdu.header["CRPIX1"] = hdu.header["NAXIS1"] / 2
                hdu.header["CRPIX2"] = hdu.header["NAXIS2"] / 2
    return files


def tan_image(path, data, center=(150.0, 2.0), scale_arcsec=1.0, extra=None):
    """A FITS image with a TAN WCS centred on ``center``; ``extra`` cards go in its header."""
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = center
    wcs.wcs.crpix = [data.shape[1] / 2, data.shape[0] / 2]  # centre at 0-based pixel n/2 - 1
    wcs.wcs.cdelt = [-scale_arcsec / 3600, scale_arcsec / 3600]
    header = wcs.to_header()
    for key, value in (extra or {}).items():
        header[key] = value
    fits.PrimaryHDU(np.asarray(data), header=header).writeto(path)
    return str(path)
