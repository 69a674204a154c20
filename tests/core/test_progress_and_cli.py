"""Progress reports and the core command line."""

import io
import logging
import re
import subprocess
import sys

import pytest

import astrocut
from astrocut.cli import main
from astrocut.progress import Progress


def _messages(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "astrocut.progress"]


def test_progress_logs_a_record_per_step_when_not_on_a_terminal(caplog):
    caplog.set_level(logging.INFO, logger="astrocut")
    progress = Progress(3, "Reading", stream=io.StringIO())
    for i in range(3):
        progress.step(f"Completed file {i}")
    assert _messages(caplog) == ["Completed file 0", "Completed file 1", "Completed file 2"]
    assert all(r.levelno == logging.INFO for r in caplog.records)


def test_progress_thins_out_long_runs_and_is_silent_when_asked(caplog):
    caplog.set_level(logging.INFO, logger="astrocut")
    progress = Progress(1000, "Cutting", stream=io.StringIO())
    for _ in range(1000):
        progress.step()
    lines = _messages(caplog)
    assert 100 <= len(lines) <= 102 and lines[-1] == "Cutting: 1000/1000"
    caplog.clear()
    quiet = io.StringIO()
    silent = Progress(5, "x", verbose=False, stream=quiet)
    silent.step()
    silent.say("hello")
    assert _messages(caplog) == [] and quiet.getvalue() == ""


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_draws_astropys_bar_on_a_terminal(caplog):
    caplog.set_level(logging.INFO, logger="astrocut")
    terminal = _Terminal()
    progress = Progress(4, "Building", stream=terminal)
    for _ in range(4):
        progress.step()
    assert re.search(r"4 /  4  \(100.00%\)", terminal.getvalue())  # astropy's bar
    assert _messages(caplog) == []  # the bar, not records, on a terminal
    quiet = _Terminal()
    silent = Progress(4, "Building", verbose=False, stream=quiet)
    silent.step(n=4)
    assert quiet.getvalue() == ""


def test_records_reach_stderr_by_default_and_configured_logging_instead():
    code = ("import logging, sys\n"
            "from astrocut.progress import Progress\n"
            "Progress(1, 'x').say('to stderr by default')\n"
            "logging.basicConfig(stream=sys.stdout, format='configured: %(message)s')\n"
            "Progress(1, 'x').say('to the application')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stderr == "to stderr by default\n"
    assert result.stdout == "configured: to the application\n"


def test_version_and_help(builtin_plugins, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"astrocut {astrocut.__version__}"
    assert main([]) == 0
    out = capsys.readouterr().out
    for command in ("plugins", "cube", "cut", "fits-cut", "img-cut", "simulate"):
        assert command in out


def test_user_errors_are_one_line_without_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "astrocut", "cut",
                             str(tmp_path / "missing-cube.fits"), "10", "20"],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "missing-cube.fits" in result.stderr and "Traceback" not in result.stderr


def test_plugin_loggers_are_children_of_the_astrocut_logger():
    from astrocut.log import get_logger

    assert get_logger("astrocut.cubes").name == "astrocut.cubes"
    assert get_logger("astrocut_toymission.plugin").name == "astrocut.astrocut_toymission.plugin"
    assert get_logger("astrocut_toymission.plugin").parent.name in ("astrocut",
                                                                    "astrocut.astrocut_toymission")


def test_verbose_cube_cut_is_info_records_on_stderr(toy_plugin, toy_plugin_site,
                                                               tmp_path):
    from astrocut import CubeFactory
    from astrocut_toymission.simulate import simulate

    paths, header = simulate(str(tmp_path), n_frames=3, shape=(30, 40))
    cube = CubeFactory().make_cube(paths, str(tmp_path / "f.toycube"), verbose=False)
    ra, dec = header["pointing"]
    code = ("import sys\n"
            "from astrocut import CutoutFactory\n"
            f"CutoutFactory().cube_cut({cube!r}, '{ra} {dec}', 5, output_path={str(tmp_path)!r},"
            " verbose=True)\n")
    env = {**__import__("os").environ, "PYTHONPATH": toy_plugin_site}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, env=env)
    # (cube_cut also prints the 1.x lines on stdout, astrocut/cubes.py's _report)
    assert result.stderr.splitlines()[0] == f"Cutout center coordinate: {ra},{dec}"
    assert result.stderr.splitlines()[-1].startswith("Total time: ")
