"""geometry.center_pixel's direct all_world2pix path gives astropy's world_to_pixel pixel."""

import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.wcs import WCS

from astrocut.errors import InvalidQueryError
from astrocut.geometry import celestial_wcs, center_pixel


def _sip_wcs(radesys="ICRS"):
    header = fits.Header()
    header.update(CTYPE1="RA---TAN-SIP", CTYPE2="DEC--TAN-SIP", CRVAL1=83.4, CRVAL2=-66.1,
                  CRPIX1=1024.5, CRPIX2=1024.5, CD1_1=-0.0058, CD1_2=0.0002, CD2_1=0.0003,
                  CD2_2=0.0057, RADESYS=radesys, A_ORDER=2, B_ORDER=2, A_2_0=2e-6,
                  A_1_1=-1e-6, A_0_2=3e-6, B_2_0=-2e-6, B_1_1=1.5e-6, B_0_2=1e-6)
    if radesys == "FK5":
        header["EQUINOX"] = 2000.0
    return WCS(header)


@pytest.mark.parametrize("radesys", ["ICRS", "FK5"])
def test_center_pixel_equals_world_to_pixel(radesys):
    wcs = _sip_wcs(radesys)
    rng = np.random.default_rng(5)
    xs, ys = rng.uniform(-100, 2200, 200), rng.uniform(-100, 2200, 200)
    ra, dec = wcs.all_pix2world(xs, ys, 0)
    for r, d in zip(ra, dec):
        coord = SkyCoord(r, d, unit="deg")
        expected = tuple(float(v) for v in wcs.celestial.world_to_pixel(coord))
        assert center_pixel(wcs, coord, "image") == expected
    # a position given in another frame goes through world_to_pixel
    galactic = SkyCoord(ra[0], dec[0], unit="deg").galactic
    expected = tuple(float(v) for v in wcs.celestial.world_to_pixel(galactic))
    assert center_pixel(wcs, galactic, "image") == expected


def test_celestial_wcs_is_the_wcs_itself_when_already_celestial():
    wcs = _sip_wcs()
    assert celestial_wcs(wcs) is wcs
    cube = WCS(naxis=3)
    cube.wcs.ctype = ["RA---TAN", "DEC--TAN", "WAVE"]
    assert celestial_wcs(cube).naxis == 2


def test_far_outside_is_a_query_error():
    with pytest.raises(InvalidQueryError, match="footprint"):
        center_pixel(_sip_wcs(), SkyCoord(263.4, 66.1, unit="deg"), "image")
