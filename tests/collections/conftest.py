"""Fixtures of the collection tests (the cubes are described in collection_helpers)."""

import os

import pytest
from collection_helpers import CUBES, make_cube


@pytest.fixture(scope="session")
def cube_set(tmp_path_factory):
    """``(cube directory, {(sector, camera, ccd): (cube path, SimulatedSector)})``."""
    directory = str(tmp_path_factory.mktemp("collection"))
    made = {key: make_cube(directory, *key) for key in CUBES}
    return os.path.join(directory, "cubes"), made
