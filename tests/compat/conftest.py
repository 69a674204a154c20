"""Inputs for the 1.x compatibility tests: small SPOC-like FFIs and TAN images."""

import os

import numpy as np
import pytest

from compat_helpers import point_ffis, tan_image


@pytest.fixture
def ffis(tmp_path):
    """Four 40x40 simulated SPOC FFIs centred on the seed documentation's 251.51 32.36."""
    simulate = pytest.importorskip("astrocut_tess.simulate")
    sector = simulate.simulate_ffis(str(tmp_path / "ffis"), n_ffi=4, size=(40, 40), seed=5)
    return point_ffis(sorted(sector.files), 251.51, 32.36)


@pytest.fixture
def images(tmp_path):
    """Four 30x30 float images of the same field, each with different values."""
    rng = np.random.default_rng(7)
    return [tan_image(tmp_path / f"band{i}.fits", rng.normal(100 * (i + 1), 1, (30, 30)))
            for i in range(4)]


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    # The seed's examples write to the current directory.
    monkeypatch.chdir(tmp_path)
    yield
    assert os.getcwd() == str(tmp_path)
