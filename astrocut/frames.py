"""Choosing and binning the frames of a cube cutout: a frame range, a time range, bins of k.

Mission-free: a cube plugin resolves a :class:`~astrocut.models.FrameSelection` against its
frames' start and stop times with :func:`resolve_frames`, reads only those frames, and bins
the stamp and its per-frame columns with :func:`bin_frames` and :func:`bin_column`.

Binning by ``k`` groups consecutive frames; a trailing group of fewer than ``k`` frames is
left out (its sum would not compare with the others). ``"sum"`` adds the fluxes and adds the
variances; ``"mean"`` averages the fluxes, the error being the sum's divided by ``k``. A
frame that is NaN makes its bin NaN: a bin is never the sum of fewer frames than it says.
"""

import numbers
import os

import numpy as np

from .errors import InvalidInputError, InvalidQueryError
from .models import FrameSelection

BIN_METHODS = ("sum", "mean")


def _pair(value, name, kind):
    if isinstance(value, str):
        parts = value.split(":")
        if len(parts) != 2:
            raise InvalidInputError(f"{name} {value!r}: give START:STOP (either may be empty)")
        value = [p.strip() or None for p in parts]
    try:
        start, stop = value
    except (TypeError, ValueError):
        raise InvalidInputError(f"{name} must be a pair (start, stop), got {value!r}") from None
    out = []
    for item in (start, stop):
        if item is None:
            out.append(None)
            continue
        try:
            number = kind(item)
        except (TypeError, ValueError):
            raise InvalidInputError(f"{name}: {item!r} is not a number") from None
        if kind is int and isinstance(item, numbers.Real) and float(item) != number:
            raise InvalidInputError(f"{name}: frame numbers are integers, got {item!r}")
        if kind is float and not np.isfinite(number):
            raise InvalidInputError(f"{name}: {item!r} is not finite")
        out.append(number)
    if out[0] is not None and out[1] is not None and out[1] <= out[0]:
        raise InvalidInputError(f"{name}: stop {out[1]} must be after start {out[0]}")
    return tuple(out)


def frame_selection(frames=None, times=None, bin_size=None, bin_method="sum"):
    """A :class:`FrameSelection` from what a user typed, or ``None`` for every frame.

    Parameters
    ----------
    frames : (int, int), slice or "START:STOP", optional
        Frame indices, 0-based, stop excluded (Python's slice rules; negative counts from
        the end). Either end may be ``None``.
    times : (float, float) or "START:STOP", optional
        A time range in the time system of the cube's frames; frames whose mid-time lies in
        ``[start, stop]`` are kept. Not together with ``frames``.
    bin_size : int, optional
        Bin consecutive frames by this many (1: no binning).
    bin_method : {"sum", "mean"}
    """
    if frames is not None and times is not None:
        raise InvalidInputError("give frames or times, not both")
    if isinstance(frames, slice):
        if frames.step not in (None, 1):
            raise InvalidInputError("frames: a step is not supported; use bin_size to bin")
        frames = (frames.start, frames.stop)
    frame_range = _pair(frames, "frames", int) if frames is not None else None
    time_range = _pair(times, "times", float) if times is not None else None
    if bin_size is None:
        bin_size = 1
    if isinstance(bin_size, bool) or not isinstance(bin_size, numbers.Integral) or bin_size < 1:
        raise InvalidInputError(f"bin_size must be a positive integer, got {bin_size!r}")
    if bin_method not in BIN_METHODS:
        raise InvalidInputError(f"bin_method must be 'sum' or 'mean', got {bin_method!r}")
    if frame_range is None and time_range is None and bin_size == 1:
        return None
    return FrameSelection(frames=frame_range, times=time_range, bin_size=int(bin_size),
                          bin_method=bin_method)


def resolve_frames(selection, start_times, stop_times, source):
    """``(first, stop)``: the contiguous frame indices ``selection`` keeps (stop excluded).

    Raises :class:`InvalidQueryError` naming ``source`` when no frame (or fewer than one
    bin) is left.
    """
    n = len(start_times)
    if selection is None:
        return 0, n
    if selection.frames is not None:
        first, stop, _ = slice(*selection.frames).indices(n)
        what = f"frames {selection.frames[0]}:{selection.frames[1]}"
    elif selection.times is not None:
        low, high = selection.times
        mid = (np.asarray(start_times, float) + np.asarray(stop_times, float)) / 2.0
        inside = np.ones(n, bool)
        if low is not None:
            inside &= mid >= low
        if high is not None:
            inside &= mid <= high
        found = np.flatnonzero(inside)
        first, stop = (int(found[0]), int(found[-1]) + 1) if len(found) else (0, 0)
        what = f"times {low}:{high}"
    else:
        first, stop, what = 0, n, "all frames"
    if stop - first < max(1, selection.bin_size):
        raise InvalidQueryError(f"{what} select {max(stop - first, 0)} of the {n} frames of "
                                f"{source}"
                                + (f", fewer than one bin of {selection.bin_size}"
                                   if selection.bin_size > 1 else ""))
    return first, stop


def n_bins(n_frames, bin_size):
    """Whole bins of ``bin_size`` in ``n_frames`` frames."""
    return n_frames // bin_size


def bin_frames(flux, flux_err, bin_size, method):
    """Bin ``(n, ...)`` flux and error arrays along axis 0; returns float32 arrays."""
    if bin_size == 1:
        return flux, flux_err
    k = bin_size
    n = n_bins(len(flux), k) * k
    shape = (n // k, k) + flux.shape[1:]
    grouped = flux[:n].astype(np.float64).reshape(shape)
    variance = np.square(flux_err[:n].astype(np.float64)).reshape(shape)
    total = grouped.sum(axis=1)
    error = np.sqrt(variance.sum(axis=1))
    if method == "mean":
        total /= k
        error /= k
    return total.astype(np.float32), error.astype(np.float32)


def bin_column(values, bin_size, how):
    """Bin a per-frame column: ``how`` is "mean", "first" or "or" (bitwise, for flags)."""
    values = np.asarray(values)
    if bin_size == 1:
        return values
    k = bin_size
    n = n_bins(len(values), k) * k
    grouped = values[:n].reshape((n // k, k) + values.shape[1:])
    if how == "mean":
        return grouped.astype(np.float64).mean(axis=1).astype(values.dtype
                                                              if values.dtype.kind == "f"
                                                              else np.float64)
    if how == "first":
        return grouped[:, 0]
    if how == "or":
        return np.bitwise_or.reduce(grouped, axis=1)
    raise ValueError(f"unknown binning {how!r}")


def name_part(selection):
    """The default file name's part that tells a frame selection apart (``""`` for none).

    As asked, so the name says what was requested: ``_frames{start}to{stop}`` (an open end
    left empty: ``_frames-50to``), ``_times{start}to{stop}`` (the numbers as Python writes
    them), then ``_bin{k}{method}`` for bins of more than one frame.
    """
    if selection is None:
        return ""

    def text(value):
        return "" if value is None else repr(value)

    part = ""
    if selection.frames is not None:
        part += f"_frames{text(selection.frames[0])}to{text(selection.frames[1])}"
    elif selection.times is not None:
        part += f"_times{text(selection.times[0])}to{text(selection.times[1])}"
    if selection.bin_size > 1:
        part += f"_bin{selection.bin_size}{selection.bin_method}"
    return part


def with_name_part(name, selection):
    """``name`` with :func:`name_part` before its ``_astrocut`` tail (else its extension)."""
    part = name_part(selection)
    if not part:
        return name
    stem, extension = os.path.splitext(name)
    if stem.endswith("_astrocut"):
        return f"{stem[:-len('_astrocut')]}{part}_astrocut{extension}"
    return f"{stem}{part}{extension}"
