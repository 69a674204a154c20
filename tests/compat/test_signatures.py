"""Every 1.x callable keeps astrocut 1.4.0's signature (inspect.signature, parameter by parameter).

The reference's signatures are in data/reference_signatures.json, written by
tools/dump_reference_signatures.py with the reference's interpreter; with
ASTROCUT_REFERENCE_PYTHON set, they are dumped afresh from the installed reference instead.
"""

import json
import os
import subprocess
import sys

import pytest

import astrocut

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from dump_reference_signatures import NAMES, dump  # noqa: E402

#: Defaults that differ on purpose (docs/compatibility.md, "Signatures").
DEFAULT_DIFFERENCES = {
    # None means "the factory's max_memory": 1.x's 50 silently overrode CubeFactory(max_memory=...).
    ("CubeFactory.make_cube", "max_memory"): "None",
    ("CubeFactory.update_cube", "max_memory"): "None",
}


def _reference():
    python = os.environ.get("ASTROCUT_REFERENCE_PYTHON")
    if python:
        done = subprocess.run([python, os.path.join(ROOT, "tools", "dump_reference_signatures.py")],
                              cwd="/", capture_output=True, text=True, check=True)
        return json.loads(done.stdout)["signatures"]
    with open(os.path.join(HERE, "data", "reference_signatures.json")) as handle:
        return json.load(handle)["signatures"]


REFERENCE = _reference()
OURS = dump(astrocut)


def test_the_data_file_covers_every_name():
    assert sorted(REFERENCE) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_signature_matches_the_reference(name):
    reference, ours = REFERENCE[name], OURS[name]
    positional = [p for p in reference if p["kind"] != "KEYWORD_ONLY"]
    # Positional parameters: same names, kinds and order, so positional calls mean the same.
    for index, expected in enumerate(positional):
        got = ours[index]
        assert (got["name"], got["kind"]) == (expected["name"], expected["kind"]), (
            f"{name} parameter {index}: {got['name']} ({got['kind']}), 1.x has "
            f"{expected['name']} ({expected['kind']})")
    by_name = {p["name"]: p for p in ours}
    for expected in reference:
        got = by_name.get(expected["name"])
        assert got is not None, f"{name} lacks 1.x parameter {expected['name']}"
        if expected["kind"] == "KEYWORD_ONLY":
            assert got["kind"] in ("KEYWORD_ONLY", "POSITIONAL_OR_KEYWORD")
        wanted = DEFAULT_DIFFERENCES.get((name, expected["name"]), expected["default"])
        assert got["default"] == wanted, (
            f"{name}({expected['name']}=...) defaults to {got['default']}, 1.x to "
            f"{expected['default']}")
    # Our extra parameters never take a positional slot a 1.x call could fill, and are optional.
    known = {p["name"] for p in reference}
    for index, extra in enumerate(ours):
        if extra["name"] in known:
            continue
        assert extra["default"] is not None or extra["kind"] in ("VAR_POSITIONAL", "VAR_KEYWORD"), (
            f"{name} adds required parameter {extra['name']}")
        assert index >= len(positional) or extra["kind"] == "KEYWORD_ONLY"


def test_cube_cut_fourth_positional_is_the_target_pixel_file(tmp_path):
    # The seed's order: cube_cut(cube, coordinates, size, "my_tpf.fits") names the file.
    simulate = pytest.importorskip("astrocut_tess.simulate")
    sector = simulate.simulate_ffis(str(tmp_path / "ffis"), n_ffi=3, size=(40, 40), seed=3)
    cube = astrocut.CubeFactory().make_cube(sector.files, str(tmp_path / "c.fits"), verbose=False)
    star = sector.variable_star
    path = astrocut.cube_cut(cube, f"{star.ra} {star.dec}", 3, str(tmp_path / "my_tpf.fits"))
    assert path == str(tmp_path / "my_tpf.fits") and os.path.exists(path)
    from astropy.io import fits

    assert fits.getheader(path)["FFI_TYPE"] == "SPOC"
    with pytest.raises(astrocut.InvalidInputError, match="target_pixel_file"):
        astrocut.cube_cut(cube, f"{star.ra} {star.dec}", 3, 42)
