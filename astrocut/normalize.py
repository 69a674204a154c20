"""Scaling image data to 8-bit for PNG/JPG output, with astropy's stretches and intervals."""

import numpy as np

from .errors import InvalidInputError

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

    if minmax_value is not None:
        low, high = _pair(minmax_value, "minmax_value")
        if not low < high:
            raise InvalidInputError(f"minmax_value must be [min, max] with min < max, "
                                    f"got {list(minmax_value)}")
        return ManualInterval(low, high)
    if minmax_percent is not None:
        low, high = _pair(minmax_percent, "minmax_percent")
        if not 0 <= low < high <= 100:
            raise InvalidInputError(f"minmax_percent must be [low, high] with "
                                    f"0 <= low < high <= 100, got {list(minmax_percent)}")
        return AsymmetricPercentileInterval(low, high)
    return MinMaxInterval()


def _pair(value, name):
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{name} must be a pair of numbers, got {value!r}") from None
    if not (np.isfinite(low) and np.isfinite(high)):
        raise InvalidInputError(f"{name} must be finite, got {value!r}")
    return low, high


def normalize_img(img_arr, stretch="asinh", minmax_percent=None, minmax_value=None, invert=False):
    """Scale an image to ``uint8`` with an astropy stretch.

    Parameters
    ----------
    img_arr : array-like
        The image (2-D).
    stretch : str
        One of ``asinh`` (default), ``sinh``, ``sqrt``, ``log``, ``linear``.
    minmax_percent : [low, high], optional
        Clip at these percentiles of the finite pixels before stretching.
    minmax_value : [min, max], optional
        Clip at these values (takes precedence over ``minmax_percent``).
    invert : bool
        Swap black and white.

    Returns
    -------
    numpy.ndarray
        ``uint8`` image of the same shape; NaN pixels become 0.
    """
    data = np.asarray(img_arr, dtype=float)
    if data.ndim != 2:
        raise InvalidInputError(f"img_arr must be a 2-D image, got {data.ndim} dimensions")
    transform = _stretch(stretch)
    interval = _interval(minmax_percent, minmax_value)
    finite = np.isfinite(data)
    scaled = np.zeros_like(data)
    if finite.any():
        low, high = interval.get_limits(data[finite])
        if high > low:
            scaled = np.clip((data - low) / (high - low), 0.0, 1.0)
            scaled = transform(scaled, clip=True)
    if invert:
        scaled = 1.0 - scaled
    scaled = np.where(finite, scaled, 0.0)
    return np.round(scaled * 255).astype(np.uint8)


def check_scaling(stretch="asinh", minmax_percent=None, minmax_value=None):
    """Raise :class:`InvalidInputError` now if these scaling options would fail later."""
    _stretch(stretch)
    _interval(minmax_percent, minmax_value)
