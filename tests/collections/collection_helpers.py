"""Simulated cubes of several sectors, cameras and CCDs for the collection tests.

Sectors 1 and 27 point the same camera at nearly the same sky (the simulator's pointing
repeats every 26 sectors, shifted ~9 pixels), so their CCD-1 cubes overlap partly; the
other cubes lie far from them.
"""

import os

from astrocut_tess.simulate import simulate_ffis

from astrocut import CubeFactory

#: (sector, camera, ccd) of the simulated cubes.
CUBES = ((1, 1, 1), (27, 1, 1), (1, 1, 2), (1, 2, 1), (2, 1, 1))
SIZE = (64, 48)
N_FRAMES = 6


def make_cube(directory, sector, camera, ccd, n_ffi=N_FRAMES, size=SIZE, **kwargs):
    ffis = simulate_ffis(os.path.join(directory, f"ffi-{sector}-{camera}-{ccd}"), n_ffi=n_ffi,
                         size=size, sector=sector, camera=camera, ccd=ccd, n_stars=10,
                         seed=sector * 100 + camera * 10 + ccd, **kwargs)
    cube_dir = os.path.join(directory, "cubes")
    os.makedirs(cube_dir, exist_ok=True)
    path = os.path.join(cube_dir, f"tess-s{sector:04d}-{camera}-{ccd}-cube.fits")
    CubeFactory().make_cube(ffis.files, path, verbose=False)
    return path, ffis
