"""Cutting stamp time series out of TESS cubes.

A :class:`TessCube` opens a cube (spec §2: HDU 1 a float32 ``(rows, columns, n_ffi, 2)``
array, HDU 2 a table with one row per FFI) once and answers any number of
:meth:`TessCube.cut` calls. Opening reads only the three headers and the table's bytes, and
keeps the few table columns a target pixel file needs and the WCS of one FFI; a cut reads
only the stamp's bytes, one contiguous run of ``nx * n_ffi * 8`` bytes per stamp row.

The cube is read by the plugin's one cube-layout reader (:mod:`astrocut_tess.cubefile`):
astropy :class:`~astropy.io.fits.Header` objects for the headers, and the table's raw rows
viewed through a numpy dtype (a cube's table has one column per FFI keyword, ~130, and
astropy spends ~15 ms building it where taking the few needed columns from the raw rows takes
well under one). The reader checks every assumption it makes, raising
:class:`~astrocut.errors.InvalidInputError` naming the problem.

Which FFI's WCS is used follows the reference tool, so stamps sit on the same pixels: the
middle row of the table (``n // 2``) if its WCS is valid, else the next valid row after it,
wrapping round to the start.
"""

import os
import warnings

import numpy as np
from astropy.wcs import WCS, FITSFixedWarning

from astrocut import remote
from astrocut.errors import InvalidInputError
from astrocut.geometry import center_pixel, overlap, radec_deg, stamp_window
from astrocut.models import CubeCutout

from . import science
from .cards import cached_card
from .cubefile import open_cube_file, read_layout
from .keywords import FILE_COLUMN, VALID_CTYPE2, is_wcs_input
from .rawfits import header_value, read_exact, row_values

CUBE_PRODUCT = "tess.cube"
# The table of FFI headers is the cube's last HDU and is read whole just after its header:
# over the network, one request for both when the table is no larger than this.
_TAIL = 16 * 1024 * 1024


class CubeInfo:
    """What a target pixel file needs from a cube, shared by every stamp cut from it.

    Holds no open file, so cutouts carrying it can travel between processes. Writers may
    keep per-cube templates in :attr:`writer_cache`.
    """

    def __init__(self, path, primary_header, image_shape, n_ffi, columns, wcs_row, wcs_values):
        self.path = path
        self.primary_header = primary_header  # astropy Header of the cube's HDU 0
        self.image_shape = image_shape        # (rows, columns) of the FFIs
        self.n_ffi = n_ffi
        self.columns = columns                # TSTART, TSTOP, BARYCORR, DQUALITY, FFIINDEX, FFI_FILE
        self.wcs_row = wcs_row                # table row whose WCS is used
        self.wcs_values = wcs_values          # {keyword: value} of that row (NaN dropped)
        self.writer_cache = {}

    @property
    def wcs_ffi(self):
        """File name of the FFI whose WCS is used."""
        return str(self.wcs_values.get("FFI_FILE", "") or "")

    def __getstate__(self):
        state = dict(self.__dict__)
        state["writer_cache"] = {}
        return state


def tpf_name(cube_file, center, shape):
    """``<cube base>_<ra>_<dec>_<nx>x<ny>_astrocut.fits`` as in the documented examples, RA
    and Dec rounded to 6 decimals (0.0036 arcsec; the seed docs' ``img_251.51_32.36_...``
    keeps its short form, where a computed position gave 16 digits)."""
    name = os.path.basename(os.fspath(cube_file).split("?")[0].rstrip("/"))
    for suffix in ("-cube.fits", ".fits"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    ny, nx = shape
    ra, dec = (round(value, 6) for value in radec_deg(center))
    return f"{name}_{ra!r}_{dec!r}_{nx}x{ny}_astrocut.fits"


class TessCube:
    """A TESS cube opened for cutting; use as a context manager or call :meth:`close`."""

    #: The writer format of its cutouts: target pixel files (astrocut_tess.plugin).
    output_format = "tpf"

    def default_name(self, center, shape):
        """The target pixel file's name (:func:`tpf_name`)."""
        return tpf_name(self.path, center, shape)

    def __init__(self, path, handle, info, wcs, data_offset, n_planes):
        self.path = path
        self._handle = handle
        self.info = info
        self.wcs = wcs
        self._data_offset = data_offset
        self._n_planes = n_planes
        self._ahead = None  # remote.ReadAhead of the stamps a batch will cut next

    # -- opening

    @classmethod
    def open(cls, path):
        """Open the cube at ``path`` (a path or URL): read its headers, table columns and WCS.

        A URL is read through :mod:`astrocut.remote`; what is read from its headers and
        table is kept per process while the file's ETag and size stay the same.
        """
        path = os.fspath(path)
        if remote.local_path(path) is None:
            reader = remote.open_ranged(path)
            cube = remote.memo(reader, "tess.cube",
                               lambda: cls._read(path, remote.RangedFile(reader, tail=_TAIL)))
            return cls(path, reader, cube.info, cube.wcs, cube._data_offset, cube._n_planes)
        path = remote.local_path(path)
        handle = open_cube_file(path)
        try:
            return cls._read(path, handle)
        except BaseException:
            handle.close()
            raise

    @classmethod
    def _read(cls, path, handle):
        layout = read_layout(handle, path)
        layout.require_columns(("TSTART", "TSTOP"))
        n_ffi = layout.n_ffi

        def column(name, kind, default):
            if not layout.has_column(name):
                return np.full(n_ffi, default, dtype=kind)
            return np.asarray(layout.column(name)).astype(kind)

        rows, found = layout.rows, layout.found
        columns = {
            "TSTART": column("TSTART", np.float64, np.nan),
            "TSTOP": column("TSTOP", np.float64, np.nan),
            "BARYCORR": column("BARYCORR", np.float64, 0.0),
            "DQUALITY": column("DQUALITY", np.int32, 0),
            "FFIINDEX": column("FFIINDEX", np.int64, 0),
            "TIMEDEL": column("TIMEDEL", np.float64, np.nan),
            FILE_COLUMN: (np.char.strip(rows[found[FILE_COLUMN][0]]) if FILE_COLUMN in found
                          else np.full(n_ffi, b"", dtype="S1")),
        }
        columns["CADENCENO"] = _cadence_numbers(columns, found, layout.primary)
        for name in ("DATE-OBS", "DATE-END"):  # a frame selection's own dates
            if layout.has_column(name):
                columns[name] = np.char.strip(np.asarray(layout.column(name)))

        wcs_row = _choose_wcs_row(rows, found, n_ffi)
        if wcs_row is None:
            raise InvalidInputError(
                f"{path!r}: no FFI in this cube has a valid WCS (no row of its table has "
                f"CTYPE2 = {VALID_CTYPE2!r}), so sky positions cannot be placed on it")
        wcs_values = row_values(rows[wcs_row], found)
        wcs = _build_wcs(wcs_values, path, wcs_row)
        info = CubeInfo(path=path, primary_header=layout.primary,
                        image_shape=layout.image_shape, n_ffi=n_ffi, columns=columns,
                        wcs_row=wcs_row, wcs_values=wcs_values)
        return cls(path, handle, info, wcs, layout.data_offset, layout.n_planes)

    # -- context manager

    def close(self):
        """Release the file."""
        if self._ahead is not None:
            self._ahead.cancel()
            self._ahead = None
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        rows, cols = self.info.image_shape
        return f"<TessCube {self.path!r}: {self.info.n_ffi} FFIs of {cols}x{rows}>"

    # -- cutting

    def window(self, request, pixel=None):
        """``(corner, (ny, nx))`` of the stamp ``request`` asks for (no data read); ``pixel``
        the target's 0-based image pixel, when known (:func:`center_pixel`)."""
        return stamp_window(self.wcs, request.center, request.size, self.info.image_shape,
                            source=self.path, placement=request.placement,
                            limit_rounding_method=request.limit_rounding_method, pixel=pixel)

    def read_stamp(self, corner, shape, frames=None):
        """Flux, uncertainty and aperture of a stamp; pixels off the image are NaN / 0.

        ``frames`` = ``(first, stop)`` reads only those frames of each pixel.
        """
        if self._handle is None:
            raise InvalidInputError(f"cube {self.path!r} is closed")
        first, stop = frames if frames is not None else (0, self.info.n_ffi)
        n_ffi = stop - first
        (iy, ix), (sy, sx) = overlap(corner, shape, self.info.image_shape)
        ny, nx = shape
        flux = np.full((n_ffi, ny, nx), np.nan, dtype=np.float32)
        flux_err = np.full((n_ffi, ny, nx), np.nan, dtype=np.float32)
        aperture = np.zeros((ny, nx), dtype=np.int32)
        rows = iy.stop - iy.start
        cols = ix.stop - ix.start
        if rows > 0 and cols > 0:
            block = self._read_block(iy, ix, rows, cols, corner, shape, (first, stop))
            # (rows, cols, n_ffi, planes) -> (n_ffi, rows, cols), byte order fixed on copy
            flux[:, sy, sx] = block[:, :, :, 0].transpose(2, 0, 1)
            flux_err[:, sy, sx] = block[:, :, :, 1].transpose(2, 0, 1)
            aperture[sy, sx] = 1
        return flux, flux_err, aperture

    def _ranges(self, corner, shape, frames=None):
        """The byte ranges of a stamp's pixels on the image: one per stamp row, or, for a
        frame range, one per pixel (each pixel's frames are contiguous, spec §2)."""
        (iy, ix), _ = overlap(corner, shape, self.info.image_shape)
        n_cols = self.info.image_shape[1]
        pixel = self.info.n_ffi * self._n_planes * 4
        first = self._data_offset + (iy.start * n_cols + ix.start) * pixel
        run = (ix.stop - ix.start) * pixel
        if run <= 0:
            return []
        starts = [first + row * n_cols * pixel for row in range(iy.stop - iy.start)]
        if frames is None or tuple(frames) == (0, self.info.n_ffi):
            return [(start, run) for start in starts]
        frame = self._n_planes * 4
        skip, length = frames[0] * frame, (frames[1] - frames[0]) * frame
        return [(start + column * pixel + skip, length) for start in starts
                for column in range(ix.stop - ix.start)]

    def prefetch(self, requests):
        """Start reading the stamps of ``requests``, cut in that order next (URLs only:
        local reads do not wait). Keeps requests in flight across targets."""
        if not getattr(self._handle, "is_remote", False):
            return
        plan = []
        for request in requests:
            try:
                corner, shape = self.window(request)
            except Exception:  # its cut raises the same error, in its own row
                continue
            plan.append(((tuple(corner), tuple(shape)), self._ranges(corner, shape)))
        if self._ahead is not None:
            self._ahead.cancel()
        self._ahead = remote.ReadAhead(self._handle, plan)

    def _start_reading(self, corner, shape):
        """Send for one stamp's bytes (URLs only), unless a read-ahead already plans them."""
        planned = self._ahead is not None and not self._ahead.exhausted
        if not planned and getattr(self._handle, "is_remote", False):
            ranges = self._ranges(corner, shape)
            if ranges:
                self._ahead = remote.ReadAhead(self._handle,
                                               [((tuple(corner), tuple(shape)), ranges)])

    def _read_block(self, iy, ix, rows, cols, corner=None, shape=None, frames=None):
        first_frame, stop_frame = frames if frames is not None else (0, self.info.n_ffi)
        n_ffi, planes = stop_frame - first_frame, self._n_planes
        n_cols = self.info.image_shape[1]
        if getattr(self._handle, "is_remote", False):
            key = (tuple(corner), tuple(shape))
            whole = n_ffi == self.info.n_ffi
            blobs = self._ahead.take(key) if self._ahead is not None and whole else None
            if blobs is None:
                blobs = self._handle.read_ranges(self._ranges(corner, shape, frames))
            return np.frombuffer(b"".join(blobs), dtype=">f4").reshape(rows, cols, n_ffi,
                                                                      planes)
        fd = self._handle.fileno()
        if n_ffi != self.info.n_ffi:
            ranges = self._ranges(corner, shape, frames)
            length = n_ffi * planes * 4
            buffer = bytearray(len(ranges) * length)
            view = memoryview(buffer)
            for index, (offset, _) in enumerate(ranges):
                read_exact(fd, view[index * length:(index + 1) * length], offset, self.path)
            return np.frombuffer(buffer, dtype=">f4").reshape(rows, cols, n_ffi, planes)
        pixel = n_ffi * planes * 4
        run = cols * pixel
        first = self._data_offset + (iy.start * n_cols + ix.start) * pixel
        buffer = bytearray(rows * run)
        if cols == n_cols:  # whole rows: one contiguous read
            read_exact(fd, memoryview(buffer), first, self.path)
        else:
            view = memoryview(buffer)
            stride = n_cols * pixel
            for row in range(rows):
                read_exact(fd, view[row * run:(row + 1) * run], first + row * stride,
                            self.path)
        return np.frombuffer(buffer, dtype=">f4").reshape(rows, cols, n_ffi, planes)

    def cut(self, request):
        """Cut ``request`` (a :class:`~astrocut.models.CubeCutRequest`): a CubeCutout."""
        # The target's pixel places the stamp and seeds its aperture.
        pixel = center_pixel(self.wcs, request.center, self.path)
        corner, shape = self.window(request, pixel)
        # cube_cut(product=...) arrives as a mission option: the pipeline that made the FFIs.
        ffi_type = request.mission_options.get("product") or "SPOC"
        selection = getattr(request, "frames", None)
        if selection is None:
            self._start_reading(corner, shape)
            # What every target of the cube shares (the Earth's positions, ~20 ms) is worked
            # out while the stamp's bytes are on their way.
            science.cube_times(self.info, self.wcs)
            flux, flux_err, aperture = self.read_stamp(corner, shape)
            info = self.info
        else:
            from .frame_select import bin_stamp, frame_range, selected_info

            first, stop = frame_range(self.info, selection, self.path)
            flux, flux_err, aperture = self.read_stamp(corner, shape, (first, stop))
            flux, flux_err = bin_stamp(flux, flux_err, selection)
            info = selected_info(self.info, first, stop, selection)
        # Per-target time, the pipeline aperture and the optional background (science.py).
        flux, aperture, extra = science.enrich(info, self.wcs, request, corner, flux,
                                               flux_err, aperture > 0, pixel=pixel)
        metadata = {"cube": info, "ffi_type": ffi_type,
                    "frames_selected": selection is not None, **extra}
        return CubeCutout(flux=flux, flux_err=flux_err, aperture=aperture, corner=corner,
                          image_wcs=self.wcs, center=request.center, source=self.path,
                          source_kind=CUBE_PRODUCT, metadata=metadata)


def _cadence_numbers(columns, found, primary):
    """Cadence number of each FFI: its FFIINDEX where the table has one, else counted from
    the first FFI's FFIINDEX (primary header) in steps of TIMEDEL, else 0 (unknown)."""
    if "FFIINDEX" in found:
        return columns["FFIINDEX"].astype(np.int32)
    first = header_value(primary, "FFIINDEX")
    timedel = columns["TIMEDEL"]
    start = columns["TSTART"]
    if (isinstance(first, int) and not isinstance(first, bool) and len(start)
            and np.all(np.isfinite(timedel)) and np.all(timedel > 0)
            and np.all(np.isfinite(start))):
        steps = np.round((start - start[0]) / timedel[0]).astype(np.int64)
        return (first + steps).astype(np.int32)
    return np.zeros(len(start), dtype=np.int32)


def _choose_wcs_row(rows, found, n_ffi):
    """Index of the row whose WCS is used, in the reference tool's order, or ``None``."""
    if "CTYPE2" not in found:
        return None
    ctype2 = rows[found["CTYPE2"][0]]
    middle = n_ffi // 2
    order = list(range(middle, n_ffi)) + list(range(middle))
    for index in order:
        if ctype2[index].strip().decode("ascii", "replace") == VALID_CTYPE2:
            return index
    return None


def _build_wcs(values, path, row):
    # A header string goes straight to wcslib, much faster than an astropy Header. The cards
    # are astropy's (full precision), remembered: opening the same cube again reuses them.
    cards = [cached_card(key, value) for key, value in values.items()
             if is_wcs_input(key) and value != "" and not isinstance(value, bool)]
    text = "".join(cards + [cached_card("NAXIS", 2)])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FITSFixedWarning)
            wcs = WCS(text, relax=True)
    except Exception as exc:
        raise InvalidInputError(f"{path!r}: the WCS of table row {row} cannot be read: "
                                f"{exc}") from None
    if not wcs.has_celestial:
        raise InvalidInputError(f"{path!r}: the WCS of table row {row} is not celestial")
    return wcs
