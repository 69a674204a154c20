"""Writing GWCS cutouts as ASDF, in the lite or the full form, each file atomically.

* Lite: ``roman.data`` and ``roman.meta`` holding the cutout's GWCS, the input file's name
  and the requested position: what a cutout needs and nothing more.
* Full: the input's data model with every aligned array cut the same way, its metadata kept,
  ``meta.wcs`` replaced by the cutout's GWCS and ``meta.wcsinfo.s_region`` by the cutout's
  footprint. When the input was a Roman data model (a tagged ``WfiImage``/``WfiMosaic``),
  the cutout is written as the same model only if roman_datamodels validates it; otherwise
  it is written as a plain tree, and says so in ``meta.astrocut_note``, rather than claim
  to be a model it is not.
"""

import logging
import os

from astrocut.errors import InvalidInputError
from astrocut.output import atomic_path

from .reader import MISSION_KEY

log = logging.getLogger(__name__)


def write_asdf(cutouts, path, options):
    """Write one GWCS cutout to ``path``; ``options["lite"]`` (default True) picks the form."""
    import asdf

    if len(cutouts) != 1:
        raise InvalidInputError(f"an ASDF cutout file holds one cutout, got {len(cutouts)}: "
                                f"write one file per input")
    cutout = cutouts[0]
    lite = bool(options.get("lite", True))
    node = lite_node(cutout) if lite else full_node(cutout, os.path.basename(os.fspath(path)))
    with atomic_path(path) as temporary:
        asdf.AsdfFile({MISSION_KEY: node}).write_to(temporary)
    return os.fspath(path)


def _position(cutout):
    return cutout.center.to_string(precision=8)


def lite_meta(cutout, orig_file=None):
    """The lite form's ``meta``: the cutout's GWCS, the input path as given (or
    ``orig_file``) and the requested position."""
    return {"wcs": cutout.gwcs, "orig_file": cutout.source if orig_file is None else orig_file,
            "coordinate": _position(cutout)}


def lite_node(cutout):
    return {"meta": lite_meta(cutout), "data": cutout.arrays["data"]}


def full_meta(cutout, filename=None, orig_file=None):
    """The full form's ``meta``: the input's, with the cutout's GWCS, footprint and origin.

    ``filename`` replaces the input's ``filename`` (kept when ``None``); ``orig_file``
    replaces the input path as given.
    """
    meta = dict(cutout.meta)
    if "filename" in meta and filename is not None:
        meta["filename"] = filename
    meta["wcs"] = cutout.gwcs
    meta["orig_file"] = cutout.source if orig_file is None else orig_file
    meta["coordinate"] = _position(cutout)
    if "wcsinfo" in meta and hasattr(meta["wcsinfo"], "keys"):
        meta["wcsinfo"] = updated_wcsinfo(meta["wcsinfo"], cutout.gwcs)
    return meta


def full_node(cutout, filename):
    meta = full_meta(cutout, filename)
    content = dict(cutout.extras)
    content.update(cutout.arrays)
    content["meta"] = meta
    model = _as_model(cutout.node_class, content)
    if model is not None:
        return model
    if cutout.node_class is not None:
        meta["astrocut_note"] = (f"written as a plain tree: roman_datamodels does not validate "
                                 f"it as a {cutout.node_class.__name__}")
    return content


def _as_model(node_class, content):
    """The tagged Roman node for ``content``, or ``None`` when it does not validate."""
    if node_class is None:
        return None
    try:
        from roman_datamodels import datamodels

        model_class = datamodels.MODEL_REGISTRY.get(node_class)
        if model_class is None:
            return None
        node = node_class(content)
        model_class(node).validate()
        return node
    except Exception as exc:  # roman_datamodels absent, or the cut model is not valid
        log.info("full cutout not written as %s: %s", getattr(node_class, "__name__", node_class), exc)
        return None


# The wcsinfo fields of a mosaic that describe its pixel grid, so they change with the cut.
_MOSAIC_GRID_FIELDS = {"x_ref", "y_ref", "image_shape", "pixel_scale", "orientation"}


def updated_wcsinfo(wcsinfo, gwcs):
    """``wcsinfo`` for the cutout: its footprint, and a mosaic's grid fields where present.

    Fields that describe the sky (``ra_ref``, ``dec_ref``, the projection, the skycell) stay
    as they are; ``x_ref``/``y_ref`` become the cutout pixel of (``ra_ref``, ``dec_ref``),
    ``ra``/``dec`` the sky position of the cutout's centre, ``pixel_scale`` (deg) and
    ``orientation`` (deg east of north of the +y axis) those measured there.
    """
    info = dict(wcsinfo)
    info["s_region"] = footprint_region(gwcs)
    if not _MOSAIC_GRID_FIELDS <= set(info):
        return info
    from astropy.coordinates import SkyCoord

    nx, ny = gwcs.pixel_shape
    cx, cy = (nx - 1) / 2, (ny - 1) / 2
    ref_x, ref_y = gwcs.invert(_number(info["ra_ref"]), _number(info["dec_ref"]),
                               with_bounding_box=False)
    ra, dec = gwcs(cx, cy, with_bounding_box=False)
    centre = SkyCoord(ra, dec, unit="deg")
    step_x = SkyCoord(*gwcs(cx + 1, cy, with_bounding_box=False), unit="deg")
    step_y = SkyCoord(*gwcs(cx, cy + 1, with_bounding_box=False), unit="deg")
    info.update(x_ref=_number(ref_x), y_ref=_number(ref_y), image_shape=[ny, nx],
                ra=_number(ra), dec=_number(dec),
                pixel_scale=float((centre.separation(step_x).deg
                                   * centre.separation(step_y).deg) ** 0.5),
                orientation=float(centre.position_angle(step_y).deg))
    return info


def _number(value):
    return float(getattr(value, "value", value))


def footprint_region(gwcs):
    """``POLYGON ICRS ...`` of the four outer pixel corners of a GWCS's bounding box."""
    import numpy as np

    corners = np.asarray(gwcs.footprint(axis_type="spatial"))
    return "POLYGON ICRS " + " ".join(f"{value:.9f}" for value in corners.ravel())
