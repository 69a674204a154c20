"""normalize_img against astropy's stretches and intervals, directly."""

import numpy as np
import pytest
from astropy.visualization import (AsinhStretch, AsymmetricPercentileInterval, LinearStretch,
                                   LogStretch, ManualInterval, MinMaxInterval, SinhStretch,
                                   SqrtStretch)
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from astrocut import normalize_img
from astrocut.errors import InputWarning, InvalidInputError

STRETCHES = {"asinh": AsinhStretch, "sinh": SinhStretch, "sqrt": SqrtStretch,
             "log": LogStretch, "linear": LinearStretch}


def astropy_uint8(data, stretch, interval):
    """What astropy gives: interval, then stretch, times 255, truncated; NaN as 0."""
    scaled = (STRETCHES[stretch]() + interval)(data)
    return np.nan_to_num(scaled * 255, nan=0).astype(np.uint8)


@pytest.fixture(scope="module")
def image():
    rng = np.random.default_rng(11)
    data = rng.lognormal(0, 1.5, (64, 80)).astype(np.float32)
    data[5, 7] = np.nan
    data[10:12, 3] = -3.0
    return data


@pytest.mark.parametrize("stretch", sorted(STRETCHES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("interval", ["minmax", "percent", "value"])
def test_matches_astropy(image, stretch, dtype, interval):
    data = image.astype(dtype)
    if interval == "minmax":
        kwargs, reference = {}, MinMaxInterval()
    elif interval == "percent":
        kwargs, reference = dict(minmax_percent=[1.5, 97]), AsymmetricPercentileInterval(1.5, 97)
    else:
        kwargs, reference = dict(minmax_value=[0.2, 8.0]), ManualInterval(0.2, 8.0)
    result = normalize_img(data, stretch.upper() if stretch == "log" else stretch, **kwargs)
    assert result.dtype == np.uint8 and result.shape == data.shape
    np.testing.assert_array_equal(result, astropy_uint8(data, stretch, reference))
    assert result[5, 7] == 0


def test_invert_and_nan(image):
    plain = normalize_img(image, "sqrt", minmax_percent=[1, 99])
    inverted = normalize_img(image, "sqrt", minmax_percent=[1, 99], invert=True)
    finite = np.isfinite(image)
    np.testing.assert_array_equal(inverted[finite], 255 - plain[finite])
    assert inverted[5, 7] == 0  # no data stays black


def test_all_nan_and_constant_images():
    assert not normalize_img(np.full((4, 5), np.nan)).any()
    assert not normalize_img(np.full((4, 5), 3.0)).any()
    assert normalize_img(np.full((4, 5), 3.0), invert=True).min() == 255


def test_integer_and_masked_input():
    data = np.arange(12, dtype=np.int16).reshape(3, 4)
    expected = astropy_uint8(data, "linear", MinMaxInterval())
    np.testing.assert_array_equal(normalize_img(data, "linear"), expected)
    masked = np.ma.masked_array(data.astype(float), mask=data == 11)
    result = normalize_img(masked, "linear")
    assert result[2, 3] == 0 and result[2, 2] == 255  # the mask is out of the limits too


def test_both_intervals_percent_wins(image):
    with pytest.warns(InputWarning, match="minmax_value is ignored"):
        both = normalize_img(image, minmax_percent=[2, 98], minmax_value=[0, 1])
    np.testing.assert_array_equal(both, normalize_img(image, minmax_percent=[2, 98]))


@pytest.mark.parametrize("kwargs, match", [
    (dict(stretch="power"), "stretch"),
    (dict(minmax_percent=[50, 50]), "minmax_percent"),
    (dict(minmax_percent=[0, 100.5]), "minmax_percent"),
    (dict(minmax_percent=[1]), "minmax_percent"),
    (dict(minmax_value=[2, 1]), "minmax_value"),
    (dict(minmax_value=[0, np.inf]), "minmax_value"),
])
def test_bad_arguments(image, kwargs, match):
    with pytest.raises(InvalidInputError, match=match):
        normalize_img(image, **kwargs)


@pytest.mark.parametrize("bad", [np.zeros(5), np.zeros((2, 2, 2)), np.zeros((0, 3)),
                                 np.array([["a", "b"]])])
def test_bad_arrays(bad):
    with pytest.raises(InvalidInputError, match="img_arr"):
        normalize_img(bad)


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, max_side=12),
                  elements=st.one_of(st.floats(-1e6, 1e6), st.just(np.nan))),
       st.sampled_from(sorted(STRETCHES)))
def test_order_preserving(data, stretch):
    """Brighter pixels are never darker, every stretch, any finite values."""
    result = normalize_img(data, stretch)
    finite = np.isfinite(data)
    values, levels = data[finite], result[finite].astype(int)
    order = np.argsort(values, kind="stable")
    assert (np.diff(levels[order]) >= 0).all()
    assert (result[~finite] == 0).all()
    if finite.any() and np.ptp(values) > 0:
        assert levels[order][-1] == 255 and levels[order][0] == 0
