"""A structured access log: one JSON object per request through ``logging``.

Written as a plain ASGI middleware so it sees the status and every body byte sent,
including those of streamed zips, and the time until the last one left.
"""

import json
import logging
import time
from datetime import datetime, timezone

ACCESS_LOGGER = "astrocut.service.access"


class JsonLinesFormatter(logging.Formatter):
    """Emit the record's message, already a JSON object, as one line."""

    def format(self, record):
        return record.getMessage()


class AccessLogMiddleware:
    def __init__(self, app):
        self.app = app
        self.logger = logging.getLogger(ACCESS_LOGGER)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        entry = {"time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
                 "client": (scope.get("client") or ("", 0))[0],
                 "method": scope["method"], "path": scope["path"],
                 "query": scope.get("query_string", b"").decode("latin-1"),
                 "status": None, "bytes": 0}
        # Handlers add what they did (sectors cut, the error message) to this dict.
        scope.setdefault("state", {})["access"] = entry

        async def logged_send(message):
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
            elif message["type"] == "http.response.body":
                entry["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, logged_send)
        except BaseException as exc:
            entry["error"] = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            entry["duration_ms"] = round((time.perf_counter() - started) * 1000, 2)
            if self.logger.isEnabledFor(logging.INFO):
                self.logger.info(json.dumps(entry, default=str))
