"""Realistic Roman test files, made with roman_datamodels' makers, asdf and gwcs.

* Level 2: a WFI ``ImageModel`` whose GWCS has a detector frame, a cubic distortion into a
  focal-plane frame (about 5 px at the corners of 256x256) and a TAN projection onto the
  sky; it has no analytic inverse, so placement goes through gwcs's numerical inverse.
* Level 3: a ``MosaicModel`` on a tangent plane, with the wcsinfo fields mosaics carry.
* Plain: an untagged tree with a Quantity image, as the reference's own tests write.
Pixel values encode their position (``1000 * y + x``) so a test can tell which original
pixel a cutout pixel came from.
"""

import numpy as np
from astropy import coordinates, units as u
from astropy.modeling import models

PIXEL_SCALE_DEG = 0.11 / 3600


def position_coded(shape, dtype=np.float32):
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]]
    return (1000.0 * ys + xs).astype(dtype)


def sky_transform(ra, dec, roll=30.0):
    rotation = models.Rotation2D(roll)
    scale = models.Scale(PIXEL_SCALE_DEG) & models.Scale(PIXEL_SCALE_DEG)
    return rotation | scale | models.Pix2Sky_TAN() | models.RotateNative2Celestial(ra, dec, 180.0)


def distortion(shape, corner_shift=5.0):
    """Cubic radial distortion about the image centre, ``corner_shift`` px at the corners."""
    ny, nx = shape
    radius = np.hypot((nx - 1) / 2, (ny - 1) / 2)
    k = corner_shift / radius ** 3
    px = models.Polynomial2D(3, c1_0=1.0, c3_0=k, c1_2=k)
    py = models.Polynomial2D(3, c0_1=1.0, c0_3=k, c2_1=k)
    centre = models.Shift(-(nx - 1) / 2) & models.Shift(-(ny - 1) / 2)
    forward = centre | models.Mapping((0, 1, 0, 1)) | (px & py)
    # Roman's distortion files carry a fitted inverse polynomial; so does this one.
    forward.inverse = _fitted_inverse(forward, shape) | centre.inverse
    return forward


def _fitted_inverse(forward, shape, degree=7):
    from astropy.modeling import fitting

    ny, nx = shape
    ys, xs = np.mgrid[-8:ny + 8:4, -8:nx + 8:4].astype(float)
    us, vs = forward(xs, ys)
    xc, yc = xs - (nx - 1) / 2, ys - (ny - 1) / 2
    fitter = fitting.LinearLSQFitter()
    inverse_x = fitter(models.Polynomial2D(degree), us, vs, xc)
    inverse_y = fitter(models.Polynomial2D(degree), us, vs, yc)
    return models.Mapping((0, 1, 0, 1)) | (inverse_x & inverse_y)


def _frames():
    from gwcs import coordinate_frames as cf

    detector = cf.Frame2D(name="detector", axes_names=("x", "y"), unit=(u.pix, u.pix))
    focal = cf.Frame2D(name="focal", axes_names=("u", "v"), unit=(u.pix, u.pix))
    sky = cf.CelestialFrame(reference_frame=coordinates.ICRS(), name="world",
                            unit=(u.deg, u.deg))
    return detector, focal, sky


def l2_gwcs(shape, ra, dec, corner_shift=5.0):
    from gwcs import wcs

    detector, focal, sky = _frames()
    result = wcs.WCS([(detector, distortion(shape, corner_shift)),
                      (focal, sky_transform(ra, dec)), (sky, None)])
    ny, nx = shape
    result.bounding_box = ((-0.5, nx - 0.5), (-0.5, ny - 0.5))
    return result


def l3_gwcs(shape, ra, dec):
    from gwcs import wcs

    detector, _, sky = _frames()
    ny, nx = shape
    forward = (models.Shift(-(nx - 1) / 2) & models.Shift(-(ny - 1) / 2)) | sky_transform(ra, dec, 0.0)
    result = wcs.WCS([(detector, forward), (sky, None)])
    result.bounding_box = ((-0.5, nx - 0.5), (-0.5, ny - 0.5))
    return result


def make_l2(path, shape=(256, 256), ra=80.0, dec=-30.0, corner_shift=5.0):
    from roman_datamodels import datamodels

    model = datamodels.ImageModel.create_fake_data(shape=shape)
    model.data = position_coded(shape, model.data.dtype)
    model.err = np.full(shape, 0.5, model.err.dtype)
    model.dq = (np.arange(shape[0] * shape[1]) % 7).reshape(shape).astype(model.dq.dtype)
    model.meta.wcs = l2_gwcs(shape, ra, dec, corner_shift)
    model.meta.wcsinfo.ra_ref, model.meta.wcsinfo.dec_ref = ra, dec
    model.save(str(path))
    return path


def make_l3(path, shape=(200, 240), ra=150.0, dec=2.0):
    from roman_datamodels import datamodels

    model = datamodels.MosaicModel.create_fake_data(shape=shape)
    model.data = position_coded(shape, model.data.dtype)
    model.meta.wcs = l3_gwcs(shape, ra, dec)
    model.save(str(path))
    return path


def make_plain(path, shape=(120, 100), ra=30.0, dec=45.0, dtype=np.float64):
    import asdf

    data = position_coded(shape, dtype) * (u.electron / u.s)
    tree = {"roman": {"meta": {"wcs": l3_gwcs(shape, ra, dec),
                               "wcsinfo": {"s_region": "POLYGON ICRS 0 0 0 1 1 1 1 0"}},
                      "data": data, "dq": np.zeros(shape, np.uint32)}}
    asdf.AsdfFile(tree).write_to(str(path))
    return path


def gwcs_of(path):
    import asdf

    with asdf.open(path, lazy_load=False) as handle:
        return handle.tree["roman"]["meta"]["wcs"]


def sky_at(path, x, y):
    """'ra dec' string of 0-based pixel (x, y) of the file's GWCS."""
    ra, dec = gwcs_of(path)(x, y, with_bounding_box=False)
    return f"{float(ra)!r} {float(dec)!r}"
