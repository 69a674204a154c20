"""Roman metadata embedded in FITS cutouts (ASDF-in-FITS), as astrocut 1.x embeds it.

Decisions
---------
* A FITS file of GWCS cutouts gets an ``ASDF`` extension HDU after its CUTOUT HDUs, made by
  stdatamodels' ``asdf_in_fits`` and holding ``{"roman": {"meta": ...}}``: the ``meta`` of
  the cutout's ASDF form (lite: the cutout's GWCS, input name and position; full, with
  ``ASDFCutout(lite=False)``: the input's meta updated for the cutout, its ``filename``
  kept). Metadata only, as in 1.x: the pixels are the CUTOUT HDU's. A reader gets the exact
  GWCS back, which the fitted FITS WCS only approximates (``WCS_MSEP``).
* ``orig_file`` is the input's file name, as in ``ORIG_FLE``: a FITS cutout of a remote
  file and of its local copy stay the same bytes (docs/compatibility.md#asdf-orig-file).
* A file of several cutouts (``fits_cut`` of several ASDF images into one file):
  ``roman.meta`` is the first cutout's and ``roman.cutouts`` lists ``{"extension": i,
  "meta": ...}`` for every CUTOUT HDU ``i``, in order.
* Without stdatamodels >= 4.1 a :class:`~astrocut.exceptions.ModuleWarning` names what to
  install and the file is written without the HDU, as 1.x does. astrocut needs Python
  3.11+, so 1.x's warning for older Pythons has no case here.
"""

import warnings

from .reader import MISSION_KEY
from .writer import full_meta, lite_meta

MINIMUM_STDATAMODELS = "4.1"


def _skipped(reason):
    from astrocut.exceptions import ModuleWarning

    warnings.warn(f"ASDF-in-FITS embedding skipped: {reason}, so the FITS cutout has no ASDF "
                  f"extension; install it with pip install 'astrocut[roman]' (or "
                  f"'stdatamodels>={MINIMUM_STDATAMODELS}')", ModuleWarning, stacklevel=2)


def asdf_in_fits():
    """stdatamodels' ``asdf_in_fits`` module, or ``None`` after a ModuleWarning."""
    try:
        import stdatamodels
    except ImportError as exc:
        _skipped(f"the stdatamodels package cannot be imported ({exc})")
        return None
    from packaging.version import InvalidVersion, Version

    # The module's own version: the one imported, even where another copy is installed.
    version = str(getattr(stdatamodels, "__version__", "0"))
    try:
        too_old = Version(version) < Version(MINIMUM_STDATAMODELS)
    except InvalidVersion:
        too_old = True
    if too_old:
        _skipped(f"the stdatamodels package is not available in the correct version "
                 f"(found {version}, need >= {MINIMUM_STDATAMODELS})")
        return None
    try:
        from stdatamodels import asdf_in_fits as module
    except ImportError as exc:
        _skipped(f"the stdatamodels package cannot be imported ({exc})")
        return None
    return module


def _meta(cutout):
    name = cutout.header.get("ORIG_FLE") if cutout.header is not None else None
    return lite_meta(cutout, name) if cutout.lite else full_meta(cutout, orig_file=name)


def embedded_tree(cutouts):
    """The tree embedded in a FITS file of ``cutouts`` (GWCS cutouts, in HDU order)."""
    metas = [_meta(cutout) for cutout in cutouts]
    node = {"meta": metas[0]}
    if len(metas) > 1:
        node["cutouts"] = [{"extension": index, "meta": meta}
                           for index, meta in enumerate(metas, start=1)]
    return {MISSION_KEY: node}


def asdf_hdus(cutouts, hdulist):
    """The HDUs embedding ``cutouts``' metadata after ``hdulist`` (left unchanged), or
    ``None`` when stdatamodels is missing or too old (a ModuleWarning says so)."""
    module = asdf_in_fits()
    if module is None:
        return None
    from astropy.io import fits

    # stdatamodels appends to the list it is given: give it a copy holding the same HDUs.
    extended = module.to_hdulist(embedded_tree(cutouts), fits.HDUList(list(hdulist)))
    return list(extended)[len(hdulist):]
