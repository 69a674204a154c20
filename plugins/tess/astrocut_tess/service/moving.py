"""The ``moving_target/`` endpoints.

TESScut resolves ``obj_id`` through JPL Horizons online; this server fetches nothing, so an
``obj_id`` alone is refused with a 400 that says so. A request that brings its own path
table (``ephemeris``: CSV text with columns ``time`` (JD, TDB), ``ra`` and ``dec`` in
degrees) is answered from the collection.
"""


from .app import ParameterError, _json, _sector_name, request_params

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
    """Cubes holding a path point observed while the cube was: (entry, points) pairs."""
    from astropy.time import Time

    found = {}
    for jd, ra, dec in rows:
        # Cube times are BTJD (BJD - 2457000); the path's JD is compared on that scale.
        btjd = jd - 2457000.0 if jd > 2400000 else Time(jd, format="mjd").jd - 2457000.0
        for entry in await service.find(ra, dec):
            if entry.tstart <= btjd <= entry.tstop:
                found.setdefault((entry.sector, entry.camera, entry.ccd), entry)
    return [found[key] for key in sorted(found)]


async def moving_sector(request):
    service = request.app.state.service
    try:
        rows = parse_ephemeris(await request_params(request))
    except ParameterError as exc:
        return _json(400, str(exc))
    entries = await _entries_on_path(service, rows)
    return _sector_reply(entries)


def _sector_reply(entries):
    from starlette.responses import JSONResponse

    return JSONResponse({"results": [{"sectorName": _sector_name(e), "sector": str(e.sector),
                                      "camera": str(e.camera), "ccd": str(e.ccd)}
                                     for e in entries]})


async def moving_astrocut(request):
    try:
        parse_ephemeris(await request_params(request))
    except ParameterError as exc:
        return _json(400, str(exc))
    return _json(501, "moving_target/astrocut: cutting along a path is not available on this "
                      "server yet; use moving_target/sector to find the cubes")
