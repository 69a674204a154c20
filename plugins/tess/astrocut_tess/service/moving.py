"""The ``moving_target/`` endpoints.

TESScut resolves ``obj_id`` through JPL Horizons online; this server fetches nothing, so an
``obj_id`` alone is refused with a 400 that says so. A request that brings its own path
table (``ephemeris``: CSV text with columns ``time`` (JD, TDB), ``ra`` and ``dec`` in
degrees) is answered from the collection.
"""


from .app import ParameterError, _json, _sector_name, parsed, sector_reply

NO_RESOLVER = ("obj_id: this server has no online ephemeris resolver (JPL Horizons is not "
               "available); send the target's path instead as 'ephemeris', CSV text with "
               "columns time (JD, TDB), ra, dec (degrees)")
MAX_EPHEMERIS_ROWS = 100_000


def parse_ephemeris(params):
    """The path table from the ``ephemeris`` parameter, or a ParameterError."""
    from astropy.table import Table

    values = params.get("ephemeris")
    if not values or not values[0].strip():
        if params.get("obj_id"):
            raise ParameterError("obj_id", NO_RESOLVER.split(": ", 1)[1])
        raise ParameterError("ephemeris", "missing: send the path as CSV text with columns "
                                          "time (JD, TDB), ra, dec (degrees)")
    try:
        # The newline makes astropy read the text as the table itself: without one, a
        # single-line value would be opened as a file name.
        table = Table.read(values[0].strip() + "\n", format="ascii.csv")
    except Exception as exc:
        raise ParameterError("ephemeris", f"is not a readable CSV table ({exc})") from None
    columns = {name.lower(): name for name in table.colnames}
    missing = [name for name in ("time", "ra", "dec") if name not in columns]
    if missing:
        raise ParameterError("ephemeris", f"needs columns time, ra, dec; it lacks {missing}")
    if not 2 <= len(table) <= MAX_EPHEMERIS_ROWS:
        raise ParameterError("ephemeris", f"needs 2 to {MAX_EPHEMERIS_ROWS} rows, has {len(table)}")
    try:
        rows = [(float(r[columns["time"]]), float(r[columns["ra"]]) % 360.0,
                 float(r[columns["dec"]])) for r in table]
    except (TypeError, ValueError):
        raise ParameterError("ephemeris", "time, ra and dec must be numbers") from None
    if any(not -90 <= dec <= 90 for _, _, dec in rows):
        raise ParameterError("ephemeris", "a dec is out of range (degrees from -90 to 90)")
    return rows


async def _entries_on_path(service, rows):
    """Cubes holding a path point observed while the cube was (give or take one step of
    the path, so a coarse ephemeris bracketing a cube's span still finds it)."""
    times = sorted(jd for jd, _, _ in rows)
    slack = max(b - a for a, b in zip(times, times[1:]))
    found = {}
    for jd, ra, dec in rows:
        # Cube times are BTJD (BJD - 2457000); the path's JD (TDB) is compared on that scale.
        btjd = jd - 2457000.0
        for entry in await service.find(ra, dec):
            if entry.tstart - slack <= btjd <= entry.tstop + slack:
                found.setdefault((entry.sector, entry.camera, entry.ccd), entry)
    return [found[key] for key in sorted(found)]


async def moving_sector(request):
    rows, refused = await parsed(request, parse_ephemeris)
    if refused:
        return refused
    return sector_reply(request, await _entries_on_path(request.app.state.service, rows))


async def moving_astrocut(request):
    """One file per sector the path crosses: ``cube_cut_path`` over that sector's cubes."""
    import asyncio
    import time

    from .app import NO_DATA, _unknown_sectors, zip_reply
    from .params import parse_sectors, parse_size

    service = request.app.state.service
    access = request.scope["state"]["access"]
    deadline = time.monotonic() + service.limits.timeout

    def parse(params):
        rows = parse_ephemeris(params)
        units, (x, y) = parse_size(params, service.limits)
        if units != "px":
            raise ParameterError("units", f"{units!r}: a moving-target stamp is given in px")
        if x * y > service.limits.max_pixels:
            raise ParameterError("x", f"a {x:g} x {y:g} px stamp is over this server's "
                                      f"{service.limits.max_pixels} pixels per stamp")
        sectors = parse_sectors(params)
        _unknown_sectors(service, sectors)
        return rows, (x, y), sectors

    parsed_query, refused = await parsed(request, parse)
    if refused:
        return refused
    rows, (x, y), sectors = parsed_query

    by_sector = {}
    for entry in await _entries_on_path(service, rows):
        if not sectors or entry.sector in sectors:
            by_sector.setdefault(entry.sector, []).append(entry)
    access["cubes"] = [_sector_name(e) for group in by_sector.values() for e in group]
    if not by_sector:
        return _json(200, f"{NO_DATA} path at its times; no cutout made")
    from . import worker

    numbers = sorted(by_sector)
    size = [int(x), int(y)]
    tasks = [asyncio.ensure_future(service.run(deadline, worker.cut_path_file,
                                               [e.path for e in by_sector[n]], rows, size))
             for n in numbers]
    return await zip_reply(service, tasks,
                           lambda i, _: f"tess-s{numbers[i]:04d}_path_{size[0]}x{size[1]}"
                                        f"_astrocut.fits", access)
