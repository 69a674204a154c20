"""What a cube index needs from one TESS cube, read from its headers and three table rows.

The cube's image data are never read: the primary, image and table headers come through
the plugin's header reader (:func:`astrocut_tess.rawfits.read_header`), the table's rows are
viewed through the raw reader's dtype (:func:`astrocut_tess.rawfits.table_dtype`), and the
WCS is chosen and built exactly as a cutout chooses it, so an index places a stamp on the
same pixels a cutout would. Reads go through ranged reads, so a URL costs a few requests.
"""

import os
import re
import warnings

import attrs
import numpy as np
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning

from astrocut.errors import InvalidInputError
from astrocut.remote import open_ranged

from .cards import cached_card
from .cutout import _build_wcs, _choose_wcs_row
from .keywords import VALID_CTYPE2, is_wcs_input
from .rawfits import BLOCK, data_size, header_value, padded, read_header
from .rawfits import row_values as _row_values
from .rawfits import table_dtype

_NAME = re.compile(r"s(\d{4})-(\d)-(\d)")
_CHUNK = 16 * BLOCK  # table-header bytes fetched per ranged read (table rows follow it)


@attrs.frozen
class CubeHeaders:
    """A cube's identity, time range, image shape and the WCS a cutout from it would use."""

    path: str
    sector: int
    camera: int
    ccd: int
    tstart: float
    tstop: float
    n_frames: int
    image_shape: tuple  # (rows, columns)
    wcs_row: int
    wcs_header: str  # the WCS cards, one FITS header string
    wcs: object = attrs.field(eq=False, repr=False)

    @property
    def corners(self):
        """``(ra, dec)`` arrays (deg) of the image's four outer pixel corners."""
        rows, cols = self.image_shape
        x = np.array([-0.5, cols - 0.5, cols - 0.5, -0.5])
        y = np.array([-0.5, -0.5, rows - 0.5, rows - 0.5])
        ra, dec = self.wcs.all_pix2world(x, y, 0)
        return np.asarray(ra) % 360.0, np.asarray(dec)

    @property
    def pixel_scale(self):
        """Mean pixel side in degrees."""
        from astropy.wcs.utils import proj_plane_pixel_scales

        return float(np.mean(proj_plane_pixel_scales(self.wcs.celestial)))

    @classmethod
    def from_index(cls, path, wcs_header, image_shape, n_frames, wcs_row, source,
                   sector=0, camera=0, ccd=0, tstart=np.nan, tstop=np.nan):
        """Rebuild from an index file's columns (``source`` names the index in errors)."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FITSFixedWarning)
                wcs = WCS(fits.Header.fromstring(wcs_header), relax=True)
        except Exception as exc:
            raise InvalidInputError(f"index file {source!r}: the wcs of {path!r} cannot be "
                                    f"read ({type(exc).__name__}: {exc})") from None
        return cls(path=path, sector=sector, camera=camera, ccd=ccd, tstart=tstart,
                   tstop=tstop, n_frames=n_frames, image_shape=tuple(image_shape),
                   wcs_row=wcs_row, wcs_header=wcs_header, wcs=wcs)


# ------------------------------------------------------------------------- ranged reads

class _Stream:
    """``seek``/``tell``/``read`` over ranged reads for the header reader (which reads one
    2880-byte block at a time), fetching ``readahead`` bytes at once. The image header is
    followed by the image data, so reading ahead there would fetch data; the table header
    is followed only by the table rows, so reading ahead there saves requests."""

    def __init__(self, ranged):
        self._ranged = ranged
        self.readahead = BLOCK
        self._position = 0
        self._start = 0
        self._chunk = b""

    def seek(self, offset):
        self._position = offset

    def tell(self):
        return self._position

    def read(self, length):
        end = self._position + length
        if not (self._start <= self._position and end <= self._start + len(self._chunk)):
            self._start = self._position
            want = min(max(length, self.readahead), max(self._ranged.size - self._position, 0))
            self._chunk = self._ranged.read_ranges([(self._position, want)])[0] if want else b""
        piece = self._chunk[self._position - self._start:end - self._start]
        self._position += len(piece)
        return piece


# ------------------------------------------------------------------------------ reading

def read_cube_headers(path, fsspec_kwargs=None):
    """Read what the index needs from the cube at ``path`` (a local path or a URL).

    Raises
    ------
    InvalidInputError
        Naming ``path`` when it is not a TESS cube, is truncated, or names no sector,
        camera and CCD (in its primary header or its file name).
    """
    path = os.fspath(path)
    if "://" not in path:
        path = os.path.abspath(path)
    ranged = open_ranged(path, fsspec_kwargs)
    try:
        return _read(path, ranged)
    except fits.VerifyError as exc:
        raise InvalidInputError(f"{path!r} is not a cube: a header card cannot be read "
                                f"({exc})") from None
    finally:
        ranged.close()


def _read(path, ranged):
    size = ranged.size
    stream = _Stream(ranged)
    if size >= 2 and ranged.read_ranges([(0, 2)])[0] == b"\x1f\x8b":
        raise InvalidInputError(f"{path!r} is gzip-compressed: cubes are read from plain "
                                f"FITS files (decompress it first)")
    primary, offset = read_header(stream, path, 0, size)
    if str(header_value(primary, "TELESCOP", "")).strip().upper() != "TESS":
        raise InvalidInputError(f"{path!r} is not a TESS cube (TELESCOP="
                                f"{header_value(primary, 'TELESCOP')!r})")
    offset += padded(data_size(primary))
    if offset >= size:
        raise InvalidInputError(f"{path!r} is not a cube: it has no image extension")
    stream.seek(offset)
    image, data_offset = read_header(stream, path, 1, size)
    naxes = [int(header_value(image, f"NAXIS{i}", 0)) for i in range(1, 5)]
    if header_value(image, "NAXIS") != 4 or naxes[0] != 2 or min(naxes) < 1:
        raise InvalidInputError(f"{path!r} is not a TESS cube: HDU 1 is not a 4-D image of "
                                f"shape (2, n_frames, columns, rows)")
    _, n_frames, n_cols, n_rows = naxes
    table_offset = data_offset + padded(data_size(image))
    if table_offset >= size:
        raise InvalidInputError(f"{path!r} is not a complete cube: it has no table of FFI "
                                f"headers (HDU 2)")
    stream.seek(table_offset)
    stream.readahead = _CHUNK
    table, rows_offset = read_header(stream, path, 2, size)
    if int(header_value(table, "NAXIS2", -1)) != n_frames:
        raise InvalidInputError(f"{path!r}: the cube holds {n_frames} frames but its table "
                                f"has {header_value(table, 'NAXIS2')} rows")
    dtype, found = table_dtype(table, path)
    row_bytes = dtype.itemsize
    if rows_offset + row_bytes * n_frames > size:
        raise InvalidInputError(f"{path!r} is truncated: its table of FFI headers is "
                                f"incomplete")
    middle = n_frames // 2

    def rows(indices):
        chunks = ranged.read_ranges([(rows_offset + i * row_bytes, row_bytes) for i in indices])
        return [np.frombuffer(c, dtype=dtype, count=1)[0] for c in chunks]

    first, centre, last = rows([0, middle, n_frames - 1])
    wcs_row, wcs_values = middle, _row_values(centre, found)
    if str(wcs_values.get("CTYPE2", "")) != VALID_CTYPE2:
        raw = ranged.read_ranges([(rows_offset, row_bytes * n_frames)])[0]
        every = np.frombuffer(raw, dtype=dtype, count=n_frames)
        wcs_row = _choose_wcs_row(every, found, n_frames)
        if wcs_row is None:
            raise InvalidInputError(f"{path!r}: no frame of this cube has a valid WCS, so it "
                                    f"cannot be indexed by position")
        wcs_values = _row_values(every[wcs_row], found)
    wcs = _build_wcs(wcs_values, path, wcs_row)
    cards = "".join(cached_card(key, value) for key, value in wcs_values.items()
                    if is_wcs_input(key) and value != "" and not isinstance(value, bool))

    first_values, last_values = _row_values(first, found), _row_values(last, found)
    sector, camera, ccd = _identity(path, primary, wcs_values)
    return CubeHeaders(
        path=path, sector=sector, camera=camera, ccd=ccd,
        tstart=float(first_values.get("TSTART", header_value(primary, "TSTART", np.nan))),
        tstop=float(last_values.get("TSTOP", header_value(primary, "TSTOP", np.nan))),
        n_frames=n_frames, image_shape=(n_rows, n_cols), wcs_row=wcs_row,
        wcs_header=cards, wcs=wcs)


def _identity(path, primary, values):
    """Sector, camera and CCD from the primary header, the table, or the file name."""
    name = _NAME.search(os.path.basename(path))
    found = []
    for index, key in enumerate(("SECTOR", "CAMERA", "CCD")):
        value = header_value(primary, key)
        if value is None:
            value = values.get(key)
        if value is None and name is not None:
            value = name.group(index + 1)
        try:
            found.append(int(value))
        except (TypeError, ValueError):
            raise InvalidInputError(f"{path!r}: no usable {key} in the primary header, the "
                                    f"table or the file name (found {value!r})") from None
    return tuple(found)
