"""Reading Roman spectral files: the spectra of chosen sources, cut to a wavelength range.

A Roman spectral file (1-D spectra of many sources, as the 1.x ``RomanSpectralSubset``
reads them) holds ``roman.data``, a mapping from source ID to that source's spectrum, and
``roman.meta``, the file's keywords (``unit_wl``, ``unit_flux``, ``optical_element`` ...).
A spectrum has a ``wl`` array, arrays sampled on it (``flux``, ``flux_error``, ``flag`` ...)
and values that are not (``number_coadds`` ...). roman_datamodels 1.2 defines no data model
for these files (rad lists only their archive keywords, and keeps those schemas out of asdf),
so they are read as plain ASDF trees.

One file is read by :func:`read_subset`, in this process or in a worker: its answer, a
:class:`FileSubset`, holds only copies (the file is closed before it returns) and pickles,
so it can cross back from a worker process.
"""

import copy
import numbers

import attrs
import numpy as np

from astrocut.errors import InvalidInputError

from .reader import MISSION_KEY, open_asdf

# The arrays a lite subset keeps: the spectrum and its error, nothing else.
LITE_KEYS = ("wl", "flux", "flux_error")

# Relative rounding of a unit conversion (a few units in the last place of a float64).
CONVERSION_SLACK = 1e-12

# Top-level entries asdf writes itself into every file: an input's are never copied.
ASDF_OWN_KEYS = ("asdf_library", "history")


@attrs.frozen
class SubsetRequest:
    """What to take from every file: the same for all files of one subset run."""

    source_ids: tuple  # strings, in the order asked for
    wl_range: tuple | None  # (low, high), numbers or astropy Quantities
    lite: bool
    verbose: bool

    @property
    def wl_text(self):
        # As the 1.x messages print a tuple: "(810, 910)".
        if self.wl_range is None:
            return ""
        return "(" + ", ".join(str(value) for value in self.wl_range) + ")"


@attrs.frozen
class FileSubset:
    """The subsets taken from one file, and what the full form keeps of the rest of it."""

    file: str
    spectra: dict  # source ID (str) -> {name: array or value}, in the order asked for
    meta: dict  # roman.meta
    mission: dict  # the other roman.* entries (empty for lite)
    others: dict  # the other top-level entries, asdf's own excepted (empty for lite)
    history: list  # the input's history entries, kept by the full form (empty for lite)
    warnings: tuple  # messages for the caller to warn with, in the order met


def read_subset(file, request):
    """Take ``request``'s sources and wavelengths from ``file`` (a path or URL)."""
    spectra, notes = {}, []
    with open_asdf(file) as handle:
        tree = handle.tree
        node = tree.get(MISSION_KEY)
        data = node.get("data") if hasattr(node, "get") else None
        if not hasattr(data, "keys"):
            raise InvalidInputError(f"{file!r} has no roman.data mapping of source IDs: not a "
                                    f"Roman spectral file")
        meta = materialize(node.get("meta") or {})
        bounds = None if request.wl_range is None else wl_bounds(request.wl_range, meta, file)
        # IDs are stored as strings or as integers (both occur); they are asked for as text.
        stored = {str(key): key for key in data.keys()}
        for sid in request.source_ids:
            if sid not in stored:
                if request.verbose:
                    notes.append(f"Source ID {sid} not found in file {file}. "
                                 f"Skipping this source for this file.")
                continue
            spectrum, note = _cut_source(data[stored[sid]], sid, file, bounds, request)
            if note:
                notes.append(note)
            else:
                spectra[sid] = spectrum
        if request.lite or not spectra:
            mission, others, history = {}, {}, []
        else:
            mission = {k: materialize(v) for k, v in node.items() if k not in ("data", "meta")}
            others = {k: materialize(v) for k, v in tree.items()
                      if k != MISSION_KEY and k not in ASDF_OWN_KEYS}
            history = history_entries(tree.get("history"))
    return FileSubset(file=file, spectra=spectra, meta=meta, mission=mission, others=others,
                      history=history, warnings=tuple(notes))


def _cut_source(source, sid, file, bounds, request):
    """``(spectrum, None)``, or ``(None, message)`` when no sample is in the range."""
    if not hasattr(source, "keys") or "wl" not in source:
        raise InvalidInputError(f"{file!r}: source {sid} has no 'wl' array: not a Roman "
                                f"spectrum")
    wl_values, wl_unit = _values(source["wl"])
    if wl_values.ndim != 1:
        raise InvalidInputError(f"{file!r}: the 'wl' array of source {sid} has shape "
                                f"{wl_values.shape}, not 1-D")
    count = len(wl_values)
    mask = np.ones(count, dtype=bool)
    if bounds is not None and count:
        low, high = _in_unit(bounds, wl_unit, file)
        low_wl, high_wl = np.nanmin(wl_values), np.nanmax(wl_values)
        mask = (wl_values >= low) & (wl_values <= high)
        if low > high_wl or high < low_wl:
            return None, (f"Wavelength range {request.wl_text} is out of bounds for source ID "
                          f"{sid} and file {file}. Available wavelength range: "
                          f"[{low_wl}, {high_wl}]. Skipping this source for this file.")
        if not mask.any():
            # Inside the span but between two samples: an empty spectrum would be no answer.
            return None, (f"Wavelength range {request.wl_text} holds no sample of source ID "
                          f"{sid} in file {file}. Skipping this source for this file.")
    names = [k for k in LITE_KEYS if k in source] if request.lite else list(source.keys())
    spectrum = {}
    for name in names:
        value = source[name]
        spectrum[name] = _take(value, mask) if _sampled(value, count) else materialize(value)
    return spectrum, None


def _sampled(value, count):
    """True for an array (or list) whose first axis runs along the wavelengths."""
    if isinstance(value, (list, tuple)):
        return len(value) == count
    shape = getattr(value, "shape", None)
    return shape is not None and len(shape) >= 1 and shape[0] == count


def _take(value, mask):
    if isinstance(value, (list, tuple)):
        return np.asarray(value)[mask]
    taken = value[mask]
    if isinstance(taken, np.ndarray) and not hasattr(taken, "unit"):
        taken = np.array(taken)  # never a view of a memory-mapped file that is about to close
    return taken


def _values(wl):
    """``(plain float array, unit or None)`` of a ``wl`` array (a Quantity or not)."""
    unit = getattr(wl, "unit", None)
    values = getattr(wl, "value", wl) if unit is not None else wl
    return np.asarray(values), unit


def wl_bounds(wl_range, meta, file):
    """``(low, high)``: plain numbers, or Quantities kept for conversion per source."""
    low, high = wl_range
    if not hasattr(low, "unit"):
        return float(low), float(high)
    unit = meta.get("unit_wl")
    return (low, high) if unit is None else _convert((low, high), unit, file, "roman.meta.unit_wl")


def _in_unit(bounds, wl_unit, file):
    """Bounds as plain numbers in the unit of the ``wl`` array, which wins over unit_wl."""
    low, high = bounds
    if wl_unit is not None and hasattr(low, "unit"):
        return _convert(bounds, wl_unit, file, "its wl array")
    if hasattr(low, "unit"):
        raise InvalidInputError(f"wl_range has units but {file!r} says none for its "
                                f"wavelengths (no roman.meta.unit_wl): give plain numbers")
    return low, high


def _convert(bounds, unit, file, where):
    from astropy import units as u

    try:
        values = [b.to_value(u.Unit(unit), equivalencies=u.spectral()) for b in bounds]
    except (ValueError, TypeError, u.UnitsError) as exc:
        raise InvalidInputError(f"wl_range {bounds} cannot be converted to the unit {unit!r} "
                                f"of {where} in {file!r}: {exc}") from None
    # A frequency or wavenumber range runs backwards in wavelength. A converted bound is
    # off by rounding (0.9 um is 900.0000000000001 nm): widened by that much, a bound that
    # names a sample keeps it, as the same bound given in the file's unit does.
    low, high = min(values), max(values)
    return low - CONVERSION_SLACK * abs(low), high + CONVERSION_SLACK * abs(high)


def history_entries(history):
    """The entries of an input's ``history`` (a mapping with ``entries``, or an old list)."""
    if hasattr(history, "get"):
        history = history.get("entries")
    return [copy.deepcopy(entry) for entry in history or []]


def materialize(value):
    """A copy of ``value`` that holds no lazy or memory-mapped array of an open file.

    Containers are rebuilt, arrays copied into memory, other objects (astropy Times and
    Quantities, tagged asdf objects) deep-copied, so the result outlives the file and pickles.
    """
    if type(value) is dict or type(value).__name__ == "AsdfObject":
        return {k: materialize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(materialize(v) for v in value)
    if isinstance(value, (str, bytes, numbers.Number, bool)) or value is None:
        return value
    if hasattr(value, "unit") or not (hasattr(value, "shape") and hasattr(value, "dtype")):
        try:
            return copy.deepcopy(value)
        except Exception:  # an object that cannot be copied is kept as it is
            return value
    return np.array(value)
