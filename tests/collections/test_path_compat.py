"""1.x's two-step moving-target names: path_to_footprints' rectangles and center_on_path's
file layout over target pixel files."""

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from astropy.time import Time
from astropy.wcs import WCS
from astrocut_tess.cutout import TessCube
from astrocut_tess.path_compat import center_on_path, path_to_footprints

import astrocut
from astrocut.errors import InvalidInputError
from astrocut.geometry import stamp_corner

from collection_helpers import make_cube

N = 10
MOVER = (10.3, 22.2, 20.0, 2.0, 3.0e4)


@pytest.fixture(scope="module")
def moving(tmp_path_factory):
    path, sector = make_cube(str(tmp_path_factory.mktemp("compat")), 1, 1, 1, n_ffi=N,
                             mover=MOVER, flagged_frames={})
    with TessCube.open(path) as cube:
        wcs = cube.wcs.deepcopy()
        wcs.pixel_shape = cube.info.image_shape[::-1]
    return path, sector, wcs


def test_path_to_footprints_follows_1x_size_and_rectangles(moving, tmp_path):
    path, _, wcs = moving
    xs, ys = [10, 20, 30, 40], [10, 12, 15, 30]
    positions = wcs.pixel_to_world(xs, ys)
    (only,) = path_to_footprints(positions, [4, 6], wcs)  # size[0] is along x, as in 1.x
    assert only["size"] == [30 - 10 + 6, 40 - 10 + 4]  # [ny, nx], max - min + size
    assert only["center_coord"] is only["coordinates"]
    cx, cy = wcs.world_to_pixel(only["coordinates"])
    assert (float(cx), float(cy)) == pytest.approx((8 + 34 / 2, 7 + 26 / 2), abs=1e-6)
    # a 1.x-placed cutout of that size at that centre is the rectangle
    tpf = astrocut.CutoutFactory().cube_cut(path, only["coordinates"], only["size"][::-1],
                                            placement="reference", output_path=str(tmp_path))
    header = fits.getheader(tpf, 1)
    assert (header["1CRV5P"] - 1, header["2CRV5P"] - 1) == (8, 7)
    assert fits.getdata(tpf, 1)["FLUX"].shape[1:] == (26, 34)
    several = path_to_footprints(positions, [4, 6], wcs, max_pixels=100)
    assert len(several) == 4 and all(np.prod(f["size"]) <= 100 for f in several)
    assert path_to_footprints(positions, 4, wcs)[0]["size"] == [20 + 4, 30 + 4]
    with pytest.raises(InvalidInputError, match="size"):
        path_to_footprints(positions, [4, 5, 6], wcs)


def test_center_on_path_over_tpfs_has_1x_layout_and_aperture(moving, tmp_path):
    path, sector, wcs = moving
    positions = sector.mover.path["position"]
    tpfs = [astrocut.CutoutFactory().cube_cut(path, f["coordinates"], f["size"][::-1],
                                              output_path=str(tmp_path))
            for f in path_to_footprints(positions, [7, 7], wcs, max_pixels=500)]
    assert len(tpfs) >= 2
    out = center_on_path(sector.mover.path, [5, 3], tpfs, target="C/2026 X1", img_wcs=wcs,
                         output_path=str(tmp_path), verbose=False)
    assert out == str(tmp_path / "C-2026_X1_5x3_astrocut.fits")
    with fits.open(out) as hdulist:
        assert [h.name for h in hdulist] == ["PRIMARY", "PIXELS", "APERTURE"]
        primary = hdulist[0].header
        assert primary["DATE"] == Time.now().to_value("iso", subfmt="date")
        assert primary["OBJECT"] == "C/2026 X1" and primary["SECTOR"] == 1
        ra_obj = {fits.getheader(t)["RA_OBJ"] for t in tpfs}
        assert len(ra_obj) > 1 and "RA_OBJ" not in primary  # differs between the inputs
        data = hdulist[1].data
        assert data["FLUX"].shape[1:] == (3, 5)  # size [nx, ny]
        assert [hdulist[1].header[f"INPUT{i}"] for i in range(primary["NCUBES"])] == tpfs
        aperture = hdulist[2].data
        assert aperture.shape == wcs.array_shape
        assert WCS(hdulist[2].header).to_header(relax=True) == wcs.to_header(relax=True)
        expected = np.zeros(wcs.array_shape, np.int32)
        x, y = sector.mover.pixel_at(sector.times)
        for a, b in zip(x, y, strict=True):
            x0, y0 = stamp_corner(a, 5), stamp_corner(b, 3)
            expected[max(y0, 0):y0 + 3, max(x0, 0):x0 + 5] = 1
        np.testing.assert_array_equal(aperture, expected)
    # without img_wcs: two HDUs, and OBJECT as the inputs have it
    out = center_on_path(sector.mover.path, 5, tpfs, output_path=str(tmp_path), verbose=False)
    with fits.open(out) as hdulist:
        assert len(hdulist) == 2
        assert hdulist[0].header["OBJECT"] == fits.getheader(tpfs[0])["OBJECT"]


def test_center_on_path_ffi_mode_keeps_the_files_times(moving, tmp_path):
    path, sector, wcs = moving
    (box,) = path_to_footprints(sector.mover.path["position"], [7, 7], wcs)
    tpf = astrocut.CutoutFactory().cube_cut(path, box["coordinates"], box["size"][::-1],
                                            output_path=str(tmp_path))
    out = center_on_path(sector.mover.path, 5, [tpf], output_path=str(tmp_path),
                         verbose=False, time_correction="ffi")
    rows = fits.getdata(out, 1)
    assert fits.getheader(out, 1)["TCORRTYP"] == "INPUT"
    np.testing.assert_array_equal(rows["TIME"], fits.getdata(tpf, 1)["TIME"])
    with pytest.raises(InvalidInputError, match="time_correction"):
        center_on_path(Table(sector.mover.path), 5, [tpf], time_correction="bary")
