"""tools/conformance.py: its import rewriting and its table, without the network."""

import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import conformance  # noqa: E402

SOURCE = '''"""A reference test module."""
import numpy as np
from ..cube_factory import CubeFactory
from ..exceptions import DataWarning, InvalidInputError
from .. import cutout_processing
from astrocut.fits_cutout import FITSCutout, fits_cut
from ..cutout_processing import (
    CutoutsCombiner,
    _no_such_helper,
)
from .utils_for_test import create_test_ffis


def test_x():
    assert "from ..cube_factory import CubeFactory"
'''


def test_only_import_lines_are_rewritten(tmp_path):
    out = conformance.rewrite_imports(SOURCE)
    body = out.split("def test_x")[1]
    assert body == SOURCE.split("def test_x")[1]  # the test itself is untouched
    assert "from ..cube_factory" not in out.split("def test_x")[0]
    assert "from astrocut.exceptions import DataWarning" in out
    assert "import astrocut as cutout_processing" in out
    assert "from .utils_for_test import create_test_ffis" in out
    assert out.startswith('"""A reference test module."""\nfrom ._conformance import missing')
    # Every name is guarded: one this package lacks becomes a stand-in raising ImportError.
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "_conformance.py").write_text(conformance.MISSING)
    (tmp_path / "pkg" / "utils_for_test.py").write_text("create_test_ffis = None\n")
    (tmp_path / "pkg" / "mod.py").write_text(out)
    sys.path.insert(0, str(tmp_path))
    try:
        import pkg.mod as mod
    finally:
        sys.path.remove(str(tmp_path))
    import astrocut

    assert mod.CubeFactory is astrocut.CubeFactory
    assert mod.cutout_processing is astrocut
    assert mod.CutoutsCombiner is astrocut.CutoutsCombiner
    # A name this package lacks fails where it is used, not at import.
    with pytest.raises(ImportError, match="_no_such_helper"):
        mod._no_such_helper([1])


def test_the_table_explains_every_failure_or_counts_it():
    network, documented, scope = conformance.load_expectations()
    assert all(link.startswith("docs/compatibility.md#") for link in documented.values())
    results = {
        "test_a::test_pass": ("passed", ""),
        "test_cube_cut::test_s3_cube_cut": ("failed", "RemoteReadError"),
        "test_b::test_blocked": ("failed", conformance.NETWORK_MARK + ": ('1.2.3.4', 443)"),
        "test_cube_cut::test_legacy_filenames": ("failed", "AssertionError"),
        "test_tess_footprint_cutout::<collection>": ("failed", "ImportError"),
        "test_c::test_new": ("failed", "AssertionError: boom"),
        "test_cube_cut::test_target_pixel_file": ("passed", ""),
    }
    rows, stale = conformance.classify(results, network, documented, scope)
    assert [t for t, _ in rows["passed"]] == ["test_a::test_pass",
                                               "test_cube_cut::test_target_pixel_file"]
    assert [t for t, _ in rows["needs network"]] == ["test_b::test_blocked",
                                                      "test_cube_cut::test_s3_cube_cut"]
    assert rows["documented difference"] == [("test_cube_cut::test_legacy_filenames",
                                              "docs/compatibility.md#file-names")]
    assert [t for t, _ in rows["out of scope"]] == [
        "test_tess_footprint_cutout::<collection>"]
    assert rows["failed"] == [("test_c::test_new", "AssertionError: boom")]
    assert stale == ["test_cube_cut::test_target_pixel_file"]


def test_a_documented_entry_must_exist_in_the_docs(tmp_path):
    bad = tmp_path / "e.toml"
    bad.write_text('[documented]\n"test_a::test_b" = "no-such-anchor"\n')
    with pytest.raises(SystemExit, match="no-such-anchor"):
        conformance.load_expectations(str(bad))


def test_without_the_wheel_the_run_skips_with_a_message(monkeypatch, capsys):
    monkeypatch.setattr(conformance, "fetch_wheel", lambda directory: (None, "no index"))
    assert conformance.main([]) == 0
    assert "skipped, the reference wheel astrocut==1.4.0 cannot be had (no index)" in (
        capsys.readouterr().out)
