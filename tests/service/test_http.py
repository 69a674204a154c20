"""The HTTP contract as curl sees it: every bad parameter is a 400 naming it, /health, the log."""

import io
import json
import logging
import time
import zipfile

import pytest

# The server stack (extra 'serve') and the collection (issue 15) naming the cubes it cuts.
for _module in ("starlette", "uvicorn", "astrocut_tess.collection"):
    pytest.importorskip(_module, exc_type=ModuleNotFoundError)

requests = pytest.importorskip("requests")


def api(server_url, endpoint):
    return f"{server_url}/tesscut/api/v0.1/{endpoint}"


def _get(server_url, endpoint, **params):
    return requests.get(api(server_url, endpoint), params=params, timeout=30)


def _target(star, **more):
    return dict(ra=star.ra, dec=star.dec, **more)


@pytest.mark.parametrize("endpoint, params, parameter", [
    ("astrocut", {"dec": 0}, "ra"),
    ("astrocut", {"ra": 10}, "dec"),
    ("astrocut", {"ra": 10, "dec": 91}, "dec"),
    ("astrocut", {"ra": "ten", "dec": 1}, "ra"),
    ("astrocut", {"ra": 10, "dec": "nan"}, "dec"),
    ("astrocut", {"ra": 10, "dec": 1, "x": 0}, "x"),
    ("astrocut", {"ra": 10, "dec": 1, "y": -3}, "y"),
    ("astrocut", {"ra": 10, "dec": 1, "x": 2.5}, "x"),
    ("astrocut", {"ra": 10, "dec": 1, "units": "arcsec"}, "units"),
    ("astrocut", {"ra": 10, "dec": 1, "sector": 99}, "sector"),
    ("astrocut", {"ra": 10, "dec": 1, "sector": "../../etc/passwd"}, "sector"),
    ("astrocut", {"ra": 10, "dec": 1, "product": "TICA"}, "product"),
    ("astrocut", {"ra": 10, "dec": 1, "x": 60, "y": 60}, "x"),
    ("astrocut", {"ra": 10, "dec": 1, "x": 1, "y": 1, "units": "d"}, "x"),
    ("sector", {"dec": 0}, "ra"),
    ("sector", {"ra": 1, "dec": -95}, "dec"),
    ("sector", {"ra": 1, "dec": 0, "radius": -1}, "radius"),
    ("moving_target/sector", {"obj_id": "Eleonora"}, "obj_id"),
    ("moving_target/sector", {"ephemeris": "/etc/hostname"}, "ephemeris"),
    ("moving_target/astrocut", {"obj_id": "Eleonora", "x": 5, "y": 5}, "obj_id"),
])
def test_bad_parameter_is_a_400_naming_it(server_url, endpoint, params, parameter):
    reply = _get(server_url, endpoint, **params)
    assert reply.status_code == 400
    assert reply.headers["content-type"] == "application/json"
    message = reply.json()["msg"]
    assert message.startswith(f"{parameter}: ")


def test_bad_parameters_in_a_post_form_too(server_url):
    reply = requests.post(api(server_url, "astrocut"), data={"ra": 1, "dec": 1, "x": 0},
                          timeout=30)
    assert reply.status_code == 400 and reply.json()["msg"].startswith("x: ")


def test_post_json_body(server_url, star):
    reply = requests.post(api(server_url, "astrocut"), timeout=30,
                          json={"ra": star.ra, "dec": star.dec, "x": 3, "y": 4, "sector": [27]})
    assert reply.status_code == 200
    (name,) = zipfile.ZipFile(io.BytesIO(reply.content)).namelist()
    assert name.startswith("tess-s0027-1-1_") and name.endswith("_3x4_astrocut.fits")
    bad = requests.post(api(server_url, "astrocut"), json={"ra": 1}, timeout=30)
    assert bad.status_code == 400 and bad.json()["msg"].startswith("dec: ")


def test_an_oversized_body_is_refused(server_url):
    from astrocut_tess.service.app import MAX_BODY

    reply = requests.post(api(server_url, "moving_target/sector"), timeout=60,
                          data={"ephemeris": "x" * (MAX_BODY + 1)})
    assert reply.status_code == 400 and reply.json()["msg"].startswith("body: ")


def test_messages_say_what_to_do(server_url):
    assert "[1, 2, 27]" in _get(server_url, "astrocut", ra=1, dec=1, sector=99).json()["msg"]
    assert "px (pixels) or d (degrees)" in _get(server_url, "astrocut", ra=1, dec=1,
                                                units="arcsec").json()["msg"]
    assert "2500" in _get(server_url, "astrocut", ra=1, dec=1, x=60, y=60).json()["msg"]
    resolver = _get(server_url, "moving_target/sector", obj_id="Eleonora").json()["msg"]
    assert "no online ephemeris resolver" in resolver and "ephemeris" in resolver


def test_zip_reply_is_streamed_and_whole(server_url, star):
    reply = requests.get(api(server_url, "astrocut"), params=_target(star, x=4, y=6),
                         stream=True, timeout=30)
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/zip"
    assert "content-length" not in reply.headers  # chunked: written as it is cut
    archive = zipfile.ZipFile(io.BytesIO(reply.raw.read()))
    assert archive.testzip() is None
    assert len(archive.namelist()) == 2
    assert all(name.endswith("_4x6_astrocut.fits") for name in archive.namelist())


def test_sector_list_forms_are_all_understood(server_url, star):
    for sector in ("[1, 27]", "1,27", ["1", "27"]):
        reply = _get(server_url, "astrocut", **_target(star, x=3, y=3, sector=sector))
        assert len(zipfile.ZipFile(io.BytesIO(reply.content)).namelist()) == 2


def test_health(server_url):
    reply = requests.get(f"{server_url}/health", timeout=10).json()
    assert reply["status"] == "ok"
    assert reply["cubes"] == 3 and reply["sectors"] == [1, 2, 27]
    assert reply["workers"] == 1


def test_access_log_is_one_json_object_per_request(server_url, star, caplog):
    from astrocut_tess.service.accesslog import ACCESS_LOGGER

    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    _get(server_url, "astrocut", **_target(star, x=3, y=3, sector=1))
    _get(server_url, "astrocut", ra=1, dec=100)
    # A line is logged once the reply has gone out, so it may follow the client's read.
    for _ in range(100):
        entries = [json.loads(r.getMessage()) for r in caplog.records
                   if r.name == ACCESS_LOGGER]
        if len(entries) >= 2:
            break
        time.sleep(0.02)
    good, bad = entries[-2:]
    assert good["status"] == 200 and good["cubes"] == ["tess-s0001-1-1"]
    assert good["bytes"] > 2880 * 3 and good["duration_ms"] > 0
    assert good["path"] == "/tesscut/api/v0.1/astrocut" and "sector=1" in good["query"]
    assert bad["status"] == 400 and bad["msg"].startswith("dec: ")


def test_moving_target_sector_from_a_path_table(server_url, collection, star):
    entry = next(e for e in collection.entries if e.sector == 1)
    jd = 2457000.0 + (entry.tstart + entry.tstop) / 2
    table = f"time,ra,dec\n{jd},{star.ra},{star.dec}\n{jd + 0.01},{star.ra + 0.001},{star.dec}\n"
    reply = requests.post(api(server_url, "moving_target/sector"), data={"ephemeris": table},
                          timeout=30)
    # The simulated sectors share their times, so both overlapping cubes saw the path.
    assert [r["sectorName"] for r in reply.json()["results"]] == ["tess-s0001-1-1",
                                                                  "tess-s0027-1-1"]
    later = table.replace(str(jd), str(jd + 30)).replace(str(jd + 0.01), str(jd + 30.01))
    reply = requests.post(api(server_url, "moving_target/sector"), data={"ephemeris": later},
                          timeout=30)
    assert reply.json()["results"] == []


def test_requests_over_the_concurrency_limit_wait_their_turn(collection, star, serve):
    from concurrent.futures import ThreadPoolExecutor

    from astrocut_tess.service.app import create_app
    from astrocut_tess.service.params import Limits

    app = create_app(collection, Limits(max_concurrent=1, max_sectors=1), workers=1)
    with serve(app) as url, ThreadPoolExecutor(6) as pool:
        replies = list(pool.map(
            lambda n: _get(url, "astrocut", **_target(star, x=n, y=n, sector=1 + 26 * (n % 2))),
            range(3, 9)))
        too_many = _get(url, "astrocut", **_target(star, x=3, y=3))  # in 2 cubes, limit 1
    assert [r.status_code for r in replies] == [200] * 6
    for n, reply in zip(range(3, 9), replies):
        (name,) = zipfile.ZipFile(io.BytesIO(reply.content)).namelist()
        assert name.startswith(f"tess-s{1 + 26 * (n % 2):04d}-1-1_")
        assert name.endswith(f"_{n}x{n}_astrocut.fits")
    assert too_many.status_code == 400 and too_many.json()["msg"].startswith("sector: ")


def test_moving_target_cutouts_follow_the_path(server_url, collection, star):
    from astropy.io import fits

    entry = next(e for e in collection.entries if e.sector == 1)
    start, stop = 2457000.0 + entry.tstart, 2457000.0 + entry.tstop
    table = (f"time,ra,dec\n{start - 0.01},{star.ra},{star.dec}\n"
             f"{stop + 0.01},{star.ra + 0.002},{star.dec + 0.002}\n")
    reply = requests.post(api(server_url, "moving_target/astrocut"), timeout=60,
                          data={"ephemeris": table, "x": 5, "y": 5, "sector": 1})
    assert reply.status_code == 200, reply.text
    archive = zipfile.ZipFile(io.BytesIO(reply.content))
    assert archive.namelist() == ["tess-s0001_path_5x5_astrocut.fits"]
    hdulist = fits.open(io.BytesIO(archive.read(archive.namelist()[0])))
    pixels = hdulist[1].data
    assert pixels["FLUX"].shape == (8, 5, 5)
    # the target moves east and north along the path, and the stamp with it
    assert pixels["TGT_RA"][-1] > pixels["TGT_RA"][0]
    assert pixels["TGT_DEC"][-1] > pixels["TGT_DEC"][0]
    units = requests.post(api(server_url, "moving_target/astrocut"), timeout=30,
                          data={"ephemeris": table, "x": 0.1, "y": 0.1, "units": "d"})
    assert units.status_code == 400 and units.json()["msg"].startswith("units: ")


def test_request_timeout_is_a_504(collection, star, serve):
    from astrocut_tess.service.app import create_app
    from astrocut_tess.service.params import Limits

    app = create_app(collection, Limits(timeout=1e-6), workers=1)
    with serve(app) as url:
        reply = _get(url, "astrocut", **_target(star, x=5, y=5))
        assert reply.status_code == 504
        assert "timeout" in reply.json()["msg"]
        assert _get(url, "sector", ra=star.ra, dec=star.dec).status_code == 200
