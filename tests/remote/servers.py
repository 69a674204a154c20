"""Servers on 127.0.0.1 for the remote-read tests and benchmarks/bench_remote.py.

``RangeServer`` serves files over HTTP with byte ranges, ETags and If-Match, and injects what
a real network does: latency, a 503 every k-th request, connections dropped mid-body, short
bodies, bodies trickled a byte at a time, a file replaced (new ETag) between requests.
Paths may look like S3's (``/bucket/key``): s3fs and botocore, given the server as
``endpoint_url`` with ``anon=True``, read from it as from a bucket (HEAD and ranged GETs).
``LatencyProxy`` puts latency (and byte counting) in front of another server, such as moto's
S3 server. Both are aiohttp applications on their own event-loop thread: aiohttp is already
what fsspec's HTTP filesystem uses, and unlike RangeHTTPServer (a static handler) or nginx
(a system service) its handlers can misbehave on purpose, one request at a time.
"""

import asyncio
import hashlib
import re
import threading

from aiohttp import ClientSession, web

_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")
_LAST_MODIFIED = "Tue, 01 Dec 2026 00:00:00 GMT"


class _LoopThread:
    """An aiohttp application served on 127.0.0.1 from a daemon thread."""

    def __init__(self, app):
        self._app = app
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.port = None

    def _serve(self):
        asyncio.set_event_loop(self._loop)
        self._runner = web.AppRunner(self._app, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self._started.set()
        self._loop.run_forever()

    def start(self):
        self._thread.start()
        self._started.wait(10)
        return self

    def stop(self):
        async def cleanup():
            await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class RangeServer(_LoopThread):
    """Files (name -> bytes) over HTTP with Range, ETag and If-Match.

    Faults, all off by default and settable at any time: ``latency`` (seconds before each
    answer), ``fail_every`` (every k-th GET answers ``fail_status``, 503 by default), ``drop_every`` (every k-th GET
    sends half its body and drops the connection), ``short_every`` (every k-th GET sends a
    correct-looking response with half the bytes), ``trickle`` (seconds between the bytes
    of a body), ``status`` (name -> status code for every request, e.g. 403).
    Counters: ``requests``, ``gets``, ``bytes_sent`` (body bytes).
    """

    def __init__(self, files=None):
        app = web.Application()
        app.router.add_route("*", "/{name:.*}", self._handle)
        super().__init__(app)
        self.files = {}
        self.etags = {}
        for name, data in (files or {}).items():
            self.put(name, data)
        self.latency = 0.0
        self.fail_every = 0
        self.fail_status = 503
        self.drop_every = 0
        self.short_every = 0
        self.trickle = 0.0
        self.slow_heads = 0.0
        self.fail_first = 0  # the first n GETs (since reset_counters) answer fail_status
        self.ignore_range = False  # answer every GET with the whole file, as http.server does
        self.status = {}
        self.reset_counters()

    def reset_counters(self):
        self.requests = 0
        self.gets = 0
        self.bytes_sent = 0
        self.active = 0
        self.max_active = 0  # most GETs answered at once
        self.log = []  # (method, Range header) of each request, in arrival order

    def put(self, name, data):
        """Serve ``data`` as ``/name`` (replacing it gives a new ETag)."""
        self.files[name] = bytes(data)
        self.etags[name] = '"' + hashlib.md5(self.files[name]).hexdigest() + '"'

    async def _handle(self, request):
        self.requests += 1
        self.log.append((request.method, request.headers.get("Range")))
        get = request.method != "HEAD"
        if get:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            return await self._answer(request)
        finally:
            if get:
                self.active -= 1

    async def _answer(self, request):
        name = request.match_info["name"]
        if self.latency:
            await asyncio.sleep(self.latency)
        if self.slow_heads and request.method == "HEAD":
            await asyncio.sleep(self.slow_heads)
        if name in self.status:
            return web.Response(status=self.status[name])
        if name not in self.files:
            return web.Response(status=404)
        data, etag = self.files[name], self.etags[name]
        if request.method == "HEAD":
            return web.Response(headers={"Content-Length": str(len(data)), "ETag": etag,
                                         "Accept-Ranges": "bytes",
                                         "Last-Modified": _LAST_MODIFIED})
        self.gets += 1
        if (self.fail_every and self.gets % self.fail_every == 0) or self.gets <= self.fail_first:
            return web.Response(status=self.fail_status, text="injected failure")
        wanted = request.headers.get("If-Match")
        if wanted and wanted != etag:
            return web.Response(status=412)
        start, end, status = 0, len(data), 200
        match = None if self.ignore_range else _RANGE.match(request.headers.get("Range", ""))
        if match:
            start = int(match.group(1))
            end = min(int(match.group(2)) + 1 if match.group(2) else len(data), len(data))
            if start >= len(data):
                return web.Response(status=416)
            status = 206
        body = data[start:end]
        headers = {"ETag": etag, "Accept-Ranges": "bytes", "Content-Length": str(len(body)),
                   "Last-Modified": _LAST_MODIFIED}
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{len(data)}"
        if self.short_every and self.gets % self.short_every == 0:
            body = body[: len(body) // 2]
            headers["Content-Length"] = str(len(body))
        response = web.StreamResponse(status=status, headers=headers)
        await response.prepare(request)
        if self.drop_every and self.gets % self.drop_every == 0:
            await response.write(body[: len(body) // 2])
            self.bytes_sent += len(body) // 2
            request.transport.abort()
            return response
        if self.trickle:
            try:
                for index in range(len(body)):
                    await response.write(body[index:index + 1])
                    self.bytes_sent += 1
                    await asyncio.sleep(self.trickle)
            except ConnectionError:  # the client gave up: what the trickle tests expect
                return response
        else:
            await response.write(body)
            self.bytes_sent += len(body)
        await response.write_eof()
        return response


class LatencyProxy(_LoopThread):
    """Forwards every request to ``upstream`` (e.g. moto's S3 server) after ``latency``
    seconds; counts ``requests`` and response body ``bytes_sent``."""

    def __init__(self, upstream, latency=0.0):
        app = web.Application(client_max_size=1 << 30)
        app.router.add_route("*", "/{path:.*}", self._handle)
        app.on_cleanup.append(self._close_session)
        super().__init__(app)
        self.upstream = upstream.rstrip("/")
        self.latency = latency
        self._session = None
        self.requests = 0
        self.bytes_sent = 0

    def reset_counters(self):
        self.requests = 0
        self.bytes_sent = 0

    async def _close_session(self, _app):
        if self._session is not None:
            await self._session.close()

    async def _handle(self, request):
        self.requests += 1
        self.log.append((request.method, request.headers.get("Range")))
        if self._session is None:
            self._session = ClientSession(auto_decompress=False)
        if self.latency:
            await asyncio.sleep(self.latency)
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        body = await request.read()
        async with self._session.request(request.method, self.upstream + request.path_qs,
                                         headers=headers, data=body,
                                         allow_redirects=False) as upstream:
            payload = await upstream.read()
            self.bytes_sent += len(payload)
            drop = {"content-length", "transfer-encoding", "connection", "content-encoding"}
            out = {k: v for k, v in upstream.headers.items() if k.lower() not in drop}
            if upstream.headers.get("Content-Encoding"):
                out["Content-Encoding"] = upstream.headers["Content-Encoding"]
            if request.method == "HEAD":
                out["Content-Length"] = upstream.headers.get("Content-Length", "0")
                return web.Response(status=upstream.status, headers=out)
            return web.Response(status=upstream.status, headers=out, body=payload)


def start_moto():
    """moto's S3 server on 127.0.0.1 (a free port); returns (server, endpoint_url)."""
    import os

    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request on stderr

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def upload(endpoint_url, bucket, files):
    """Create ``bucket`` (public-read) and put ``files`` (key -> local path) into it."""
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint_url, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    client.create_bucket(Bucket=bucket, ACL="public-read")
    for key, path in files.items():
        client.upload_file(str(path), bucket, key, ExtraArgs={"ACL": "public-read"})
    return client
