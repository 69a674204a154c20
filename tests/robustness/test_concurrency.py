"""Several processes cutting from one cube and one image at once, into one directory.

Every process starts cutting at the same moment (a barrier), the target lists overlap, and
one target is cut by every process, so the same output file is written by four processes
at the same time. The directory must end up holding exactly the files a serial run writes,
byte for byte except for the time of writing in the CHECKSUM/DATASUM comments (see
``robustness_helpers.normalized_hash``; every checksum is verified), and no temporary file.
"""

import multiprocessing
import os

import numpy as np

import robustness_helpers as H
from astrocut import CutoutFactory, fits_cut

N_PROCESSES = 4
SIZE = [7, 5]


def _positions(wcs, center_pixel, offsets):
    x0, y0 = center_pixel
    out = []
    for dx, dy in offsets:
        coord = wcs.pixel_to_world(x0 + dx, y0 + dy)
        out.append(f"{float(coord.ra.deg)!r} {float(coord.dec.deg)!r}")
    return out


def _serial(cube, image, cube_targets, image_targets, directory):
    for target in cube_targets:
        CutoutFactory().cube_cut(cube, target, SIZE, output_path=directory)
    for target in image_targets:
        fits_cut([image], target, SIZE, output_dir=directory)
        fits_cut([image], target, SIZE, output_dir=directory, single_outfile=False)


def test_parallel_cutters_write_what_a_serial_run_writes(cube, image, sector, tmp_path):
    ffi_wcs = H.wcs_of(sector.files[len(sector.files) // 2])
    n_cols, n_rows = sector.shape
    offsets = [(-20, -15), (-8, 3), (0, 0), (6, -9), (15, 12), (25, -18), (-28, 20), (31, 22)]
    cube_positions = _positions(ffi_wcs, (n_cols / 2, n_rows / 2), offsets)
    ny, nx = H.IMAGE_SHAPE
    image_positions = _positions(image.wcs, (nx / 2, ny / 2),
                                 [(dx * 2, dy * 2) for dx, dy in offsets])
    shared_cube, shared_image = cube_positions[2], image_positions[2]
    plans = []
    for k in range(N_PROCESSES):
        mine = [cube_positions[(k + i) % len(offsets)] for i in range(4)] + [shared_cube]
        mine_images = [image_positions[(k + i) % len(offsets)] for i in range(3)]
        plans.append((mine, mine_images + [shared_image]))

    parallel_dir = str(tmp_path / "parallel")
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(N_PROCESSES)
    processes = [context.Process(target=H.cut_worker,
                                 args=(barrier, cube.path, image.path, cube_targets,
                                       image_targets, SIZE, parallel_dir))
                 for cube_targets, image_targets in plans]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [p.exitcode for p in processes] == [0] * N_PROCESSES

    serial_dir = str(tmp_path / "serial")
    all_cube = [t for plan in plans for t in plan[0]]
    all_image = [t for plan in plans for t in plan[1]]
    _serial(cube.path, image.path, all_cube, all_image, serial_dir)

    serial_files = sorted(os.listdir(serial_dir))
    parallel_files = sorted(os.listdir(parallel_dir))
    assert H.part_files(parallel_dir) == []
    assert parallel_files == serial_files
    expected = len(set(all_cube)) + len(set(all_image)) * 2  # single file + per-file name
    assert len(serial_files) == expected
    for name in serial_files:
        assert (H.normalized_hash(os.path.join(parallel_dir, name))
                == H.normalized_hash(os.path.join(serial_dir, name))), name


def test_one_cube_read_by_many_processes_gives_the_same_stamps(cube, sector, tmp_path):
    """cube_cut_many on a process pool against cube_cut one by one: same stamps."""
    from concurrent.futures import ProcessPoolExecutor

    from astrocut import cube_cut_many

    ffi_wcs = H.wcs_of(sector.files[len(sector.files) // 2])
    n_cols, n_rows = sector.shape
    rng = np.random.default_rng(5)
    offsets = [(float(dx), float(dy)) for dx, dy in
               zip(rng.uniform(-30, 30, 24), rng.uniform(-22, 22, 24))]
    targets = _positions(ffi_wcs, (n_cols / 2, n_rows / 2), offsets)
    targets += targets[:4]  # the same targets again, in the same batch
    with ProcessPoolExecutor(N_PROCESSES, mp_context=multiprocessing.get_context("spawn")) as ex:
        table = cube_cut_many(cube.path, targets, cutout_size=SIZE,
                              output_path=str(tmp_path / "pool"), executor=ex, verbose=False)
    assert list(table["status"]) == ["ok"] * len(targets)
    for target, path in zip(targets, table["path"]):
        single = CutoutFactory().cube_cut(cube.path, target, SIZE,
                                          output_path=str(tmp_path / "single"))
        assert os.path.basename(single) == os.path.basename(path)
        assert H.normalized_hash(single) == H.normalized_hash(path)
    assert H.part_files(str(tmp_path)) == []
