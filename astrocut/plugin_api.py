"""Everything a plugin author imports, from one module.

```python
from astrocut.plugin_api import hookimpl, CubeCutout, Writer, stamp_window, atomic_path
```

The names here are the plugin contract: they keep their meaning across 2.x releases.
"""

from .errors import (AstrocutError, AstrocutWarning, DataWarning, InputWarning,
                     InvalidInputError, InvalidQueryError, OutputError, PluginError)
from .geometry import (center_pixel, overlap, parse_coordinates, parse_cutout_size,
                       side_in_pixels, stamp_corner, stamp_window)
from .hookspecs import hookimpl
from .log import get_logger
from .models import (CubeCutout, CubeCutRequest, CubeHandle, CubeRequest, CutoutSize,
                     FittedWCS, ImageCutout, ImageCutRequest, Writer)
from .output import atomic_path, prepare_directory
from .progress import Progress

logger = get_logger("astrocut.plugins")

__all__ = [
    "hookimpl",
    "CubeCutout", "CubeCutRequest", "CubeHandle", "CubeRequest", "CutoutSize", "FittedWCS",
    "ImageCutout", "ImageCutRequest", "Writer",
    "AstrocutError", "AstrocutWarning", "DataWarning", "InputWarning", "InvalidInputError",
    "InvalidQueryError", "OutputError", "PluginError",
    "center_pixel", "overlap", "parse_coordinates", "parse_cutout_size", "side_in_pixels",
    "stamp_corner", "stamp_window",
    "atomic_path", "prepare_directory", "Progress", "get_logger", "logger",
]
