"""The ``astrocut`` command line: each subcommand is a thin shell over the Python API.

Plugins add their own subcommands through ``astrocut_register_commands``. Errors the user can
fix are printed as one line (no traceback) with a non-zero exit code.
"""

import argparse
import contextlib
import os
import signal
import sys
import warnings

from . import runner
from .errors import AstrocutError, Interrupted, InvalidInputError


def _files_or_dirs(items):
    """``items`` with each directory replaced by the files in it that a plugin recognises.

    Which files are images is the plugins' call (any format, not only FITS); hidden files
    (e.g. another run's ``.part``) are never taken. Sorted by name.
    """
    from .dispatch import identify

    files = []
    for item in items:
        if os.path.isdir(item):
            candidates = sorted(os.path.join(item, name) for name in os.listdir(item)
                                if not name.startswith("."))
            found = [path for path in candidates
                     if os.path.isfile(path) and _recognised(identify, path)]
            if not found:
                raise InvalidInputError(f"directory {item!r} holds no file that an installed "
                                        f"plugin recognises")
            files.extend(found)
        else:
            files.append(item)
    return files


def _recognised(identify, path):
    try:
        return identify(path) is not None
    except InvalidInputError:  # a damaged file in a directory of images is still an input
        return True


def _mission_option(text):
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE")
    try:
        return key, int(value)
    except ValueError:
        return key, value


def _size(args):
    return [args.size, args.size_y if args.size_y is not None else args.size]


def cmd_plugins(args):
    from .plugins import describe_plugins, get_plugin_manager

    manager = get_plugin_manager()
    for info in describe_plugins(manager):
        print(f"{info.name}  ({info.distribution} {info.version})")
        print(f"    hooks: {', '.join(info.hooks) or '-'}")
    for error in manager.load_errors:
        print(f"{error.name}  FAILED TO LOAD ({error.entry_point}): {error.error}")
    for error in manager.call_errors:
        print(f"{error.name}  RAISED IN {error.hook} (skipped): {error.error}")
    from .writer_registry import writers

    print("writers:")
    for name, registered in writers(manager).items():
        print(f"    {name}  ({registered.plugin}) {registered.writer.description}")
    return 0


def cmd_cube(args):
    from .cubes import CubeFactory
    from .executors import executor_for

    files = _files_or_dirs(args.files)
    factory = CubeFactory(max_memory=args.max_memory)
    options = dict(args.option or ())
    if args.append and options:
        raise InvalidInputError("--append keeps the cube's mission options: drop --option")
    if args.append and args.output is None:
        raise InvalidInputError("--append needs the cube to extend: give -o CUBE")
    named = {} if args.output is None else {"cube_file": args.output}
    with executor_for(args.workers, args.scheduler) as executor:
        if args.append:
            path = factory.update_cube(files, args.output, verbose=not args.quiet,
                                       executor=executor)
        else:
            path = factory.make_cube(files, **named, mission_options=options,
                                     verbose=not args.quiet, executor=executor)
    print(path)
    return 0


def cmd_cut(args):
    if args.targets:
        return _cut_targets(args)
    from .cubes import CutoutFactory

    if args.ra is None or args.dec is None:
        raise InvalidInputError("give RA and DEC (degrees) after the cube file, or --targets CSV")
    path = CutoutFactory().cube_cut(args.cube, _sky_position(args), _size(args),
                                    output_path=args.output, verbose=args.verbose,
                                    **_frame_options(args))
    print(path)
    return 0


def _cut_targets(args):
    from .bulk import cube_cut_many
    from .executors import executor_for
    from .output import atomic_path, refuse_overwriting_inputs

    manifest = os.path.join(args.output, "manifest.csv")
    # Checked before any cutting: the manifest is written last, over whatever has its name.
    refuse_overwriting_inputs(manifest, [args.cube, args.targets], "the manifest (-o DIR)")
    with executor_for(args.workers, args.scheduler) as executor:
        table = cube_cut_many(args.cube, args.targets, cutout_size=_size(args),
                              output_path=args.output, executor=executor, verbose=True,
                              **_frame_options(args))
    with atomic_path(manifest) as temporary:
        table.write(temporary, format="ascii.csv", overwrite=True)
    failed = int((table["status"] != "ok").sum())
    aborted = table.meta.get("aborted")
    if aborted:
        print(f"astrocut: error: {aborted}; {manifest} lists the {len(table) - failed} "
              f"targets written", file=sys.stderr)
        return 1
    print(f"{manifest}: {len(table) - failed} written, {failed} failed")
    return 0 if failed == 0 else 3


def _frame_options(args):
    return {"frames": args.frames, "times": args.times, "bin_size": args.bin,
            "bin_method": args.bin_method}


def _add_frames(parser):
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--frames", default=None, metavar="START:STOP",
                       help="only these frames (0-based, STOP excluded; either may be empty)")
    group.add_argument("--times", default=None, metavar="START:STOP",
                       help="only frames whose mid-time is in this range (cube's time system)")
    parser.add_argument("--bin", type=int, default=None, metavar="K",
                        help="bin K consecutive frames (a trailing partial bin is left out)")
    parser.add_argument("--bin-method", default="sum", choices=["sum", "mean"])


def _add_parallel(parser):
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--workers", type=int, default=None, help="local worker processes")
    group.add_argument("--scheduler", default=None,
                       help="dask scheduler address (tcp://host:8786), needs astrocut[dask]")


def _sky_position(args):
    return f"{args.ra} {args.dec}"


@contextlib.contextmanager
def _image_warnings():
    """Show the image commands' warnings (e.g. a skipped input) as one line each.

    On an error only the error is shown: its message already names the inputs and why
    none could be used, and an error stays one line.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for warning in caught:
        print(f"astrocut: warning: {warning.message}", file=sys.stderr)


def _extension_argument(text):
    if text.lower() == "all":
        return "all"
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not 'all' or HDU indices such as 1 or "
                                         f"1,2") from None
    return values[0] if len(values) == 1 else values


def _print_paths(result):
    for path in [result] if isinstance(result, str) else result:
        print(path)


def cmd_fits_cut(args):
    from .images import fits_cut

    with _image_warnings():
        result = fits_cut(args.files, _sky_position(args), _size(args),
                          extension=args.extension, single_outfile=args.single,
                          output_dir=args.output, cutout_prefix=args.prefix,
                          drop_after=args.drop_after, verbose=args.verbose)
    _print_paths(result)
    return 0


def cmd_img_cut(args):
    from .images import img_cut

    with _image_warnings():
        result = img_cut(args.files, _sky_position(args), _size(args), stretch=args.stretch,
                         img_format=args.format, colorize=args.colorize, invert=args.invert,
                         minmax_percent=args.minmax_percent, minmax_value=args.minmax_value,
                         output_dir=args.output, cutout_prefix=args.prefix,
                         drop_after=args.drop_after, verbose=args.verbose,
                         extension=args.extension)
    _print_paths(result)
    return 0


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line, like every other astrocut error."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _add_size(parser, default=None):
    parser.add_argument("--size", type=int, default=default, required=default is None,
                        help="stamp width in pixels (columns); square unless --size-y")
    parser.add_argument("--size-y", type=int, default=None, help="stamp height in pixels (rows)")


def build_parser():
    """The argument parser, with the plugins' subcommands added."""
    from . import __version__
    from .plugins import get_plugin_manager

    parser = _Parser(
        prog="astrocut", description="Cut stamps and stamp time series out of aligned images.")
    parser.add_argument("--version", action="version", version=f"astrocut {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    plugins = commands.add_parser("plugins", help="list installed plugins and their hooks")
    plugins.set_defaults(func=cmd_plugins)

    cube = commands.add_parser("cube", help="build a cube from full-frame images")
    cube.add_argument("files", nargs="+", metavar="FILES_OR_DIR")
    cube.add_argument("-o", "--output", default=None,
                      help="cube file to write (default: make_cube's default name)")
    cube.add_argument("--max-memory", type=float, default=50, help="GB for image data (50)")
    cube.add_argument("--option", "-O", type=_mission_option, action="append", metavar="KEY=VALUE",
                      help="a mission option for the cube's plugin (repeatable)")
    cube.add_argument("--append", action="store_true", help="add FILES to the existing cube")
    cube.add_argument("--quiet", action="store_true", help="no progress output")
    _add_parallel(cube)
    cube.set_defaults(func=cmd_cube)

    cut = commands.add_parser("cut", help="cut a target pixel file from a cube")
    cut.add_argument("cube")
    cut.add_argument("ra", type=float, nargs="?", help="degrees")
    cut.add_argument("dec", type=float, nargs="?", help="degrees")
    _add_size(cut, default=10)
    cut.add_argument("-o", "--output", default=".", help="output directory")
    cut.add_argument("--verbose", action="store_true")
    cut.add_argument("--targets", default=None,
                     help="CSV with ra, dec[, size, name]: cut them all, write manifest.csv")
    _add_frames(cut)
    _add_parallel(cut)
    cut.set_defaults(func=cmd_cut)

    for name, func, help_text in (("fits-cut", cmd_fits_cut, "cut FITS images to FITS"),
                                  ("img-cut", cmd_img_cut, "cut FITS images to PNG/JPG")):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("files", nargs="+", help="FITS files (paths or URLs)")
        sub.add_argument("--ra", type=float, required=True, help="degrees")
        sub.add_argument("--dec", type=float, required=True, help="degrees")
        _add_size(sub)
        sub.add_argument("-o", "--output", default=".", help="output directory")
        sub.add_argument("--prefix", default="cutout",
                         help="name prefix of the single FITS file or the colour image")
        sub.add_argument("--extension", type=_extension_argument, default=None,
                         help="HDUs to cut: an index, indices such as 1,2, or 'all' (default: "
                              "the first image HDU with a celestial WCS)")
        sub.add_argument("--drop-after", default=None,
                         help="per-input names keep the input's name up to this text")
        sub.add_argument("--verbose", action="store_true")
        sub.set_defaults(func=func)
        if name == "fits-cut":
            group = sub.add_mutually_exclusive_group()
            group.add_argument("--single", dest="single", action="store_true", default=True,
                               help="all cutouts in one file (default)")
            group.add_argument("--per-file", dest="single", action="store_false",
                               help="one output file per input")
        else:
            sub.add_argument("--stretch", default="asinh",
                             help="asinh (default), sinh, sqrt, log or linear")
            sub.add_argument("--format", default="jpg", choices=["jpg", "png"])
            sub.add_argument("--colorize", action="store_true", help="R, G, B from 3 inputs")
            sub.add_argument("--invert", action="store_true")
            sub.add_argument("--minmax-percent", type=float, nargs=2, default=None,
                             metavar=("LOW", "HIGH"), help="percentile interval (0.5 99.5)")
            sub.add_argument("--minmax-value", type=float, nargs=2, default=None,
                             metavar=("MIN", "MAX"), help="value interval")

    get_plugin_manager().hook.astrocut_register_commands(subparsers=commands)
    return parser


@contextlib.contextmanager
def _sigterm_interrupts():
    """Turn SIGTERM (``timeout``, batch schedulers, ``docker stop``) into an interrupt.

    The interrupt unwinds like Ctrl-C, so temporary files are removed and pool workers are
    stopped. Outside the main thread (the CLI called from a thread) signals cannot be caught.
    """
    def interrupt(signum, frame):
        runner.note_signal(signum)
        raise KeyboardInterrupt() if signum == signal.SIGINT else Interrupted(signum)

    runner.clear_signals()
    try:
        previous = {number: signal.signal(number, interrupt)
                    for number in (signal.SIGTERM, signal.SIGINT)}
    except ValueError:
        yield
        return
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        runner.clear_signals()


def main(argv=None):
    """Entry point of the ``astrocut`` console script; returns the exit code."""
    try:
        with _sigterm_interrupts():
            parser = build_parser()
            args = parser.parse_args(argv)
            if not getattr(args, "func", None):
                parser.print_help()
                return 0
            return args.func(args) or 0
    except AstrocutError as exc:
        print(f"astrocut: error: {exc}", file=sys.stderr)
        return 1
    except Interrupted as exc:
        print(f"astrocut: stopped by signal {signal.Signals(exc.signal_number).name}",
              file=sys.stderr)
        return 128 + exc.signal_number
    except KeyboardInterrupt:
        print("astrocut: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print("astrocut: error: not enough memory for this request (ask for less: a smaller "
              "size, fewer files, or a lower --max-memory)", file=sys.stderr)
        return 1
    except OSError as exc:
        name = getattr(exc, "filename", None)
        reason = exc.strerror or str(exc)
        print(f"astrocut: error: {name!r}: {reason}" if name else f"astrocut: error: {reason}",
              file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
