"""The one place that builds astrocut's plugin manager.

Built-in defaults (the WCS fitter) are registered through the same manager as third-party
missions, and missions are found through the ``astrocut.plugins`` entry-point group.
"""

import importlib.metadata
import os
import sys
import threading
import warnings

import attrs
import pluggy

from . import hookspecs
from .errors import PluginLoadWarning

ENTRY_POINT_GROUP = "astrocut.plugins"
DISABLE_VARIABLE = "ASTROCUT_DISABLE_PLUGINS"

_DEFAULT_PLUGINS = ("astrocut.wcs_fit",)

_manager = None
_lock = threading.Lock()


class AstrocutPluginManager(pluggy.PluginManager):
    """pluggy's manager, plus what astrocut reports about its plugins.

    ``load_errors`` lists the entry points that failed to import; ``distributions`` maps each
    entry-point plugin name to the distribution that provides it.
    """

    def __init__(self):
        super().__init__(hookspecs.PROJECT_NAME)
        self.load_errors = []
        self.distributions = {}


@attrs.frozen
class PluginLoadError:
    """A plugin that was found but could not be loaded."""

    name: str
    entry_point: str
    error: str


def disabled_plugin_names():
    """Plugin names listed in ``ASTROCUT_DISABLE_PLUGINS`` (comma separated)."""
    value = os.environ.get(DISABLE_VARIABLE, "")
    return {name.strip() for name in value.split(",") if name.strip()}


def _load_entry_points(manager, blocked):
    errors = []
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name in blocked:
            manager.set_blocked(entry_point.name)
            continue
        if manager.get_plugin(entry_point.name) is not None:
            continue
        try:
            plugin = entry_point.load()
        except Exception as exc:  # a broken plugin must not take the others down
            errors.append(PluginLoadError(entry_point.name, entry_point.value,
                                          f"{type(exc).__name__}: {exc}"))
            warnings.warn(f"astrocut plugin {entry_point.name!r} ({entry_point.value}) "
                          f"failed to load and was skipped: {type(exc).__name__}: {exc}",
                          PluginLoadWarning, stacklevel=3)
            continue
        manager.register(plugin, name=entry_point.name)
        manager.distributions[entry_point.name] = entry_point.dist
    return errors


def build_plugin_manager():
    """Build a fresh plugin manager: specs, defaults, entry points, then ``check_pending``.

    A plugin whose hook names match no spec makes :meth:`check_pending` raise, so a typo in a
    hook name fails at start-up instead of being silently ignored.
    """
    manager = AstrocutPluginManager()
    manager.add_hookspecs(hookspecs)
    blocked = disabled_plugin_names()
    for module_name in _DEFAULT_PLUGINS:
        if module_name in blocked:
            continue
        __import__(module_name)
        manager.register(sys.modules[module_name], name=module_name)
    manager.load_errors = _load_entry_points(manager, blocked)
    manager.check_pending()
    return manager


def get_plugin_manager():
    """Return the process-wide plugin manager, building it on first use."""
    global _manager
    if _manager is None:
        with _lock:
            if _manager is None:
                _manager = build_plugin_manager()
    return _manager


def reset_plugin_manager():
    """Forget the cached manager (tests, or after installing a plugin at run time)."""
    global _manager
    with _lock:
        _manager = None


@attrs.frozen
class PluginInfo:
    """What ``astrocut plugins`` shows for one registered plugin."""

    name: str
    distribution: str
    version: str
    hooks: tuple


def describe_plugins(manager=None):
    """List the registered plugins with their distribution, version and hooks."""
    manager = manager or get_plugin_manager()
    from . import __version__

    infos = []
    for name, plugin in manager.list_name_plugin():
        if plugin is None:  # blocked through ASTROCUT_DISABLE_PLUGINS
            continue
        dist = manager.distributions.get(name)
        if dist is not None:
            dist_name, version = dist.metadata["Name"], dist.version
        else:
            dist_name, version = "astrocut", __version__
        hooks = tuple(sorted(impl.name for impl in manager.get_hookcallers(plugin) or ()))
        infos.append(PluginInfo(name, dist_name, version, hooks))
    return infos
