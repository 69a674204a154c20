"""The 1.x ``TessCubeCutout``: the core's :class:`astrocut.cube_faces.CubeCutout` for SPOC cubes.

Exported as ``astrocut.TessCubeCutout`` through the ``astrocut_public_api`` hook.
"""

import logging

from astrocut.cube_faces import CubeCutout

log = logging.getLogger(__name__)


class TessCubeCutout(CubeCutout):
    """Cut the same stamp from one or more TESS cubes (1.x ``TessCubeCutout``).

    The parameters and attributes are :class:`~astrocut.cube_faces.CubeCutout`'s; the stamps
    are the ones ``CutoutFactory().cube_cut`` writes, cut by the TESS plugin's hooks.
    """

    mission_options = {"product": "SPOC"}
