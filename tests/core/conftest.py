"""tests/core runs with the built-in missions blocked: the core's contracts are shown with
test plugins registered in fixtures (the Toy mission, plugins made in the tests).

A test about the built-ins themselves asks for the ``builtin_plugins`` fixture, and skips
when they are blocked (``ASTROCUT_DISABLE_PLUGINS``) or not installed.
"""

import importlib.util
import os

import pytest

from astrocut.plugins import DISABLE_VARIABLE, disabled_plugin_names, reset_plugin_manager

BUILT_INS = {"tess": "astrocut_tess", "generic_fits": "astrocut_generic_fits",
             "roman": "astrocut_roman"}


@pytest.fixture(autouse=True)
def _built_in_missions_blocked(request, monkeypatch):
    if "builtin_plugins" in request.fixturenames:
        yield
        return
    blocked = disabled_plugin_names() | set(BUILT_INS)
    monkeypatch.setenv(DISABLE_VARIABLE, ",".join(sorted(blocked)))  # subprocesses too
    reset_plugin_manager()
    yield
    reset_plugin_manager()


@pytest.fixture
def builtin_plugins():
    """The built-in missions, as installed; skips when they are blocked or missing."""
    blocked = disabled_plugin_names() & set(BUILT_INS)
    if blocked:
        pytest.skip(f"built-in plugins blocked by {DISABLE_VARIABLE}: {', '.join(sorted(blocked))}")
    missing = [name for name, module in BUILT_INS.items()
               if name != "roman" and importlib.util.find_spec(module) is None]
    if missing:
        pytest.skip(f"built-in plugins not installed: {', '.join(missing)}")
    reset_plugin_manager()
    yield
    reset_plugin_manager()
