"""astrocut hook implementations for any FITS image with a celestial WCS.

Registered last (``trylast``) so that a mission plugin that knows its images better answers
first; everything here works from the FITS standard alone.
"""

from astrocut.hookspecs import hookimpl

IMAGE = "fits.image"


@hookimpl(trylast=True)
def astrocut_identify(path, hdulist):
    """Any FITS file with an image HDU of two or more dimensions (``NAXIS >= 2``).

    ``path`` is unused: the opened ``hdulist`` says all this plugin needs.
    """
    if hdulist is None:
        return None
    for hdu in hdulist:
        if hdu.is_image and hdu.header.get("NAXIS", 0) >= 2:
            return IMAGE
    return None


@hookimpl(trylast=True)
def astrocut_cut_images(request):
    """Cut the same sky region from each FITS image."""
    from .cutter import cut_images

    return cut_images(request)


@hookimpl(trylast=True)
def astrocut_write(cutouts, format, path, options):
    """Write image cutouts as FITS, PNG or JPG."""
    from astrocut.models import ImageCutout

    if not cutouts or not all(isinstance(c, ImageCutout) for c in cutouts):
        return None
    if format == "fits":
        from .writers import write_fits

        return write_fits(cutouts, path)
    if format in ("png", "jpg"):
        from .writers import write_image

        return write_image(cutouts, path, format, options)
    return None
