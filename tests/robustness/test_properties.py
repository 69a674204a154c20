"""Property tests: random positions (near and beyond the edges) and sizes on a simulated cube
and a generic image.

Positions are drawn as pixel coordinates and turned into sky positions with the full WCS
(SIP included) of the image, so the expected pixels are known. For every stamp:

* it has the requested shape;
* it holds the target's pixel (cube stamps are centred on it; image stamps of two or more
  pixels a side, see ``test_one_pixel_stamps_follow_the_reference_rounding`` for one-pixel
  sides);
* where it lies on the image it equals a direct slice of the data, and off the image it is
  NaN (and APERTURE is 0 for a target pixel file);
* a stamp with no pixel on the image is an ``InvalidQueryError``, not a file of NaNs.
"""

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

import robustness_helpers as H
from astrocut import CutoutFactory, fits_cut
from astrocut.errors import InvalidQueryError

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])
MAX_SIDE = 16


@pytest.fixture(scope="module")
def cube_truth(cube, sector):
    with fits.open(cube.path, memmap=False) as hdul:
        data = np.asarray(hdul[1].data)  # (rows, columns, n_ffi, 2)
    wcs = H.wcs_of(sector.files[len(sector.files) // 2])
    return data, wcs


def _size_argument(nx, ny, form):
    if form == "int" and nx == ny:
        return int(nx)
    if form == "pixels":
        return [nx, ny] * u.pixel
    return [nx, ny]


def _positions(shape):
    """(x, y) pixel positions (0-based), 0.05 px or more from a pixel boundary, on the image,
    near its edges and beyond them."""
    n_rows, n_cols = shape
    margin = MAX_SIDE // 2 + 2
    pixel = st.tuples(st.integers(-margin, n_cols - 1 + margin),
                      st.integers(-margin, n_rows - 1 + margin))
    offset = st.floats(-0.45, 0.45)
    return st.tuples(pixel, offset, offset).map(
        lambda t: (t[0][0] + t[1], t[0][1] + t[2]))


def _expected_window(x0, y0, nx, ny, n_cols, n_rows):
    on = np.zeros((ny, nx), bool)
    ys = np.arange(y0, y0 + ny)
    xs = np.arange(x0, x0 + nx)
    on[np.ix_((ys >= 0) & (ys < n_rows), (xs >= 0) & (xs < n_cols))] = True
    return on


def _check_containment(x, x0, n, centred=False):
    target = int(np.round(x))
    if centred:
        # Cube stamps are centred on the target: round(centre - (n - 1) / 2).
        assert x0 <= target < x0 + n, (x, x0, n)
        assert abs(x0 - (x - (n - 1) / 2)) <= 0.5 + 1e-6, (x, x0, n)
        return
    if n >= 2:
        assert x0 <= target < x0 + n, (x, x0, n)
    # Image stamps keep the reference tool's window: round(centre - n / 2), to a hair of
    # round-off.
    assert abs(x0 - (x - n / 2)) <= 0.5 + 1e-6, (x, x0, n)


@SETTINGS
@given(position=_positions((48, 64)), nx=st.integers(1, MAX_SIDE),
       ny=st.integers(1, MAX_SIDE), form=st.sampled_from(["int", "list", "pixels"]))
def test_cube_stamps(cube, cube_truth, position, nx, ny, form):
    data, wcs = cube_truth
    n_rows, n_cols = data.shape[:2]
    if form == "int":
        ny = nx
    x, y = position
    world = wcs.pixel_to_world(x, y)
    lo_x, lo_y = round(x - (nx - 1) / 2), round(y - (ny - 1) / 2)
    clearly_off = (lo_x >= n_cols + 1 or lo_y >= n_rows + 1 or lo_x + nx <= -1
                   or lo_y + ny <= -1)
    clearly_on = (n_cols - 1 > lo_x > -nx + 1) and (n_rows - 1 > lo_y > -ny + 1)
    assume(clearly_off or clearly_on)  # skip the ambiguous half-pixel frontier
    size = _size_argument(nx, ny, form)
    event("off the image" if clearly_off else "on the image")
    if clearly_off:
        with pytest.raises(InvalidQueryError):
            CutoutFactory().cube_cut(cube.path, world, size, memory_only=True)
        return
    hdul = CutoutFactory().cube_cut(cube.path, world, size, memory_only=True)
    flux = hdul["PIXELS"].data["FLUX"]
    flux_err = hdul["PIXELS"].data["FLUX_ERR"]
    aperture = hdul["APERTURE"].data
    x0 = hdul["PIXELS"].header["1CRV5P"] - 1
    y0 = hdul["PIXELS"].header["2CRV5P"] - 1
    assert flux.shape == (data.shape[2], ny, nx)
    assert flux_err.shape == flux.shape and aperture.shape == (ny, nx)
    _check_containment(x, x0, nx, centred=True)
    _check_containment(y, y0, ny, centred=True)
    on = _expected_window(x0, y0, nx, ny, n_cols, n_rows)
    event("partly off the image" if not on.all() else "wholly inside")
    np.testing.assert_array_equal(aperture & 1, on.astype(aperture.dtype))
    assert np.all(aperture[~on] == 0)
    ys, xs = np.nonzero(on)
    expected = data[ys + y0, xs + x0]  # (n_on, n_ffi, 2)
    np.testing.assert_array_equal(flux[:, ys, xs], expected[:, :, 0].T)
    np.testing.assert_array_equal(flux_err[:, ys, xs], expected[:, :, 1].T)
    assert np.isnan(flux[:, ~on]).all() and np.isnan(flux_err[:, ~on]).all()


@SETTINGS
@given(position=_positions(H.IMAGE_SHAPE), nx=st.integers(1, MAX_SIDE),
       ny=st.integers(1, MAX_SIDE), form=st.sampled_from(["int", "list", "pixels"]))
def test_image_stamps(image, position, nx, ny, form):
    n_rows, n_cols = H.IMAGE_SHAPE
    if form == "int":
        ny = nx
    x, y = position
    world = image.wcs.pixel_to_world(x, y)
    lo_x, lo_y = round(x - nx / 2), round(y - ny / 2)
    clearly_off = (lo_x >= n_cols + 1 or lo_y >= n_rows + 1 or lo_x + nx <= -1
                   or lo_y + ny <= -1)
    clearly_on = (n_cols - 1 > lo_x > -nx + 1) and (n_rows - 1 > lo_y > -ny + 1)
    assume(clearly_off or clearly_on)
    size = _size_argument(nx, ny, form)
    event("off the image" if clearly_off else "on the image")
    if clearly_off:
        with pytest.raises(InvalidQueryError):
            fits_cut([image.path], world, size, memory_only=True)
        return
    [hdul] = fits_cut([image.path], world, size, memory_only=True)
    stamp = hdul[1].data
    header = hdul[1].header
    x0, y0 = header["CRVAL1P"] - 1, header["CRVAL2P"] - 1
    assert stamp.shape == (ny, nx)
    _check_containment(x, x0, nx)
    _check_containment(y, y0, ny)
    on = _expected_window(x0, y0, nx, ny, n_cols, n_rows)
    event("partly off the image" if not on.all() else "wholly inside")
    ys, xs = np.nonzero(on)
    np.testing.assert_array_equal(stamp[ys, xs], image.data[ys + y0, xs + x0])
    assert np.isnan(stamp[~on]).all()
    # The stamp's WCS is the image's, moved: the target lands where it should.
    from astropy.wcs import WCS

    sx, sy = WCS(header).world_to_pixel(world)
    assert abs(sx - (x - x0)) < 1e-6 and abs(sy - (y - y0)) < 1e-6


@pytest.mark.parametrize("frac", [-0.3, 0.3])
def test_one_pixel_stamps_follow_the_reference_rounding(image, frac):
    """A one-pixel side starts at round(x - 1/2), as the reference tool places it: for a
    target in the lower half of a pixel that is the pixel *below* the target's pixel.
    Recorded here so a change of rule is a decision, not an accident."""
    x, y = 40 + frac, 30 + frac
    world = image.wcs.pixel_to_world(x, y)
    [hdul] = fits_cut([image.path], world, 1, memory_only=True)
    x0, y0 = hdul[1].header["CRVAL1P"] - 1, hdul[1].header["CRVAL2P"] - 1
    assert (x0, y0) == (round(x - 0.5), round(y - 0.5))
