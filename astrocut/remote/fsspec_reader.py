"""Ranged reads of fsspec URLs: concurrent, retried, bounded in time, refused if the file changes.

Requests run on fsspec's own event loop (the IO thread its async filesystems use): one range
per request through the filesystem's async ``_cat_file`` (or ``get_object`` for S3, which
takes a condition), at most ``max_in_flight`` at once per file. Measured against a local
server with 20 ms latency, this costs about one round trip per stamp where a thread pool over
the blocking ``cat_file`` costs the same but holds a thread per request; filesystems without
an async implementation still go through a thread pool.

Anonymous S3 reads (``anon=True`` and nothing that needs botocore) go to the bucket's
HTTPS address through fsspec's HTTP filesystem instead of s3fs: the same HEAD and ranged GETs
S3 answers, without building a botocore client (~0.3 s per process) or its per-request
overhead (several ms of CPU each), which at 20 ms latency cost more than the network. Set
``ASTROCUT_REMOTE_S3_HTTP=0`` to send them through s3fs anyway.

Every request after the first carries the ETag the file had when opened (``If-Match``), so a
file replaced between reads gets 412 and is refused instead of returning a mixture.
"""

import asyncio
import errno
import logging
import random
import time

from astrocut.errors import InvalidInputError

from . import cache, first_block
from .rangedfile import READ_AHEAD, remember_block
from .ranges import merge_ranges, slice_results
from .status import http_status as _status

log = logging.getLogger(__name__)

_INSTALL = "pip install 'astrocut[remote]' (fsspec, aiohttp, s3fs)"
_TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}


def _import_fsspec(path):
    try:
        import fsspec
    except ImportError:
        raise InvalidInputError(f"{path!r} is a URL: reading URLs needs the remote extra, "
                                f"{_INSTALL}") from None
    return fsspec


# fsspec_kwargs an anonymous S3 read may carry and still go over plain HTTPS
_S3_HTTP_OPTIONS = {"anon", "endpoint_url", "client_kwargs", "default_block_size",
                    "default_fill_cache", "default_cache_type", "use_ssl"}


def s3_http_url(path, kwargs):
    """The HTTPS (or endpoint) address of an anonymous ``s3://bucket/key``, or ``None`` when
    the read needs botocore (credentials, requester pays, other options)."""
    import os
    from urllib.parse import quote

    if os.environ.get("ASTROCUT_REMOTE_S3_HTTP", "1") == "0":
        return None
    if not kwargs.get("anon") or set(kwargs) - _S3_HTTP_OPTIONS:
        return None
    client = dict(kwargs.get("client_kwargs") or {})
    if set(client) - {"endpoint_url", "region_name"}:
        return None
    bucket, _, key = path.split("://", 1)[1].partition("/")
    if not bucket or not key:
        return None
    endpoint = (kwargs.get("endpoint_url") or client.get("endpoint_url")
                or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL"))
    key = quote(key)
    if endpoint:
        return f"{endpoint.rstrip('/')}/{bucket}/{key}"  # path style, as botocore sends it
    region = client.get("region_name")
    host = f"s3.{region}.amazonaws.com" if region else "s3.amazonaws.com"
    if "." in bucket:  # a dotted bucket does not match the wildcard certificate
        return f"https://{host}/{bucket}/{key}"
    return f"https://{bucket}.{host}/{key}"


def _filesystem(path, kwargs):
    fsspec = _import_fsspec(path)
    protocol = path.split("://", 1)[0].lower()
    try:
        return fsspec.filesystem(protocol, **kwargs)
    except ImportError as exc:
        raise InvalidInputError(f"{path!r}: the {protocol}:// protocol needs a package that is "
                                f"not installed ({exc}); {_INSTALL}") from None
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(f"{path!r}: fsspec cannot open {protocol}:// URLs with these "
                                f"fsspec_kwargs ({type(exc).__name__}: {exc})") from None


class _ShortRead(Exception):
    """The server sent fewer bytes than the range holds."""


class _Changed(Exception):
    """The file's ETag is not the one it had when opened."""


def _kind(exc):
    """``"missing"``, ``"denied"``, ``"changed"``, ``"range"``, ``"ignored"``, ``"transient"``
    or ``"fatal"``."""
    if isinstance(exc, _Changed):
        return "changed"
    if isinstance(exc, first_block.RangeIgnored):
        return "ignored"
    if isinstance(exc, _ShortRead):
        return "transient"
    status = _status(exc)
    if status == 404 or (status is None and isinstance(exc, FileNotFoundError)):
        return "missing"
    if status in (401, 403) or (status is None and isinstance(exc, PermissionError)):
        return "denied"
    if status == 412:
        return "changed"
    if status == 416:
        return "range"
    if status in _TRANSIENT_STATUS:
        return "transient"
    if status is not None:
        return "fatal"
    if isinstance(exc, (asyncio.TimeoutError, ConnectionError, EOFError)):
        return "transient"
    module = type(exc).__module__ or ""
    if module.startswith(("aiohttp", "botocore", "aiobotocore", "urllib3")):
        return "transient"  # connection reset, payload cut short, server disconnected
    if isinstance(exc, OSError) and exc.errno in (None, errno.ECONNRESET, errno.EREMOTEIO,
                                                  errno.ETIMEDOUT, errno.EPIPE, errno.EIO):
        return "transient"
    return "fatal"


class FsspecReader:
    """A file behind an fsspec URL, opened for ranged reads (see ``open_ranged``)."""

    is_remote = True

    def __init__(self, path, fs, settings, address=None):
        self.path = path
        self.settings = settings
        self._fs = fs
        self._key = address or fs._strip_protocol(path)
        self._s3 = type(fs).__name__ == "S3FileSystem"
        self._http = type(fs).__name__ == "HTTPFileSystem"
        if getattr(fs, "async_impl", False):
            self._loop = fs.loop
        else:
            from fsspec.asyn import get_loop

            self._loop = get_loop()
        self._semaphore = None
        self.size = None
        self.etag = None
        self.identity = None
        self.bytes_read = 0
        self.requests = 0

    @classmethod
    def open(cls, path, settings):
        address = None
        if path.split("://", 1)[0].lower() in ("s3", "s3a"):
            address = s3_http_url(path, settings.fsspec_kwargs)
        if address is not None:
            fs = _filesystem(address, {})
        else:
            fs = _filesystem(path, settings.fsspec_kwargs)
        reader = cls(path, fs, settings, address)
        reader._run(reader._open())
        return reader

    # -- running on the IO loop

    def _run(self, coroutine):
        return self._submit(coroutine).result()

    def _submit(self, coroutine):
        timeout = float(self.settings.timeout)

        async def bounded():
            try:
                return await asyncio.wait_for(coroutine, timeout)
            except asyncio.TimeoutError:
                from . import RemoteReadError

                raise RemoteReadError(
                    f"{self.path!r}: no complete answer within {timeout:g} s (the overall "
                    f"timeout; set it with astrocut.remote.options(timeout=...) or "
                    f"ASTROCUT_REMOTE_TIMEOUT)") from None

        return asyncio.run_coroutine_threadsafe(bounded(), self._loop)

    async def _retrying(self, what, call):
        from . import RemoteReadError

        attempts = int(self.settings.retries) + 1
        for attempt in range(attempts):
            try:
                return await call()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # classified below: every path raises or retries
                kind = _kind(exc)
                refusal = _refusal(kind, self.path, what, self.etag)
                if refusal is not None:
                    raise refusal from None
                if kind == "fatal" or attempt + 1 == attempts:
                    tried = f" after {attempt + 1} attempts" if attempt else ""
                    raise RemoteReadError(f"{self.path!r}: {what} failed{tried}: "
                                          f"{type(exc).__name__}: {exc}") from None
                delay = min(2.0, 0.05 * 2 ** attempt) * (0.5 + random.random())
                log.info("%s: %s failed (%s: %s); retrying in %.2f s", self.path, what,
                         type(exc).__name__, exc, delay)
                await asyncio.sleep(delay)

    # -- the file's size and identity

    async def _open(self):
        """Size and identity from the first bytes' GET where the filesystem allows, else
        from ``info`` (a HEAD)."""
        if self._s3:
            fetch = first_block.s3_first_block
        elif self._http:
            fetch = first_block.http_first_block
        else:
            return await self._stat()
        # A file whose headers this process has parsed needs its identity only (a byte);
        # the first time, its headers come with it.
        length = 1 if cache.knows(self.path) else READ_AHEAD
        first = await self._retrying("reading the file's first bytes",
                                     lambda: fetch(self._fs, self._key, length))
        if first is None:
            return await self._stat()
        self._identify(first.size, first.etag, first.modified)
        self.bytes_read += len(first.data)
        self.requests += 1
        remember_block(self, 0, first.data)

    def _identify(self, size, etag, modified):
        self.size = int(size)
        self.etag = str(etag) if etag else None
        self.identity = (self.etag, self.size) if self.etag else (str(modified), self.size)

    async def _stat(self):
        def forget():
            try:
                self._fs.invalidate_cache(self._key)
            except Exception:  # a filesystem without a listings cache
                pass

        async def call():
            forget()
            if getattr(self._fs, "async_impl", False):
                return await self._fs._info(self._key)
            return await self._loop.run_in_executor(None, self._fs.info, self._key)

        info = await self._retrying("asking for the file's size", call)
        if info.get("type") == "directory":
            raise InvalidInputError(f"{self.path!r} is a directory, not a file")
        size = info.get("size")
        if size is None:
            raise InvalidInputError(f"{self.path!r}: the server does not report the file's "
                                    f"size, so byte ranges cannot be planned")
        modified = info.get("Last-Modified") or info.get("LastModified") or info.get("mtime")
        self._identify(size, info.get("ETag") or info.get("etag"), modified)

    # -- ranges

    async def _get_once(self, offset, length):
        end = offset + length
        if self._s3:
            bucket, key, _version = self._fs.split_path(self._key)
            condition = {"IfMatch": self.etag} if self.etag else {}
            response = await self._fs._call_s3("get_object", Bucket=bucket, Key=key,
                                               Range=f"bytes={offset}-{end - 1}", **condition)
            try:
                return await response["Body"].read()
            finally:
                response["Body"].close()
        if not getattr(self._fs, "async_impl", False):
            return await self._loop.run_in_executor(None, self._fs.cat_file, self._key,
                                                    offset, end)
        extra = {}
        if self.etag and self._http:
            headers = dict(self._fs.kwargs.get("headers") or {})
            headers["If-Match"] = self.etag
            extra["headers"] = headers
        return await self._fs._cat_file(self._key, start=offset, end=end, **extra)

    async def _get(self, offset, length):
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(max(1, int(self.settings.max_in_flight)))

        async def call():
            async with self._semaphore:
                data = await self._get_once(offset, length)
            self.bytes_read += len(data)
            self.requests += 1
            if len(data) < length:
                raise _ShortRead(f"short read: {len(data)} of {length} bytes")
            if len(data) > length:
                raise first_block.RangeIgnored(len(data))
            return data

        return await self._retrying(f"reading bytes {offset}-{offset + length - 1}", call)

    async def _read(self, ranges):
        for offset, length in ranges:
            if offset < 0 or offset + length > self.size:
                raise InvalidInputError(f"{self.path!r} is truncated: bytes {offset}-"
                                        f"{offset + length - 1} lie beyond its end "
                                        f"({self.size} bytes)")
        requests = merge_ranges(ranges)
        tasks = [asyncio.ensure_future(self._get(o, n)) for o, n in requests]
        try:
            blobs = await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:  # a partial read is thrown away, never half-used
                task.cancel()
            raise
        return slice_results(ranges, requests, blobs)

    def submit_ranges(self, ranges):
        """Start reading ``ranges``; a future of their bytes (one ``bytes`` per range)."""
        ranges = [(int(o), int(n)) for o, n in ranges]
        return self._submit(self._read(ranges))

    def read_ranges(self, ranges):
        """The bytes of each ``(offset, length)`` range, read concurrently."""
        started = time.perf_counter()
        result = self.submit_ranges(ranges).result()
        log.debug("%s: %d ranges in %.3f s", self.path, len(ranges),
                  time.perf_counter() - started)
        return result

    def readinto(self, view, offset):
        data = self.read_ranges([(offset, len(view))])[0]
        view[:] = data

    def close(self):
        # The filesystem and its connections are fsspec's, shared by every open file.
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


# Failures that no retry can mend: the message says what the user can check.
_REFUSALS = {
    "missing": "was not found (404): check the URL, and for a private bucket the credentials "
               "in fsspec_kwargs",
    "denied": "access denied (403): check the URL and the credentials, or pass "
              "fsspec_kwargs={{'anon': True}} for a public bucket",
    "changed": "changed while being read (its ETag is no longer {etag}): nothing was made "
               "from it; run again",
    "range": "is truncated: {what} lies beyond the file's end",
    "ignored": "the server ignored the byte range and sent the whole file: reading URLs "
               "needs a server that supports HTTP Range requests",
}


def _refusal(kind, path, what, etag):
    if kind not in _REFUSALS:
        return None
    from . import RemoteReadError

    cls = RemoteReadError if kind in ("changed", "ignored") else InvalidInputError
    text = _REFUSALS[kind].format(etag=etag, what=what)
    return cls(f"{path!r}{':' if kind in ('denied', 'ignored') else ''} {text}")
