"""Every hook an astrocut plugin can implement.

The core calls these hooks and knows nothing about any mission: a mission (a space telescope, a
survey, a third-party instrument) is a plugin that recognises its own files and answers the hooks
for them. Hooks marked *first result* stop at the first plugin that returns something
other than ``None``; a plugin returns ``None`` for inputs that are not its own.

Each hook has one job. Cutting never writes and writing never cuts, so the single-target,
bulk and distributed paths reuse the same pieces. ``docs/plugins.md`` documents each hook
with a worked example; ``tests/core/test_hook_coverage.py`` keeps the two in step.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, Optional

import pluggy

if TYPE_CHECKING:  # the models are only named in annotations
    from .models import CubeHandle, CubeRequest, FittedWCS, ImageCutout, ImageCutRequest, Writer

PROJECT_NAME = "astrocut"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec(firstresult=True)
def astrocut_identify(path: str, hdulist: Any) -> Optional[str]:
    """Name the kind of file ``path`` is, or return ``None`` if it is not this plugin's.

    ``hdulist`` is the file opened lazily by :func:`astropy.io.fits.open` (headers are read
    on access, data are memory-mapped), or ``None`` when the file is not FITS, so plugins for
    non-FITS formats can inspect ``path`` themselves. Return a namespaced kind such as
    ``"toy.image"`` or ``"toy.cube"``; it comes back to the plugin as ``request.kind`` or
    ``kind``. Every plugin is asked in turn: one that raises is recorded and skipped.
    """


@hookspec(firstresult=True)
def astrocut_build_cube(request: CubeRequest) -> Optional[str]:
    """Build a cube file from ``request.files`` (a :class:`astrocut.models.CubeRequest`).

    Return the path of the finished cube, or ``None`` when ``request.kind`` is not this
    plugin's. The cube is written under a temporary name and renamed when complete.
    """


@hookspec(firstresult=True)
def astrocut_update_cube(request: CubeRequest) -> Optional[str]:
    """Add ``request.files`` to the existing cube ``request.cube_file``.

    Return the cube path, or ``None`` when ``request.kind`` is not this plugin's. The old
    cube stays intact until the updated one is complete.
    """


@hookspec(firstresult=True)
def astrocut_open_cube(path: str, kind: str) -> Optional[CubeHandle]:
    """Open the cube at ``path`` (identified as ``kind``) and return a handle, or ``None``.

    The handle (:class:`astrocut.models.CubeHandle`) cuts every target itself
    (``handle.cut(request)``), names its outputs (``default_name``) and says which writer
    format they use (``output_format``), so a bulk run opens a cube once per worker.
    """


@hookspec(firstresult=True)
def astrocut_cut_images(request: ImageCutRequest) -> Optional[list[ImageCutout]]:
    """Cut the same region from each image in ``request`` (an ImageCutRequest).

    Return a list of :class:`astrocut.models.ImageCutout` (inputs the region misses are
    skipped with a :class:`~astrocut.errors.DataWarning`), or ``None`` if these files are
    not this plugin's.
    """


@hookspec(firstresult=True)
def astrocut_fit_wcs(wcs: Any, corner: tuple, shape: tuple) -> Optional[FittedWCS]:
    """Fit a linear celestial WCS to ``wcs`` over a stamp.

    ``corner`` is the 0-based ``(x, y)`` image pixel of the stamp's first pixel and ``shape``
    the stamp's ``(ny, nx)``. Return a :class:`astrocut.models.FittedWCS` whose WCS is in stamp
    pixel coordinates. The core registers a default (``trylast``); a mission with a better
    model may answer first.
    """


@hookspec
def astrocut_writers() -> list[Writer]:
    """Return the :class:`astrocut.models.Writer` objects this plugin provides.

    Each writer has a ``format`` name unique across plugins (a second writer of one format is
    refused with a :class:`~astrocut.errors.PluginError` naming both plugins), says which
    cutouts it ``accepts`` and declares its typed ``options``. ``astrocut plugins`` lists
    them.
    """


@hookspec
def astrocut_fits_extensions(cutouts: list[ImageCutout], hdulist: Any) -> Optional[list[Any]]:
    """Return extra HDUs for a FITS file of image ``cutouts``, or ``None`` if they are not yours.

    ``hdulist`` is the :class:`~astropy.io.fits.HDUList` the FITS writer has built so far
    (the primary HDU, then one ``CUTOUT`` HDU per cutout, in order): read it, do not change
    it. The HDUs returned (astropy extension HDUs: a provenance table, a metadata tree
    embedded in its own HDU ...) are appended after the cutouts, then checksummed and
    written with them, so in-memory results carry them too. Every plugin is called; a
    plugin that cannot make its HDUs (an optional package missing) warns and returns
    ``None``, and the file is written without them.
    """


@hookspec
def astrocut_register_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add subcommands to the ``astrocut`` command line.

    ``subparsers`` is the :mod:`argparse` sub-parser collection; give each parser a
    ``func`` default taking the parsed arguments and returning an exit code.
    """


@hookspec
def astrocut_public_api() -> dict[str, object]:
    """Return ``{name: object}``: public names this plugin adds to the ``astrocut`` namespace.

    This is how names that belong to a mission (e.g. the 1.x ``TessCubeCutout``) import from
    ``astrocut`` while the core holds no mission word: ``astrocut.__getattr__`` resolves an
    unknown attribute through this hook. Every plugin is called and the dictionaries are
    merged; a name offered by two plugins is refused with a :class:`~astrocut.errors.PluginError`
    naming both. Names the core defines itself always win. Import heavy modules inside the
    hook, so loading the plugin stays cheap.
    """
