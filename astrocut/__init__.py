"""astrocut: cut small images and image time series out of large sets of aligned images.

The core knows no mission; missions (the built-in ones, generic FITS, third-party instruments) are
plugins found through the ``astrocut.plugins`` entry-point group.
"""

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("astrocut")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

from . import log as _log  # noqa: E402,F401  (the astrocut logger's default handler)
from .bulk import cube_cut_many, fits_cut_many  # noqa: E402
from .cubes import CubeFactory, CutoutFactory, cube_cut  # noqa: E402
from .combine import CutoutsCombiner, build_default_combine_function  # noqa: E402
from .legacy import get_center_pixel, log  # noqa: E402
from .cube_faces import CubeCutout  # noqa: E402
from . import exceptions  # noqa: E402,F401  (1.x module astrocut.exceptions)
from .images import fits_cut, img_cut  # noqa: E402
from .errors import (AstrocutError, AstrocutWarning, DataWarning, InputWarning,  # noqa: E402
                     InvalidInputError, InvalidQueryError, OutputError, PluginError,
                     PluginLoadWarning)
from .normalize import normalize_img  # noqa: E402
from .plugins import get_plugin_manager  # noqa: E402

__all__ = [
    "CubeFactory", "CutoutFactory", "fits_cut", "img_cut", "normalize_img",
    "cube_cut", "CubeCutout", "CutoutsCombiner", "build_default_combine_function", "get_center_pixel", "log",
    "cube_cut_many", "fits_cut_many",
    "get_plugin_manager", "AstrocutError", "InvalidInputError", "InvalidQueryError",
    "OutputError", "PluginError", "AstrocutWarning", "InputWarning", "DataWarning",
    "PluginLoadWarning", "__version__",
]


def __getattr__(name):
    # PEP 562: names a plugin exports (astrocut_public_api), so mission names import from
    # astrocut while the core holds none. Private names never load plugins.
    if not name.startswith("_"):
        from .public_api import plugin_public_api

        names = plugin_public_api()
        if name in names:
            return names[name]
    raise AttributeError(f"module 'astrocut' has no attribute {name!r}")


def __dir__():
    from .public_api import plugin_public_api

    return sorted(set(globals()) | set(plugin_public_api()))
