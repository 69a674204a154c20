"""The Toy mission's own file formats: not FITS, so only this plugin can read them."""

import json

import numpy as np

IMAGE_MAGIC = b"TOYIMAGE1\n"
CUBE_MAGIC = b"TOYCUBE1\n"


def write_image(path, data, header):
    """Write one frame: magic, a JSON header line, then float32 pixels (rows, columns)."""
    data = np.asarray(data, dtype="<f4")
    header = dict(header, shape=list(data.shape))
    with open(path, "wb") as handle:
        handle.write(IMAGE_MAGIC + json.dumps(header).encode() + b"\n")
        handle.write(data.tobytes())


def _read_header(handle, magic):
    if handle.read(len(magic)) != magic:
        return None, 0
    line = handle.readline()
    return json.loads(line), len(magic) + len(line)


def read_image_header(path):
    """The JSON header of a Toy image, or None if the file is not one."""
    with open(path, "rb") as handle:
        header, _ = _read_header(handle, IMAGE_MAGIC)
    return header


def read_image(path):
    with open(path, "rb") as handle:
        header, _ = _read_header(handle, IMAGE_MAGIC)
        data = np.frombuffer(handle.read(), dtype="<f4").reshape(header["shape"])
    return header, data


def is_cube(path):
    with open(path, "rb") as handle:
        return handle.read(len(CUBE_MAGIC)) == CUBE_MAGIC


def write_cube(path, frames, headers):
    stack = np.asarray(frames, dtype="<f4")
    header = {"shape": list(stack.shape), "frames": headers}
    with open(path, "wb") as handle:
        handle.write(CUBE_MAGIC + json.dumps(header).encode() + b"\n")
        handle.write(stack.tobytes())


def open_cube(path):
    """Header and a read-only memory map of the (n_frames, rows, columns) stack."""
    with open(path, "rb") as handle:
        header, offset = _read_header(handle, CUBE_MAGIC)
    stack = np.memmap(path, dtype="<f4", mode="r", offset=offset, shape=tuple(header["shape"]))
    return header, stack


def wcs_from_header(header):
    """The Toy mission describes its pointing with a few plain numbers: a TAN WCS."""
    from astropy.wcs import WCS

    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = header["pointing"]
    wcs.wcs.crpix = header["reference_pixel"]
    scale = header["arcsec_per_pixel"] / 3600.0
    wcs.wcs.cdelt = [-scale, scale]
    wcs.wcs.set()
    return wcs
