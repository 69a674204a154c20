"""Scaling image data to 8-bit for PNG/JPG output, with astropy's stretches and intervals."""

import warnings

import numpy as np

from .errors import InputWarning, InvalidInputError

STRETCHES = ("asinh", "sinh", "sqrt", "log", "linear")


def _stretch(name):
    from astropy.visualization import (AsinhStretch, LinearStretch, LogStretch,
                                       SinhStretch, SqrtStretch)

    stretches = {"asinh": AsinhStretch, "sinh": SinhStretch, "sqrt": SqrtStretch,
                 "log": LogStretch, "linear": LinearStretch}
    key = str(name).lower()
    if key not in stretches:
        raise InvalidInputError(f"stretch {name!r} is not supported: choose one of "
                                f"{', '.join(STRETCHES)}")
    return stretches[key]()


def _interval(minmax_percent, minmax_value):
    from astropy.visualization import AsymmetricPercentileInterval, ManualInterval, MinMaxInterval

    if minmax_percent is not None:
        low, high = _pair(minmax_percent, "minmax_percent")
        if not 0 <= low < high <= 100:
            raise InvalidInputError(f"minmax_percent must be [low, high] with "
                                    f"0 <= low < high <= 100, got {list(minmax_percent)}")
        if minmax_value is not None:
            _check_values(minmax_value)
            # The reference tool's precedence: percentiles win when both are given.
            warnings.warn("both minmax_percent and minmax_value are set: minmax_value is "
                          "ignored", InputWarning, stacklevel=3)
        return AsymmetricPercentileInterval(low, high)
    if minmax_value is not None:
        return ManualInterval(*_check_values(minmax_value))
    return MinMaxInterval()


def _check_values(minmax_value):
    low, high = _pair(minmax_value, "minmax_value")
    if not low < high:
        raise InvalidInputError(f"minmax_value must be [min, max] with min < max, "
                                f"got {list(minmax_value)}")
    return low, high


def _pair(value, name):
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{name} must be a pair of numbers, got {value!r}") from None
    if not (np.isfinite(low) and np.isfinite(high)):
        raise InvalidInputError(f"{name} must be finite, got {value!r}")
    return low, high


def normalize_img(img_arr, stretch="asinh", minmax_percent=None, minmax_value=None, invert=False):
    """Scale an image to ``uint8`` with an astropy interval and stretch.

    The interval maps ``[vmin, vmax]`` to ``[0, 1]`` (clipping outside), the stretch is then
    applied, and the result is multiplied by 255 and truncated: exactly astropy's
    ``stretch + interval`` transform, computed in the image's own floating-point type, as
    the reference tool does, so pictures match it pixel for pixel.

    Parameters
    ----------
    img_arr : array-like
        The image (2-D). NaN and infinite pixels are left out of the interval's limits.
    stretch : str
        One of ``asinh`` (default), ``sinh``, ``sqrt``, ``log``, ``linear``
        (case-insensitive), with astropy's default parameters.
    minmax_percent : [low, high], optional
        Clip at these percentiles of the finite pixels (0 <= low < high <= 100).
    minmax_value : [min, max], optional
        Clip at these values (min < max). Ignored, with an
        :class:`~astrocut.errors.InputWarning`, when ``minmax_percent`` is also given.
        With neither, the image's finite minimum and maximum are used.
    invert : bool
        Swap black and white (``255 - value``) for the finite pixels.

    Returns
    -------
    numpy.ndarray
        ``uint8`` image of the same shape. NaN pixels are 0, also when inverted (the
        reference tool makes them 255 when inverted; this project keeps "no data" black).

    Raises
    ------
    InvalidInputError
        Not a non-empty 2-D array, an unknown stretch, or bad interval limits.
    """
    data = np.asanyarray(img_arr)
    if data.ndim != 2:
        raise InvalidInputError(f"img_arr must be a 2-D image, got {data.ndim} dimensions")
    if data.size == 0:
        raise InvalidInputError("img_arr is empty")
    if data.dtype.kind not in "biuf":
        raise InvalidInputError(f"img_arr must hold numbers, not {data.dtype}")
    transform = _stretch(stretch) + _interval(minmax_percent, minmax_value)
    if np.ma.isMaskedArray(data):
        # Masked pixels are "no data", like NaN.
        base = data.data if data.dtype.kind == "f" else data.data.astype(float)
        data = np.where(np.ma.getmaskarray(data), np.nan, base).astype(base.dtype)
    elif data.dtype.kind == "b":
        data = data.astype(np.uint8)
    if not np.isfinite(data).any():
        return np.zeros(data.shape, dtype=np.uint8)
    scaled = transform(data)
    np.multiply(255, scaled, out=scaled)
    image = np.nan_to_num(scaled, nan=0.0).astype(np.uint8)
    if invert:
        np.subtract(255, image, out=image)
        if data.dtype.kind == "f":
            image[np.isnan(data)] = 0
    return image


def check_scaling(stretch="asinh", minmax_percent=None, minmax_value=None):
    """Raise :class:`InvalidInputError` now if these scaling options would fail later."""
    _stretch(stretch)
    _interval(minmax_percent, minmax_value)
