"""Roman ASDF files over HTTP and S3 (real servers on 127.0.0.1) give the local cutouts."""

import os
import sys

import pytest

pytest.importorskip("fsspec")
pytest.importorskip("aiohttp")

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "remote"))

from astrocut import fits_cut, remote  # noqa: E402
from astrocut.errors import InvalidInputError  # noqa: E402

from roman_files import sky_at  # noqa: E402


@pytest.fixture
def http_server():
    from servers import RangeServer

    remote.cache.clear()
    with RangeServer() as server:
        yield server


def _bytes(path):
    with open(path, "rb") as handle:
        return handle.read()


def test_fits_cut_over_http_equals_local(http_server, l2_file, tmp_path):
    http_server.put("wfi_l2_cal.asdf", _bytes(l2_file))
    url = f"{http_server.url}/wfi_l2_cal.asdf"
    target = sky_at(l2_file, 120.4, 33.3)
    local = fits_cut([l2_file], target, 15, output_dir=str(tmp_path / "local"))
    http_server.fail_every = 5  # and survives a 503 every fifth request
    got = fits_cut([url], target, 15, output_dir=str(tmp_path / "http"))
    assert _bytes(got) == _bytes(local)


def test_missing_remote_file_names_the_url(http_server, tmp_path):
    url = f"{http_server.url}/none.asdf"
    with pytest.raises(InvalidInputError, match="none.asdf"):
        fits_cut([url], "80 -30", 5, output_dir=str(tmp_path))


def test_fits_cut_from_s3_with_credentials(l2_file, tmp_path):
    pytest.importorskip("s3fs")
    pytest.importorskip("boto3")
    pytest.importorskip("moto.server")
    from servers import start_moto, upload

    server, endpoint = start_moto()
    try:
        upload(endpoint, "roman", {"l2/wfi_l2_cal.asdf": l2_file})
        kwargs = {"key": "testing", "secret": "testing", "endpoint_url": endpoint}
        target = sky_at(l2_file, 200.0, 180.0)
        local = fits_cut([l2_file], target, 11, output_dir=str(tmp_path / "local"))
        got = fits_cut(["s3://roman/l2/wfi_l2_cal.asdf"], target, 11, fsspec_kwargs=kwargs,
                       output_dir=str(tmp_path / "s3"))
        assert _bytes(got) == _bytes(local)
    finally:
        server.stop()
