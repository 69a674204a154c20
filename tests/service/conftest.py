"""A real server on 127.0.0.1 over simulated cubes: sectors 1 and 27 overlap, 2 lies apart."""

import contextlib
import os
import socket
import threading
import time

import pytest


SIZE = (100, 80)
N_FRAMES = 8


@pytest.fixture(scope="session")
def cube_dir(tmp_path_factory):
    from astrocut import CubeFactory
    from astrocut_tess.simulate import simulate_ffis

    root = tmp_path_factory.mktemp("service")
    cubes = root / "cubes"
    cubes.mkdir()
    stars = {}
    for sector in (1, 27, 2):
        sim = simulate_ffis(root / f"ffi-{sector}", n_ffi=N_FRAMES, size=SIZE, sector=sector,
                            seed=sector)
        CubeFactory().make_cube(sim.files, str(cubes / f"tess-s{sector:04d}-1-1-cube.fits"),
                                verbose=False)
        stars[sector] = sim.variable_star
    return cubes, stars


@pytest.fixture(scope="session")
def collection(cube_dir):
    from astrocut_tess.collection import CubeCollection

    return CubeCollection.load(str(cube_dir[0]))


@pytest.fixture(scope="session")
def star(cube_dir):
    """The sector-1 variable star, which sector 27's cube holds too."""
    return cube_dir[1][1]


@contextlib.contextmanager
def running_server(app):
    """Serve ``app`` with uvicorn on a free 127.0.0.1 port in a thread; yield its base URL."""
    import uvicorn

    from astrocut_tess.service.server import build_config

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(build_config(app, "127.0.0.1", port, shutdown_timeout=5))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


@pytest.fixture(scope="session")
def server_url(collection):
    from astrocut_tess.service.app import create_app
    from astrocut_tess.service.params import Limits

    app = create_app(collection, Limits(max_pixels=2500, max_concurrent=4, timeout=60),
                     workers=1)
    with running_server(app) as url:
        yield url


@pytest.fixture
def tesscut(server_url, monkeypatch):
    """astroquery's own Tesscut class, pointed at the test server."""
    pytest.importorskip("astroquery")
    from astroquery.mast import TesscutClass, services

    monkeypatch.setattr(services.ServiceAPI, "SERVICE_URL", server_url)
    client = TesscutClass()
    assert client._service_api_connection.REQUEST_URL == f"{server_url}/tesscut/api/v0.1/"
    return client


@pytest.fixture(scope="session")
def serve():
    """``running_server`` for tests that need a server with limits of their own."""
    return running_server


@pytest.fixture
def scratch_env(tmp_path):
    """An environment whose TMPDIR is a fresh directory, to see what a server leaves."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    return dict(os.environ, TMPDIR=str(scratch)), scratch
