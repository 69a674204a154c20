"""Choosing rows of the 1.x ``ASDFCutout`` result tables by input file and by position.

A position is matched by its 8-decimal string (``SkyCoord.to_string(precision=8)``), as the
1.x class keys its results; a file by the path it was given as.
"""

import os

import numpy as np

from astrocut.errors import InvalidInputError


def coordinate_list(coordinates):
    """``coordinates`` (a SkyCoord, scalar or array, a string, or a list of them) as a list
    of scalar ICRS SkyCoords; raise one line for anything else."""
    from astropy.coordinates import SkyCoord

    if isinstance(coordinates, (str, SkyCoord)):
        items = [coordinates]
    else:
        try:
            items = list(coordinates)
        except TypeError:
            items = [coordinates]
    result = []
    for item in items:
        if isinstance(item, SkyCoord):
            result.extend([item] if item.isscalar else list(item))
        elif isinstance(item, str):
            result.append(_parse(item))
        else:
            raise InvalidInputError(f"coordinate {item!r} is not a valid SkyCoord or string")
    return [c.icrs for c in result]


def _parse(text):
    from astropy.coordinates import SkyCoord

    try:
        return SkyCoord(text, unit="deg")
    except Exception:  # astropy raises ValueError, UnitsError ... for malformed strings
        raise InvalidInputError(f"Invalid coordinate string {text!r}: give 'RA DEC' in "
                                f"degrees") from None


def key(coordinate):
    return coordinate.to_string(precision=8)


def file_list(input_files):
    if isinstance(input_files, (str, os.PathLike)):
        input_files = [input_files]
    try:
        files = [os.fspath(f) if isinstance(f, os.PathLike) else str(f) for f in input_files]
    except TypeError:
        raise InvalidInputError("input_files must be a file path or a list of them") from None
    if not files:
        raise InvalidInputError("input_files is empty: give at least one ASDF file")
    return files


def select(rows, input_files=None, coordinates=None):
    """The ``(file, coordinate, item)`` rows of the chosen files and positions, in order.

    A file or position asked for that no row holds is an error naming it.
    """
    files = None if input_files is None else file_list(input_files)
    keys = None if coordinates is None else [key(c) for c in coordinate_list(coordinates)]
    if files is not None:
        held = {row[0] for row in rows}
        for name in files:
            if name not in held:
                raise InvalidInputError(f"input file {name!r} is not in the cutout results.")
    if keys is not None:
        held = {key(row[1]) for row in rows}
        for wanted in keys:
            if wanted not in held:
                raise InvalidInputError(f"coordinate {wanted!r} is not in the cutout results.")
    return [row for row in rows
            if (files is None or row[0] in files) and (keys is None or key(row[1]) in keys)]


def table(rows):
    """An astropy Table with ``file``, ``coordinate`` (SkyCoord) and ``cutout`` (objects)."""
    from astropy.coordinates import SkyCoord
    from astropy.table import Table

    objects = np.empty(len(rows), dtype=object)
    for index, row in enumerate(rows):
        objects[index] = row[2]
    coordinate = SkyCoord([row[1] for row in rows]) if rows else []
    return Table({"file": [row[0] for row in rows], "coordinate": coordinate,
                  "cutout": objects})
