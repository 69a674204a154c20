"""A tiny cube writer that follows ``tess-formats.md`` §2 literally, for checking the layout.

It loads every FFI whole with astropy and stacks them with numpy: slow and memory-hungry, but
short enough to read against the spec line by line, and it shares no code with the plugin's
builder. Tests compare the plugin's cubes with the HDU list it returns.
"""

import datetime
import os

import numpy as np
from astropy.io import fits


def _is_missing(value):
    return value is None or isinstance(value, fits.card.Undefined)


def reference_cube(files, sector=None, origin="astrocut"):
    """Return the cube of ``files`` as an in-memory `~astropy.io.fits.HDUList`.

    Spec §2, point by point:

    - HDU 0: the primary header of the earliest FFI by TSTART, CHECKSUM dropped, plus ORIGIN,
      DATE, CAMERA, CCD, SECTOR; TSTOP and DATE-END from the last FFI.
    - HDU 1: float32, numpy shape (rows, columns, n_ffi, 2); plane 0 the flux (FFI HDU 1),
      plane 1 the uncertainty (FFI HDU 2).
    - HDU 2: one row per FFI in TSTART order, one column per HDU-1 keyword (strings nA,
      int/bool J, other D; missing blank/0/NaN), plus FFI_FILE.

    Keyword columns are the union over all FFIs, ordered as in the first FFI that has a WCS,
    then by first appearance (the plugin's documented choice).
    """
    frames = []
    for path in files:
        with fits.open(path, memmap=False) as hdulist:
            frames.append({
                "path": path,
                "tstart": hdulist[1].header["TSTART"],
                "primary": hdulist[0].header.copy(),
                "header": hdulist[1].header.copy(),
                "flux": np.array(hdulist[1].data, dtype=np.float32),
                "error": np.array(hdulist[2].data, dtype=np.float32),
            })
    frames.sort(key=lambda frame: frame["tstart"])
    first, last = frames[0], frames[-1]

    primary = first["primary"].copy()
    primary.remove("CHECKSUM", ignore_missing=True)
    primary["ORIGIN"] = origin
    primary["DATE"] = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    primary["CAMERA"] = first["header"]["CAMERA"]
    primary["CCD"] = first["header"]["CCD"]
    primary["SECTOR"] = sector if sector is not None else first["primary"]["SECTOR"]
    primary["TSTOP"] = last["header"]["TSTOP"]
    primary["DATE-END"] = last["header"]["DATE-END"]

    rows, cols = first["flux"].shape
    cube = np.empty((rows, cols, len(frames), 2), dtype=np.float32)
    for index, frame in enumerate(frames):
        cube[:, :, index, 0] = frame["flux"]
        cube[:, :, index, 1] = frame["error"]

    with_wcs = [f for f in frames if f["header"].get("WCSAXES") == 2] or frames
    keys = []
    for frame in [with_wcs[0]] + frames:
        for key in frame["header"].keys():
            if key not in ("COMMENT", "HISTORY", "") and key not in keys:
                keys.append(key)
    columns = []
    for key in keys:
        values = [frame["header"].get(key) for frame in frames]
        present = [v for v in values if not _is_missing(v)]
        if any(isinstance(v, str) for v in present):
            cells = [b"" if _is_missing(v) else str(v).encode() for v in values]
            width = max(1, max(len(c) for c in cells))
            columns.append(fits.Column(name=key, format=f"{width}A",
                                       array=np.array(cells, dtype=f"S{width}")))
        elif all(isinstance(v, (bool, int)) for v in present):
            cells = [0 if _is_missing(v) else int(v) for v in values]
            columns.append(fits.Column(name=key, format="J", array=np.array(cells, np.int32)))
        else:
            cells = [np.nan if _is_missing(v) else float(v) for v in values]
            columns.append(fits.Column(name=key, format="D", array=np.array(cells, np.float64)))
    names = [os.path.basename(frame["path"]).encode() for frame in frames]
    width = max(len(n) for n in names)
    columns.append(fits.Column(name="FFI_FILE", format=f"{width}A",
                               array=np.array(names, dtype=f"S{width}")))

    return fits.HDUList([fits.PrimaryHDU(header=primary), fits.ImageHDU(data=cube),
                         fits.BinTableHDU.from_columns(columns)])
