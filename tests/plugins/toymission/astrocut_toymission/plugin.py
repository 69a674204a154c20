"""Hook implementations for the Toy mission: only astrocut's public API is used."""

import os

import numpy as np
from astrocut.geometry import overlap, stamp_window
from astrocut.hookspecs import hookimpl
from astrocut.models import CubeCutout
from astrocut.output import atomic_path

from . import formats

IMAGE = "toy.image"
CUBE = "toy.cube"


@hookimpl
def astrocut_identify(path, hdulist):
    if hdulist is not None or not os.path.isfile(path):
        return None
    if formats.read_image_header(path) is not None:
        return IMAGE
    if formats.is_cube(path):
        return CUBE
    return None


@hookimpl
def astrocut_build_cube(request):
    if request.product != IMAGE:
        return None
    frames = sorted((formats.read_image(path) for path in request.files),
                    key=lambda pair: pair[0]["time"])
    with atomic_path(request.cube_file) as temporary:
        formats.write_cube(temporary, [data for _, data in frames], [h for h, _ in frames])
    return request.cube_file


class ToyCube:
    def __init__(self, path):
        self.path = path
        self.header, self.stack = formats.open_cube(path)
        self.wcs = formats.wcs_from_header(self.header["frames"][0])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.stack = None


@hookimpl
def astrocut_open_cube(path, product):
    return ToyCube(path) if product == CUBE else None


@hookimpl
def astrocut_cut_cube(cube, request):
    if not isinstance(cube, ToyCube):
        return None
    n_frames, rows, columns = cube.stack.shape
    corner, shape = stamp_window(cube.wcs, request.center, request.size, (rows, columns), cube.path)
    flux = np.full((n_frames,) + shape, np.nan, dtype=np.float32)
    aperture = np.zeros(shape, dtype=np.int32)
    image, stamp = overlap(corner, shape, (rows, columns))
    flux[(slice(None),) + stamp] = cube.stack[(slice(None),) + image]
    aperture[stamp] = 1
    times = np.array([frame["time"] for frame in cube.header["frames"]])
    return CubeCutout(flux=flux, flux_err=np.sqrt(np.abs(flux)), aperture=aperture,
                      corner=corner, image_wcs=cube.wcs, center=request.center,
                      source=cube.path, product=CUBE, metadata={"time": times})


@hookimpl
def astrocut_write(cutouts, format, path, options):
    if format != "tpf" or not cutouts or cutouts[0].product != CUBE:
        return None
    from astropy.io import fits

    cutout = cutouts[0]
    primary = fits.PrimaryHDU()
    primary.header["TELESCOP"] = "TOY"
    primary.header["CREATOR"] = "astrocut-toymission TargetPixelFile"
    pixels = fits.ImageHDU(cutout.flux, header=cutout.fitted_wcs.wcs.to_header(), name="FLUX")
    pixels.header["WCS_MSEP"] = cutout.fitted_wcs.max_separation
    times = fits.BinTableHDU.from_columns(
        [fits.Column(name="TIME", format="D", array=cutout.metadata["time"])], name="TIME")
    with atomic_path(path) as temporary:
        fits.HDUList([primary, pixels, times]).writeto(temporary)
    return path
