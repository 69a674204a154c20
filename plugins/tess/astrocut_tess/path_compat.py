"""astrocut 1.x's two-step moving-target calls: ``path_to_footprints`` then ``center_on_path``.

:func:`~astrocut_tess.path_cut.cube_cut_path` does both in one pass from the cubes; these
keep 1.x scripts working. ``center_on_path`` follows the target through target pixel files
cut from a cube (1.x's input) by integer shifts, or, given cubes, calls ``cube_cut_path``.

From target pixel files whose PIXELS header says toward which position their TIMECORR was
computed (``BTC_RA``/``BTC_DEC``, as this package's ``cube_cut`` writes), each frame's time is
moved toward the target's position at that frame, as ``cube_cut_path`` does; other files'
TIME and TIMECORR are kept as they are (``TCORRTYP = 'INPUT'``).
"""

import os

import numpy as np

from astrocut.errors import InvalidInputError, InvalidQueryError
from astrocut.geometry import reference_corner, stamp_corner


def path_to_footprints(path, size, img_wcs, max_pixels=10000):
    """Rectangles of at most ``max_pixels`` that together hold the path's stamps (1.x name).

    Parameters
    ----------
    path : `~astropy.coordinates.SkyCoord`
        Positions along the path, in order.
    size : [nx, ny] or int
        Stamp size in pixels around each position: ``size[0]`` along x, as 1.x uses it
        (its docstring says ``[ny, nx]``).
    img_wcs : `~astropy.wcs.WCS`
        The image's WCS, with its pixel shape (NAXIS1/NAXIS2).
    max_pixels : int

    Returns
    -------
    list of dict
        ``{"coordinates": SkyCoord, "size": [ny, nx]}`` per rectangle, in path order (also
        under ``"center_coord"``, the key 1.x's docstring names). A stamp of ``[nx, ny]`` on
        a path position starts at ``rint(x - nx / 2)``, 1.x's placement; the rectangle's
        centre is its first pixel plus half its size, so a 1.x-placed cutout of ``size`` at
        the centre (``cube_cut(..., placement="reference")``) is that rectangle.
    """
    if img_wcs.pixel_shape is None:
        raise InvalidInputError("img_wcs must carry the image size (NAXIS1, NAXIS2)")
    nx, ny = _sides(size)
    n_cols, n_rows = img_wcs.pixel_shape
    x, y = (np.atleast_1d(v) for v in img_wcs.world_to_pixel(path))
    on = (x >= -0.5) & (x < n_cols - 0.5) & (y >= -0.5) & (y < n_rows - 0.5)
    if not on.any():
        raise InvalidQueryError("the path does not cross the image of img_wcs")
    boxes = [(x0, x0 + nx, y0, y0 + ny) for x0, y0 in
             ((reference_corner(a, nx), reference_corner(b, ny))
              for a, b in zip(x[on], y[on], strict=True))]
    merged, current = [], boxes[0]
    for box in boxes[1:]:
        joined = (min(current[0], box[0]), max(current[1], box[1]),
                  min(current[2], box[2]), max(current[3], box[3]))
        if (joined[1] - joined[0]) * (joined[3] - joined[2]) > max_pixels:
            merged.append(current)
            current = box
        else:
            current = joined
    merged.append(current)
    out = []
    for x0, x1, y0, y1 in merged:
        center = img_wcs.pixel_to_world(x0 + (x1 - x0) / 2.0, y0 + (y1 - y0) / 2.0)
        out.append({"coordinates": center, "center_coord": center,
                    "size": [int(y1 - y0), int(x1 - x0)]})
    return out


def _sides(size):
    """``(nx, ny)`` of 1.x's moving-target ``size``: an int, or ``size[0]`` along x."""
    values = [size, size] if np.ndim(size) == 0 else list(size)
    if len(values) != 2:
        raise InvalidInputError(f"size must be an integer or [nx, ny], not {size!r}")
    try:
        return tuple(int(v) for v in values)
    except (TypeError, ValueError):
        raise InvalidInputError(f"size must be whole pixels, not {size!r}") from None


def center_on_path(path, size, cutout_fles, target=None, img_wcs=None, target_pixel_file=None,
                   output_path=".", verbose=True, time_correction="target"):
    """A file of stamps of ``size`` centred on a moving target (1.x name).

    ``cutout_fles`` are target pixel files cut from cubes (as in 1.x) or cubes themselves;
    ``path`` is a Table with a Time and a SkyCoord column; ``size`` is ``[nx, ny]`` (1.x's
    ``size[0]`` is along x) or an int. Returns the file's path.

    From target pixel files the file is laid out as 1.x's: the primary header holds the
    keywords the inputs' primary headers share (with ``DATE`` and ``OBJECT``), HDU 1 the
    stamps (``INPUTn`` names the file of the rows with ``CUBE = n``), and, given
    ``img_wcs``, HDU 2 ``APERTURE``: the image's pixels any stamp covers (1), with
    ``img_wcs``'s header; the image's size when ``img_wcs`` has one, else from its first
    pixel to the last one a stamp covers. Given cubes, it is ``cube_cut_path``'s file.
    """
    from .barycentric import check_mode
    from .path_cut import _hdulist, _path_columns, _stack, cube_cut_path

    check_mode(time_correction)
    files = [os.fspath(f) for f in ([cutout_fles] if isinstance(cutout_fles, (str, os.PathLike))
                                    else cutout_fles)]
    if not files:
        raise InvalidInputError("cutout_fles is empty")
    nx, ny = _sides(size)
    name = target_pixel_file or f"{(target or 'path')}_{nx}x{ny}_astrocut.fits"
    name = name.replace("/", "-").replace(" ", "_") if not target_pixel_file else name
    output = name if os.path.dirname(name) else os.path.join(output_path, name)
    from astrocut.output import prepare_directory

    prepare_directory(os.path.dirname(output) or ".", "output_path")
    if all(_is_cube(f) for f in files):
        return cube_cut_path(files, path, [nx, ny], output_file=output,
                             time_correction=time_correction)
    times, vectors = _path_columns(path)
    parts, used, corrections, primaries = [], [], [], []
    for fle in files:
        part, header, corrected = _from_tpf(fle, times, vectors, nx, ny, len(used),
                                            time_correction)
        if part is not None:
            parts.append(part)
            used.append(_Entry(fle, header))
            corrections.append(corrected)
            primaries.append(header)
        elif verbose:
            print(f"{fle}: the path does not cross it")
    if not parts:
        raise InvalidQueryError("the path does not cross any of cutout_fles")
    hdulist = _tpf_layout(_hdulist(_stack(parts), used, nx, ny, corrections), used,
                          primaries, target, img_wcs, nx, ny)
    from astrocut.output import atomic_path

    with atomic_path(output) as temporary:
        hdulist.writeto(temporary, overwrite=True, checksum=True)
    return output


def _tpf_layout(hdulist, used, primaries, target, img_wcs, nx, ny):
    """1.x's layout of center_on_path's file from target pixel files (see there)."""
    from astropy.coordinates import SkyCoord
    from astropy.io import fits
    from astropy.time import Time

    from astrocut.combine import combine_headers

    shared = combine_headers(primaries, constant_only=True).copy()
    for key in ("CHECKSUM", "DATASUM"):
        shared.remove(key, ignore_missing=True)
    primary = fits.PrimaryHDU(header=shared)
    for card in hdulist[0].header.cards:
        if card.keyword not in ("SIMPLE", "BITPIX", "NAXIS", "EXTEND"):
            primary.header[card.keyword] = (card.value, card.comment)
    primary.header["DATE"] = (Time.now().to_value("iso", subfmt="date"), "file written")
    if target:
        primary.header["OBJECT"] = (target, "moving target name")
    primary.header["NCUBES"] = (len(used), "input files the frames come from (INPUTn)")
    pixels = hdulist[1]
    for index, entry in enumerate(used):
        pixels.header[f"INPUT{index}"] = (entry.path, f"file of the rows with CUBE = {index}")
    hdus = [primary, pixels]
    if img_wcs is not None:
        known = np.isfinite(pixels.data["TGT_RA"])
        x, y = (np.atleast_1d(v) for v in img_wcs.world_to_pixel(
            SkyCoord(pixels.data["TGT_RA"][known], pixels.data["TGT_DEC"][known], unit="deg")))
        corners = [(stamp_corner(a, nx), stamp_corner(b, ny)) for a, b in zip(x, y, strict=True)]
        shape = img_wcs.array_shape or (max([y0 + ny for _, y0 in corners] + [1]),
                                        max([x0 + nx for x0, _ in corners] + [1]))
        aperture = np.zeros(shape, np.int32)
        for x0, y0 in corners:
            aperture[max(y0, 0):max(y0 + ny, 0), max(x0, 0):max(x0 + nx, 0)] = 1
        image = fits.ImageHDU(aperture, name="APERTURE")
        image.header.extend(img_wcs.to_header(relax=True).cards)
        image.header["INHERIT"] = True
        hdus.append(image)
    return fits.HDUList(hdus)


class _Entry:
    """What the CUBES extension lists for a target pixel file."""

    def __init__(self, path, header):
        self.path = path
        self.sector, self.camera, self.ccd = (_whole(header.get(k)) for k in
                                              ("SECTOR", "CAMERA", "CCD"))


def _whole(value):
    """A header's integer, -1 where it is absent or empty (1.x's test TPFs)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def _is_cube(path):
    from astropy.io import fits

    with fits.open(path, lazy_load_hdus=True) as hdulist:
        return hdulist[1].header.get("NAXIS") == 4


def _from_tpf(path, times, vectors, nx, ny, index, time_correction="target"):
    import warnings

    from astropy.io import fits
    from astropy.wcs import WCS

    from .path_cut import OFF_IMAGE, OFF_PATH, _interpolate

    with fits.open(path) as hdulist:
        table = hdulist[1].data
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wcs = WCS(hdulist[2].header)
        shape = hdulist[2].data.shape
        header = hdulist[0].header.copy()
        time = np.asarray(table["TIME"], float)
        timecorr = np.asarray(table["TIMECORR"], float)
        ra, dec = _interpolate(times, vectors, time - timecorr)
        covered = np.isfinite(ra)
        x = np.full(len(time), np.nan)
        y = np.full(len(time), np.nan)
        if covered.any():
            x[covered], y[covered] = wcs.all_world2pix(ra[covered], dec[covered], 0)
        rows, cols = shape
        on = covered & (x >= -0.5) & (x < cols - 0.5) & (y >= -0.5) & (y < rows - 0.5)
        if not on.any():
            return None, header, None
        corrected = (_toward_path(hdulist[1].header, time, timecorr, ra, dec)
                     if time_correction == "target" else None)
        if corrected is not None:
            time, timecorr = corrected.time, corrected.timecorr
        n = len(time)
        flux = np.full((n, ny, nx), np.nan, np.float32)
        error = np.full((n, ny, nx), np.nan, np.float32)
        corner = np.zeros((n, 2), np.int32)
        for frame in np.flatnonzero(covered):
            x0, y0 = stamp_corner(x[frame], nx), stamp_corner(y[frame], ny)
            corner[frame] = (x0, y0)
            sy = slice(max(y0, 0), min(y0 + ny, rows))
            sx = slice(max(x0, 0), min(x0 + nx, cols))
            if sy.stop > sy.start and sx.stop > sx.start:
                target = (slice(sy.start - y0, sy.stop - y0), slice(sx.start - x0, sx.stop - x0))
                flux[frame][target] = table["FLUX"][frame][sy, sx]
                error[frame][target] = table["FLUX_ERR"][frame][sy, sx]
        quality = (np.asarray(table["QUALITY"], np.int32) | np.where(covered, 0, OFF_PATH)
                   | np.where(covered & ~on, OFF_IMAGE, 0))
        return {"TIME": time, "TIMECORR": timecorr.astype(np.float32),
                "CADENCENO": np.asarray(table["CADENCENO"], np.int32), "FLUX": flux,
                "FLUX_ERR": error, "QUALITY": quality.astype(np.int32),
                "FFI_FILE": np.asarray(table["FFI_FILE"]), "CUBE": np.full(n, index, np.int16),
                "TGT_X": x - corner[:, 0], "TGT_Y": y - corner[:, 1], "TGT_RA": ra,
                "TGT_DEC": dec, "CORNER_X": corner[:, 0], "CORNER_Y": corner[:, 1],
                "_on": on}, header, corrected


def _toward_path(pixels, time, timecorr, ra, dec):
    """The TPF's times moved toward the path's positions, when its PIXELS header says
    where its TIMECORR points (else None: the file's times are kept)."""
    from . import barycentric

    if pixels.get("TCORRTYP") not in ("TARGET", "FFI") or "BTC_RA" not in pixels:
        return None
    toward = (float(pixels["BTC_RA"]), float(pixels["BTC_DEC"]))
    finite = np.isfinite(time) & np.isfinite(timecorr)
    positions = (barycentric.earth_positions((time - timecorr)[finite]) if finite.any()
                 else np.zeros((0, 3)))
    times = barycentric.CubeTimes(
        time=time, barycorr=timecorr, finite=finite, positions=positions,
        reference=(float(pixels.get("BTC_REFR", np.nan)), float(pixels.get("BTC_REFD", np.nan))),
        reference_pixel=(float(pixels.get("BTC_PIX1", np.nan)),
                         float(pixels.get("BTC_PIX2", np.nan))),
        reference_source=str(pixels.get("BTC_PSRC", "")),
        reference_delay=barycentric.romer_delay(positions, *toward))
    return barycentric.apply_each(times, ra, dec)
