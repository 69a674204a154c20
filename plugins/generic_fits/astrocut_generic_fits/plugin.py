"""astrocut hook implementations for any FITS image with a celestial WCS.

Registered last (``trylast``) so that a mission plugin that knows its images better answers
first; everything here works from the FITS standard alone.
"""

from typing import Optional

import attrs

from astrocut.plugin_api import ImageCutout, ImageCutRequest, Writer, hookimpl

IMAGE = "fits.image"


@hookimpl(trylast=True)
def astrocut_identify(path: str, hdulist) -> Optional[str]:
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
def astrocut_cut_images(request: ImageCutRequest) -> Optional[list]:
    """Cut the same sky region from each FITS image."""
    from .cutter import cut_images

    return cut_images(request)


@attrs.frozen
class PictureOptions:
    """Options of the ``png`` and ``jpg`` writers (see ``writers.render``)."""

    stretch: Optional[str] = None
    minmax_percent: Optional[tuple] = None
    minmax_value: Optional[tuple] = None
    invert: bool = False
    colorize: bool = False


def _image_cutouts(cutouts) -> bool:
    return bool(cutouts) and all(isinstance(c, ImageCutout) for c in cutouts)


def _write_fits(cutouts, path, options):
    from .writers import write_fits

    return write_fits(cutouts, path)


def _picture_writer(format):
    def write(cutouts, path, options):
        from .writers import write_image

        return write_image(cutouts, path, format, attrs.asdict(options or PictureOptions()))

    return write


@hookimpl
def astrocut_writers() -> list[Writer]:
    """FITS (one CUTOUT extension per image cutout), PNG and JPG pictures."""
    return [
        Writer(format="fits", accepts=_image_cutouts, write=_write_fits,
               description="FITS file, one CUTOUT extension per image cutout"),
        Writer(format="png", accepts=_image_cutouts, write=_picture_writer("png"),
               options=PictureOptions, description="PNG picture, grey or RGB (colorize)"),
        Writer(format="jpg", accepts=_image_cutouts, write=_picture_writer("jpg"),
               options=PictureOptions, description="JPG picture, grey or RGB (colorize)"),
    ]


@hookimpl
def astrocut_public_api():
    """The 1.x ``FITSCutout`` class (``from astrocut import FITSCutout``)."""
    from .legacy import FITSCutout

    return {"FITSCutout": FITSCutout}
