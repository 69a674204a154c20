"""Progress reports and the core command line."""

import io
import subprocess
import sys

import pytest

import astrocut
from astrocut.cli import main
from astrocut.progress import Progress


def test_progress_prints_a_line_per_step_in_logs():
    stream = io.StringIO()
    progress = Progress(3, "Reading", stream=stream)
    for i in range(3):
        progress.step(f"Completed file {i}")
    assert stream.getvalue().splitlines() == ["Completed file 0", "Completed file 1",
                                              "Completed file 2"]


def test_progress_thins_out_long_runs_and_is_silent_when_asked():
    stream = io.StringIO()
    progress = Progress(1000, "Cutting", stream=stream)
    for _ in range(1000):
        progress.step()
    lines = stream.getvalue().splitlines()
    assert 100 <= len(lines) <= 102 and lines[-1] == "Cutting: 1000/1000"
    quiet = io.StringIO()
    silent = Progress(5, "x", verbose=False, stream=quiet)
    silent.step()
    silent.say("hello")
    assert quiet.getvalue() == ""


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
