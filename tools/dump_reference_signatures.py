"""Dump astrocut 1.4.0's public signatures to tests/compat/data/reference_signatures.json.

Run it with the reference tool's interpreter, from a folder outside any checkout (else it
imports this project's source):

    cd /tmp && /opt/refvenv/bin/python /path/to/tools/dump_reference_signatures.py OUT.json

tests/compat/test_signatures.py compares this package's signatures with the file (or, with
ASTROCUT_REFERENCE_PYTHON set, with a fresh dump).
"""

import inspect
import json
import math
import sys

#: The 1.x callables whose signatures this package keeps.
NAMES = [
    "cube_cut", "fits_cut", "img_cut", "normalize_img",
    "CubeFactory.__init__", "CubeFactory.make_cube", "CubeFactory.update_cube",
    "CutoutFactory.cube_cut",
    "TessCubeCutout.__init__", "TessCubeCutout.write_as_tpf", "TessCubeCutout.write_as_zip",
    "FITSCutout.__init__", "FITSCutout.write_as_fits", "FITSCutout.write_as_zip",
    "FITSCutout.get_image_cutouts", "FITSCutout.write_as_img",
    "CutoutsCombiner.__init__", "CutoutsCombiner.load", "CutoutsCombiner.build_img_combiner",
    "CutoutsCombiner.combine", "build_default_combine_function", "get_center_pixel",
]


def default_text(value):
    if value is inspect.Parameter.empty:
        return None
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return repr(value)


def describe(obj):
    return [{"name": p.name, "kind": p.kind.name, "default": default_text(p.default)}
            for p in inspect.signature(obj).parameters.values()]


def dump(module):
    out = {}
    for name in NAMES:
        obj = module
        for part in name.split("."):
            obj = getattr(obj, part)
        out[name] = describe(obj)
    return out


if __name__ == "__main__":
    import warnings

    warnings.simplefilter("ignore")
    import astrocut

    text = json.dumps({"version": astrocut.__version__, "signatures": dump(astrocut)},
                      indent=1, sort_keys=True)
    if len(sys.argv) > 1:
        with open(sys.argv[1], "w") as handle:
            handle.write(text + "\n")
    else:
        print(text)
