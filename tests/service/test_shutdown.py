"""SIGTERM on a real ``astrocut serve`` process: in-flight requests finish, nothing is left."""

import http.client
import io
import os
import json
import signal
import socket
import subprocess
import sys
import time
import zipfile

import pytest

# The server stack (extra 'serve') and the collection (issue 15) naming the cubes it cuts.
for _module in ("starlette", "uvicorn", "astrocut_tess.collection"):
    pytest.importorskip(_module, exc_type=ModuleNotFoundError)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(cube_dir, env, *options):
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "astrocut", "serve", "--cubes", str(cube_dir), "--port",
         str(port), "--workers", "1", *options],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited: {process.stderr.read()}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return process, port
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("server did not answer /health")


def _held_request(port, body):
    """A POST whose headers and half its body are sent: in flight until the rest comes."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall((f"POST /tesscut/api/v0.1/astrocut HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  f"Content-Type: application/x-www-form-urlencoded\r\n"
                  f"Content-Length: {len(body)}\r\n\r\n").encode() + body[:10])
    return sock


def _leftovers(scratch):
    return sorted(str(p) for p in scratch.rglob("*"))


def test_sigterm_lets_in_flight_requests_finish(collection, star, scratch_env, tmp_path):
    env, scratch = scratch_env
    index = tmp_path / "cubes.ecsv"
    collection.write(str(index))
    process, port = _start(index, env, "--shutdown-timeout", "20")
    try:
        assert _leftovers(scratch)  # the server's scratch directory exists while it runs
        body = f"ra={star.ra}&dec={star.dec}&x=6&y=4&units=px".encode()
        sock = _held_request(port, body)
        time.sleep(0.3)
        # To the whole group, as a container stop sends it: the cutting processes too.
        os.killpg(process.pid, signal.SIGTERM)
        time.sleep(0.5)
        assert process.poll() is None  # still serving the held request
        with pytest.raises(OSError):  # but no longer accepting new connections
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        sock.sendall(body[10:])
        reply = http.client.HTTPResponse(sock)
        reply.begin()
        assert reply.status == 200
        archive = zipfile.ZipFile(io.BytesIO(reply.read()))
        assert archive.testzip() is None
        assert [n.split("_")[0] for n in archive.namelist()] == ["tess-s0001-1-1",
                                                                 "tess-s0027-1-1"]
        sock.close()
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
    assert _leftovers(scratch) == []
    log = [json.loads(line) for line in process.stderr.read().splitlines()
           if line.startswith("{")]
    assert [e["status"] for e in log if e["path"].endswith("/astrocut")] == [200]


def test_shutdown_deadline_ends_a_request_that_never_completes(cube_dir, star, scratch_env):
    env, scratch = scratch_env
    process, port = _start(cube_dir[0], env, "--shutdown-timeout", "1")
    try:
        sock = _held_request(port, f"ra={star.ra}&dec={star.dec}&x=5&y=5".encode())
        time.sleep(0.3)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        assert time.monotonic() - started < 15
        sock.close()
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
    assert _leftovers(scratch) == []


def test_serve_refuses_a_directory_without_cubes(tmp_path):
    result = subprocess.run([sys.executable, "-m", "astrocut", "serve", "--cubes",
                             str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("astrocut: error:")
    assert str(tmp_path) in lines[0]
