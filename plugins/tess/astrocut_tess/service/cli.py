"""``astrocut serve`` options (the TESS plugin registers the subcommand)."""

from astrocut.errors import InvalidInputError


def cmd_serve(args):
    from .params import Limits
    from .server import serve

    for name in ("port", "workers", "max_pixels", "max_concurrent", "max_sectors"):
        value = getattr(args, name)
        if value is not None and value < (0 if name == "port" else 1):
            raise InvalidInputError(f"--{name.replace('_', '-')} must be positive, got {value}")
    for name in ("timeout", "shutdown_timeout"):
        if getattr(args, name) <= 0:
            raise InvalidInputError(f"--{name.replace('_', '-')} must be positive seconds")
    limits = Limits(max_pixels=args.max_pixels, timeout=args.timeout,
                    max_concurrent=args.max_concurrent or 2 * (args.workers or _cpus()),
                    max_sectors=args.max_sectors)
    return serve(args.cubes, host=args.host, port=args.port, workers=args.workers,
                 limits=limits, shutdown_timeout=args.shutdown_timeout)


def _cpus():
    import os

    return os.cpu_count() or 1


def register_serve(subparsers):
    serve = subparsers.add_parser(
        "serve", help="serve a cube collection over HTTP, compatible with TESScut clients")
    serve.add_argument("--cubes", required=True, metavar="INDEX_OR_DIR",
                       help="a cube index (.ecsv) or a directory of cubes")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=None,
                       help="cutting processes (default: one per CPU)")
    serve.add_argument("--max-pixels", type=int, default=10_000,
                       help="largest stamp, columns x rows (10000)")
    serve.add_argument("--max-concurrent", type=int, default=None,
                       help="cutouts cut at once over all requests (2 per worker)")
    serve.add_argument("--max-sectors", type=int, default=100,
                       help="cubes one request may cut from (100)")
    serve.add_argument("--timeout", type=float, default=60.0,
                       help="seconds a request may take to start its reply (60)")
    serve.add_argument("--shutdown-timeout", type=float, default=30.0,
                       help="seconds in-flight requests get to finish on SIGTERM (30)")
    serve.set_defaults(func=cmd_serve)
