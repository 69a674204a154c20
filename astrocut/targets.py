"""The targets of a bulk cutout: a table, a CSV file or a list of positions, as rows."""

import os

import numpy as np

from .cubes import target_keywords
from .errors import InvalidInputError
from .output import check_path_text


def read_targets(targets, cutout_size=None):
    """Normalise ``targets`` into a list of dicts with ``name, ra, dec, size``.

    ``targets`` is an astropy Table (or a CSV path) with ``ra`` and ``dec`` columns in degrees
    and optional ``size`` (pixels, square; ``size_y`` for rows) and ``name`` columns, or a list
    of ``SkyCoord``/"ra dec" strings. ``cutout_size`` is the default for rows without a size.
    Any other column is a target header keyword (its name upper-cased; blank cells left out),
    under ``target``.
    """
    from astropy.table import Table

    source = "the targets table"
    if isinstance(targets, (str, os.PathLike)):
        path = check_path_text(targets, "targets file")
        if not os.path.isfile(path):
            raise InvalidInputError(f"targets file {path!r} does not exist")
        try:
            targets = Table.read(path, format="ascii.csv")
            source = f"targets file {path!r}"
        except Exception as exc:
            raise InvalidInputError(f"targets file {path!r} is not a readable CSV table: {exc}") from None
    if isinstance(targets, Table):
        columns = {name.lower(): name for name in targets.colnames}
        if "ra" not in columns or "dec" not in columns:
            raise InvalidInputError(f"{source} needs 'ra' and 'dec' columns (degrees); "
                                    f"it has {targets.colnames}")
        keywords = [name for key, name in columns.items()
                    if key not in ("ra", "dec", "size", "size_y", "name")]
        rows = []
        for index, row in enumerate(targets):
            size = _row_size(row, columns, cutout_size)
            name = str(row[columns["name"]]) if "name" in columns else str(index)
            rows.append({"name": name, "coordinates": f"{row[columns['ra']]} {row[columns['dec']]}",
                         "size": size, "target": target_keywords(row, keywords)})
        return rows
    try:
        items = list(targets)
    except TypeError:
        raise InvalidInputError("targets must be a Table, a CSV path or a list of positions") from None
    return [{"name": str(index), "coordinates": item, "size": cutout_size}
            for index, item in enumerate(items)]


def _row_size(row, columns, default):
    if "size" not in columns or np.ma.is_masked(row[columns["size"]]):
        return default
    size_x = row[columns["size"]]
    size_y = row[columns["size_y"]] if "size_y" in columns else size_x
    return [_number(size_x), _number(size_y)]


def _number(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value  # parse_cutout_size reports it, in the target's own row
    return int(number) if number.is_integer() else number
