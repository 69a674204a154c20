"""The TESS plugin's subcommands of the ``astrocut`` command line."""

from astrocut.errors import InvalidInputError


def cmd_simulate(args):
    from .simulate import parse_size, simulate_ffis

    try:
        size = parse_size(args.size)
    except ValueError as exc:
        raise InvalidInputError(f"--size: {exc}") from None
    if args.n < 1:
        raise InvalidInputError(f"--n must be at least 1, got {args.n}")
    try:
        sector = simulate_ffis(args.directory, n_ffi=args.n, size=size, sector=args.sector,
                               camera=args.camera, ccd=args.ccd, seed=args.seed,
                               verbose=not args.quiet)
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(f"simulate: {exc}") from None
    variable = sector.variable_star
    print(f"Wrote {len(sector.files)} FFIs ({size[0]}x{size[1]}) to {args.directory}; "
          f"variable star at {variable.ra:.6f} {variable.dec:.6f}")
    return 0


def register(subparsers):
    """Add the TESS subcommands to ``subparsers``."""
    simulate = subparsers.add_parser(
        "simulate", help="write simulated SPOC calibrated FFIs (sample data)")
    simulate.add_argument("directory")
    simulate.add_argument("--n", type=int, default=20, help="number of FFIs (20)")
    simulate.add_argument("--size", default="2136x2078",
                          help="COLUMNSxROWS (default full size 2136x2078)")
    simulate.add_argument("--sector", type=int, default=1)
    simulate.add_argument("--camera", type=int, default=1)
    simulate.add_argument("--ccd", type=int, default=1)
    simulate.add_argument("--seed", type=int, default=0)
    simulate.add_argument("--quiet", action="store_true")
    simulate.set_defaults(func=cmd_simulate)
