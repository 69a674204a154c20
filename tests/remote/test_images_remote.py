"""fits_cut and img_cut on http:// and s3:// images equal the same calls on local files."""

import os

import numpy as np
import pytest
from astropy.io import fits

from astrocut import fits_cut, img_cut
from astrocut.errors import InvalidInputError
from astrocut.remote import RemoteReadError

CENTER = "30.0 -20.0"
KINDS = ["float", "int", "scaled", "compressed"]


def _serve(server, images):
    for path in images.values():
        server.put(os.path.basename(path), open(path, "rb").read())
    return {kind: f"{server.url}/{os.path.basename(path)}" for kind, path in images.items()}


@pytest.mark.parametrize("kind", KINDS)
def test_fits_cut_over_http_equals_local(http_server, images, tmp_path, kind):
    urls = _serve(http_server, images)
    local = fits_cut(str(images[kind]), CENTER, [30, 20], output_dir=str(tmp_path / "local"))
    http_server.fail_every = 4  # and survives a 503 every fourth request
    got = fits_cut(urls[kind], CENTER, [30, 20], output_dir=str(tmp_path / "http"))
    assert open(got, "rb").read() == open(local, "rb").read()


def test_plain_image_moves_only_headers_and_the_stamp(http_server, images, tmp_path):
    urls = _serve(http_server, images)
    http_server.reset_counters()
    fits_cut(urls["float"], CENTER, [30, 20], output_dir=str(tmp_path))
    stamp = 30 * 20 * 4
    headers = 64 * 1024  # one read-ahead block per header (the HDUs' headers)
    assert http_server.bytes_sent <= 1.1 * stamp + 2 * headers
    assert os.path.getsize(images["float"]) > 3 * http_server.bytes_sent


def test_img_cut_over_http_equals_local(http_server, images, tmp_path):
    urls = _serve(http_server, images)
    local = img_cut(str(images["float"]), CENTER, 25, img_format="png",
                    output_dir=str(tmp_path / "local"))
    got = img_cut(urls["float"], CENTER, 25, img_format="png", output_dir=str(tmp_path / "http"))
    from PIL import Image

    with Image.open(got[0]) as ours, Image.open(local[0]) as theirs:
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
        # the metadata differ only in naming the input where it was read from
        assert ours.info.pop("input_files") == f'["{urls["float"]}"]'
        theirs.info.pop("input_files")
        assert ours.info == theirs.info


def test_memory_only_over_http(http_server, images):
    urls = _serve(http_server, images)
    (remote_list,) = fits_cut(urls["int"], CENTER, 12, memory_only=True)
    (local_list,) = fits_cut(str(images["int"]), CENTER, 12, memory_only=True)
    np.testing.assert_array_equal(remote_list[1].data, local_list[1].data)
    assert np.isnan(remote_list[1].data).sum() == np.isnan(local_list[1].data).sum()


def test_fits_cut_missing_url(http_server, tmp_path):
    with pytest.raises(InvalidInputError, match="404"):
        fits_cut(http_server.url + "/none.fits", CENTER, 10, output_dir=str(tmp_path))
    assert os.listdir(tmp_path) == []


def test_fits_cut_has_an_overall_timeout(http_server, images, tmp_path):
    """Issue 10 item 9: a server trickling a byte every two seconds cannot hold fits_cut."""
    from astrocut import remote

    urls = _serve(http_server, images)
    http_server.trickle = 2.0
    with remote.options(timeout=1.5), pytest.raises(RemoteReadError, match="within 1.5 s"):
        fits_cut(urls["float"], CENTER, 10, output_dir=str(tmp_path))
    assert os.listdir(tmp_path) == []


def test_fits_cut_from_s3(moto_endpoint, images, tmp_path):
    from servers import upload

    upload(moto_endpoint, "images", {f"hst/{os.path.basename(p)}": p for p in images.values()})
    kwargs = {"anon": True, "endpoint_url": moto_endpoint}
    for kind in ("float", "compressed"):
        name = os.path.basename(images[kind])
        local = fits_cut(str(images[kind]), CENTER, 16, output_dir=str(tmp_path / "l" / kind))
        got = fits_cut(f"s3://images/hst/{name}", CENTER, 16, fsspec_kwargs=kwargs,
                       output_dir=str(tmp_path / "s3" / kind))
        assert open(got, "rb").read() == open(local, "rb").read()
    with pytest.raises(InvalidInputError, match="404"):
        fits_cut("s3://images/hst/none.fits", CENTER, 16, fsspec_kwargs=kwargs,
                 output_dir=str(tmp_path))
