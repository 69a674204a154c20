"""Cross-check with the reference tool (astrocut 1.4.0 from PyPI) in its own venv.

Runs only when ASTROCUT_REFERENCE_PYTHON names that venv's python (CI sets it). Same inputs
must give the same shapes and pixel values, and the same PNG pixels from img_cut.
"""

import json
import os
import subprocess

import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.wcs import WCS
from PIL import Image

from astrocut import fits_cut, img_cut

REFERENCE = os.environ.get("ASTROCUT_REFERENCE_PYTHON")
pytestmark = [pytest.mark.skipif(not REFERENCE or not os.path.exists(REFERENCE),
                                 reason="ASTROCUT_REFERENCE_PYTHON is not set"),
              # The archaic PC001001 case's headers make astropy's WCS say so; expected.
              pytest.mark.filterwarnings("ignore::astropy.wcs.FITSFixedWarning")]

SCRIPT = """
import json, sys, warnings
warnings.simplefilter("ignore")
from astrocut import fits_cut, img_cut
jobs = json.loads(sys.argv[1])
results = []
for job in jobs:
    if job["kind"] == "fits":
        paths = fits_cut(job["files"], job["coord"], job["size"], single_outfile=False,
                         output_dir=job["out"], extension=job.get("extension"))
    else:
        paths = img_cut(job["files"], job["coord"], job["size"], img_format="png",
                        output_dir=job["out"], **job.get("options", {}))
    results.append([paths] if isinstance(paths, str) else paths)
print(json.dumps(results))
"""


def run_reference(jobs, workdir):
    # Run outside the repository and without PYTHONPATH, so that "import astrocut" finds
    # the reference tool, not this project.
    env = {**os.environ, "PYTHONPATH": ""}
    done = subprocess.run([REFERENCE, "-c", SCRIPT, json.dumps(jobs)], capture_output=True,
                          text=True, cwd=workdir, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def coord_string(coord):
    return f"{coord.ra.deg:.10f} {coord.dec.deg:.10f}"


@pytest.fixture(scope="module")
def cases(hst_field, small_images):
    """(files, coordinate, size[, extension]) cases: centre, odd sizes, a partial overlap,
    SIP, gzip, SIP cards under a plain TAN CTYPE, archaic PC001001 keywords."""
    edge_ra, edge_dec = hst_field.wcs.all_pix2world([[9990.3, 25.6]], 0)[0]
    with fits.open(small_images.sip) as hdulist:
        sip_wcs = WCS(hdulist[1].header)
    sip_ra, sip_dec = sip_wcs.all_pix2world([[1100.3, 140.8]], 0)[0]
    hst = [hst_field.f606w, hst_field.f814w]
    return [
        (hst, hst_field.marker, [200, 300]),
        (hst, hst_field.center, [31, 17]),
        (hst, SkyCoord(edge_ra, edge_dec, unit="deg"), [64, 90]),
        ([small_images.sip, small_images.gz], SkyCoord(210.7, 54.41, unit="deg"), [45, 33]),
        ([small_images.sip], SkyCoord(sip_ra, sip_dec, unit="deg"), [80, 80]),
        ([small_images.odd], SkyCoord(210.7, 54.41, unit="deg"), [30, 30], 1),
        ([small_images.odd], small_images.tan_center, [12, 14], 2),
        # Not integer images with BLANK or BZERO: the reference tool opens files with
        # memmap=True and fails on them ("Cannot load a memory-mapped image").
    ]


def test_same_pixels_and_shapes_as_reference(cases, tmp_path):
    jobs = [dict(kind="fits", files=case[0], coord=coord_string(case[1]), size=case[2],
                 extension=case[3] if len(case) > 3 else None, out=str(tmp_path / f"ref{i}"))
            for i, case in enumerate(cases)]
    reference = run_reference(jobs, str(tmp_path))
    for job, ref_paths in zip(jobs, reference):
        size = job["size"]
        ours = fits_cut(job["files"], job["coord"], size, single_outfile=False,
                        memory_only=True, extension=job["extension"])
        assert len(ours) == len(ref_paths)
        for hdulist, ref_path in zip(ours, ref_paths):
            with fits.open(ref_path) as ref:
                expected = ref[1].data
                assert hdulist[1].data.shape == expected.shape == (size[1], size[0])
                np.testing.assert_array_equal(hdulist[1].data, expected)
                assert hdulist[1].header["ORIG_EXT"] == ref[1].header["ORIG_EXT"]
                # Both WCSs give the same sky position at the stamp's centre pixel.
                ny, nx = expected.shape
                ours_sky = WCS(hdulist[1].header).all_pix2world([[nx / 2, ny / 2]], 0)
                ref_sky = WCS(ref[1].header).all_pix2world([[nx / 2, ny / 2]], 0)
                np.testing.assert_allclose(ours_sky, ref_sky, rtol=0, atol=1e-9)


def test_same_png_pixels_as_reference(hst_field, small_images, tmp_path):
    jobs = [dict(kind="img", files=[hst_field.f606w], coord=coord_string(hst_field.marker),
                 size=[120, 90], out=str(tmp_path / "a")),
            dict(kind="img", files=[hst_field.f814w], coord=coord_string(hst_field.marker),
                 size=[120, 90], out=str(tmp_path / "b"),
                 options=dict(stretch="log", minmax_value=[0.0, 2.0])),
            dict(kind="img", files=small_images.rgb, coord="30 -20", size=[60, 50],
                 out=str(tmp_path / "c"), options=dict(colorize=True, stretch="sqrt"))]
    reference = run_reference(jobs, str(tmp_path))
    for job, ref_paths in zip(jobs, reference):
        ours = img_cut(job["files"], job["coord"], job["size"], img_format="png",
                       output_dir=str(tmp_path / "ours"), **job.get("options", {}))
        ours = [ours] if isinstance(ours, str) else ours
        for mine, theirs in zip(ours, ref_paths):
            with Image.open(mine) as a, Image.open(theirs) as b:
                assert (a.size, a.mode) == (b.size, b.mode)
                np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
