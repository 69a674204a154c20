"""Toy mission sample frames: a star field on a TAN grid, in the Toy binary format."""

import os

import numpy as np

from . import formats


def simulate(directory, n_frames=6, shape=(40, 50), seed=3):
    """Write ``n_frames`` Toy images of ``shape`` (rows, columns); return paths and pointing."""
    rng = np.random.default_rng(seed)
    header = {"pointing": [210.5, -12.25], "reference_pixel": [shape[1] / 2, shape[0] / 2],
              "arcsec_per_pixel": 2.0}
    # The star sits exactly on the pointing (CRPIX, 1-based) so tests know its pixel.
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]]
    paths = []
    for index in rng.permutation(n_frames):
        star = 1000.0 * (1 + 0.1 * index) * np.exp(
            -((xs - shape[1] / 2 + 1) ** 2 + (ys - shape[0] / 2 + 1) ** 2) / 2.0)
        data = 10 + star + rng.normal(0, 1, shape)
        path = os.path.join(directory, f"toy_frame_{index:03d}.toy")
        formats.write_image(path, data, dict(header, time=1000.0 + index / 24))
        paths.append(path)
    return paths, header
