"""Collections of TESS cubes: which cubes hold a target, answered from headers alone.

A :class:`CubeCollection` is built from a directory, a list of paths or URLs, or an index
file (``.ecsv``) written by :meth:`CubeCollection.write` (``astrocut index``). Building it
reads each cube's three headers and three rows of its table (first, middle, last), never
its image data, so indexing a remote sector costs a few ranged reads.

The footprint (``s_region``) is the polygon of the image corners through the WCS of the
table's middle row (the row a cutout uses). :meth:`CubeCollection.find` uses it only to
discard far cubes cheaply; the answer itself comes from placing the stamp on each remaining
cube's pixels with the same function a cutout uses, so a cube is found exactly when a cutout
from it would have at least one pixel on the image.
"""

import logging
import os

import attrs
import numpy as np

from astrocut.errors import InvalidInputError, InvalidQueryError
from astrocut.geometry import parse_coordinates, parse_cutout_size, stamp_window

from .cube_headers import CubeHeaders, CubeIdentity, read_cube_headers

log = logging.getLogger(__name__)

#: Columns of the index file, in order; ``n_columns``, ``n_rows`` and ``wcs`` let an index
#: answer :meth:`CubeCollection.find` by pixel positions without opening the cubes.
INDEX_COLUMNS = ("path", "sector", "camera", "ccd", "tstart", "tstop", "n_frames",
                 "s_region", "n_columns", "n_rows", "wcs_row", "wcs")
INDEX_FORMAT = "astrocut cube index 1"


@attrs.frozen
class CubeEntry(CubeIdentity):
    """One cube of a collection."""

    s_region: str  # footprint polygon, "POLYGON ICRS ra1 dec1 ra2 dec2 ..."


def _as_set(value, name):
    if value is None:
        return None
    values = [value] if np.ndim(value) == 0 else list(value)
    try:
        return {int(v) for v in values}
    except (TypeError, ValueError):
        raise InvalidInputError(f"{name} must be an integer or a list of integers, "
                                f"got {value!r}") from None


def _unit_vectors(ra, dec):
    ra, dec = np.radians(ra), np.radians(dec)
    return np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)], -1)


class _Footprint:
    """A cube's WCS and image shape, and a bounding cap of its footprint for pre-filtering."""

    def __init__(self, headers):
        self.headers = headers
        ra, dec = headers.corners
        vectors = _unit_vectors(ra, dec)
        centre = vectors.mean(axis=0)
        self.centre = centre / np.linalg.norm(centre)
        self.radius = float(np.degrees(np.arccos(np.clip(vectors @ self.centre, -1, 1))).max())


class CubeCollection:
    """The cubes of one or more sectors, cameras and CCDs, indexed by their headers.

    Use :meth:`load` to build one; ``entries`` is a tuple of :class:`CubeEntry`, in the
    order the cubes were given (a directory's cubes sorted by name).
    """

    def __init__(self, entries, footprints=None, fsspec_kwargs=None):
        self.entries = tuple(entries)
        # path -> _Footprint; filled lazily for entries of an index without WCS columns.
        self._footprints = dict(footprints or {})
        self._fsspec_kwargs = fsspec_kwargs

    def __len__(self):
        return len(self.entries)

    def __iter__(self):
        return iter(self.entries)

    def __repr__(self):
        return f"<CubeCollection of {len(self.entries)} cubes>"

    # ------------------------------------------------------------------------- loading

    @classmethod
    def load(cls, source, fsspec_kwargs=None):
        """A collection from a directory, a list of cube paths/URLs, or an ``.ecsv`` index.

        A directory (local, or a URL ending in ``/``) contributes every FITS file in it that
        is a TESS cube; other files there are skipped. A cube named in a list must be one.

        Raises
        ------
        InvalidInputError
            Naming the source when it holds no cube, a listed file is not a cube, or an
            index file cannot be read.
        """
        if isinstance(source, CubeCollection):
            return source
        if isinstance(source, (str, os.PathLike)):
            text = os.fspath(source)
            if text.lower().endswith(".ecsv"):
                return cls.read(text, fsspec_kwargs=fsspec_kwargs)
            if _is_directory(text, fsspec_kwargs):
                paths = _list_directory(text, fsspec_kwargs)
                return cls._from_paths(paths, fsspec_kwargs, skip_non_cubes=True, source=text)
            return cls._from_paths([text], fsspec_kwargs, skip_non_cubes=False, source=text)
        try:
            items = [os.fspath(item) for item in source]
        except TypeError:
            raise InvalidInputError(f"collection must be a directory, a list of cube paths or "
                                    f"URLs, or an .ecsv index, not {type(source).__name__}"
                                    ) from None
        if not items:
            raise InvalidInputError("collection: the list of cubes is empty")
        paths = []
        for item in items:
            if item.lower().endswith(".ecsv"):
                paths.extend(cls.read(item, fsspec_kwargs=fsspec_kwargs).entries)
            elif _is_directory(item, fsspec_kwargs):
                paths.extend(_list_directory(item, fsspec_kwargs))
            else:
                paths.append(item)
        return cls._from_paths(paths, fsspec_kwargs, skip_non_cubes=False, source=None)

    @classmethod
    def _from_paths(cls, paths, fsspec_kwargs, skip_non_cubes, source):
        entries, footprints, loaded = [], {}, []
        seen = set()
        for item in paths:
            if isinstance(item, CubeEntry):
                loaded.append(item)
                continue
            if item in seen:
                continue
            seen.add(item)
            try:
                headers = read_cube_headers(item, fsspec_kwargs=fsspec_kwargs)
            except InvalidInputError as exc:
                if skip_non_cubes:
                    log.info("skipping %s: %s", item, exc)
                    continue
                raise
            entries.append(_entry(headers))
            footprints[item] = _Footprint(headers)
            log.info("indexed %s", item)
        collection = cls(entries + [e for e in loaded if e.path not in seen], footprints,
                         fsspec_kwargs)
        if not collection.entries:
            raise InvalidInputError(f"{source!r} holds no TESS cube" if source
                                    else "collection: no TESS cube found")
        return collection

    # ------------------------------------------------------------------------- finding

    def footprint(self, entry):
        """The :class:`~astrocut_tess.cube_headers.CubeHeaders` behind ``entry``
        (headers are read now if the collection came from an index without WCS)."""
        return self._footprint(entry).headers

    def _footprint(self, entry):
        found = self._footprints.get(entry.path)
        if found is None:
            found = _Footprint(read_cube_headers(entry.path, fsspec_kwargs=self._fsspec_kwargs))
            self._footprints[entry.path] = found
        return found

    def find(self, coordinates, cutout_size=1, sector=None, camera=None, ccd=None):
        """The cubes whose pixels hold (at least one pixel of) the stamp.

        Parameters
        ----------
        coordinates : str or `~astropy.coordinates.SkyCoord`
            The stamp's centre.
        cutout_size : int, pair or `~astropy.units.Quantity`
            As for a cutout; 1 asks for the cubes whose image holds the position itself.
        sector, camera, ccd : int or list of int, optional
            Keep only these.

        Returns
        -------
        list of CubeEntry
            In the collection's order.
        """
        coord = parse_coordinates(coordinates)
        size = parse_cutout_size(cutout_size)
        sectors, cameras, ccds = (_as_set(sector, "sector"), _as_set(camera, "camera"),
                                  _as_set(ccd, "ccd"))
        target = _unit_vectors(coord.ra.deg, coord.dec.deg)
        found = []
        for entry in self.entries:
            if ((sectors is not None and entry.sector not in sectors)
                    or (cameras is not None and entry.camera not in cameras)
                    or (ccds is not None and entry.ccd not in ccds)):
                continue
            footprint = self._footprint(entry)
            headers = footprint.headers
            nx, ny = size.to_pixels(headers.wcs)
            # Far from the footprint a SIP inversion may "converge" to a wrong pixel; the
            # cap (plus the stamp's half-diagonal) keeps such cubes out before it is tried.
            reach = footprint.radius + 0.5 * np.hypot(nx, ny) * headers.pixel_scale + 0.01
            distance = np.degrees(np.arccos(np.clip(target @ footprint.centre, -1.0, 1.0)))
            if distance > reach:
                continue
            try:
                stamp_window(headers.wcs, coord, size, headers.image_shape, entry.path)
            except InvalidQueryError:
                continue
            found.append(entry)
        return found

    # ------------------------------------------------------------------------- index file

    def to_table(self):
        """The index as an astropy Table (the columns of :data:`INDEX_COLUMNS`)."""
        from astropy.table import Table

        rows = []
        for entry in self.entries:
            headers = self._footprint(entry).headers
            rows.append((entry.path, entry.sector, entry.camera, entry.ccd, entry.tstart,
                         entry.tstop, entry.n_frames, entry.s_region,
                         headers.image_shape[1], headers.image_shape[0], headers.wcs_row,
                         headers.wcs_header))
        table = Table(rows=rows, names=INDEX_COLUMNS,
                      dtype=(str, int, int, int, float, float, int, str, int, int, int, str))
        table.meta["format"] = INDEX_FORMAT
        table["tstart"].unit = table["tstop"].unit = "d"
        table["tstart"].description = "TSTART of the first frame (BTJD)"
        table["tstop"].description = "TSTOP of the last frame (BTJD)"
        table["s_region"].description = "footprint of the middle row's WCS (image corners)"
        table["wcs"].description = "WCS cards of table row wcs_row, as one header string"
        return table

    def write(self, path):
        """Write the ``.ecsv`` index to ``path`` (atomically); returns ``path``."""
        from astrocut.output import atomic_path

        path = os.fspath(path)
        if not path.lower().endswith(".ecsv"):
            raise InvalidInputError(f"index file {path!r} must end in .ecsv")
        table = self.to_table()
        with atomic_path(path) as temporary:
            table.write(temporary, format="ascii.ecsv", overwrite=True)
        return path

    @classmethod
    def read(cls, path, fsspec_kwargs=None):
        """A collection from an index file written by :meth:`write`.

        Relative cube paths are taken relative to the index's folder. An index with only
        the :class:`CubeEntry` columns works too: such cubes' headers are read when
        :meth:`find` first needs their pixels.
        """
        from astropy.table import Table

        path = os.fspath(path)
        try:
            if "://" in path:
                import fsspec

                with fsspec.open(path, "rt", **(fsspec_kwargs or {})) as handle:
                    table = Table.read(handle.read(), format="ascii.ecsv")
            else:
                table = Table.read(path, format="ascii.ecsv")
        except FileNotFoundError:
            raise InvalidInputError(f"index file {path!r} does not exist") from None
        except Exception as exc:
            raise InvalidInputError(f"index file {path!r} cannot be read as ECSV "
                                    f"({type(exc).__name__}: {exc})") from None
        missing = [name for name in attrs.fields_dict(CubeEntry) if name not in table.colnames]
        if missing:
            raise InvalidInputError(f"index file {path!r} has no {', '.join(missing)} "
                                    f"column; write it with 'astrocut index'")
        base = os.path.dirname(os.path.abspath(path)) if "://" not in path else None
        entries, footprints = [], {}
        for row in table:
            cube = str(row["path"])
            if base is not None and "://" not in cube and not os.path.isabs(cube):
                cube = os.path.join(base, cube)
            entry = CubeEntry(path=cube, sector=int(row["sector"]), camera=int(row["camera"]),
                              ccd=int(row["ccd"]), tstart=float(row["tstart"]),
                              tstop=float(row["tstop"]), n_frames=int(row["n_frames"]),
                              s_region=str(row["s_region"]))
            entries.append(entry)
            if {"wcs", "n_columns", "n_rows"} <= set(table.colnames) and str(row["wcs"]):
                headers = CubeHeaders.from_index(
                    cube, wcs_header=str(row["wcs"]),
                    image_shape=(int(row["n_rows"]), int(row["n_columns"])),
                    n_frames=entry.n_frames,
                    wcs_row=int(row["wcs_row"]) if "wcs_row" in table.colnames else -1,
                    source=path)
                footprints[cube] = _Footprint(headers)
        if not entries:
            raise InvalidInputError(f"index file {path!r} lists no cubes")
        return cls(entries, footprints, fsspec_kwargs)


def _entry(headers):
    ra, dec = headers.corners
    polygon = " ".join(f"{r:.8f} {d:.8f}" for r, d in zip(ra, dec, strict=True))
    return CubeEntry(path=headers.path, sector=headers.sector, camera=headers.camera,
                     ccd=headers.ccd, tstart=headers.tstart, tstop=headers.tstop,
                     n_frames=headers.n_frames, s_region=f"POLYGON ICRS {polygon}")


_FITS_SUFFIXES = (".fits", ".fit", ".fts")


def _is_directory(text, fsspec_kwargs):
    if "://" not in text:
        return os.path.isdir(text)
    return text.endswith("/")


def _list_directory(text, fsspec_kwargs):
    if "://" not in text:
        names = sorted(os.listdir(text))
        return [os.path.join(text, name) for name in names
                if name.lower().endswith(_FITS_SUFFIXES)]
    try:
        import fsspec
    except ImportError:
        raise InvalidInputError(f"listing {text!r} needs fsspec: pip install "
                                f"'astrocut[remote]'") from None
    fs, root = fsspec.core.url_to_fs(text, **(fsspec_kwargs or {}))
    protocol = text.split("://", 1)[0]
    try:
        names = sorted(fs.ls(root, detail=False))
    except Exception as exc:
        raise InvalidInputError(f"cannot list {text!r} ({type(exc).__name__}: {exc})") from None
    return [name if "://" in name else f"{protocol}://{name.lstrip('/')}" for name in names
            if name.lower().endswith(_FITS_SUFFIXES)]


def load_collection(collection, fsspec_kwargs=None):
    """:meth:`CubeCollection.load`, also accepting a collection already loaded."""
    if collection is None:
        raise InvalidInputError("collection is required: a directory of cubes, a list of cube "
                                "paths or URLs, or an .ecsv index ('astrocut index')")
    return CubeCollection.load(collection, fsspec_kwargs=fsspec_kwargs)
