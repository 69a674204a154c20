"""The TESScut-compatible HTTP application (Starlette, run by uvicorn).

Routes follow what astroquery 0.4.11's ``Tesscut`` calls: ``{server}/tesscut/api/v0.1/``
``sector`` and ``astrocut`` (GET with a query string, POST with a form), and their
``moving_target/`` variants. Cutting runs in a process pool; the event loop only parses,
waits and streams, so one large request never holds up the others.
"""

import asyncio
import json
import logging
import multiprocessing
import os
import shutil
import tempfile
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import asynccontextmanager
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from astrocut.errors import AstrocutError

from . import worker
from .accesslog import AccessLogMiddleware
from .params import Limits, ParameterError, parse_cutout_query, parse_sector_query

log = logging.getLogger(__name__)
API = "/tesscut/api/v0.1"
NO_DATA = "No cube in this service holds the target"
MAX_BODY = 8 * 1024 * 1024  # a form, or an ephemeris of ~100,000 rows


class Service:
    """The state one server holds: its collection, limits and cutting processes."""

    def __init__(self, collection, limits=None, workers=None):
        self.collection = collection
        self.limits = limits or Limits()
        self.workers = workers or os.cpu_count() or 1
        self.pool = None
        self.scratch = None
        self.in_flight = 0
        self.started = time.time()
        self.sectors = sorted({entry.sector for entry in collection.entries})

    async def start(self):
        self.scratch = tempfile.mkdtemp(prefix="astrocut-serve-")
        self.gate = asyncio.Semaphore(self.limits.max_concurrent)
        self.pool = self._new_pool()
        # Processes start on first use; starting them all now keeps their imports (a second
        # or two) out of the first requests' latency.
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(self.pool, worker.warm, 0.05)
                               for _ in range(self.workers)))

    def _new_pool(self):
        # spawn: the server runs threads (uvicorn, asyncio), which fork would copy half-held.
        return ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=worker.initialize, initargs=(self.scratch,))

    def stop(self):
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
        if self.scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)

    async def find(self, ra, dec, sector=None):
        from astropy.coordinates import SkyCoord

        coordinates = SkyCoord(ra, dec, unit="deg")
        return await asyncio.to_thread(self.collection.find, coordinates, 1, sector)

    async def cut(self, entry, query, deadline):
        """One TPF's bytes and shape, cut in the pool within the request's deadline."""
        return await self.run(deadline, worker.cut_tpf, entry.path, query.ra, query.dec,
                              query.cutout_size)

    async def run(self, deadline, function, *args):
        """``function(*args)`` in the pool, one of at most max_concurrent, by ``deadline``."""
        loop = asyncio.get_running_loop()
        async with self.gate:
            pool = self.pool
            try:
                future = loop.run_in_executor(pool, function, *args)
                return await asyncio.wait_for(future, max(deadline - time.monotonic(), 0.001))
            except BrokenProcessPool:
                # A cutting process died (killed, out of memory): the next request gets a
                # fresh pool rather than every later one failing.
                if self.pool is pool:
                    self.pool = self._new_pool()
                raise


def _json(status, msg):
    return JSONResponse({"msg": msg}, status_code=status)


async def request_params(request):
    """Query string and body (form-encoded or JSON) merged: name -> list of strings."""
    params = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    if request.method == "POST":
        body = await _body(request)
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "application/json" and body:
            try:
                items = json.loads(body)
            except ValueError:
                raise ParameterError("body", "is not valid JSON") from None
            if not isinstance(items, dict):
                raise ParameterError("body", "JSON must be an object of parameters")
            for key, value in items.items():
                values = value if isinstance(value, list) else [value]
                params.setdefault(key, []).extend(str(v) for v in values)
        elif body:
            try:
                pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
            except UnicodeDecodeError:
                raise ParameterError("body", "is not UTF-8 form data") from None
            for key, value in pairs:
                params.setdefault(key, []).append(value)
    return params


async def _body(request):
    """The request body, refused past MAX_BODY bytes before more of it is read."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise ParameterError("body", f"is {declared} bytes; this server takes at most {MAX_BODY}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise ParameterError("body", f"is over {MAX_BODY} bytes, the most this server takes")
        chunks.append(chunk)
    return b"".join(chunks)


def _sector_name(entry):
    return f"tess-s{entry.sector:04d}-{entry.camera}-{entry.ccd}"


def _unknown_sectors(service, sectors):
    missing = [s for s in sectors if s not in service.sectors]
    if missing:
        raise ParameterError("sector", f"{', '.join(map(str, missing))} not served here (this "
                                       f"server has sectors {service.sectors})")


async def parsed(request, parse):
    """``(parse(params), None)``, or ``(None, reply)``: a 400 naming the bad parameter."""
    try:
        return parse(await request_params(request)), None
    except ParameterError as exc:
        request.scope["state"]["access"]["msg"] = str(exc)
        return None, _json(400, str(exc))


def sector_reply(request, entries):
    """TESScut's sector list: one row per cube, numbers as strings as the archive sends them."""
    results = [{"sectorName": _sector_name(e), "sector": str(e.sector),
                "camera": str(e.camera), "ccd": str(e.ccd)} for e in entries]
    request.scope["state"]["access"]["results"] = len(results)
    return JSONResponse({"results": results})


async def sector(request):
    query, refused = await parsed(request, parse_sector_query)
    if refused:
        return refused
    return sector_reply(request, await _entries_within(request.app.state.service, query))


async def _entries_within(service, query):
    """Cubes holding the centre or, with a radius, one of eight points on the circle."""
    points = [(query.ra, query.dec)]
    if query.radius > 0:
        from astropy.coordinates import SkyCoord
        import astropy.units as u

        centre = SkyCoord(query.ra, query.dec, unit="deg")
        for angle in range(0, 360, 45):
            p = centre.directional_offset_by(angle * u.deg, query.radius * u.deg)
            points.append((p.ra.deg, p.dec.deg))
    found = {}
    for ra, dec in points:
        for entry in await service.find(ra, dec):
            found[(entry.sector, entry.camera, entry.ccd)] = entry
    return [found[key] for key in sorted(found)]


async def astrocut(request):
    service = request.app.state.service
    access = request.scope["state"]["access"]
    deadline = time.monotonic() + service.limits.timeout

    def parse(params):
        query = parse_cutout_query(params, service.limits)
        _unknown_sectors(service, query.sectors)
        return query

    query, refused = await parsed(request, parse)
    if refused:
        return refused
    entries = sorted(await service.find(query.ra, query.dec),
                     key=lambda e: (e.sector, e.camera, e.ccd))
    if query.sectors:
        entries = [e for e in entries if e.sector in query.sectors]
    access["cubes"] = [_sector_name(e) for e in entries]
    if not entries:
        where = f" in sector {', '.join(map(str, query.sectors))}" if query.sectors else ""
        # TESScut answers a target it has no data for with a 200 JSON message, which
        # astroquery shows as a NoResultsWarning and an empty result.
        return _json(200, f"{NO_DATA} (ra {query.ra:g}, dec {query.dec:g}){where}; no cutout made")
    if len(entries) > service.limits.max_sectors:
        msg = (f"sector: the target is in {len(entries)} cubes; this server cuts at most "
               f"{service.limits.max_sectors} per request (give sector=)")
        return _json(400, msg)
    tasks = [asyncio.ensure_future(service.cut(e, query, deadline)) for e in entries]

    def name(index, result):
        ny, nx = result[1]
        return (f"{_sector_name(entries[index])}_{query.ra:.7g}_{query.dec:.7g}_{nx}x{ny}"
                f"_astrocut.fits")

    return await zip_reply(service, tasks, name, access)


async def zip_reply(service, tasks, name, access):
    """A streamed zip of the tasks' results (``(bytes, ...)``), member ``name(index, result)``."""
    service.in_flight += 1
    try:
        # The first TPF is awaited before the status line goes out, so a request that cannot
        # be cut still gets a real error status; the rest stream as they finish.
        first = await tasks[0]
    except BaseException as exc:
        for task in tasks:
            task.cancel()
        service.in_flight -= 1
        return _error_reply(exc, access)

    async def body():
        sink = _Sink()
        archive = zipfile.ZipFile(sink, "w", zipfile.ZIP_STORED)
        try:
            for index, task in enumerate(tasks):
                result = first if index == 0 else await task
                archive.writestr(_member(name(index, result)), result[0])
                yield sink.take()
            archive.close()
            yield sink.take()
        except BaseException as exc:
            # The status line has gone out: end the stream short, so the client sees a broken
            # transfer and not a zip missing a sector.
            access["error"] = f"{type(exc).__name__}: {exc}"
            log.error("cutout stream aborted after the reply began: %s", exc)
            raise
        finally:
            for task in tasks:
                task.cancel()
            service.in_flight -= 1

    headers = {"Content-Disposition": 'attachment; filename="astrocut.zip"'}
    return StreamingResponse(body(), media_type="application/zip", headers=headers)


def _member(name):
    info = zipfile.ZipInfo(name, date_time=time.gmtime()[:6])
    info.compress_type = zipfile.ZIP_STORED
    return info


class _Sink:
    """A write-only file for zipfile; the bytes written so far are taken out in chunks."""

    def __init__(self):
        self.chunks = []

    def write(self, data):
        self.chunks.append(bytes(data))
        return len(data)

    def flush(self):
        pass

    def take(self):
        data, self.chunks = b"".join(self.chunks), []
        return data


def _error_reply(exc, access):
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        access["msg"] = "timeout"
        return _json(504, "the cutout took longer than this server's request timeout; ask "
                          "for a smaller stamp or fewer sectors")
    if isinstance(exc, AstrocutError):
        access["msg"] = str(exc)
        return _json(400, str(exc))
    if isinstance(exc, BrokenProcessPool):
        access["msg"] = "worker died"
        return _json(503, "a cutting process died; try again")
    log.exception("cutout failed", exc_info=exc)
    access["msg"] = f"{type(exc).__name__}: {exc}"
    return _json(500, f"internal error while cutting: {type(exc).__name__}")


async def health(request):
    service = request.app.state.service
    return JSONResponse({"status": "ok", "cubes": len(service.collection.entries),
                         "sectors": service.sectors, "workers": service.workers,
                         "in_flight": service.in_flight,
                         "uptime_s": round(time.time() - service.started, 1)})


def create_app(collection, limits=None, workers=None):
    """The ASGI application serving ``collection`` (a CubeCollection)."""
    from .moving import moving_astrocut, moving_sector

    service = Service(collection, limits, workers)

    @asynccontextmanager
    async def lifespan(app):
        await service.start()
        try:
            yield
        finally:
            service.stop()

    methods = ["GET", "POST"]
    app = Starlette(routes=[
        Route(f"{API}/sector", sector, methods=methods),
        Route(f"{API}/astrocut", astrocut, methods=methods),
        Route(f"{API}/moving_target/sector", moving_sector, methods=methods),
        Route(f"{API}/moving_target/astrocut", moving_astrocut, methods=methods),
        Route("/health", health, methods=["GET"]),
    ], lifespan=lifespan)
    app.state.service = service
    app.add_middleware(AccessLogMiddleware)
    return app
