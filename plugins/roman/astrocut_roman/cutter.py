"""Cutting Roman images: the same stamp from every aligned array, with an exact GWCS.

Decisions
---------
* Placement is the core's (``astrocut.geometry.stamp_window``), given a TAN WCS that is exact
  at the target (:func:`.fits_wcs.local_wcs`), so stamps on ASDF and FITS images follow one
  rule and angular sizes use the GWCS's local pixel scale.
* Every array whose last two axes are the science array's (err, dq, var_*, context ...) is
  cut with the same window, so the full form of a cutout is a consistent data model. Pixels
  off the image get ``fill_value``; integer arrays get it as an integer where it is one, 0
  where it is not (NaN), since an integer array cannot hold NaN.
* The cutout's GWCS is composed (:func:`.gwcs_cutout.cutout_gwcs`), never edited, so its
  world coordinates equal the original's at every pixel.
"""

import copy
import os
import warnings

import attrs
import numpy as np

from astrocut.errors import DataWarning, InvalidQueryError
from astrocut.geometry import overlap, stamp_window
from astrocut.models import ImageCutout

from . import fits_wcs, reader
from .gwcs_cutout import cutout_gwcs


@attrs.define
class GwcsCutout(ImageCutout):
    """An :class:`~astrocut.models.ImageCutout` of an ASDF image, with what ASDF output needs.

    ``header``/``wcs`` hold the FITS WCS fitted to ``gwcs`` (for FITS and picture writers);
    ``arrays`` maps each aligned array's name to its cut (``data`` among them); ``meta`` is
    the input's metadata (a plain copy) and ``level`` its product level (``"l2"``, ``"l3"``).
    ``lite`` says which form of the metadata a FITS file of the cutout embeds
    (:mod:`.fits_embed`): the lite one, or the full one of ``ASDFCutout(lite=False)``.
    """

    gwcs: object = None
    arrays: dict = attrs.Factory(dict)
    meta: dict = attrs.Factory(dict)
    level: object = None
    extras: dict = attrs.Factory(dict)
    node_class: object = None
    max_separation: float = 0.0
    sigma: float = 0.0
    cutout2d: object = None
    lite: bool = True


def cut_asdf_images(request):
    """Cut ``request``'s stamp from every ASDF file in it; misses warn (DataWarning)."""
    cutouts = []
    for path in request.files:
        (result,) = cut_positions(path, [request.center], request.size, request.fill_value)
        if isinstance(result, InvalidQueryError):
            warnings.warn(f"skipping {path}: {result} (the cutout does not overlap the image)",
                          DataWarning, stacklevel=3)
        else:
            cutouts.append(result)
    return cutouts


def cut_file(path, center, size, fill_value=np.nan):
    """Cut one stamp from the ASDF file ``path``; raise InvalidQueryError when it misses."""
    (result,) = cut_positions(path, [center], size, fill_value)
    if isinstance(result, InvalidQueryError):
        raise result
    return result


def cut_positions(path, centers, size, fill_value=np.nan, asdf_kwargs=None, cutout2d=False):
    """Cut a stamp around each of ``centers`` from ``path``, opening the file once.

    Returns one item per centre: a :class:`GwcsCutout`, or the :class:`InvalidQueryError`
    saying why that stamp has no pixel on the image (so a caller cutting many positions
    decides how to report misses). ``cutout2d`` also makes each stamp an
    :class:`astropy.nddata.Cutout2D` of the original array (for the 1.x faces).
    """
    results = []
    with reader.open_asdf(path, asdf_kwargs) as handle:
        node = reader.image_node(handle.tree, path)
        original = node["meta"]["wcs"]
        aligned = reader.aligned_arrays(node)
        shared = {"source": os.fspath(path), "meta": _plain(node["meta"]),
                  "level": reader.product_level(node),
                  "extras": {name: _detached(value) for name, value in node.items()
                             if name != "meta" and name not in aligned},
                  "node_class": (type(node) if type(node).__module__.startswith(
                      "roman_datamodels") else None)}
        fill = fill_value, cutout2d
        for center in centers:
            try:
                results.append(_cut_one(node, original, aligned, center, size, fill, shared))
            except InvalidQueryError as exc:
                results.append(exc)
    return results


def _cut_one(node, original, aligned, center, size, fill, shared):
    fill_value, with_cutout2d = fill
    source = os.path.basename(shared["source"])
    x, y = fits_wcs.target_pixel(original, center)
    if not (np.isfinite(x) and np.isfinite(y)):
        raise InvalidQueryError(f"{center.ra.deg:.6f} {center.dec.deg:.6f} is not in the "
                                f"footprint of {source}")
    corner, shape = stamp_window(fits_wcs.local_wcs(original, x, y), center, size,
                                 tuple(node["data"].shape), source)
    arrays = {name: cut_array(node[name], corner, shape, fill_value) for name in aligned}
    stamp_gwcs = cutout_gwcs(original, corner, shape)
    wcs, max_sep, sigma = fits_wcs.fitted_fits_wcs(stamp_gwcs, shape)
    header = _header(wcs, shared["source"], corner, max_sep, sigma, shared["meta"])
    nddata = _cutout2d(node["data"], corner, shape, fill_value, wcs) if with_cutout2d else None
    return GwcsCutout(data=arrays["data"], header=header, wcs=wcs, corner=corner,
                      center=center, extension=0, gwcs=stamp_gwcs, arrays=arrays,
                      max_separation=max_sep, sigma=sigma, cutout2d=nddata, **shared)


def _cutout2d(array, corner, shape, fill_value, wcs):
    """The stamp as astropy's Cutout2D of the original array, on exactly our window.

    Cutout2D's first pixel is ``ceil(position - n / 2)``; the window's centre
    ``corner + (n - 1) / 2`` gives back ``corner`` for odd and even ``n`` alike.
    """
    from astropy.nddata import Cutout2D

    (x0, y0), (ny, nx) = corner, shape
    cutout = Cutout2D(array, position=(x0 + (nx - 1) / 2, y0 + (ny - 1) / 2), size=(ny, nx),
                      mode="partial", fill_value=_fill_for(np.dtype(array.dtype), fill_value),
                      copy=True)
    cutout.data = getattr(cutout.data, "value", cutout.data)
    wcs.pixel_shape = (nx, ny)
    cutout.wcs = wcs
    return cutout


def cut_array(array, corner, shape, fill_value):
    """The stamp of ``array`` (any leading axes kept), padded with ``fill_value``."""
    image_slices, stamp_slices = overlap(corner, shape, tuple(array.shape[-2:]))
    dtype = np.dtype(array.dtype)
    fill = _fill_for(dtype, fill_value)
    out = np.full(tuple(array.shape[:-2]) + tuple(shape), fill, dtype=dtype.newbyteorder("="))
    window = np.asarray(array[(Ellipsis,) + image_slices])
    out[(Ellipsis,) + stamp_slices] = getattr(window, "value", window)
    return out


def _fill_for(dtype, fill_value):
    if np.issubdtype(dtype, np.integer) or dtype == bool:
        try:
            return int(fill_value)
        except (TypeError, ValueError, OverflowError):
            return 0
    return fill_value


def _plain(meta):
    """A deep copy of ``meta`` detached from the open file (its GWCS included)."""
    try:
        return copy.deepcopy(dict(meta))
    except Exception:  # a node asdf cannot copy is left out rather than kept open
        return {key: value for key, value in dict(meta).items() if key != "wcs"}


def _detached(value):
    """``value`` with no reference into the open file (arrays are read into memory)."""
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        array = np.array(value)
        return getattr(array, "value", array)
    try:
        return copy.deepcopy(value)
    except Exception:  # an object asdf cannot copy is kept as it is
        return value


def _header(wcs, path, corner, max_sep, sigma, meta):
    from astropy.io import fits

    header = wcs.to_header(relax=True)
    header["EXTNAME"] = ("CUTOUT", "extension name")
    # The file's name only, as the FITS plugin writes it: a cutout of a remote file and of
    # its local copy are then the same bytes.
    header["ORIG_FLE"] = (os.path.basename(os.fspath(path)), "input file of this cutout")
    header["CUT_X0"] = (int(corner[0]), "0-based input column of the first cutout pixel")
    header["CUT_Y0"] = (int(corner[1]), "0-based input row of the first cutout pixel")
    header["WCS_MSEP"] = (max_sep, "[deg] max separation of this WCS from the GWCS")
    header["WCS_SIG"] = (sigma, "[deg] rss separation of this WCS from the GWCS")
    for keyword, value in _meta_keywords(meta):
        header[keyword] = value
    return fits.Header(header)


def _meta_keywords(meta):
    """A few descriptive keywords from Roman metadata, where present."""
    found = []
    telescope = meta.get("telescope")
    if isinstance(telescope, str):
        found.append(("TELESCOP", telescope))
    instrument = meta.get("instrument") or {}
    for key, keyword in (("name", "INSTRUME"), ("detector", "DETECTOR"),
                         ("optical_element", "FILTER")):
        value = instrument.get(key) if hasattr(instrument, "get") else None
        if isinstance(value, str):
            found.append((keyword, value))
    return found
