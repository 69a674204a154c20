"""Several processes cutting from one cube and one image at once, into one directory.

Every process starts cutting at the same moment (a barrier), the target lists overlap, and
one target is cut by every process, so the same output file is written by four processes
at the same time. The directory must end up holding exactly the files a serial run writes,
byte for byte (every FITS checksum verified), and no temporary file.
"""

import multiprocessing
import os
import time


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
        parallel, serial = os.path.join(parallel_dir, name), os.path.join(serial_dir, name)
        H.verify_checksums(parallel)
        assert H.file_hash(parallel) == H.file_hash(serial), name


def test_two_processes_building_the_same_cube(sector, cube, tmp_path):
    """Two builds racing for one cube_file: the survivor is a complete, correct cube."""
    cube_file = str(tmp_path / "race-cube.fits")
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    processes = [context.Process(target=H.build_worker, args=(barrier, sector.files, cube_file))
                 for _ in range(2)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [p.exitcode for p in processes] == [0, 0]
    assert H.cube_digest(cube_file) == H.cube_digest(cube.path)
    assert sorted(os.listdir(tmp_path)) == ["race-cube.fits"]


def test_cutting_while_the_cube_is_updated(sector, later_ffis, cube, tmp_path):
    """Readers of a cube being updated see the old cube or the new one, never a mixture."""
    from astrocut import CubeFactory

    cube_file = H.copy(cube.path, str(tmp_path / "live-cube.fits"))
    os.chmod(cube_file, 0o644)
    star = sector.variable_star
    target = f"{star.ra} {star.dec}"
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    new_length = len(sector.files) + len(later_ffis)
    reader = context.Process(target=H.update_reader_worker,
                             args=(barrier, cube_file, target, SIZE, new_length, str(tmp_path)))
    reader.start()
    barrier.wait(timeout=60)
    time.sleep(0.2)  # let the reader cut the old cube a few times
    CubeFactory().update_cube(later_ffis, cube_file, verbose=False)
    reader.join(timeout=120)
    assert reader.exitcode == 0
    [name] = [n for n in os.listdir(tmp_path) if n.startswith("lengths-")]
    lengths = [int(v) for v in (tmp_path / name).read_text().split()]
    # Old cube first, then the new one: nothing in between, nothing failed.
    assert set(lengths) == {len(sector.files), new_length}, lengths
    assert lengths == sorted(lengths)
    assert H.part_files(str(tmp_path)) == []


def test_outputs_are_byte_reproducible(cube, image, sector, tmp_path):
    """The same call a second later writes the same bytes (no time of writing in files), so
    a parallel run and a serial run can be compared byte for byte."""
    from astrocut import img_cut

    star = sector.variable_star
    ra, dec = H.IMAGE_CENTER

    def run(directory):
        return [CutoutFactory().cube_cut(cube.path, f"{star.ra} {star.dec}", SIZE,
                                         output_path=directory),
                fits_cut([image.path], f"{ra} {dec}", SIZE, output_dir=directory),
                img_cut([image.path], f"{ra} {dec}", SIZE, output_dir=directory,
                        img_format="png")[0]]

    first = run(str(tmp_path / "first"))
    time.sleep(1.1)  # checksum comments are stamped to the second
    second = run(str(tmp_path / "second"))
    differ = [os.path.basename(a) for a, b in zip(first, second)
              if H.file_hash(a) != H.file_hash(b)]
    assert differ == [], f"not byte-reproducible: {differ}"
