"""Helpers of the robustness suite: damaged inputs, snapshots of directories, hashes of cubes.

Every damaged file is made from a good one by a small, named change, so a failing corpus
case says exactly which defect the package did not explain.
"""

import hashlib
import os
import shutil

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

# ------------------------------------------------------------------------- small images

IMAGE_SHAPE = (80, 100)  # (ny, nx) of the generic test image
IMAGE_CENTER = (150.1163213, 2.2009731)
IMAGE_SCALE_DEG = 0.2 / 3600.0


def image_wcs_header(shape=IMAGE_SHAPE, center=IMAGE_CENTER):
    """A north-up TAN WCS header for a ``shape`` (ny, nx) image centred on ``center``."""
    ny, nx = shape
    header = fits.Header()
    header["WCSAXES"] = 2
    header["CTYPE1"] = "RA---TAN"
    header["CTYPE2"] = "DEC--TAN"
    header["CRPIX1"] = nx / 2.0 + 0.5
    header["CRPIX2"] = ny / 2.0 + 0.5
    header["CRVAL1"] = center[0]
    header["CRVAL2"] = center[1]
    header["CD1_1"] = -IMAGE_SCALE_DEG
    header["CD1_2"] = 0.0
    header["CD2_1"] = 0.0
    header["CD2_2"] = IMAGE_SCALE_DEG
    header["CUNIT1"] = "deg"
    header["CUNIT2"] = "deg"
    header["RADESYS"] = "ICRS"
    return header


def image_data(shape=IMAGE_SHAPE, seed=3):
    """Distinct float32 values (a ramp plus noise): any misplaced slice shows."""
    ny, nx = shape
    rng = np.random.default_rng(seed)
    ramp = np.arange(ny * nx, dtype=np.float32).reshape(ny, nx)
    return ramp + rng.random((ny, nx), dtype=np.float32)


def write_image(path, shape=IMAGE_SHAPE, header=None, data=None, in_primary=False):
    """A FITS image with a TAN WCS; the image is HDU 1 (or the primary HDU)."""
    header = image_wcs_header(shape) if header is None else header
    data = image_data(shape) if data is None else data
    if in_primary:
        hdul = fits.HDUList([fits.PrimaryHDU(data=data, header=header)])
    else:
        hdul = fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(data=data, header=header,
                                                              name="SCI")])
    hdul.writeto(path, overwrite=True)
    return str(path)


# ------------------------------------------------------------------------ damaged files

def truncate(source, target, fraction=0.5):
    """Copy of ``source`` cut to ``fraction`` of its size (a broken download)."""
    with open(source, "rb") as handle:
        content = handle.read()
    with open(target, "wb") as handle:
        handle.write(content[: int(len(content) * fraction)])
    return str(target)


def truncate_at(source, target, n_bytes):
    with open(source, "rb") as handle:
        content = handle.read(n_bytes)
    with open(target, "wb") as handle:
        handle.write(content)
    return str(target)


def patch_bytes(path, old, new):
    """Replace ``old`` by ``new`` (same length) in the file: makes cards astropy won't write."""
    assert len(old) == len(new)
    with open(path, "rb") as handle:
        content = handle.read()
    assert old in content
    with open(path, "wb") as handle:
        handle.write(content.replace(old, new))
    return str(path)


def write_text(target, text="SIMPLE  = this is not a FITS file\njust some notes\n"):
    with open(target, "w") as handle:
        handle.write(text)
    return str(target)


def write_empty(target):
    open(target, "wb").close()
    return str(target)


def write_header_only(target, telescope=None):
    """A valid FITS file holding only a header (no image anywhere)."""
    primary = fits.PrimaryHDU()
    if telescope:
        primary.header["TELESCOP"] = telescope
    primary.writeto(target, overwrite=True)
    return str(target)


def edit_ffi(source, target, *, drop_keys=(), drop_hdu=None, set_keys=None, hdus=(0, 1, 2)):
    """Copy of an FFI with keywords removed or changed (in ``hdus``) or an HDU removed."""
    with fits.open(source) as hdul:
        hdus_out = [hdu.copy() for hdu in hdul]
    for index in hdus:
        if index >= len(hdus_out):
            continue
        header = hdus_out[index].header
        for key in drop_keys:
            header.remove(key, ignore_missing=True, remove_all=True)
        for key, value in (set_keys or {}).items():
            if key in header or index == 1:
                header[key] = value
        header.remove("CHECKSUM", ignore_missing=True)
        header.remove("DATASUM", ignore_missing=True)
    if drop_hdu is not None:
        del hdus_out[drop_hdu]
    fits.HDUList(hdus_out).writeto(target, overwrite=True, output_verify="silentfix")
    return str(target)


def edit_cube_table(source, target, *, drop_columns=(), blank_ctype2=False):
    """Copy of a cube whose FFI table lost columns (or every row's valid WCS)."""
    with fits.open(source) as hdul:
        primary = hdul[0].copy()
        image = fits.ImageHDU(data=np.asarray(hdul[1].data), header=hdul[1].header.copy())
        table = hdul[2]
        columns = [c for c in table.columns if c.name not in drop_columns]
        data = {c.name: np.array(table.data[c.name]) for c in columns}
    if blank_ctype2:
        for c in columns:
            if c.name == "CTYPE2":
                data["CTYPE2"] = np.array([""] * len(data["CTYPE2"]))
    new_columns = [fits.Column(name=c.name, format=c.format, array=data[c.name])
                   for c in columns]
    table_hdu = fits.BinTableHDU.from_columns(new_columns)
    fits.HDUList([primary, image, table_hdu]).writeto(target, overwrite=True)
    return str(target)


def hdu_offsets(path):
    """``[(header_start, data_start, data_size), ...]`` of each HDU."""
    with fits.open(path) as hdul:
        return [(info["hdrLoc"], info["datLoc"], info["datSpan"])
                for info in (hdu.fileinfo() for hdu in hdul)]


# ------------------------------------------------------------------------ observations

def snapshot(directory):
    """``{relative path: (size, mtime_ns, inode)}`` of every file under ``directory``."""
    found = {}
    for root, _dirs, names in os.walk(directory):
        for name in names:
            path = os.path.join(root, name)
            st = os.stat(path)
            found[os.path.relpath(path, directory)] = (st.st_size, st.st_mtime_ns, st.st_ino)
    return found


def part_files(directory):
    """Temporary files (``*.part``) left anywhere under ``directory``."""
    return sorted(os.path.relpath(os.path.join(root, name), directory)
                  for root, _dirs, names in os.walk(directory)
                  for name in names if name.endswith(".part"))


def file_hash(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cube_digest(path):
    """SHA-256 of a cube's image data and table data (headers, with dates, left out)."""
    with fits.open(path, memmap=False) as hdul:
        image = np.ascontiguousarray(hdul[1].data).tobytes()
        table = hdul[2].data.tobytes() if hdul[2].data is not None else b""
    return hashlib.sha256(image).hexdigest(), hashlib.sha256(table).hexdigest()


def copy(source, target):
    shutil.copyfile(source, target)
    return str(target)


def wcs_of(path, hdu=1):
    with fits.open(path) as hdul:
        return WCS(hdul[hdu].header)


# -------------------------------------------------------------------- concurrency worker

def cut_worker(barrier, cube, image, cube_targets, image_targets, size, output_dir):
    """Run in a separate process: wait for the others, then cut every target into one dir."""
    from astrocut import CutoutFactory, fits_cut

    barrier.wait(timeout=60)
    for target in cube_targets:
        CutoutFactory().cube_cut(cube, target, size, output_path=output_dir)
    for target in image_targets:
        fits_cut([image], target, size, output_dir=output_dir)
        fits_cut([image], target, size, output_dir=output_dir, single_outfile=False)


def verify_checksums(path):
    """Open a FITS file checking every HDU's CHECKSUM/DATASUM; raise if one is wrong."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # astropy warns on a checksum mismatch
        with fits.open(path, checksum=True) as hdul:
            for hdu in hdul:
                _ = hdu.data


def build_worker(barrier, files, cube_file):
    """Run in a separate process: wait for the others, then build the same cube."""
    from astrocut import CubeFactory

    barrier.wait(timeout=60)
    CubeFactory().make_cube(files, cube_file, verbose=False)


def update_reader_worker(barrier, cube_file, target, size, new_length, output_dir):
    """Cut the same stamp again and again while another process updates the cube; stop a
    few cuts after the update shows (or after 20 s). Writes the time-series lengths seen."""
    import time

    from astrocut import CutoutFactory

    barrier.wait(timeout=60)
    lengths = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and lengths.count(new_length) < 3:
        hdul = CutoutFactory().cube_cut(cube_file, target, size, memory_only=True)
        lengths.append(len(hdul["PIXELS"].data))
    with open(os.path.join(output_dir, f"lengths-{os.getpid()}.txt"), "w") as handle:
        handle.write(" ".join(map(str, lengths)))
