"""Every hook an astrocut plugin can implement.

The core calls these hooks and knows nothing about any mission: a mission (TESS, a survey,
a third-party instrument) is a plugin that recognises its own files and answers the hooks
for them. Hooks marked *first result* stop at the first plugin that returns something
other than ``None``; a plugin returns ``None`` for inputs that are not its own.

Each hook has one job. Cutting never writes and writing never cuts, so the single-target,
bulk and distributed paths reuse the same pieces. ``docs/plugins.md`` documents each hook
with a worked example; ``tests/core/test_hook_coverage.py`` keeps the two in step.
"""

import pluggy

PROJECT_NAME = "astrocut"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec(firstresult=True)
def astrocut_identify(path, hdulist):
    """Name the kind of product ``path`` is, or return ``None`` if it is not this plugin's.

    ``hdulist`` is the file opened lazily by :func:`astropy.io.fits.open` (headers are read
    on access, data are memory-mapped), or ``None`` when the file is not FITS, so plugins for
    non-FITS formats can inspect ``path`` themselves. Return a namespaced product name such as
    ``"tess.ffi"`` or ``"tess.cube"``; the same name is passed back to the other hooks.
    """


@hookspec(firstresult=True)
def astrocut_build_cube(request):
    """Build a cube file from ``request.files`` (a :class:`astrocut.models.CubeRequest`).

    Return the path of the finished cube, or ``None`` when ``request.product`` is not this
    plugin's. The cube is written under a temporary name and renamed when complete.
    """


@hookspec(firstresult=True)
def astrocut_update_cube(request):
    """Add ``request.files`` to the existing cube ``request.cube_file``.

    Return the cube path, or ``None`` when ``request.product`` is not this plugin's. The old
    cube stays intact until the updated one is complete.
    """


@hookspec(firstresult=True)
def astrocut_open_cube(path, product):
    """Open the cube at ``path`` for cutting and return a handle, or ``None`` if not ours.

    The handle is a context manager (``close()`` releases the file) and is passed back to
    :func:`astrocut_cut_cube` for every target, so a bulk run opens a cube once per worker.
    """


@hookspec(firstresult=True)
def astrocut_cut_cube(cube, request):
    """Cut ``request`` (a :class:`astrocut.models.CubeCutRequest`) from an opened cube.

    Return a :class:`astrocut.models.CubeCutout` holding arrays and metadata, with no file
    written; return ``None`` if ``cube`` is not a handle this plugin opened.
    """


@hookspec(firstresult=True)
def astrocut_cut_images(request):
    """Cut the same region from each image in ``request`` (an ImageCutRequest).

    Return a list of :class:`astrocut.models.ImageCutout` (inputs the region misses are
    skipped with an :class:`~astrocut.errors.InputWarning`), or ``None`` if these files are
    not this plugin's.
    """


@hookspec(firstresult=True)
def astrocut_fit_wcs(wcs, corner, shape):
    """Fit a linear celestial WCS to ``wcs`` over a stamp.

    ``corner`` is the 0-based ``(x, y)`` image pixel of the stamp's first pixel and ``shape``
    the stamp's ``(ny, nx)``. Return a :class:`astrocut.models.FittedWCS` whose WCS is in stamp
    pixel coordinates. The core registers a default (``trylast``); a mission with a better
    model may answer first.
    """


@hookspec(firstresult=True)
def astrocut_write(cutouts, format, path, options):
    """Write ``cutouts`` (a list of cutout objects) to ``path`` in ``format``.

    ``format`` is one of ``"tpf"``, ``"fits"``, ``"png"``, ``"jpg"`` or a plugin's own; ``options``
    is a dict of format options (e.g. ``stretch`` for images). Return ``path`` when written
    (atomically: temporary name, then rename), or ``None`` if this plugin does not write
    these cutouts in this format.
    """


@hookspec
def astrocut_register_commands(subparsers):
    """Add subcommands to the ``astrocut`` command line.

    ``subparsers`` is the :mod:`argparse` sub-parser collection; give each parser a
    ``func`` default taking the parsed arguments and returning an exit code.
    """


@hookspec
def astrocut_public_api():
    """Return ``{name: object}``: public names this plugin adds to the ``astrocut`` namespace.

    This is how names that belong to a mission (e.g. the 1.x ``TessCubeCutout``) import from
    ``astrocut`` while the core holds no mission word: ``astrocut.__getattr__`` resolves an
    unknown attribute through this hook. Every plugin is called and the dictionaries are
    merged; a name offered by two plugins is refused with a :class:`~astrocut.errors.PluginError`
    naming both. Names the core defines itself always win. Import heavy modules inside the
    hook, so loading the plugin stays cheap.
    """
