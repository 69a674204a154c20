"""What a cube index needs from one TESS cube, read from its headers and three table rows.

The cube's image data are never read: the headers are read and checked by the plugin's one
cube reader (:func:`astrocut_tess.cubefile.read_layout`, without the table's rows), three
rows are then viewed through its dtype, and the WCS is chosen and built exactly as a cutout
chooses it, so an index places a stamp on the same pixels a cutout would. Reads go through
ranged reads, so a URL costs a few requests.
"""

import os
import re
import warnings

import attrs
import numpy as np
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning

from astrocut.errors import InvalidInputError
from astrocut.remote import open_ranged, remembered

from .cards import cached_card
from .cubefile import read_layout
from .cutout import _build_wcs, _choose_wcs_row
from .keywords import VALID_CTYPE2, is_wcs_input
from .rawfits import BLOCK, header_value
from .rawfits import row_values as _row_values

_NAME = re.compile(r"s(\d{4})-(\d)-(\d)")
_CHUNK = 16 * BLOCK  # table-header bytes fetched per ranged read (table rows follow it)


@attrs.frozen
class CubeIdentity:
    """Which cube: where it is, its sector, camera and CCD, its time range and frames."""

    path: str  # local path or URL
    sector: int
    camera: int
    ccd: int
    tstart: float
    tstop: float
    n_frames: int


@attrs.frozen
class CubeHeaders(CubeIdentity):
    """A cube's identity, time range, image shape and the WCS a cutout from it would use."""

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
    """``seek``/``tell``/``read``/``pread`` over ranged reads for the cube reader (whose
    header reader reads one 2880-byte block at a time), fetching ``readahead`` bytes at once.
    The image header is followed by the image data, so reading ahead there would fetch data;
    the table header is followed only by the table rows, so from there on (the cube reader
    says where, :meth:`read_ahead_from`) reading ahead saves requests."""

    def __init__(self, ranged):
        self._ranged = ranged
        self.reader = ranged  # what the cube reader takes the size and identity from
        self._ahead_from = float("inf")
        self._position = 0
        self._start = 0
        self._chunk = b""

    def read_ahead_from(self, offset):
        """Bytes from ``offset`` on may be fetched ahead of the reads."""
        self._ahead_from = offset

    def pread(self, size, offset):
        size = min(size, max(self._ranged.size - offset, 0))
        kept = remembered(self._ranged, offset, size)
        if kept is not None:
            return kept[1][offset - kept[0]:offset - kept[0] + size]
        return self._ranged.read_ranges([(offset, size)])[0] if size else b""

    def seek(self, offset):
        self._position = offset

    def tell(self):
        return self._position

    def read(self, length):
        end = self._position + length
        if not (self._start <= self._position and end <= self._start + len(self._chunk)):
            # The first bytes that opening the URL brought (its headers) serve first.
            kept = remembered(self._ranged, self._position, length)
            if kept is not None:
                self._start, self._chunk = kept
            else:
                self._start = self._position
                readahead = _CHUNK if self._position >= self._ahead_from else BLOCK
                want = min(max(length, readahead), max(self._ranged.size - self._position, 0))
                self._chunk = (self._ranged.read_ranges([(self._position, want)])[0]
                               if want else b"")
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
    finally:
        ranged.close()


def _read(path, ranged):
    stream = _Stream(ranged)
    layout = read_layout(stream, path, rows=False, before_table=stream.read_ahead_from)
    primary = layout.primary
    if str(header_value(primary, "TELESCOP", "")).strip().upper() != "TESS":
        raise InvalidInputError(f"{path!r} is not a TESS cube (TELESCOP="
                                f"{header_value(primary, 'TELESCOP')!r})")
    n_frames, (n_rows, n_cols) = layout.n_ffi, layout.image_shape
    dtype, found, start = layout.dtype, layout.found, layout.table_data_offset
    row_bytes = dtype.itemsize
    middle = n_frames // 2

    def rows(indices):
        chunks = ranged.read_ranges([(start + i * row_bytes, row_bytes) for i in indices])
        return [np.frombuffer(c, dtype=dtype, count=1)[0] for c in chunks]

    first, centre, last = rows([0, middle, n_frames - 1])
    wcs_row, wcs_values = middle, _row_values(centre, found)
    if str(wcs_values.get("CTYPE2", "")) != VALID_CTYPE2:
        raw = ranged.read_ranges([(start, row_bytes * n_frames)])[0]
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
