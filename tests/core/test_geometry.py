"""Coordinates, sizes and stamp placement shared by every cutter."""

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.wcs import WCS

from astrocut.errors import InvalidInputError, InvalidQueryError
from astrocut.geometry import (overlap, parse_coordinate_list, parse_coordinates,
                               parse_cutout_size, radec_deg, reference_corner, stamp_corner,
                               stamp_window)


@pytest.fixture
def wcs():
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [100.0, 30.0]
    w.wcs.crpix = [51.0, 41.0]  # 1-based: 0-based pixel (50, 40)
    w.wcs.cdelt = [-10 / 3600, 10 / 3600]
    return w


def test_coordinates_from_string_and_skycoord():
    coord = parse_coordinates("251.51 32.36")
    assert (coord.ra.deg, coord.dec.deg) == pytest.approx((251.51, 32.36))
    galactic = SkyCoord(l=10 * u.deg, b=5 * u.deg, frame="galactic")
    assert parse_coordinates(galactic).frame.name == "icrs"
    assert parse_coordinates("10h00m00s +02d00m00s").ra.deg == pytest.approx(150.0)


@pytest.mark.parametrize("bad", ["", "hello world", "nan 3", "10 95", 42, None, "1 2 3 4"])
def test_bad_coordinates_are_named(bad):
    with pytest.raises(InvalidInputError, match="coordinates"):
        parse_coordinates(bad)


def _astropy_parse(item):
    """What astropy's own string parser makes of ``item`` (the reference for our fast paths)."""
    try:
        coord = item if isinstance(item, SkyCoord) else SkyCoord(item, unit="deg")
        coord = coord.icrs
        if not (np.isfinite(coord.ra.deg) and np.isfinite(coord.dec.deg)):
            return None
    except Exception:
        return None
    return coord


def test_plain_decimals_parse_as_astropy_parses_them():
    # parse_coordinates skips astropy's angle lexer for two plain decimals: the numbers and
    # the frame are astropy's, bit for bit, and what astropy refuses is refused.
    rng = np.random.default_rng(7)
    texts = [f"{float(ra)!r} {float(dec)!r}" for ra, dec in zip(rng.uniform(-10, 370, 300),
                                                  rng.uniform(-90, 90, 300))]
    texts += ["0 90", "0 -90", "359.9999999999 -90", "1e-3 -4.5e1", "+10.5 -.5", "010. -0",
              " 3  4 ", "720.25 1", "-0.0 0.0", "1 91", "1 -90.0000001", "inf 0", "nan 1",
              "10h00m00s +02d00m00s", "1_0 2", "\u0661 2"]
    for text in texts:
        expected = _astropy_parse(text)
        if expected is None:
            with pytest.raises(InvalidInputError):
                parse_coordinates(text)
            continue
        got = parse_coordinates(text)
        assert got.frame.name == expected.frame.name == "icrs" and got.isscalar
        assert (got.ra.deg, got.dec.deg) == (expected.ra.deg, expected.dec.deg), text


def test_a_list_of_coordinates_parses_as_each_one_does():
    # The bulk path's vectorised parse gives the very numbers (bit for bit) and the errors
    # that parse_coordinates gives one by one.
    rng = np.random.default_rng(5)
    texts = [f"{float(ra)!r} {float(dec)!r}" for ra, dec in zip(rng.uniform(-10, 370, 200),
                                                  rng.uniform(-90, 90, 200))]
    texts += ["0 90", "359.9999999999 -90", "1e-3 -4.5e1", "10h00m00s +02d00m00s", "+10.5 -.5",
              "010. -0", "\u0661 2", " 3  4 ", "1_0 2", "inf 0",
              SkyCoord(l=10 * u.deg, b=5 * u.deg, frame="galactic"), "nan 1", "1 91", "x y", 3]
    parsed = parse_coordinate_list(texts)
    for item, got in zip(texts, parsed):
        try:
            expected = parse_coordinates(item)
        except InvalidInputError as exc:
            assert isinstance(got, InvalidInputError) and str(got) == str(exc)
            assert _astropy_parse(item) is None
            continue
        astropy = _astropy_parse(item)
        assert (astropy.ra.deg, astropy.dec.deg) == (expected.ra.deg, expected.dec.deg)
        assert got.isscalar and got.frame.name == "icrs"
        assert (got.ra.deg, got.dec.deg) == (expected.ra.deg, expected.dec.deg)
        # What radec_deg remembers (set from the array for the batch) is the same.
        assert radec_deg(got) == radec_deg(expected) == (expected.ra.deg, expected.dec.deg)
    assert sum(isinstance(got, Exception) for got in parsed) == 7


def test_radec_deg_is_remembered_only_where_it_cannot_change():
    icrs = SkyCoord(10.25, -5.5, unit="deg")
    assert radec_deg(icrs) == (10.25, -5.5) and "_astrocut_radec_deg" in vars(icrs)
    fk5 = SkyCoord(10.25, -5.5, unit="deg", frame="fk5")
    assert radec_deg(fk5) == (10.25, -5.5) and "_astrocut_radec_deg" not in vars(fk5)


def test_sizes():
    assert parse_cutout_size(5) == parse_cutout_size([5, 5])
    size = parse_cutout_size([3, 7])
    assert (size.nx, size.ny) == (3, 7)  # columns first
    assert parse_cutout_size(5 * u.arcmin).nx == 5 * u.arcmin
    assert parse_cutout_size([4, 6] * u.pixel).ny == 6 * u.pixel
    mixed = parse_cutout_size([63 * u.arcsec, 2.1 * u.arcmin])
    assert (mixed.nx, mixed.ny) == (63 * u.arcsec, 2.1 * u.arcmin)


@pytest.mark.parametrize("bad", [0, -3, [5, 0], "ten", np.nan, 5 * u.kg, None, True])
def test_bad_sizes_are_named(bad):
    with pytest.raises(InvalidInputError, match="cutout_size"):
        parse_cutout_size(bad)


def test_angles_become_pixels_with_the_pixel_scale(wcs):
    assert parse_cutout_size(1 * u.arcmin).to_pixels(wcs) == (6, 6)
    assert parse_cutout_size([30, 50] * u.arcsec).to_pixels(wcs) == (3, 5)


def test_stamp_corner_centres_the_target_pixel():
    assert stamp_corner(10.3, 5) == 8   # round(8.3): pixels 8-12, target's pixel 10 in the middle
    assert stamp_corner(10.6, 5) == 9   # round(8.6): pixels 9-13 around pixel 11
    assert stamp_corner(10.0, 4) == 8   # round(8.5) = 8 (half to even): middle pixels 9, 10
    assert stamp_corner(10.2, 4) == 9   # round(8.7): pixels 9-12, the target between 10 and 11
    assert stamp_corner(10.7, 4) == 9   # round(9.2): target between 10 and 11
    assert stamp_corner(10.3, 1) == 10  # a 1x1 stamp is the target's own pixel
    assert stamp_corner(10.3, 5, "ceil") == 9 and stamp_corner(10.3, 5, "floor") == 8


def test_reference_corner_is_astrocut_1x():
    # round(c - n / 2), numpy's half to even.
    assert reference_corner(10.3, 5) == 8   # round(7.8)
    assert reference_corner(10.0, 5) == 8   # round(7.5) = 8
    assert reference_corner(11.0, 5) == 8   # round(8.5) = 8
    assert reference_corner(10.0, 4) == 8
    assert reference_corner(10.3, 5, "ceil") == 8 and reference_corner(10.3, 5, "floor") == 7


@pytest.mark.parametrize("seed", range(4))
def test_every_size_centres_the_target_at_random_positions(seed):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-50, 2100, 40)
    for n in range(1, 201):
        for c in centres:
            first = stamp_corner(c, n)
            pixel = int(np.floor(c + 0.5))  # the pixel holding c (pixel k spans k +- 0.5)
            if n % 2:
                assert first + (n - 1) // 2 == pixel
            else:
                # The two middle pixels: c lies between their centres.
                left = first + n // 2 - 1
                assert left <= c <= left + 1
                assert pixel in (left, left + 1)
            # The stamp centre is within half a pixel of the target, on both sides.
            assert abs(first + (n - 1) / 2 - c) <= 0.5 + 1e-9


@pytest.mark.parametrize("seed", range(2))
def test_reference_placement_sits_0_to_1_px_off(seed):
    rng = np.random.default_rng(seed)
    offsets = []
    for n in range(1, 201):
        for c in rng.uniform(0, 2000, 10):
            first = reference_corner(c, n)
            offsets.append(first + (n - 1) / 2 - c)
    offsets = np.array(offsets)
    assert offsets.min() >= -1.0 and offsets.max() <= 0.5 + 1e-9
    assert np.mean(np.abs(offsets)) > 0.3  # centred placement: < 0.25 on average


def test_stamp_window_reference_placement_and_rounding(wcs):
    target = SkyCoord(100, 30, unit="deg")  # pixel (50, 40)
    size = parse_cutout_size([5, 4])
    corner, shape = stamp_window(wcs, target, size, (80, 100), "image.fits",
                                 placement="reference")
    assert (corner, shape) == ((reference_corner(50, 5), reference_corner(40, 4)), (4, 5))
    corner, _ = stamp_window(wcs, target, size, (80, 100), "image.fits",
                             limit_rounding_method="floor")
    assert corner == (stamp_corner(50, 5, "floor"), stamp_corner(40, 4, "floor"))
    with pytest.raises(InvalidInputError, match="placement"):
        stamp_window(wcs, target, size, (80, 100), "image.fits", placement="corner")
    with pytest.raises(InvalidInputError, match="limit_rounding_method"):
        stamp_window(wcs, target, size, (80, 100), "image.fits", limit_rounding_method="up")


def test_stamp_window_centres_the_target(wcs):
    corner, shape = stamp_window(wcs, SkyCoord(100, 30, unit="deg"), parse_cutout_size([5, 3]),
                                 (80, 100), "image.fits")
    assert shape == (3, 5)
    assert corner == (stamp_corner(50, 5), stamp_corner(40, 3))
    x0, y0 = corner
    assert x0 <= 50 < x0 + 5 and y0 <= 40 < y0 + 3


def test_stamp_window_off_the_image_names_the_source(wcs):
    far = SkyCoord(100, 31, unit="deg")  # 360 pixels north
    with pytest.raises(InvalidQueryError, match="image.fits"):
        stamp_window(wcs, far, parse_cutout_size(10), (80, 100), "image.fits")
    with pytest.raises(InvalidQueryError, match="footprint of image.fits"):
        stamp_window(wcs, SkyCoord(280, -30, unit="deg"), parse_cutout_size(10), (80, 100),
                     "image.fits")


def test_overlap_of_a_stamp_hanging_off_a_corner():
    image, stamp = overlap((-2, 7), (5, 4), (10, 3))
    assert image == (slice(7, 10), slice(0, 2))
    assert stamp == (slice(0, 3), slice(2, 4))
    data = np.arange(30).reshape(10, 3)
    out = np.full((5, 4), -1)
    out[stamp] = data[image]
    assert out[0, 2] == data[7, 0] and out[3, 0] == -1
