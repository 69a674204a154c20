"""Frame ranges and binning for TESS cube cutouts.

A cube stores each pixel's time series contiguously (spec §2), so frames ``first..stop`` of
a pixel are one run of ``(stop - first) * 8`` bytes: a selection reads only those bytes.

The target pixel file of a selection is written from a :class:`~astrocut_tess.cutout.CubeInfo`
whose per-frame columns hold only the selected (and binned) frames: the writer needs no
knowledge of selections. Per bin, TIME is the mean of the frames' mid-times (the writer's
(TSTART+TSTOP)/2 of the mean TSTART and mean TSTOP), TIMECORR the mean BARYCORR, QUALITY the
OR of the frames' flags, CADENCENO and FFI_FILE those of the bin's first frame. The primary
header's TSTART/TSTOP (and DATE-OBS/DATE-END where the table has them) become the
selection's, and FRAMES (first and stop frame of the cube), BINSIZE and BINMETH record it.
"""

import numpy as np
from astropy.io import fits

from astrocut.frames import bin_column, bin_frames, resolve_frames

_HOW = {"TSTART": "mean", "TSTOP": "mean", "BARYCORR": "mean", "TIMEDEL": "mean",
        "DQUALITY": "or", "FFIINDEX": "first", "CADENCENO": "first", "FFI_FILE": "first",
        "DATE-OBS": "first", "DATE-END": "last"}


def frame_range(info, selection, source):
    """``(first, stop)`` of the frames ``selection`` keeps in a cube described by ``info``."""
    columns = info.columns
    return resolve_frames(selection, columns["TSTART"], columns["TSTOP"], source)


def selected_info(info, first, stop, selection):
    """A CubeInfo for the selected, binned frames (cached on ``info``, per selection)."""
    from .cutout import CubeInfo

    key = ("frames", first, stop, selection.bin_size, selection.bin_method)
    cache = info.__dict__.setdefault("_selections", {})
    if key in cache:
        return cache[key]
    k = selection.bin_size
    columns = {}
    for name, values in info.columns.items():
        part = np.asarray(values)[first:stop]
        how = _HOW.get(name, "first")
        if how == "last":
            n = (len(part) // k) * k
            part = part[:n].reshape(-1, k)[:, -1] if k > 1 else part
        else:
            part = bin_column(part, k, how)
        columns[name] = part
    n_out = len(columns["TSTART"])
    last = first + n_out * k  # a trailing partial bin is left out
    primary = info.primary_header.copy()
    start_times, stop_times = info.columns["TSTART"], info.columns["TSTOP"]
    primary["TSTART"] = (float(start_times[first]), primary.comments["TSTART"]
                         if "TSTART" in primary else "observation start time in BTJD")
    primary["TSTOP"] = (float(stop_times[last - 1]), primary.comments["TSTOP"]
                        if "TSTOP" in primary else "observation stop time in BTJD")
    for key, index in (("DATE-OBS", first), ("DATE-END", last - 1)):
        if key in info.columns:
            value = info.columns[key][index]
            primary[key] = value.decode() if isinstance(value, bytes) else str(value)
    primary["FRAMES"] = (f"{first}:{last}", "cube frames used (0-based, stop excluded)")
    primary["BINSIZE"] = (k, "consecutive cube frames per cadence")
    primary["BINMETH"] = (selection.bin_method, "how a bin's frames are combined")
    wcs_values = dict(info.wcs_values)
    if k > 1 and isinstance(wcs_values.get("TIMEDEL"), float):
        wcs_values["TIMEDEL"] = wcs_values["TIMEDEL"] * k
    derived = CubeInfo(path=info.path, primary_header=fits.Header(primary),
                       image_shape=info.image_shape, n_ffi=n_out, columns=columns,
                       wcs_row=info.wcs_row, wcs_values=wcs_values)
    cache[key] = derived
    return derived


def bin_stamp(flux, flux_err, selection):
    """The stamp's frames binned as ``selection`` asks (unchanged for bins of 1)."""
    return bin_frames(flux, flux_err, selection.bin_size, selection.bin_method)
