"""Run the service under uvicorn: ``astrocut serve``.

uvicorn handles SIGTERM and SIGINT: it stops accepting connections, lets in-flight requests
(streams included) finish for up to ``shutdown_timeout`` seconds, then the application's
lifespan ends, which waits for the cutting processes and removes their scratch files.
"""

import logging
import sys

from . import require_stack
from .accesslog import ACCESS_LOGGER, JsonLinesFormatter
from .params import Limits


def load_collection(source):
    from astrocut.errors import AstrocutError, InvalidInputError

    try:
        from ..collection import CubeCollection
    except ImportError:
        raise AstrocutError("astrocut serve needs cube collections (astrocut_tess.collection), "
                            "which this installation lacks") from None

    collection = CubeCollection.load(source)
    if not collection.entries:
        raise InvalidInputError(f"--cubes {source!r} holds no cubes to serve")
    return collection


def configure_access_log(stream=None):
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(getattr(h, "_astrocut_access", False) for h in logger.handlers):
        handler = logging.StreamHandler(stream or sys.stderr)
        handler.setFormatter(JsonLinesFormatter())
        handler._astrocut_access = True
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def build_config(app, host, port, shutdown_timeout):
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, access_log=False, log_level="warning",
                          timeout_graceful_shutdown=shutdown_timeout, lifespan="on")


def serve(cubes, host="127.0.0.1", port=8000, workers=None, limits=None, shutdown_timeout=30.0):
    """Serve the cubes of ``cubes`` (a directory or index file) until SIGTERM/SIGINT."""
    require_stack()
    import uvicorn

    from .app import create_app

    collection = load_collection(cubes)
    app = create_app(collection, limits or Limits(), workers)
    configure_access_log()
    server = uvicorn.Server(build_config(app, host, port, shutdown_timeout))
    print(f"astrocut serve: {len(collection.entries)} cubes on http://{host}:{port}"
          f"/tesscut/api/v0.1/ ({app.state.service.workers} cutting processes)", flush=True)
    _run_until_signalled(server)
    return 0


def _run_until_signalled(server):
    """Run uvicorn; a SIGTERM/SIGINT that ended it gracefully is a normal exit (status 0).

    uvicorn re-raises the signal it caught once it has shut down; with the default handler
    that would kill the process after all, so a recording handler stands in meanwhile.
    """
    import signal

    received = []
    previous = {sig: signal.signal(sig, lambda number, frame: received.append(number))
                for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return received
