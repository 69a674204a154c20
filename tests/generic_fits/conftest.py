"""Test images for fits_cut / img_cut, written once per test session.

* ``hst_field``: two drizzled-HST-like mosaics (F606W, F814W) of one field, 10000x10000
  float32, TAN at 0.03"/pixel, with stars, galaxies, noise and a bright marker star.
* ``small_images``: small files covering the other cases: TAN-SIP in an extension, several
  extensions, integer and BZERO-scaled pixels, gzip, no WCS, a cube, and a tiny north-up
  image with one bright corner for orientation tests.
"""

import os
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.wcs import WCS

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gf_simulate  # noqa: E402

HST_SHAPE = (10000, 10000)
MARKER_PIXEL = (6123.4, 4321.7)  # 0-based (x, y) of a bright star in both filters


@pytest.fixture(scope="session")
def hst_field(tmp_path_factory):
    """Two large HST-like images of one field and a bright marker star's coordinate."""
    directory = tmp_path_factory.mktemp("hst")
    marker = (MARKER_PIXEL[0], MARKER_PIXEL[1], 1.3, 5000.0)
    paths, headers = {}, {}
    for name, scale in (("f606w", 1.0), ("f814w", 1.6)):
        path = str(directory / f"hlsp_sim_hst_acs_field_{name}_v1.0_drz.fits")
        headers[name] = gf_simulate.write_hst_like(path, HST_SHAPE, seed=7,
                                                   filter_name=name.upper(), flux_scale=scale,
                                                   markers=[marker])
        paths[name] = path
    wcs = WCS(headers["f606w"])
    ra, dec = wcs.pixel_to_world_values(*MARKER_PIXEL)
    return SimpleNamespace(f606w=paths["f606w"], f814w=paths["f814w"], wcs=wcs,
                           header=headers["f606w"], shape=HST_SHAPE, directory=str(directory),
                           marker=SkyCoord(float(ra), float(dec), unit="deg"),
                           marker_pixel=MARKER_PIXEL,
                           center=SkyCoord(*gf_simulate.HST_CENTER, unit="deg"))


def _tan_header(shape, center=(30.0, -20.0), scale_arcsec=1.0):
    ny, nx = shape
    header = fits.Header()
    header.update(CTYPE1="RA---TAN", CTYPE2="DEC--TAN", CRPIX1=nx / 2 + 0.5,
                  CRPIX2=ny / 2 + 0.5, CRVAL1=center[0], CRVAL2=center[1],
                  CDELT1=-scale_arcsec / 3600, CDELT2=scale_arcsec / 3600, CUNIT1="deg",
                  CUNIT2="deg", RADESYS="ICRS")
    return header


@pytest.fixture(scope="session")
def small_images(tmp_path_factory):
    """Small FITS files for the edge cases (see the module docstring)."""
    directory = tmp_path_factory.mktemp("small")
    out = SimpleNamespace(directory=str(directory))
    rng = np.random.default_rng(3)

    out.sip = str(directory / "sip_image.fits")
    out.sip_header = gf_simulate.write_sip_image(out.sip, shape=(1500, 1200), seed=1)
    out.sip_shape = (1500, 1200)

    # Primary without data, an image without WCS, then two SCI images with WCS, a table.
    out.multi = str(directory / "multi_ext.fits")
    tan = _tan_header((200, 300))
    sci1 = rng.normal(5, 1, (200, 300)).astype(np.float32)
    sci2 = (sci1 * 2).astype(np.float64)
    table = fits.BinTableHDU.from_columns([fits.Column(name="a", format="E", array=[1.0])])
    fits.HDUList([fits.PrimaryHDU(),
                  fits.ImageHDU(rng.normal(0, 1, (50, 60)).astype(np.float32), name="NOWCS"),
                  fits.ImageHDU(sci1, header=tan, name="SCI"),
                  fits.ImageHDU(sci2, header=tan, name="SCI2"),
                  table]).writeto(out.multi)
    out.multi_data = (sci1, sci2)
    out.tan_center = SkyCoord(30.0, -20.0, unit="deg")

    out.nowcs = str(directory / "no_wcs.fits")
    fits.PrimaryHDU(np.ones((40, 40), dtype=np.float32)).writeto(out.nowcs)

    out.cube = str(directory / "cube.fits")
    cube_header = _tan_header((20, 30))
    cube_header.update(CTYPE3="FREQ", CRVAL3=1e9, CDELT3=1e6, CRPIX3=1, CUNIT3="Hz")
    fits.PrimaryHDU(np.zeros((3, 20, 30), dtype=np.float32), header=cube_header).writeto(out.cube)

    # 16-bit integers with BLANK, and unsigned 16-bit stored with BZERO=32768.
    out.int16 = str(directory / "int16.fits")
    ints = rng.integers(-1000, 1000, (100, 120)).astype(np.int16)
    ints[50, 60] = -32768
    header = _tan_header((100, 120))
    header["BLANK"] = -32768
    fits.PrimaryHDU(ints, header=header).writeto(out.int16)
    out.int16_data = ints
    out.uint16 = str(directory / "uint16.fits")
    uints = rng.integers(0, 65535, (100, 120)).astype(np.uint16)
    fits.PrimaryHDU(uints, header=_tan_header((100, 120))).writeto(out.uint16)
    out.uint16_data = uints

    out.gz = str(directory / "sip_image.fits.gz")
    with fits.open(out.sip) as hdulist:
        hdulist.writeto(out.gz)

    # North up, east left, 1"/pixel: a bright 5x5 block in the first rows (south), a
    # dimmer one in the last rows (north).
    out.oriented = str(directory / "oriented.fits")
    data = np.full((60, 40), 1.0, dtype=np.float32)
    data[2:7, 5:10] = 1000.0
    data[-7:-2, -10:-5] = 100.0
    fits.PrimaryHDU(data, header=_tan_header((60, 40))).writeto(out.oriented)
    out.oriented_data = data

    # Three "filters" of one small field for colour pictures.
    out.rgb = []
    for i, name in enumerate(("red", "green", "blue")):
        path = str(directory / f"field_{name}.fits")
        plane = rng.normal(10, 1, (80, 90)).astype(np.float32)
        plane[30:40, 20 + 15 * i:30 + 15 * i] += 500
        fits.PrimaryHDU(plane, header=_tan_header((80, 90))).writeto(path)
        out.rgb.append(path)

    # Tile-compressed copy of the SIP image, and plain 32-bit integers (no BLANK).
    out.compressed = str(directory / "sip_compressed.fits")
    with fits.open(out.sip) as hdulist:
        fits.HDUList([fits.PrimaryHDU(),
                      fits.CompImageHDU(hdulist[1].data, header=out.sip_header,
                                        compression_type="GZIP_1", quantize_level=0.0)]
                     ).writeto(out.compressed)
    out.int32 = str(directory / "int32.fits")
    out.int32_data = rng.integers(-10**8, 10**8, (100, 120)).astype(np.int32)
    fits.PrimaryHDU(out.int32_data, header=_tan_header((100, 120))).writeto(out.int32)

    # Header oddities: an alternate WCS "A" and IRAF LTV, a SIP block whose CTYPE lacks
    # "-SIP", and archaic PC001001-style matrix keywords.
    out.odd = str(directory / "odd_headers.fits")
    alt = _tan_header((100, 120))
    alt.update(CTYPE1A="RA---TAN", CTYPE2A="DEC--TAN", CRPIX1A=10.0, CRPIX2A=20.0,
               CRVAL1A=30.0, CRVAL2A=-20.0, CDELT1A=-1 / 3600, CDELT2A=1 / 3600,
               LTV1=-100.0, LTV2=-200.0, LTM1_1=1.0, LTM2_2=1.0)
    stray = gf_simulate.sip_header((1500, 1200))
    stray["CTYPE1"], stray["CTYPE2"] = "RA---TAN", "DEC--TAN"
    archaic = _tan_header((100, 120))
    del archaic["CDELT1"], archaic["CDELT2"]
    archaic.update(PC001001=-1 / 3600, PC001002=0.0, PC002001=0.0, PC002002=1 / 3600)
    ones = np.arange(120 * 100, dtype=np.float32).reshape(100, 120)
    fits.HDUList([fits.PrimaryHDU(ones, header=alt),
                  fits.ImageHDU(np.arange(1500 * 1200, dtype=np.float32).reshape(1500, 1200),
                                header=stray, name="STRAY"),
                  fits.ImageHDU(ones, header=archaic, name="ARCHAIC")]).writeto(out.odd)
    out.stray_header = stray

    out.not_fits = str(directory / "not_fits.fits")
    with open(out.not_fits, "w") as handle:
        handle.write("this is not a FITS file\n")
    return out
