"""The one place that builds astrocut's plugin manager.

Built-in defaults (the WCS fitter) are registered through the same manager as third-party
missions, and missions are found through the ``astrocut.plugins`` entry-point group.
"""

import functools
import importlib.metadata
import os
import sys
import threading
import warnings

import attrs
import pluggy

from . import hookspecs
from .log import get_logger
from .errors import PluginLoadWarning

ENTRY_POINT_GROUP = "astrocut.plugins"
DISABLE_VARIABLE = "ASTROCUT_DISABLE_PLUGINS"
TRACE_VARIABLE = "ASTROCUT_TRACE_PLUGINS"

# Hooks every plugin is asked in turn: one plugin raising must not hide the others' answers.
ISOLATED_HOOKS = ("astrocut_identify",)

logger = get_logger(__name__)
_HOOK_NAMES = tuple(name for name in vars(hookspecs) if name.startswith("astrocut_"))

_DEFAULT_PLUGINS = ("astrocut.wcs_fit",)

_manager = None
_lock = threading.Lock()


class AstrocutPluginManager(pluggy.PluginManager):
    """pluggy's manager, plus what astrocut reports about its plugins.

    ``load_errors`` lists the plugins that failed to import or to validate (and were
    unregistered); ``call_errors`` the exceptions isolated hooks raised in this process;
    ``distributions`` maps each entry-point plugin name to the distribution providing it.
    """

    def __init__(self):
        super().__init__(hookspecs.PROJECT_NAME)
        self.load_errors = []
        self.call_errors = []
        self.distributions = {}
        self._local = threading.local()

    def isolated_failures(self):
        """The failures recorded by isolated hooks in this thread since the last call."""
        failures = getattr(self._local, "failures", [])
        self._local.failures = []
        return failures

    def _record_failure(self, failure):
        self.call_errors.append(failure)
        if not hasattr(self._local, "failures"):
            self._local.failures = []
        self._local.failures.append(failure)


@attrs.frozen
class PluginLoadError:
    """A plugin that was found but could not be loaded, or was unregistered as invalid."""

    name: str
    entry_point: str
    error: str


@attrs.frozen
class PluginCallError:
    """An exception a plugin raised from an isolated hook; the other plugins were still asked."""

    name: str
    hook: str
    error: str


def disabled_plugin_names():
    """Plugin names listed in ``ASTROCUT_DISABLE_PLUGINS`` (comma separated)."""
    value = os.environ.get(DISABLE_VARIABLE, "")
    return {name.strip() for name in value.split(",") if name.strip()}


def _warn_skipped(name, where, problem):
    warnings.warn(f"astrocut plugin {name!r} ({where}) {problem} and was skipped",
                  PluginLoadWarning, stacklevel=4)


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
            manager.register(plugin, name=entry_point.name)
        except Exception as exc:  # a broken plugin must not take the others down
            error = f"{type(exc).__name__}: {exc}"
            errors.append(PluginLoadError(entry_point.name, entry_point.value, error))
            _warn_skipped(entry_point.name, entry_point.value, f"failed to load: {error}")
            continue
        manager.distributions[entry_point.name] = entry_point.dist
    return errors


def _drop_invalid_plugins(manager):
    """Unregister each plugin whose hooks match no spec (a misspelt name), one by one.

    ``check_pending`` raises for the first such plugin only; the rest keep working, so one
    typo does not break every command.
    """
    errors = []
    while True:
        try:
            manager.check_pending()
            return errors
        except pluggy.PluginValidationError as exc:
            name = manager.get_name(exc.plugin) or repr(exc.plugin)
            where = getattr(exc.plugin, "__name__", name)
            manager.unregister(exc.plugin)
            manager.distributions.pop(name, None)
            errors.append(PluginLoadError(name, where, str(exc)))
            _warn_skipped(name, where, f"is invalid: {exc}")


def _isolate(manager, hook_name, impl):
    function = impl.function

    @functools.wraps(function)
    def isolated(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except Exception as exc:  # one mission's bug must not stop the others being asked
            failure = PluginCallError(impl.plugin_name, hook_name, f"{type(exc).__name__}: {exc}")
            manager._record_failure(failure)
            logger.warning("plugin %r raised in %s and was skipped: %s", failure.name,
                           hook_name, failure.error)
            return None

    impl.function = isolated


def _trace(manager):
    """Log each hook call and the plugins that answered it (``ASTROCUT_TRACE_PLUGINS=1``)."""
    answered = threading.local()

    def recording(hook_name, impl):
        function = impl.function

        @functools.wraps(function)
        def record(*args, **kwargs):
            result = function(*args, **kwargs)
            if result is not None and getattr(answered, "stack", None):
                answered.stack[-1].append(impl.plugin_name)
            return result

        impl.function = record

    for hook_name in _HOOK_NAMES:
        for impl in getattr(manager.hook, hook_name).get_hookimpls():
            recording(hook_name, impl)

    def before(hook_name, hook_impls, kwargs):
        answered.stack = getattr(answered, "stack", []) + [[]]
        asked = ", ".join(impl.plugin_name for impl in reversed(hook_impls)) or "no plugin"
        logger.info("hook %s(%s): asking %s", hook_name, ", ".join(kwargs), asked)

    def after(outcome, hook_name, hook_impls, kwargs):
        names = answered.stack.pop() if getattr(answered, "stack", None) else []
        if outcome.exception is not None:
            logger.info("hook %s raised %s", hook_name, type(outcome.exception).__name__)
        else:
            logger.info("hook %s answered by %s", hook_name, ", ".join(names) or "no plugin")

    manager.add_hookcall_monitoring(before, after)


def build_plugin_manager(plugins=(), entry_points=True):
    """Build a fresh plugin manager: specs, defaults, entry points, then validation.

    ``plugins`` (modules or objects) are registered too, and ``entry_points=False`` leaves
    every installed plugin out (the ``astrocut_plugins`` test fixture). A plugin whose hook
    names match no spec is reported and unregistered (``check_pending`` would otherwise
    make every command fail); hooks in :data:`ISOLATED_HOOKS` catch each plugin's
    exceptions so the other plugins are still asked.
    """
    manager = AstrocutPluginManager()
    manager.add_hookspecs(hookspecs)
    blocked = disabled_plugin_names()
    for module_name in _DEFAULT_PLUGINS:
        if module_name in blocked:
            continue
        __import__(module_name)
        manager.register(sys.modules[module_name], name=module_name)
    for plugin in plugins:
        manager.register(plugin, name=getattr(plugin, "__name__", None))
    if entry_points:
        manager.load_errors = _load_entry_points(manager, blocked)
    manager.load_errors += _drop_invalid_plugins(manager)
    for hook_name in ISOLATED_HOOKS:
        for impl in getattr(manager.hook, hook_name).get_hookimpls():
            _isolate(manager, hook_name, impl)
    if os.environ.get(TRACE_VARIABLE, "") not in ("", "0"):
        _trace(manager)
    return manager


def use_plugin_manager(manager):
    """Make ``manager`` the process-wide one (``None``: rebuild on next use)."""
    global _manager
    with _lock:
        _manager = manager


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
