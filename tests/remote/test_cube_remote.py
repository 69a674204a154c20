"""Target pixel files cut from http:// and s3:// cubes equal those cut from the local cube."""

import os

import pytest

from astrocut import CutoutFactory, cube_cut_many
from astrocut.errors import InvalidInputError
from astrocut.remote import RemoteReadError

NAME = "tess-s0001-1-1-cube.fits"


def _positions(cube_file, count=6, size=8):
    import numpy as np

    from astrocut.cubes import open_cube

    with open_cube(cube_file) as cube:
        rows, cols = cube.info.image_shape
        wcs = cube.wcs
    rng = np.random.default_rng(1)
    xs = rng.uniform(size, cols - size, count)
    ys = rng.uniform(size, rows - size, count)
    # one stamp that runs off the image's edge (NaN-filled) is part of the set
    xs[0], ys[0] = 1.0, 2.0
    ra, dec = wcs.all_pix2world(xs, ys, 0)
    return [f"{r} {d}" for r, d in zip(ra, dec)]


def _serve_cube(server, cube_file):
    server.put(NAME, open(cube_file, "rb").read())
    return f"{server.url}/{NAME}"


def _tpf_bytes(path):
    return open(path, "rb").read()


def test_cube_cut_over_http_equals_local(http_server, cube_file, tmp_path):
    cube, _sector = cube_file
    url = _serve_cube(http_server, cube)
    factory = CutoutFactory()
    for index, position in enumerate(_positions(cube, 3)):
        local = factory.cube_cut(cube, position, [7, 5], output_path=str(tmp_path / "l"))
        got = factory.cube_cut(url, position, [7, 5], output_path=str(tmp_path / "h"))
        assert os.path.basename(got) == os.path.basename(local)
        assert _tpf_bytes(got) == _tpf_bytes(local)


def test_headers_and_table_are_read_once_per_process(http_server, cube_file, tmp_path):
    cube, _sector = cube_file
    url = _serve_cube(http_server, cube)
    position = _positions(cube, 2)[1]
    CutoutFactory().cube_cut(url, position, 6, memory_only=True)
    first = http_server.bytes_sent
    # No HEAD: the size and ETag come with the headers' bytes, the table comes next.
    assert [method for method, _ in http_server.log] == ["GET"] * len(http_server.log)
    assert http_server.log[0][1] == "bytes=0-65535"
    http_server.reset_counters()
    CutoutFactory().cube_cut(url, position, 6, memory_only=True)
    n_ffi = 10
    payload = 6 * 6 * n_ffi * 8
    assert first > payload  # headers and table, once
    # Then a one-byte GET for the file's identity (is the cache still right?) and the stamp.
    assert http_server.log[0] == ("GET", "bytes=0-0")
    assert http_server.bytes_sent <= 1.1 * payload + 1
    assert http_server.gets <= 7  # one range per stamp row, nothing else


def test_changed_cube_is_read_afresh(http_server, cube_file, tmp_path):
    """The cache is checked against the ETag: a replaced cube is not cut with old headers."""
    cube, sector = cube_file
    url = _serve_cube(http_server, cube)
    position = _positions(cube, 2)[1]
    before = CutoutFactory().cube_cut(url, position, 5, memory_only=True)
    from astrocut import CubeFactory

    other = CubeFactory().make_cube(sector.files[:6], str(tmp_path / NAME), verbose=False)
    http_server.put(NAME, open(other, "rb").read())
    after = CutoutFactory().cube_cut(url, position, 5, memory_only=True)
    local = CutoutFactory().cube_cut(other, position, 5, memory_only=True)
    assert len(before[1].data) == 10 and len(after[1].data) == 6
    assert (after[1].data["FLUX"] == local[1].data["FLUX"]).all()


def test_faults_are_survived_and_a_failed_read_writes_nothing(http_server, cube_file,
                                                              tmp_path):
    cube, _sector = cube_file
    url = _serve_cube(http_server, cube)
    position = _positions(cube, 2)[1]
    local = CutoutFactory().cube_cut(cube, position, 6, output_path=str(tmp_path / "l"))
    http_server.fail_every, http_server.drop_every = 3, 5
    got = CutoutFactory().cube_cut(url, position, 6, output_path=str(tmp_path / "h"))
    assert _tpf_bytes(got) == _tpf_bytes(local)
    # every stamp read fails from now on: an error, and no TPF (not even a partial one)
    http_server.drop_every, http_server.fail_every = 0, 1
    out = tmp_path / "failed"
    from astrocut import remote

    with remote.options(retries=1), pytest.raises(RemoteReadError):
        CutoutFactory().cube_cut(url, _positions(cube, 3)[2], 6, output_path=str(out))
    assert not out.exists() or os.listdir(out) == []


def test_changed_between_reads_is_refused(http_server, cube_file, tmp_path):
    cube, sector = cube_file
    url = _serve_cube(http_server, cube)
    from astrocut.cubes import open_cube

    with open_cube(url) as handle:
        http_server.put(NAME, open(cube, "rb").read()[:-2880] + b"\0" * 2880)
        request = _request(_positions(cube, 2)[1], 5)
        with pytest.raises(RemoteReadError, match="changed while being read"):
            handle.cut(request)


def _request(position, size):
    from astrocut.geometry import parse_coordinates, parse_cutout_size
    from astrocut.models import CubeCutRequest

    return CubeCutRequest(center=parse_coordinates(position), size=parse_cutout_size(size))


def test_missing_cube_url(http_server, tmp_path):
    with pytest.raises(InvalidInputError, match=r"404.*check the URL"):
        CutoutFactory().cube_cut(http_server.url + "/none-cube.fits", "10 10", 5,
                                 output_path=str(tmp_path))


def test_cube_cut_many_over_http_equals_local(http_server, cube_file, tmp_path):
    cube, _sector = cube_file
    url = _serve_cube(http_server, cube)
    positions = _positions(cube, 8)
    local = cube_cut_many(cube, positions, 6, output_path=str(tmp_path / "l"), verbose=False)
    http_server.latency = 0.02
    http_server.reset_counters()
    got = cube_cut_many(url, positions, 6, output_path=str(tmp_path / "h"), verbose=False)
    assert list(got["status"]) == ["ok"] * len(positions)
    for ours, theirs in zip(got["path"], local["path"]):
        assert _tpf_bytes(ours) == _tpf_bytes(theirs)
    # requests were in flight across targets: more at once than one stamp's rows
    assert http_server.max_active > 6


def test_cube_cut_from_s3_equals_local(moto_endpoint, cube_file, tmp_path):
    from servers import upload

    cube, _sector = cube_file
    upload(moto_endpoint, "stpubdata", {f"tess/{NAME}": cube})
    kwargs = {"anon": True, "endpoint_url": moto_endpoint}
    url = f"s3://stpubdata/tess/{NAME}"
    positions = _positions(cube, 4)
    local = CutoutFactory().cube_cut(cube, positions[1], 6, output_path=str(tmp_path / "l"))
    got = CutoutFactory().cube_cut(url, positions[1], 6, output_path=str(tmp_path / "s"),
                                   fsspec_kwargs=kwargs)
    assert _tpf_bytes(got) == _tpf_bytes(local)
    many = cube_cut_many(url, positions, 6, output_path=str(tmp_path / "m"), verbose=False,
                         fsspec_kwargs=kwargs)
    local_many = cube_cut_many(cube, positions, 6, output_path=str(tmp_path / "lm"),
                               verbose=False)
    for ours, theirs in zip(many["path"], local_many["path"]):
        assert _tpf_bytes(ours) == _tpf_bytes(theirs)


@pytest.mark.slow
def test_cube_cut_many_on_a_dask_cluster_reading_s3(moto_endpoint, cube_file, tmp_path):
    distributed = pytest.importorskip("distributed")
    from servers import upload

    cube, _sector = cube_file
    upload(moto_endpoint, "dask-bucket", {NAME: cube})
    kwargs = {"anon": True, "endpoint_url": moto_endpoint}
    positions = _positions(cube, 6)
    local = cube_cut_many(cube, positions, 5, output_path=str(tmp_path / "l"), verbose=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        got = cube_cut_many(f"s3://dask-bucket/{NAME}", positions, 5,
                            output_path=str(tmp_path / "d"), executor=client.get_executor(),
                            verbose=False, fsspec_kwargs=kwargs)
    assert list(got["status"]) == ["ok"] * len(positions)
    for ours, theirs in zip(got["path"], local["path"]):
        assert _tpf_bytes(ours) == _tpf_bytes(theirs)
