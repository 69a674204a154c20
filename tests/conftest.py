"""Fixtures shared by every test folder."""

import os
import shutil
import subprocess
import sys

import pytest

TESTS = os.path.dirname(os.path.abspath(__file__))
TOY_PLUGIN_SOURCE = os.path.join(TESTS, "plugins", "toymission")


@pytest.fixture(scope="session")
def toy_plugin_site(tmp_path_factory):
    """The Toy mission plugin installed with pip into its own directory, as a user would.

    Returns the directory; put it on ``sys.path`` (or PYTHONPATH) to make the plugin visible
    to entry-point discovery.
    """
    target = tmp_path_factory.mktemp("toy-site")
    # pip builds in the source folder (build/, egg-info): build a copy so the tree stays clean.
    source = tmp_path_factory.mktemp("toy-source") / "toymission"
    shutil.copytree(TOY_PLUGIN_SOURCE, source,
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--no-index", "--target", str(target),
                    str(source)], check=True, capture_output=True)
    return str(target)


@pytest.fixture
def fresh_plugins(monkeypatch):
    """Make the next ``get_plugin_manager()`` rebuild, and forget it again afterwards."""
    from astrocut.plugins import reset_plugin_manager

    reset_plugin_manager()
    yield
    reset_plugin_manager()


@pytest.fixture
def toy_plugin(toy_plugin_site, monkeypatch, fresh_plugins):
    """The Toy plugin installed and discoverable in this process."""
    monkeypatch.syspath_prepend(toy_plugin_site)
    from astrocut import get_plugin_manager

    manager = get_plugin_manager()
    assert manager.get_plugin("toymission") is not None
    return manager
