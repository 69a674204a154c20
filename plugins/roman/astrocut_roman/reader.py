"""Opening Roman ASDF files: the one reader of this plugin's format.

A Roman file holds its image under the tree's ``roman`` key: a level-2 ``WfiImage``
(detector pixels, a GWCS with distortion) or a level-3 ``WfiMosaic`` (a tangent-plane
mosaic), each with ``data`` and ``meta.wcs``. Arrays are opened lazily and memory-mapped
(asdf's ``memmap=True``), so slicing a stamp reads only the stamp's pages.
"""

import contextlib
import os

from astrocut.errors import AstrocutError, InvalidInputError

ASDF_MAGIC = b"#ASDF"
MISSION_KEY = "roman"
INSTALL_HINT = "install the Roman extra: pip install 'astrocut[roman]'"


def is_asdf(path):
    """True when ``path`` (a local file or a URL) starts with the ASDF magic bytes."""
    from astrocut import remote

    try:
        with contextlib.closing(remote.open_ranged(path)) as source:
            if source.size < len(ASDF_MAGIC):
                return False
            (head,) = source.read_ranges([(0, len(ASDF_MAGIC))])
    except (AstrocutError, OSError, TypeError, ValueError):
        return False
    return head == ASDF_MAGIC


def require_asdf():
    """Import asdf and gwcs, or raise one line saying what to install."""
    try:
        import asdf  # noqa: F401
        import gwcs  # noqa: F401
    except ImportError as exc:
        raise InvalidInputError(f"reading ASDF files needs asdf and gwcs ({exc.name} is "
                                f"missing): {INSTALL_HINT}") from None


@contextlib.contextmanager
def open_asdf(path, asdf_kwargs=None):
    """Open ``path`` with asdf; raise the package's error if it is not readable ASDF.

    ``asdf_kwargs`` go to :func:`asdf.open` (``memmap`` defaults to True for local files).

    Local files are memory-mapped, so a stamp reads only its own pages. A URL is read through
    :func:`astrocut.remote.open_ranged` (the caller's ``fsspec_kwargs``, retries, timeout):
    asdf reads the tree, then each array that is cut as one block.
    """
    require_asdf()
    import asdf

    from astrocut import remote

    local = remote.local_path(path)
    with contextlib.ExitStack() as stack:
        if local is not None:
            source, memmap = os.fspath(local), True
        else:
            reader = stack.enter_context(contextlib.closing(remote.open_ranged(path)))
            source, memmap = remote.RangedFile(reader), False
        kwargs = {"lazy_load": True, "memmap": memmap, **(asdf_kwargs or {})}
        try:
            handle = stack.enter_context(asdf.open(source, **kwargs))
        except AstrocutError:
            raise
        except Exception as exc:  # asdf raises ValueError, OSError, yaml errors ... for bad files
            raise InvalidInputError(f"{path!r} could not be read as ASDF: "
                                    f"{type(exc).__name__}: {exc}") from None
        yield handle


def image_node(tree, path):
    """The ``roman`` node of an opened tree, with its science array and GWCS checked."""
    node = tree.get(MISSION_KEY)
    if node is None:
        raise InvalidInputError(f"{path!r} has no {MISSION_KEY!r} node: not a Roman image file")
    if "data" not in node:
        raise InvalidInputError(f"{path!r} has no roman.data array")
    meta = node.get("meta") or {}
    if meta.get("wcs") is None:
        raise InvalidInputError(f"{path!r} has no GWCS (roman.meta.wcs): it cannot be placed "
                                f"on the sky")
    shape = getattr(node["data"], "shape", ())
    if len(shape) != 2:
        raise InvalidInputError(f"{path!r}: roman.data has shape {shape}, not a 2-D image")
    return node


def aligned_arrays(node):
    """Names of the node's arrays that share the science array's last two axes, data first.

    These are the arrays a full cutout cuts with the same window (err, dq, var_* ...);
    others (reference-pixel strips, amp33 ...) are not images of the same pixels.
    """
    shape = node["data"].shape
    names = ["data"]
    for name, value in node.items():
        if name != "data" and _is_array(value) and tuple(value.shape[-2:]) == tuple(shape):
            names.append(name)
    return names


def _is_array(value):
    return hasattr(value, "shape") and hasattr(value, "dtype") and len(value.shape) >= 2


def product_level(node):
    """``"l2"`` for detector images, ``"l3"`` for mosaics, ``None`` for other trees."""
    kind = type(node).__name__
    if kind == "WfiImage":
        return "l2"
    if kind == "WfiMosaic":
        return "l3"
    level = str((node.get("meta") or {}).get("product_type", "")).lower()
    return level or None
