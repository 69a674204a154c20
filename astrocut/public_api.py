"""Public names that plugins add to the ``astrocut`` namespace (the ``astrocut_public_api`` hook)."""

from .errors import PluginError
from .plugins import get_plugin_manager


def _owners(manager, name):
    # Only on the error path: ask each implementation again to name the plugins in conflict.
    owners = []
    for impl in manager.hook.astrocut_public_api.get_hookimpls():
        if name in (impl.function() or {}):
            owners.append(impl.plugin_name)
    return owners


def plugin_public_api(manager=None):
    """Merge every plugin's ``astrocut_public_api`` answer into one ``{name: object}`` dict.

    Not cached, so a plugin registered at run time is seen at once; each plugin imports its
    objects once (``sys.modules``), so a call costs a few dictionary merges.
    """
    manager = manager or get_plugin_manager()
    merged = {}
    for names in manager.hook.astrocut_public_api():
        for name, obj in (names or {}).items():
            if name in merged and merged[name] is not obj:
                owners = " and ".join(repr(owner) for owner in _owners(manager, name))
                raise PluginError(f"astrocut plugins {owners} both export the public name "
                                  f"{name!r}; disable one with ASTROCUT_DISABLE_PLUGINS")
            merged[name] = obj
    return merged
