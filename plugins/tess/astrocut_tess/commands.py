"""The TESS plugin's subcommands of the ``astrocut`` command line."""

from astrocut.errors import InvalidInputError
from astrocut.output import prepare_directory


def cmd_simulate(args):
    from .simulate import parse_size, simulate_ffis

    try:
        size = parse_size(args.size)
    except ValueError as exc:
        raise InvalidInputError(f"--size: {exc}") from None
    if args.n < 1:
        raise InvalidInputError(f"--n must be at least 1, got {args.n}")
    if max(size) > MAX_SIMULATED_SIDE:
        # Beyond this the simulated distortion no longer inverts, and one FFI takes GBs.
        raise InvalidInputError(f"--size {args.size}: at most {MAX_SIMULATED_SIDE} pixels a side "
                                f"(a real FFI is 2136x2078)")
    prepare_directory(args.directory, "DIRECTORY")
    try:
        sector = simulate_ffis(args.directory, n_ffi=args.n, size=size, sector=args.sector,
                               camera=args.camera, ccd=args.ccd, seed=args.seed,
                               verbose=not args.quiet)
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(f"simulate: {exc}") from None
    except MemoryError:
        raise InvalidInputError(f"--size {args.size}: not enough memory to simulate FFIs this "
                                f"large; ask for a smaller --size") from None
    variable = sector.variable_star
    print(f"Wrote {len(sector.files)} FFIs ({size[0]}x{size[1]}) to {args.directory}; "
          f"variable star at {variable.ra:.6f} {variable.dec:.6f}")
    return 0


MAX_SIMULATED_SIDE = 8192


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
    register_demo(subparsers)
    from .service.cli import register_serve

    register_serve(subparsers)


# ------------------------------------------------------------------------------- demo

DEMO_N_FFI = 30
DEMO_SIZE = (300, 250)
DEMO_STAMP = 15


def cmd_demo(args):
    """Simulate a sector, build its cube, cut a TPF around the variable star, draw it."""
    import os
    import time

    directory = os.path.abspath(prepare_directory(args.directory, "DIRECTORY"))
    print(f"astrocut demo: writing into {directory}")
    started = time.perf_counter()

    def step(number, text, since):
        print(f"[{number}/5] {text} ({time.perf_counter() - since:.1f} s)", flush=True)

    from .simulate import simulate_ffis

    t = time.perf_counter()
    sector = simulate_ffis(os.path.join(directory, "ffis"), n_ffi=DEMO_N_FFI, size=DEMO_SIZE,
                           seed=args.seed)
    star = sector.variable_star
    step(1, f"simulated {len(sector.files)} SPOC FFIs of {DEMO_SIZE[0]}x{DEMO_SIZE[1]} pixels "
            f"in {os.path.join(directory, 'ffis')}", t)

    from astrocut import CubeFactory, CutoutFactory

    t = time.perf_counter()
    cube_file = os.path.join(directory, f"demo-s{sector.sector:04d}-{sector.camera}-"
                                        f"{sector.ccd}-cube.fits")
    cube_file = CubeFactory().make_cube(sector.files, cube_file, verbose=False)
    size_mb = os.path.getsize(cube_file) / 1e6
    step(2, f"built the cube {cube_file} ({size_mb:.0f} MB)", t)

    t = time.perf_counter()
    tpf_path = CutoutFactory().cube_cut(cube_file, f"{star.ra} {star.dec}", DEMO_STAMP,
                                        output_path=directory)
    step(3, f"cut a {DEMO_STAMP}x{DEMO_STAMP} target pixel file around the variable star "
            f"(RA {star.ra:.5f}, Dec {star.dec:.5f}): {tpf_path}", t)

    t = time.perf_counter()
    stamp, light_curve = _demo_data(tpf_path, star)
    preview = os.path.join(directory, "stamp.png")
    if _write_stamp_png(stamp, preview):
        step(4, f"stamp preview (median over time): {preview}", t)
    else:
        print("[4/5] stamp preview skipped: Pillow is not installed (pip install pillow)")

    t = time.perf_counter()
    curve = os.path.join(directory, "lightcurve.png")
    if _write_light_curve_png(light_curve, star, curve):
        step(5, f"light curve of the variable star: {curve}", t)
    else:
        print("[5/5] light curve plot skipped: matplotlib is not installed (pip install matplotlib)")

    print(f"Done in {time.perf_counter() - started:.1f} s. Open the TPF with lightkurve:")
    print(f"    import lightkurve; tpf = lightkurve.read({tpf_path!r}); tpf.plot()")
    return 0


def _demo_data(tpf_path, star):
    """Median stamp image, and (time, aperture flux, quality, model) of the variable star."""
    import numpy as np
    from astropy.coordinates import SkyCoord
    from astropy.io import fits
    from astropy.wcs import WCS

    with fits.open(tpf_path) as tpf:
        flux = np.asarray(tpf[1].data["FLUX"], dtype=float)
        time = np.asarray(tpf[1].data["TIME"], dtype=float)
        quality = np.asarray(tpf[1].data["QUALITY"])
        px, py = (float(v) for v in WCS(tpf[2].header).world_to_pixel(
            SkyCoord(star.ra, star.dec, unit="deg")))
    ys, xs = np.mgrid[0:flux.shape[1], 0:flux.shape[2]]
    aperture = np.hypot(xs - px, ys - py) <= 2.0
    series = np.nansum(flux[:, aperture], axis=1)
    return np.nanmedian(flux, axis=0), (time, series, quality, star.flux_at(time))


def _write_stamp_png(image, path, zoom=16):
    try:
        from PIL import Image
    except ImportError:
        return False
    import numpy as np

    from astrocut import normalize_img

    scaled = normalize_img(image, stretch="asinh", minmax_percent=[0.5, 99.5])
    scaled = np.kron(scaled[::-1], np.ones((zoom, zoom), dtype=np.uint8))  # row 0 at bottom
    Image.fromarray(scaled).save(path)
    return True


def _write_light_curve_png(light_curve, star, path):
    try:
        import matplotlib
    except ImportError:
        return False
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    time, series, quality, model = light_curve
    good = quality == 0
    figure, ax = plt.subplots(figsize=(8, 4))
    ax.plot(time[good], series[good] / np.median(series[good]), "o-", ms=4,
            label="aperture flux (r = 2 px)")
    if (~good).any():
        ax.plot(time[~good], series[~good] / np.median(series[good]), "x", color="red",
                label="flagged cadences (QUALITY != 0)")
    ax.plot(time, model / np.median(model), "--", color="gray",
            label="simulated signal")
    ax.ticklabel_format(axis="x", useOffset=False)
    ax.set_xlabel("Time [BTJD = BJD - 2457000]")
    ax.set_ylabel("Normalised flux")
    ax.set_title(f"astrocut demo: variable star at {star.ra:.4f} {star.dec:.4f}")
    ax.legend(loc="best", fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return True


def register_demo(subparsers):
    demo = subparsers.add_parser(
        "demo", help="simulate a small sector, build a cube, cut and draw a target pixel file")
    demo.add_argument("directory", nargs="?", default="astrocut-demo",
                      help="where to write everything (default ./astrocut-demo)")
    demo.add_argument("--seed", type=int, default=0, help="simulation seed (0)")
    demo.set_defaults(func=cmd_demo)
