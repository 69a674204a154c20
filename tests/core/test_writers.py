"""Writers are registered objects: unique formats, typed options, listed by astrocut plugins."""

import os
import subprocess
import sys
import types

import attrs
import numpy as np
import pytest

from astrocut.dispatch import write_cutouts
from astrocut.errors import InvalidInputError, PluginError
from astrocut.geometry import parse_coordinates
from astrocut.hookspecs import hookimpl
from astrocut.models import ImageCutout, Writer


@attrs.frozen
class NoteOptions:
    greeting: str = "hello"


def _note_plugin(name, format="note"):
    plugin = types.ModuleType(name)

    def write(cutouts, path, options):
        with open(path, "w") as handle:
            handle.write(f"{options.greeting} {len(cutouts)} {name}")
        return path

    @hookimpl
    def astrocut_writers():
        return [Writer(format=format, write=write, options=NoteOptions,
                       accepts=lambda cutouts: all(isinstance(c, ImageCutout) for c in cutouts),
                       description=f"a note from {name}")]

    plugin.astrocut_writers = astrocut_writers
    return plugin


def _cutout():
    return ImageCutout(data=np.zeros((2, 3)), header=None, wcs=None, corner=(0, 0),
                       center=parse_coordinates("10 20"), source="in.fits", extension=0)


def test_a_registered_writer_writes_with_typed_options(astrocut_plugins, tmp_path):
    astrocut_plugins(_note_plugin("first"))
    path = str(tmp_path / "a.note")
    assert write_cutouts([_cutout()], "note", path, {"greeting": "hi"}) == path
    assert open(path).read() == "hi 1 first"
    with pytest.raises(InvalidInputError, match=r"'note' has no option 'greting' "
                                                r"\(options: greeting\)"):
        write_cutouts([_cutout()], "note", path, {"greting": "hi"})


def test_two_plugins_claiming_one_format_are_refused(astrocut_plugins, tmp_path):
    astrocut_plugins(_note_plugin("first"), _note_plugin("second"))
    with pytest.raises(PluginError, match="'note' is registered by two plugins, "
                                          "'(first|second)' and '(first|second)'"):
        write_cutouts([_cutout()], "note", str(tmp_path / "a.note"))
    assert not (tmp_path / "a.note").exists()


def test_a_writer_refuses_cutouts_it_does_not_accept(astrocut_plugins, tmp_path):
    astrocut_plugins(_note_plugin("first"))
    with pytest.raises(PluginError, match="'note' \\(plugin 'first'\\) does not write these "
                                          "SimpleNamespace cutouts"):
        write_cutouts([types.SimpleNamespace()], "note", str(tmp_path / "a.note"))


def test_the_built_in_picture_writers_take_typed_options(builtin_plugins, tmp_path):
    pytest.importorskip("PIL")
    from astrocut.plugins import get_plugin_manager
    from astrocut.writer_registry import writers

    registered = writers(get_plugin_manager())
    if "png" not in registered:
        pytest.skip("the generic FITS plugin is blocked")
    assert {f.name for f in attrs.fields(registered["png"].writer.options)} == {
        "stretch", "minmax_percent", "minmax_value", "invert", "colorize"}
    with pytest.raises(InvalidInputError, match="'png' has no option 'strech'"):
        write_cutouts([_cutout()], "png", str(tmp_path / "x.png"), {"strech": "log"})


def test_cli_plugins_lists_the_writers(builtin_plugins):
    result = subprocess.run([sys.executable, "-m", "astrocut", "plugins"], capture_output=True,
                            text=True, check=True, env={**os.environ})
    lines = result.stdout.splitlines()
    writers = lines[lines.index("writers:") + 1:]
    names = {line.split()[0] for line in writers}
    assert {"fits", "png", "jpg", "tpf"} <= names
    assert any(line.split()[:2] == ["tpf", "(tess)"] for line in writers)
