"""The plugin manager: discovery, blocking, broken plugins, misnamed hooks."""

import os
import subprocess
import sys
import textwrap
import types

import pluggy
import pytest

import astrocut
from astrocut.errors import PluginLoadWarning
from astrocut.hookspecs import hookimpl
from astrocut.plugins import ENTRY_POINT_GROUP, build_plugin_manager, describe_plugins


def test_built_in_plugins_are_found_through_entry_points(builtin_plugins):
    manager = astrocut.get_plugin_manager()
    assert isinstance(manager, pluggy.PluginManager)
    names = {name for name, _ in manager.list_name_plugin()}
    assert {"tess", "generic_fits", "astrocut.wcs_fit"} <= names
    assert manager.get_plugin("tess").__name__ == "astrocut_tess.plugin"
    assert manager.load_errors == []


def test_manager_is_built_once_per_process():
    assert astrocut.get_plugin_manager() is astrocut.get_plugin_manager()


def test_describe_plugins_names_distribution_version_and_hooks(builtin_plugins):
    infos = {info.name: info for info in describe_plugins()}
    # The built-ins ship in the astrocut distribution but still come through entry points.
    assert infos["tess"].distribution == "astrocut"
    assert infos["generic_fits"].distribution == "astrocut"
    assert infos["astrocut.wcs_fit"].hooks == ("astrocut_fit_wcs",)
    assert "astrocut_build_cube" in infos["tess"].hooks
    assert infos["tess"].version == astrocut.__version__


def test_disable_variable_blocks_named_plugins(builtin_plugins, monkeypatch):
    monkeypatch.setenv("ASTROCUT_DISABLE_PLUGINS", "tess, astrocut.wcs_fit")
    manager = build_plugin_manager()
    names = {name for name, plugin in manager.list_name_plugin() if plugin is not None}
    assert "tess" not in names and "astrocut.wcs_fit" not in names
    assert "generic_fits" in names
    assert manager.is_blocked("tess")


def test_one_distribution_registers_the_built_ins_once():
    import importlib.metadata

    from packaging.version import Version

    dist = importlib.metadata.distribution("astrocut")
    points = {ep.name: ep.value for ep in dist.entry_points if ep.group == ENTRY_POINT_GROUP}
    assert points == {"tess": "astrocut_tess.plugin",
                      "generic_fits": "astrocut_generic_fits.plugin",
                      "roman": "astrocut_roman.plugin"}
    # pip install -U must never trade this successor for the 1.x series on PyPI.
    assert Version(dist.version) > Version("1.4.0")
    assert dist.version == "2.0.0.dev0"
    others = [d.metadata["Name"] for d in importlib.metadata.distributions()
              if d.metadata["Name"] != "astrocut"
              and any(ep.group == ENTRY_POINT_GROUP and ep.name in points
                      for ep in d.entry_points)]
    assert others == [], f"built-in plugins registered twice, also by {others}"


def test_misnamed_hook_fails_loudly():
    manager = build_plugin_manager()
    typo = types.ModuleType("typo_plugin")

    @hookimpl
    def astrocut_identfy(path, hdulist):  # misspelt on purpose
        return None

    typo.astrocut_identfy = astrocut_identfy
    manager.register(typo, name="typo")
    with pytest.raises(pluggy.PluginValidationError, match="astrocut_identfy"):
        manager.check_pending()


def _fake_distribution(root, module_source):
    (root / "broken_mission.py").write_text(module_source)
    info = root / "broken_mission-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-mission\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nbroken = broken_mission\n")


def test_plugin_that_fails_to_import_is_reported_and_others_load(builtin_plugins, tmp_path, monkeypatch):
    _fake_distribution(tmp_path, "raise ImportError('needs the libtoy C library')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.warns(PluginLoadWarning, match="broken.*libtoy"):
        manager = build_plugin_manager()
    assert [(e.name, e.entry_point) for e in manager.load_errors] == [("broken", "broken_mission")]
    assert "ImportError: needs the libtoy C library" in manager.load_errors[0].error
    assert manager.get_plugin("tess") is not None


def test_cli_plugins_lists_built_ins_and_load_failures(builtin_plugins, tmp_path):
    _fake_distribution(tmp_path, "raise RuntimeError('boom')\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "astrocut", "plugins"], env=env,
                            capture_output=True, text=True, check=True)
    assert f"tess  (astrocut {astrocut.__version__})" in result.stdout
    assert f"generic_fits  (astrocut {astrocut.__version__})" in result.stdout
    assert "broken  FAILED TO LOAD (broken_mission): RuntimeError: boom" in result.stdout


def test_core_never_imports_a_plugin():
    core = os.path.dirname(astrocut.__file__)
    for name in os.listdir(core):
        if name.endswith(".py"):
            source = open(os.path.join(core, name)).read()
            for plugin_package in ("astrocut_tess", "astrocut_generic_fits"):
                assert plugin_package not in source, f"astrocut/{name} mentions {plugin_package}"


def test_cold_import_does_not_load_plugins():
    code = textwrap.dedent("""
        import sys, astrocut
        print(any(m.startswith("astrocut_") for m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_unrecognised_file_error_names_the_installed_plugins_and_what_to_install(tmp_path):
    from astrocut import CutoutFactory
    from astrocut.errors import InvalidInputError

    notes = tmp_path / "notes.txt"
    notes.write_text("not a cube")
    with pytest.raises(InvalidInputError) as info:
        CutoutFactory().cube_cut(str(notes), "10 20", 5, output_path=str(tmp_path))
    message = str(info.value)
    assert "notes.txt" in message and "installed plugins: " in message
    for name in ("tess", "generic_fits"):
        assert name in message
    assert "'astrocut.plugins' entry point" in message and "\n" not in message
