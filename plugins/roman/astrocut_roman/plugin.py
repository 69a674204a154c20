"""astrocut hook implementations for Roman ASDF images (level-2 detector images and
level-3 mosaics, each with a GWCS).

Only the magic bytes are read to recognise a file, so this module imports neither asdf nor
gwcs; a user without them gets one line naming the extra to install when a file is cut.
"""

import sys

import attrs

from astrocut.plugin_api import ImageCutRequest, Writer, hookimpl

from .reader import is_asdf

IMAGE = "roman.image"


@hookimpl
def astrocut_identify(path: str, hdulist) -> str | None:
    """An ASDF file (it starts with ``#ASDF``); FITS files are never ours."""
    if hdulist is None and is_asdf(path):
        return IMAGE
    return None


@hookimpl
def astrocut_cut_images(request: ImageCutRequest) -> list | None:
    """Cut the stamp from ASDF inputs; ``None`` when the inputs are not ASDF."""
    from astrocut.errors import InvalidInputError

    kinds = [is_asdf(path) for path in request.files]
    if not any(kinds):
        return None
    if not all(kinds):
        others = [p for p, ok in zip(request.files, kinds) if not ok]
        raise InvalidInputError(f"input_files mixes ASDF and other files ({others[0]!r}): "
                                f"cut each kind in its own call")
    from .cutter import cut_asdf_images
    from .reader import require_asdf

    require_asdf()
    return cut_asdf_images(request)


@attrs.frozen
class AsdfOptions:
    """Options of the ``asdf`` writer."""

    lite: bool = True  # the small form; False writes the full data model


def _gwcs_cutouts(cutouts) -> bool:
    from .cutter import GwcsCutout

    return bool(cutouts) and all(isinstance(c, GwcsCutout) for c in cutouts)


def _write_asdf(cutouts, path, options):
    from .writer import write_asdf

    return write_asdf(cutouts, path, attrs.asdict(options or AsdfOptions()))


@hookimpl
def astrocut_writers() -> list[Writer]:
    """GWCS cutouts as ASDF (lite by default, ``lite=False`` for the full data model)."""
    return [Writer(format="asdf", accepts=_gwcs_cutouts, write=_write_asdf, options=AsdfOptions,
                   description="ASDF file of one GWCS image cutout (option lite)")]


@hookimpl
def astrocut_fits_extensions(cutouts: list, hdulist) -> list | None:
    """An ``ASDF`` HDU embedding GWCS cutouts' metadata (1.x's ASDF-in-FITS), when
    stdatamodels is installed; ``None`` for other cutouts."""
    # No GWCS cutout exists before the cutter is imported: FITS files of other images do not
    # pay for importing it.
    if f"{__package__}.cutter" not in sys.modules or not _gwcs_cutouts(cutouts):
        return None
    from .fits_embed import asdf_hdus

    return asdf_hdus(cutouts, hdulist)


@hookimpl
def astrocut_public_api() -> dict:
    """The 1.x Roman names: ``ASDFCutout``, ``asdf_cut`` and ``RomanSpectralSubset`` (asdf is
    imported only on use)."""
    from . import legacy, spectral

    return {"ASDFCutout": legacy.ASDFCutout, "asdf_cut": legacy.asdf_cut,
            "RomanSpectralSubset": spectral.RomanSpectralSubset}
