"""astrocut.remote: ranged reads of local files, HTTP and S3, with faults injected."""

import os
import sys
import time

import pytest

from astrocut import remote
from astrocut.errors import InvalidInputError
from astrocut.remote import RemoteReadError, merge_ranges, open_ranged

DATA = os.urandom(2_000_000)
RANGES = [(i * 90_000 + 17, 5_000) for i in range(20)]
EXPECTED = [DATA[o:o + n] for o, n in RANGES]


def test_merge_ranges_merges_neighbours_within_the_waste_budget():
    assert merge_ranges([(100, 10), (0, 100), (110, 5)]) == [(0, 115)]
    # a 10-byte gap between 1000-byte ranges costs 0.5%: merged
    assert merge_ranges([(0, 1000), (1010, 1000)]) == [(0, 2010)]
    # a gap larger than 5% of the payload is not read
    assert merge_ranges([(0, 1000), (1200, 1000)]) == [(0, 1000), (1200, 1000)]
    requests = merge_ranges([(i * 1010, 1000) for i in range(100)])
    payload = 100 * 1000
    assert sum(n for _, n in requests) <= 1.05 * payload
    # large requests are split so their parts travel concurrently
    assert merge_ranges([(0, 20 * 1024 * 1024)]) == [
        (0, 8 << 20), (8 << 20, 8 << 20), (16 << 20, 4 << 20)]


def test_local_reader(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(DATA)
    with open_ranged(str(path)) as reader:
        assert reader.size == len(DATA) and reader.etag is None
        assert reader.read_ranges(RANGES) == EXPECTED
        assert open_ranged(f"file://{path}").read_ranges(RANGES[:2]) == EXPECTED[:2]
        with pytest.raises(InvalidInputError, match="truncated"):
            reader.read_ranges([(len(DATA) - 10, 20)])
    with pytest.raises(InvalidInputError, match="cannot open"):
        open_ranged(str(tmp_path / "missing.bin"))


def test_http_ranges_are_concurrent_and_bounded(http_server):
    remote.cache.clear()  # a file whose headers were parsed before opens with one byte
    http_server.put("f.bin", DATA)
    http_server.latency = 0.05
    with remote.options(max_in_flight=4):
        reader = open_ranged(http_server.url + "/f.bin")
    assert (reader.size, reader.etag) == (len(DATA), http_server.etags["f.bin"])
    # Opening asked for the first 64 KiB, whose answer gave size and ETag: no HEAD.
    assert http_server.log == [("GET", "bytes=0-65535")]
    opening = reader.bytes_read
    assert opening == http_server.bytes_sent == 65536
    http_server.reset_counters()
    assert reader.read_ranges(RANGES) == EXPECTED
    assert http_server.gets == len(RANGES)  # one request per range: none merged here
    assert 1 < http_server.max_active <= 4
    # bytes moved: exactly the payload
    assert http_server.bytes_sent == sum(n for _, n in RANGES) == reader.bytes_read - opening


def test_default_bound_sends_a_30_row_stamp_at_once(http_server):
    # The README's promise: up to 32 ranges (a stamp of 32 rows) go out together by default.
    ranges = [(i * 60_000 + 3, 2_000) for i in range(30)]
    http_server.put("rows.bin", DATA)
    http_server.latency = 0.05
    reader = open_ranged(http_server.url + "/rows.bin")
    http_server.reset_counters()
    assert reader.read_ranges(ranges) == [DATA[o:o + n] for o, n in ranges]
    assert http_server.gets == 30
    assert 16 < http_server.max_active <= 32
    assert remote.current_options().max_in_flight == 32


@pytest.mark.parametrize("fault", ["fail_every", "429", "drop_every", "short_every"])
def test_http_transient_faults_are_retried(http_server, fault):
    http_server.put("f.bin", DATA)
    reader = open_ranged(http_server.url + "/f.bin")
    if fault == "429":
        fault, http_server.fail_status = "fail_every", 429
    setattr(http_server, fault, 3)
    assert reader.read_ranges(RANGES) == EXPECTED
    assert http_server.gets > len(RANGES)  # some were sent again


def test_opening_retries_its_first_get_and_gives_up_in_bounds(http_server):
    http_server.put("f.bin", DATA)
    http_server.reset_counters()
    http_server.fail_first = 2  # the opening's GET fails twice, then the file is read
    try:
        reader = open_ranged(http_server.url + "/f.bin", retries=2)
        assert (reader.size, reader.etag) == (len(DATA), http_server.etags["f.bin"])
        assert http_server.log == [("GET", "bytes=0-65535")] * 3
        assert reader.read_ranges(RANGES) == EXPECTED
        http_server.reset_counters()
        http_server.fail_first = 10
        with pytest.raises(RemoteReadError, match=r"f\.bin.*first bytes failed after 3 attempts"):
            open_ranged(http_server.url + "/f.bin", retries=2, timeout=30.0)
        assert http_server.gets == 3
    finally:
        http_server.fail_first = 0


def test_retries_are_bounded(http_server):
    http_server.put("f.bin", DATA)
    reader = open_ranged(http_server.url + "/f.bin", retries=2)
    http_server.fail_every = 1
    http_server.reset_counters()
    with pytest.raises(RemoteReadError, match="after 3 attempts"):
        reader.read_ranges(RANGES[:1])
    assert http_server.gets == 3


def test_missing_and_forbidden_name_the_url_and_what_to_check(http_server):
    url = http_server.url + "/nothing.fits"
    with pytest.raises(InvalidInputError, match=r"nothing\.fits.*404.*check the URL"):
        open_ranged(url)
    http_server.put("secret.fits", DATA)
    http_server.status["secret.fits"] = 403
    with pytest.raises(InvalidInputError, match=r"secret\.fits.*403.*anon"):
        open_ranged(http_server.url + "/secret.fits")


def test_changed_file_is_refused(http_server):
    http_server.put("f.bin", DATA)
    reader = open_ranged(http_server.url + "/f.bin")
    reader.read_ranges(RANGES[:1])
    http_server.put("f.bin", DATA[::-1])
    with pytest.raises(RemoteReadError, match="changed while being read"):
        reader.read_ranges(RANGES)


def test_overall_timeout_stops_a_trickling_server(http_server):
    http_server.put("f.bin", DATA)
    reader = open_ranged(http_server.url + "/f.bin", timeout=1.0)
    http_server.trickle = 2.0  # one byte every two seconds
    started = time.monotonic()
    with pytest.raises(RemoteReadError, match="within 1 s"):
        reader.read_ranges([(0, 100)])
    assert time.monotonic() - started < 5


def test_without_the_remote_extra_a_url_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "fsspec", None)
    with pytest.raises(InvalidInputError, match=r"astrocut\[remote\]"):
        open_ranged("https://example.invalid/cube.fits")


def test_one_open_per_url_within_an_options_block(http_server):
    http_server.put("f.bin", DATA)
    with remote.options():
        first = open_ranged(http_server.url + "/f.bin")
        assert open_ranged(http_server.url + "/f.bin") is first
    assert open_ranged(http_server.url + "/f.bin") is not first
    assert http_server.requests == 2  # openings: one per block


def test_a_server_without_range_support_is_refused_at_once(http_server):
    http_server.put("big.bin", DATA * 50)  # 5 MB
    http_server.ignore_range = True
    with pytest.raises(RemoteReadError, match=r"big\.bin.*supports HTTP Range requests"):
        open_ranged(http_server.url + "/big.bin")
    # Refused from the answer's headers, before its body: the file was not downloaded.
    assert http_server.bytes_sent < len(DATA)


def test_an_empty_file_opens_through_a_head(http_server):
    http_server.put("empty.bin", b"")
    reader = open_ranged(http_server.url + "/empty.bin")
    assert reader.size == 0 and reader.etag == http_server.etags["empty.bin"]
    # Byte 0 does not exist (416), so the size comes from a HEAD instead.
    assert [method for method, _ in http_server.log] == ["GET", "HEAD"]


def test_memo_is_checked_against_the_etag(http_server):
    http_server.put("f.bin", DATA)
    built = []
    first = open_ranged(http_server.url + "/f.bin")
    assert remote.memo(first, "x", lambda: built.append(1) or "old") == "old"
    assert remote.memo(open_ranged(http_server.url + "/f.bin"), "x", lambda: "again") == "old"
    http_server.put("f.bin", DATA[::-1])
    assert remote.memo(open_ranged(http_server.url + "/f.bin"), "x", lambda: "new") == "new"


def test_anonymous_s3_goes_over_plain_https_others_through_s3fs():
    from astrocut.remote.fsspec_reader import s3_http_url

    assert (s3_http_url("s3://stpubdata/tess/a b.fits", {"anon": True})
            == "https://stpubdata.s3.amazonaws.com/tess/a%20b.fits")
    assert (s3_http_url("s3://b/k", {"anon": True, "client_kwargs": {"region_name": "us-west-2"}})
            == "https://b.s3.us-west-2.amazonaws.com/k")
    assert (s3_http_url("s3://b/k", {"anon": True, "endpoint_url": "http://127.0.0.1:9/"})
            == "http://127.0.0.1:9/b/k")
    assert s3_http_url("s3://b/k", {"key": "id", "secret": "s"}) is None
    assert s3_http_url("s3://b/k", {"anon": True, "requester_pays": True}) is None


@pytest.mark.parametrize("credentials", [False, True], ids=["anonymous", "s3fs"])
def test_s3_reads_faults_and_changes(moto_endpoint, credentials):
    from servers import upload

    import tempfile

    with tempfile.NamedTemporaryFile() as handle:
        handle.write(DATA)
        handle.flush()
        client = upload(moto_endpoint, "reader-bucket", {"dir/f.bin": handle.name})
    kwargs = {"anon": True, "endpoint_url": moto_endpoint}
    if credentials:  # moto takes any key: these requests are signed by botocore (s3fs)
        kwargs = {"key": "testing", "secret": "testing", "endpoint_url": moto_endpoint}
    reader = open_ranged("s3://reader-bucket/dir/f.bin", kwargs)
    assert reader._s3 == credentials
    assert reader.size == len(DATA) and reader.etag
    assert reader.read_ranges(RANGES) == EXPECTED
    with pytest.raises(InvalidInputError, match="404"):
        open_ranged("s3://reader-bucket/dir/none.bin", kwargs)
    # An empty object has no first byte to ask for (416): its size comes from a HEAD.
    client.put_object(Bucket="reader-bucket", Key="dir/empty.bin", Body=b"")
    empty = open_ranged("s3://reader-bucket/dir/empty.bin", kwargs)
    assert (empty.size, empty._s3) == (0, credentials) and empty.etag
    client.put_object(Bucket="reader-bucket", Key="dir/f.bin", Body=DATA[::-1])
    with pytest.raises(RemoteReadError, match="changed while being read"):
        reader.read_ranges(RANGES)
