"""Hook implementations for the Toy mission: only astrocut's public API is used."""

import os

import numpy as np
from astrocut.plugin_api import (CubeCutout, CubeCutRequest, CubeRequest, ImageCutout,
                                 ImageCutRequest, Writer, atomic_path, hookimpl, overlap,
                                 stamp_window)

from . import formats

IMAGE = "toy.image"
CUBE = "toy.cube"
STAMP = "toy.stamp"  # the writer format of Toy cube cutouts


@hookimpl
def astrocut_identify(path: str, hdulist) -> str | None:
    if hdulist is not None or not os.path.isfile(path):
        return None
    if formats.read_image_header(path) is not None:
        return IMAGE
    if formats.is_cube(path):
        return CUBE
    return None


@hookimpl
def astrocut_build_cube(request: CubeRequest) -> str | None:
    if request.kind != IMAGE:
        return None
    frames = sorted((formats.read_image(path) for path in request.files),
                    key=lambda pair: pair[0]["time"])
    with atomic_path(request.cube_file) as temporary:
        formats.write_cube(temporary, [data for _, data in frames], [h for h, _ in frames])
    return request.cube_file


@hookimpl
def astrocut_update_cube(request: CubeRequest) -> str | None:
    if request.kind != IMAGE:
        return None
    header, stack = formats.open_cube(request.cube_file)
    frames = list(zip(header["frames"], np.array(stack)))
    frames += [formats.read_image(path) for path in request.files]
    frames.sort(key=lambda pair: pair[0]["time"])
    with atomic_path(request.cube_file) as temporary:
        formats.write_cube(temporary, [data for _, data in frames], [h for h, _ in frames])
    return request.cube_file


@hookimpl
def astrocut_cut_images(request: ImageCutRequest) -> list | None:
    if not all(os.path.isfile(p) and formats.read_image_header(p) for p in request.files):
        return None
    cutouts = []
    for path in request.files:
        header, data = formats.read_image(path)
        wcs = formats.wcs_from_header(header)
        corner, shape = stamp_window(wcs, request.center, request.size, data.shape, path)
        stamp = np.full(shape, request.fill_value, dtype=np.float32)
        image, inside = overlap(corner, shape, data.shape)
        stamp[inside] = data[image]
        stamp_wcs = wcs.deepcopy()
        stamp_wcs.wcs.crpix = wcs.wcs.crpix - np.asarray(corner)  # onto the stamp's pixels
        cutouts.append(ImageCutout(data=stamp, header=stamp_wcs.to_header(), wcs=stamp_wcs,
                                   corner=corner, center=request.center, source=path,
                                   extension=0))
    return cutouts


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

    output_format = STAMP

    def default_name(self, center, shape):
        ny, nx = shape
        name = os.path.basename(self.path)
        return f"{name}_{float(center.ra.deg)!r}_{float(center.dec.deg)!r}_{nx}x{ny}_astrocut.fits"

    def cut(self, request: CubeCutRequest) -> CubeCutout:
        n_frames, rows, columns = self.stack.shape
        corner, shape = stamp_window(self.wcs, request.center, request.size, (rows, columns),
                                     self.path, request.placement,
                                     request.limit_rounding_method)
        flux = np.full((n_frames,) + shape, np.nan, dtype=np.float32)
        aperture = np.zeros(shape, dtype=np.int32)
        image, stamp = overlap(corner, shape, (rows, columns))
        flux[(slice(None),) + stamp] = self.stack[(slice(None),) + image]
        aperture[stamp] = 1
        times = np.array([frame["time"] for frame in self.header["frames"]])
        return CubeCutout(flux=flux, flux_err=np.sqrt(np.abs(flux)), aperture=aperture,
                          corner=corner, image_wcs=self.wcs, center=request.center,
                          source=self.path, source_kind=CUBE, metadata={"time": times})


@hookimpl
def astrocut_open_cube(path: str, kind: str):
    return ToyCube(path) if kind == CUBE else None


def _write_stamp(cutouts, path, options):
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


@hookimpl
def astrocut_writers() -> list[Writer]:
    return [Writer(format=STAMP, write=_write_stamp,
                   accepts=lambda cutouts: len(cutouts) == 1
                   and getattr(cutouts[0], "source_kind", None) == CUBE,
                   description="Toy stamp time series (FITS)")]
