"""pytest fixtures for plugin authors (loaded by pytest through the ``pytest11`` entry point).

``astrocut_plugins(*plugins)`` makes a fresh plugin manager holding the core's defaults and
only the given plugins (installed missions, built-ins included, are left out) and makes it
the one astrocut's public API uses until the test ends.
"""

import pytest


@pytest.fixture
def astrocut_plugins():
    """Return ``install(*plugins, entry_points=False) -> manager`` for this test."""
    from .plugins import build_plugin_manager, use_plugin_manager

    def install(*plugins, entry_points=False):
        manager = build_plugin_manager(plugins, entry_points=entry_points)
        use_plugin_manager(manager)
        return manager

    yield install
    use_plugin_manager(None)
