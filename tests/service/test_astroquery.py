"""astroquery's Tesscut, unchanged, against the local server; lightkurve opens the TPFs."""

import os
import warnings

import numpy as np
import pytest

# The server stack (extra 'serve') and the collection (issue 15) naming the cubes it cuts.
for _module in ("starlette", "uvicorn", "astrocut_tess.collection"):
    pytest.importorskip(_module, exc_type=ModuleNotFoundError)

pytest.importorskip("astroquery")

import astropy.units as u  # noqa: E402
from astropy.coordinates import SkyCoord  # noqa: E402
from astroquery.exceptions import InvalidQueryError, NoResultsWarning  # noqa: E402

from astrocut import CutoutFactory  # noqa: E402


def _target(star):
    return SkyCoord(star.ra, star.dec, unit="deg")


def test_get_sectors_lists_the_cubes_holding_the_target(tesscut, star):
    table = tesscut.get_sectors(coordinates=_target(star))
    assert list(table["sectorName"]) == ["tess-s0001-1-1", "tess-s0027-1-1"]
    assert list(table["sector"]) == [1, 27]
    assert list(table["camera"]) == [1, 1] and list(table["ccd"]) == [1, 1]


def test_get_sectors_radius_reaches_a_cube_the_centre_misses(tesscut, collection, star):
    # Half a degree east of sector 2's cube: outside it, but a 0.6 deg circle reaches it.
    entry = next(e for e in collection.entries if e.sector == 2)
    ra, dec = (float(v) for v in entry.s_region.split()[2:4])
    outside = SkyCoord(ra, dec, unit="deg").directional_offset_by(0 * u.deg, 0.5 * u.deg)
    with pytest.warns(NoResultsWarning, match="not in any TESS sector"):
        assert len(tesscut.get_sectors(coordinates=outside)) == 0
    table = tesscut.get_sectors(coordinates=outside, radius=0.6 * u.deg)
    assert list(table["sector"]) == [2]


def test_get_sectors_off_every_cube_warns_like_tesscut(tesscut):
    with pytest.warns(NoResultsWarning, match="not in any TESS sector"):
        table = tesscut.get_sectors(coordinates=SkyCoord(10, 10, unit="deg"))
    assert len(table) == 0


def test_get_cutouts_equal_the_library_tpfs(tesscut, collection, star, tmp_path):
    hdulists = tesscut.get_cutouts(coordinates=_target(star), size=[9, 7])  # (ny, nx)
    names = [h.filename for h in hdulists]
    assert len(names) == 2
    assert names[0].startswith("tess-s0001-1-1_") and names[0].endswith("_7x9_astrocut.fits")
    assert names[1].startswith("tess-s0027-1-1_")
    for entry, served in zip(sorted(collection.entries, key=lambda e: e.sector)[::2], hdulists):
        local = CutoutFactory().cube_cut(entry.path, _target(star), [7, 9], memory_only=True)
        assert served[1].data["FLUX"].shape == (8, 9, 7)
        for column in ("TIME", "FLUX", "FLUX_ERR", "QUALITY"):
            np.testing.assert_array_equal(served[1].data[column], local[1].data[column])
        for key in ("SECTOR", "CAMERA", "CCD", "RA_OBJ", "DEC_OBJ"):
            assert served[0].header[key] == local[0].header[key]
        assert served[2].header["CRVAL1"] == local[2].header["CRVAL1"]


def test_size_in_angle_is_sent_as_degrees_and_cut_to_pixels(tesscut, star):
    # 1.4 arcmin is four 21-arcsec pixels
    hdulists = tesscut.get_cutouts(coordinates=_target(star), size=1.4 * u.arcmin, sector=27)
    assert len(hdulists) == 1
    assert hdulists[0][1].data["FLUX"].shape[1:] == (4, 4)


def test_download_cutouts_writes_tpfs_lightkurve_opens(tesscut, star, tmp_path):
    lightkurve = pytest.importorskip("lightkurve")
    manifest = tesscut.download_cutouts(coordinates=_target(star), size=5, sector=[1, 27],
                                        path=str(tmp_path))
    paths = list(manifest["Local Path"])
    assert [os.path.basename(p)[:14] for p in paths] == ["tess-s0001-1-1", "tess-s0027-1-1"]
    assert not list(tmp_path.glob("*.zip"))  # inflated, zip removed
    for path in paths:
        tpf = lightkurve.read(path, quality_bitmask="none")
        assert isinstance(tpf, lightkurve.TessTargetPixelFile)
        assert tpf.shape == (8, 5, 5)
        curve = tpf.to_lightcurve(aperture_mask="all")
        assert np.all(np.isfinite(curve.flux.value))


def test_download_cutouts_without_inflating_keeps_the_zip(tesscut, star, tmp_path):
    import zipfile

    manifest = tesscut.download_cutouts(coordinates=_target(star), size=3, sector=1,
                                        path=str(tmp_path), inflate=False)
    (path,) = manifest["Local Path"]
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        assert len(archive.namelist()) == 1


def test_target_in_no_cube_gets_an_empty_result_and_our_message(tesscut, tmp_path):
    far = SkyCoord(10, 10, unit="deg")
    with pytest.warns(NoResultsWarning, match="No cube in this service holds the target"):
        assert tesscut.get_cutouts(coordinates=far, size=5) == []
    with pytest.warns(NoResultsWarning, match="No cube in this service"):
        manifest = tesscut.download_cutouts(coordinates=far, size=5, path=str(tmp_path))
    assert len(manifest) == 0


def test_served_sector_without_the_target_is_no_result(tesscut, star):
    with pytest.warns(NoResultsWarning, match="in sector 2"):
        assert tesscut.get_cutouts(coordinates=_target(star), size=5, sector=2) == []


def test_bad_requests_raise_astroquerys_error(tesscut, star):
    with pytest.raises(InvalidQueryError):
        tesscut.get_cutouts(coordinates=_target(star), size=5, sector=99)
    with pytest.raises(InvalidQueryError):
        tesscut.get_cutouts(coordinates=_target(star), size=[80, 80])  # over max_pixels
    with pytest.raises(InvalidQueryError):
        tesscut.get_sectors(objectname="Eleonora", moving_target=True)


def test_download_cutouts_on_a_bad_request_raises_requests_error(tesscut, star, tmp_path):
    # download_cutouts fetches with _download_file, which raises requests' HTTPError on a
    # 400 (not InvalidQueryError), and leaves no zip behind.
    requests = pytest.importorskip("requests")
    with pytest.raises(requests.HTTPError, match="400"):
        tesscut.download_cutouts(coordinates=_target(star), size=5, sector=99, path=str(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_warnings_are_not_errors_for_good_requests(tesscut, star):
    with warnings.catch_warnings():
        warnings.simplefilter("error", NoResultsWarning)
        assert len(tesscut.get_cutouts(coordinates=_target(star), size=3)) == 2


def test_astroquery_config_file_route_reaches_the_server(server_url, star, tmp_path):
    """``[mast] server = ...`` in astroquery.cfg: even the module's ready-made ``Tesscut``."""
    import json
    import subprocess
    import sys

    config = tmp_path / "astropy"
    config.mkdir()
    (config / "astroquery.cfg").write_text(f"[mast]\nserver = {server_url}\n")
    script = ("import json; from astroquery.mast import Tesscut\n"
              f"t = Tesscut.get_sectors(coordinates='{star.ra} {star.dec}')\n"
              "print(json.dumps(list(t['sectorName'])))\n")
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path / "c"))
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                            text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == ["tess-s0001-1-1",
                                                                  "tess-s0027-1-1"]
