"""One plugin's bug or typo does not stop the others; tracing names who answered."""

import logging
import os
import subprocess
import sys

import numpy as np
import pytest
from astropy.io import fits

from astrocut import dispatch
from astrocut.errors import InvalidInputError, PluginLoadWarning
from astrocut.plugins import ENTRY_POINT_GROUP, build_plugin_manager

GOOD = """
from astrocut.hookspecs import hookimpl

@hookimpl
def astrocut_identify(path, hdulist):
    return "good.image" if path.endswith(".good") else None
"""

BUGGY = """
from astrocut.hookspecs import hookimpl

@hookimpl(tryfirst=True)
def astrocut_identify(path, hdulist):
    raise ZeroDivisionError("buggy mission divides by zero")
"""

TYPO = """
from astrocut.hookspecs import hookimpl

@hookimpl
def astrocut_identfy(path, hdulist):
    return "typo.image"
"""


def _distribution(root, name, source):
    (root / f"{name}_mission.py").write_text(source)
    info = root / f"{name}_mission-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}-mission\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{name} = {name}_mission\n")


@pytest.fixture
def site(tmp_path, monkeypatch, fresh_plugins):
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    return root


def test_a_raising_identify_does_not_stop_the_other_plugins(site, tmp_path, caplog):
    _distribution(site, "good", GOOD)
    _distribution(site, "buggy", BUGGY)
    target = tmp_path / "frame.good"
    target.write_text("good data")
    with caplog.at_level(logging.WARNING, logger="astrocut"):
        assert dispatch.identify(str(target)) == "good.image"
    manager = dispatch.get_plugin_manager()
    assert [(e.name, e.hook) for e in manager.call_errors] == [("buggy", "astrocut_identify")]
    assert "ZeroDivisionError: buggy mission divides by zero" in manager.call_errors[0].error
    assert "'buggy' raised in astrocut_identify and was skipped" in caplog.text
    # Asked again for the next file: skipping is per call, not for the rest of the process.
    assert dispatch.identify(str(target)) == "good.image"
    assert len(manager.call_errors) == 2


def test_when_nobody_claims_a_file_the_plugin_error_is_the_files_error(site, tmp_path):
    _distribution(site, "buggy", BUGGY)
    target = tmp_path / "frame.unknown"
    target.write_text("?")
    with pytest.raises(InvalidInputError, match=r"frame.unknown.*could not be read: "
                                                r"ZeroDivisionError.*plugin 'buggy'"):
        dispatch.identify(str(target))


def test_a_misspelt_hook_unregisters_only_that_plugin(site):
    _distribution(site, "typo", TYPO)
    _distribution(site, "good", GOOD)
    with pytest.warns(PluginLoadWarning, match="'typo'.*is invalid.*astrocut_identfy"):
        manager = build_plugin_manager()
    assert manager.get_plugin("typo") is None
    assert manager.get_plugin("good") is not None
    assert [e.name for e in manager.load_errors] == ["typo"]
    assert manager.hook.astrocut_identify(path="x.good", hdulist=None) == "good.image"


def test_a_misspelt_hook_leaves_the_command_line_working(site):
    _distribution(site, "typo", TYPO)
    env = {**os.environ, "PYTHONPATH": str(site)}
    help_run = subprocess.run([sys.executable, "-m", "astrocut", "--help"], env=env,
                              capture_output=True, text=True)
    assert help_run.returncode == 0 and "COMMAND" in help_run.stdout
    assert "Traceback" not in help_run.stderr
    listing = subprocess.run([sys.executable, "-m", "astrocut", "plugins"], env=env,
                             capture_output=True, text=True, check=True)
    assert "typo  FAILED TO LOAD (typo_mission)" in listing.stdout
    assert "astrocut_identfy" in listing.stdout


def test_trace_variable_logs_each_hook_and_who_answered(site, tmp_path, monkeypatch, caplog):
    _distribution(site, "good", GOOD)
    monkeypatch.setenv("ASTROCUT_TRACE_PLUGINS", "1")
    target = tmp_path / "frame.good"
    target.write_text("good data")
    with caplog.at_level(logging.INFO, logger="astrocut"):
        assert dispatch.identify(str(target)) == "good.image"
    lines = [r.getMessage() for r in caplog.records if r.name == "astrocut.plugins"]
    assert any(line.startswith("hook astrocut_identify(path, hdulist): asking ")
               and "good" in line for line in lines)
    assert "hook astrocut_identify answered by good" in lines


def test_no_trace_without_the_variable(site, tmp_path, monkeypatch, caplog):
    _distribution(site, "good", GOOD)
    monkeypatch.delenv("ASTROCUT_TRACE_PLUGINS", raising=False)
    image = tmp_path / "plain.fits"
    fits.PrimaryHDU(np.zeros((4, 4), np.float32)).writeto(image)
    with caplog.at_level(logging.INFO, logger="astrocut"):
        dispatch.identify(str(image))
    assert not [r for r in caplog.records if r.name == "astrocut.plugins"]
