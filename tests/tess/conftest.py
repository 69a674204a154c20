"""Shared fixtures for the TESS plugin tests."""

import pytest
from astrocut_tess.simulate import simulate_ffis


@pytest.fixture(scope="session")
def small_sector(tmp_path_factory):
    """Twelve simulated 80x60 SPOC FFIs (seed 42), as a ``SimulatedSector``."""
    directory = tmp_path_factory.mktemp("small_sector")
    return simulate_ffis(directory, n_ffi=12, size=(80, 60), seed=42)
