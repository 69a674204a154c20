"""Names the TESS plugin adds to the ``astrocut`` namespace (``astrocut_public_api``).

``find_cubes`` lives here rather than in the core because cube collections are only TESS's
so far; a second mission with collections would move it behind a core hook.
"""


def public_names():
    """``{name: object}`` exported through ``astrocut_public_api``."""
    from . import footprint
    from .collection import CubeCollection, CubeEntry
    from .footprint import (TessFootprintCutout, cube_cut_from_footprint, find_cubes,
                            ra_dec_crossmatch)
    from .path_compat import center_on_path, path_to_footprints
    from .path_cut import cube_cut_path
    from .pointing import get_tess_sectors

    return {"CubeCollection": CubeCollection, "CubeEntry": CubeEntry,
            "find_cubes": find_cubes, "cube_cut_from_footprint": cube_cut_from_footprint,
            "TessFootprintCutout": TessFootprintCutout, "ra_dec_crossmatch": ra_dec_crossmatch,
            "get_tess_sectors": get_tess_sectors, "cube_cut_path": cube_cut_path,
            "center_on_path": center_on_path, "path_to_footprints": path_to_footprints,
            # 1.x's module of these names, where get_tess_sectors finds ra_dec_crossmatch
            # (1.x's tests patch "astrocut.tess_footprint_cutout.ra_dec_crossmatch")
            "tess_footprint_cutout": footprint}
