"""Issue 4: ``astrocut demo`` makes its sample files in a fresh directory."""

import os
import subprocess
import sys

import numpy as np
import pytest
from astropy.io import fits

from astrocut.cli import main


def test_demo_writes_its_files(tmp_path, capsys):
    directory = tmp_path / "demo"
    assert main(["demo", str(directory)]) == 0
    out = capsys.readouterr().out
    for number in range(1, 6):
        assert f"[{number}/5]" in out
    names = os.listdir(directory)
    tpfs = [name for name in names if name.endswith("_15x15_astrocut.fits")]
    assert len(tpfs) == 1 and tpfs[0] in out
    assert any(name.endswith("-cube.fits") for name in names)
    assert len(os.listdir(directory / "ffis")) == 30
    with fits.open(directory / tpfs[0]) as tpf:
        assert tpf[1].data["FLUX"].shape == (30, 15, 15)
        assert np.isfinite(tpf[1].data["FLUX"]).all()
    from PIL import Image

    with Image.open(directory / "stamp.png") as image:
        assert image.size == (15 * 16, 15 * 16)
    pytest.importorskip("matplotlib")
    assert (directory / "lightcurve.png").stat().st_size > 5000


def test_demo_defaults_to_a_directory_in_the_working_directory(tmp_path):
    done = subprocess.run([sys.executable, "-m", "astrocut", "demo", "--help"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0 and "astrocut-demo" in done.stdout
