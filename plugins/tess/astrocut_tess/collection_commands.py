"""``astrocut index``, ``find`` and ``cut-path``: cube collections on the command line."""


def cmd_index(args):
    from .collection import CubeCollection

    sources = args.sources
    collection = CubeCollection.load(sources[0] if len(sources) == 1 else sources)
    path = collection.write(args.output)
    print(f"{path}: {len(collection)} cubes")
    return 0


def cmd_find(args):
    from .collection import CubeCollection

    collection = CubeCollection.load(args.cubes)
    size = [args.size, args.size_y if args.size_y is not None else args.size]
    found = collection.find(f"{args.ra} {args.dec}", size, sector=args.sector,
                            camera=args.camera, ccd=args.ccd)
    if not found:
        print(f"no cube holds {args.ra} {args.dec}", flush=True)
        return 4
    for entry in found:
        print(f"{entry.sector}\t{entry.camera}\t{entry.ccd}\t{entry.path}")
    return 0


def register(subparsers):
    """Add ``index`` and ``find`` to ``subparsers``."""
    index = subparsers.add_parser(
        "index", help="index TESS cubes (headers only) into an .ecsv file for find/cut")
    index.add_argument("sources", nargs="+", metavar="DIR|CUBE|URL",
                       help="directories of cubes, cube files or URLs")
    index.add_argument("-o", "--output", required=True, help="index file to write (.ecsv)")
    index.set_defaults(func=cmd_index)

    find = subparsers.add_parser("find", help="which indexed cubes hold RA DEC")
    find.add_argument("ra", type=float, help="degrees")
    find.add_argument("dec", type=float, help="degrees")
    find.add_argument("--cubes", required=True,
                      help="an .ecsv index, a directory of cubes or one cube")
    find.add_argument("--size", type=int, default=1, help="stamp width in pixels (1)")
    find.add_argument("--size-y", type=int, default=None, help="stamp height in pixels")
    find.add_argument("--sector", type=int, action="append", default=None)
    find.add_argument("--camera", type=int, action="append", default=None)
    find.add_argument("--ccd", type=int, action="append", default=None)
    find.set_defaults(func=cmd_find)
    register_cut_path(subparsers)



def cmd_cut_path(args):
    from .path_cut import cube_cut_path

    sources = args.cubes
    size = [args.size, args.size_y if args.size_y is not None else args.size]
    path = cube_cut_path(sources[0] if len(sources) == 1 else sources, args.path, size,
                         output_file=args.output)
    print(path)
    return 0


def register_cut_path(subparsers):
    """Add ``cut-path`` to ``subparsers``."""
    cut = subparsers.add_parser("cut-path", help="stamps that follow a moving target, from "
                                                 "one or more cubes, into one file")
    cut.add_argument("cubes", nargs="+", metavar="CUBES",
                     help="cube files or URLs, a directory of cubes or an .ecsv index")
    cut.add_argument("--path", required=True,
                     help="the ephemeris: an .ecsv table with a Time and a SkyCoord column")
    cut.add_argument("--size", type=int, default=10, help="stamp width in pixels (10)")
    cut.add_argument("--size-y", type=int, default=None, help="stamp height in pixels")
    cut.add_argument("-o", "--output", default=None, help="file to write")
    cut.set_defaults(func=cmd_cut_path)
