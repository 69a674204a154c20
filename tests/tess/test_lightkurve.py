"""Issue 4: lightkurve opens our target pixel files as TESS TPFs and finds the signal."""

import warnings

import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from astrocut import CutoutFactory

lk = pytest.importorskip("lightkurve")


@pytest.fixture(scope="module")
def variable_tpf(small_sector, small_cube, tmp_path_factory):
    star = small_sector.variable_star
    out = tmp_path_factory.mktemp("lk")
    path = CutoutFactory().cube_cut(small_cube, SkyCoord(star.ra, star.dec, unit="deg"), [9, 8],
                                    output_path=str(out))
    return path


def _read(path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lightkurve's own deprecation chatter
        return lk.read(path, **kwargs)


def test_read_gives_a_tess_tpf(variable_tpf):
    tpf = _read(variable_tpf)
    assert isinstance(tpf, lk.TessTargetPixelFile)
    assert tpf.mission.upper() == "TESS"
    assert tpf.flux.shape[1:] == (8, 9)
    assert str(tpf.flux.unit) in ("electron / s", "e-/s")
    assert tpf.time.format == "btjd"


def test_light_curve_follows_the_variable_star(variable_tpf, small_sector):
    tpf = _read(variable_tpf, quality_bitmask="none")
    star = small_sector.variable_star
    px, py = (float(v) for v in tpf.wcs.world_to_pixel(SkyCoord(star.ra, star.dec, unit="deg")))
    ys, xs = np.mgrid[0:tpf.shape[1], 0:tpf.shape[2]]
    mask = np.hypot(xs - px, ys - py) <= 2.0  # the star's core pixels
    assert 9 <= mask.sum() <= 16
    lc = tpf.to_lightcurve(aperture_mask=mask)
    assert len(lc) == len(small_sector.files)
    expected = star.flux_at(np.asarray(tpf.time.value))
    # TIME is the target's (issue 13): within a second of the FFI's near the reference pixel.
    np.testing.assert_allclose(tpf.time.value, small_sector.times, atol=1 / 86400, rtol=0)
    correlation = np.corrcoef(np.asarray(lc.flux.value), expected)[0, 1]
    assert correlation > 0.95
    full = tpf.to_lightcurve(aperture_mask="all")
    assert np.corrcoef(np.asarray(full.flux.value), expected)[0, 1] > 0.95


def test_column_and_row_are_the_stamp_position(variable_tpf, small_sector, small_cube):
    from astrocut_tess.cutout import TessCube

    tpf = _read(variable_tpf)
    star = small_sector.variable_star
    with TessCube.open(small_cube) as opened:
        x, y = opened.wcs.all_world2pix([[star.ra, star.dec]], 0)[0]
    assert tpf.column == int(np.round(x - 9 / 2)) + 1
    assert tpf.row == int(np.round(y - 8 / 2)) + 1
    assert tpf.column != 0 and tpf.row != 0


def test_wcs_puts_the_target_on_its_pixel(variable_tpf, small_sector, small_cube):
    from astrocut_tess.cutout import TessCube

    tpf = _read(variable_tpf)
    star = small_sector.variable_star
    target = SkyCoord(star.ra, star.dec, unit="deg")
    px, py = (float(v) for v in tpf.wcs.world_to_pixel(target))
    with TessCube.open(small_cube) as opened:
        x, y = opened.wcs.all_world2pix([[star.ra, star.dec]], 0)[0]
    # The target's pixel in stamp coordinates (tpf.column is 1-based).
    sx, sy = x - (tpf.column - 1), y - (tpf.row - 1)
    assert abs(px - sx) < 1 and abs(py - sy) < 1
    assert abs(px - sx) < 0.05 and abs(py - sy) < 0.05  # in practice, much closer
    # The brightest pixel is the star's.
    image = np.nanmedian(np.asarray(tpf.flux.value), axis=0)
    by, bx = np.unravel_index(np.nanargmax(image), image.shape)
    assert abs(bx - px) <= 1 and abs(by - py) <= 1


def test_plot_with_agg(variable_tpf, tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tpf = _read(variable_tpf)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ax = tpf.plot()
        ax.figure.savefig(tmp_path / "tpf.png")
        tpf.plot(aperture_mask="all", frame=3)
        lc_ax = tpf.to_lightcurve(aperture_mask="all").plot()
        lc_ax.figure.savefig(tmp_path / "lc.png")
    plt.close("all")
    assert (tmp_path / "tpf.png").stat().st_size > 1000
