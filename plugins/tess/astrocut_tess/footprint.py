"""Cutting a target out of every cube of a collection that holds it (astrocut 1.x names).

astrocut 1.x found the cubes from a footprint file on S3; here the cubes come from a
:class:`~astrocut_tess.collection.CubeCollection` (a directory, a list of paths or URLs, or
an ``.ecsv`` index), and nothing is fetched online unless the collection names URLs. A cube
is used when a stamp from it would have at least one pixel on its image (its pixels are
checked, not only its footprint polygon).
"""

import os

import numpy as np

from astrocut.errors import InvalidInputError, InvalidQueryError
from astrocut.geometry import parse_coordinates, parse_cutout_size

from .collection import CubeCollection, load_collection
from .pointing import get_tess_sectors  # noqa: F401 - 1.x's tess_footprint_cutout has it


def _sectors(sequence):
    if sequence is None:
        return None
    values = [sequence] if np.ndim(sequence) == 0 else list(sequence)
    try:
        return [int(v) for v in values]
    except (TypeError, ValueError):
        raise InvalidInputError(f"sequence must be a sector number or a list of them, got "
                                f"{sequence!r}") from None


def _size_or_point(cutout_size):
    """1.x accepts 0 (a point): here that is a one-pixel stamp."""
    import astropy.units as u

    if isinstance(cutout_size, u.Quantity):
        sides = list(np.atleast_1d(cutout_size))
    elif isinstance(cutout_size, (list, tuple, np.ndarray)):
        sides = list(cutout_size)
    else:
        sides = [cutout_size]

    def zero(side):
        try:
            return float(getattr(side, "value", side)) == 0
        except (TypeError, ValueError):
            return False

    if not any(zero(s) for s in sides):
        return cutout_size
    return [1 if zero(s) else s for s in (sides * 2 if len(sides) == 1 else sides)]


def find_cubes(coordinates, cutout_size=1, collection=None, sequence=None, camera=None,
               ccd=None, fsspec_kwargs=None):
    """The cubes of ``collection`` whose pixels hold a stamp at ``coordinates``.

    Parameters
    ----------
    coordinates : str or `~astropy.coordinates.SkyCoord`
        The stamp centre.
    cutout_size : int, pair or `~astropy.units.Quantity`
        The stamp size (0 or 1: the position itself).
    collection : str, list or CubeCollection
        A directory of cubes, a list of cube paths or URLs, or an ``.ecsv`` index.
    sequence, camera, ccd : int or list of int, optional
        Keep only these sectors, cameras, CCDs.

    Returns
    -------
    list of `~astrocut_tess.collection.CubeEntry`
    """
    cubes = load_collection(collection, fsspec_kwargs=fsspec_kwargs)
    return cubes.find(coordinates, _size_or_point(cutout_size), sector=_sectors(sequence),
                      camera=camera, ccd=ccd)


def _matching(coordinates, cutout_size, sequence, collection, fsspec_kwargs):
    cubes = load_collection(collection, fsspec_kwargs=fsspec_kwargs)
    sectors = _sectors(sequence)
    if sectors is not None and not any(e.sector in sectors for e in cubes.entries):
        raise InvalidQueryError("No files were found for sequences: "
                                + ", ".join(str(s) for s in sectors))
    found = cubes.find(coordinates, _size_or_point(cutout_size), sector=sectors)
    if not found:
        raise InvalidQueryError("The given coordinates were not found within the specified "
                                "sequence(s).")
    return found


def ra_dec_crossmatch(all_ffis, coordinates, cutout_size, arcsec_per_px=21):
    """The rows of ``all_ffis`` whose cubes hold a stamp at ``coordinates`` (1.x name).

    ``all_ffis`` is a collection (see :func:`find_cubes`) or the astropy Table of an index
    (:meth:`CubeCollection.to_table`); the answer is a Table of the matching rows. A size
    of 0 asks for the cubes holding the position itself; pixels come from each cube's own
    WCS. ``all_ffis=None`` asks tess-point's pointing tables instead (no cube needed;
    ``arcsec_per_px`` converts angular sizes): a Table of ``sectorName``, ``sector``,
    ``camera``, ``ccd``.
    """
    from astropy.table import Table

    if all_ffis is None:
        from .pointing import crossmatch

        return crossmatch(coordinates, cutout_size, arcsec_per_px)

    if isinstance(all_ffis, Table):
        table = all_ffis
        if "path" not in table.colnames:
            raise InvalidInputError("all_ffis: the table has no 'path' column; give a cube "
                                    "collection or an index written by 'astrocut index'")
        cubes = CubeCollection.load([str(p) for p in table["path"]])
    else:
        cubes = load_collection(all_ffis)
        table = cubes.to_table()
    coordinates = _coordinates(coordinates)
    found = {e.path for e in cubes.find(coordinates, _size_or_point(cutout_size))}
    paths = [e.path for e in cubes.entries]
    return table[[p in found for p in paths]]


def _coordinates(coordinates):
    try:
        return parse_coordinates(coordinates)
    except InvalidInputError as exc:
        raise InvalidInputError(f"Invalid coordinates input: {exc}") from None


class TessFootprintCutout:
    """Cutouts of one position from every cube of a collection that holds it (1.x class).

    Cutting happens on construction. ``cutouts_by_file`` / ``tpf_cutouts_by_file`` map each
    cube to its in-memory target pixel file (an `~astropy.io.fits.HDUList`);
    ``tpf_cutouts`` lists them in the collection's order.
    """

    def __init__(self, coordinates, cutout_size=25, fill_value=np.nan,
                 limit_rounding_method="round", sequence=None, verbose=False,
                 collection=None, fsspec_kwargs=None):
        if not (isinstance(fill_value, (int, float)) and np.isnan(fill_value)):
            raise InvalidInputError("fill_value: target pixel files mark pixels off the image "
                                    "with NaN (and 0 in APERTURE); other fill values are not "
                                    "supported")
        if limit_rounding_method != "round":
            raise InvalidInputError("limit_rounding_method: cube cutouts place stamps with "
                                    "'round' only")
        self._coordinates = _coordinates(coordinates)
        parse_cutout_size(_size_or_point(cutout_size))  # a bad size fails before any reading
        self._cutout_size = cutout_size
        self._sequence = _sectors(sequence)
        self._verbose = verbose
        self._collection = collection
        self._fsspec_kwargs = fsspec_kwargs
        self.cutout()

    def cutout(self):
        """Find the cubes and cut them (into memory)."""
        from astrocut import CutoutFactory

        found = _matching(self._coordinates, self._cutout_size, self._sequence,
                          self._collection, self._fsspec_kwargs)
        factory = CutoutFactory()
        self.entries = found
        self.tpf_cutouts_by_file = {
            entry.path: factory.cube_cut(entry.path, self._coordinates,
                                         _size_or_point(self._cutout_size), memory_only=True,
                                         verbose=self._verbose,
                                         fsspec_kwargs=self._fsspec_kwargs)
            for entry in found}
        self.tpf_cutouts = list(self.tpf_cutouts_by_file.values())
        self.cutouts_by_file = self.tpf_cutouts_by_file
        self.cutouts = self.tpf_cutouts

    def write_as_tpf(self, output_dir=".", legacy_filenames=False):
        """Write every cutout as a target pixel file in ``output_dir``; returns the paths."""
        from astrocut.output import atomic_path, prepare_directory

        _refuse_legacy(legacy_filenames)
        output_dir = prepare_directory(output_dir, "output_dir")
        paths = []
        for name, hdulist in self._named():
            path = os.path.join(output_dir, name)
            with atomic_path(path) as temporary:
                hdulist.writeto(temporary, overwrite=True)
            paths.append(path)
        return paths

    def _named(self):
        from .cutout import tpf_name

        for entry, hdulist in zip(self.entries, self.tpf_cutouts, strict=True):
            yield tpf_name(entry.path, self._coordinates, hdulist[2].data.shape), hdulist

    def write_as_zip(self, output_dir=".", filename=None, legacy_filenames=False):
        """Write the target pixel files into one zip archive; returns its path."""
        from astrocut.output import write_zip

        _refuse_legacy(legacy_filenames)
        ra, dec = self._coordinates.ra.deg, self._coordinates.dec.deg
        default = f"astrocut_{ra:.7f}_{dec:.7f}_{_size_text(self._cutout_size)}.zip"
        return write_zip(output_dir, filename, default, self._named())


def _refuse_legacy(legacy_filenames):
    if legacy_filenames:
        raise InvalidInputError("legacy_filenames=True (astrocut 0.11 names) is not supported "
                                "for footprint cutouts; files are named "
                                "<cube>_<ra>_<dec>_<nx>x<ny>_astrocut.fits")


def _size_text(size):
    sides = np.atleast_1d(getattr(size, "value", size))
    return "x".join(str(s) for s in (sides if len(sides) == 2 else [sides[0]] * 2))


def cube_cut_from_footprint(coordinates, cutout_size, sequence=None, memory_only=False,
                            output_dir=".", verbose=False, legacy_filenames=False,
                            collection=None, fsspec_kwargs=None):
    """Cut ``coordinates`` from every cube of ``collection`` that holds the stamp (1.x name).

    Parameters
    ----------
    coordinates : str or `~astropy.coordinates.SkyCoord`
    cutout_size : int, pair or `~astropy.units.Quantity`
    sequence : int or list of int, optional
        Only these sectors.
    memory_only : bool
        Return `~astropy.io.fits.HDUList` objects and write nothing.
    output_dir : str
        Directory for the target pixel files.
    collection : str, list or CubeCollection
        A directory of cubes, a list of cube paths or URLs, or an ``.ecsv`` index. Required:
        nothing is looked up online.

    Returns
    -------
    list of str or list of HDUList
        In the collection's order.

    Raises
    ------
    InvalidQueryError
        If the collection has no cube of ``sequence``, or no cube holds the stamp.
    """
    _refuse_legacy(legacy_filenames)
    if memory_only:
        return TessFootprintCutout(coordinates, cutout_size, sequence=sequence,
                                   verbose=verbose, collection=collection,
                                   fsspec_kwargs=fsspec_kwargs).tpf_cutouts
    from astrocut import CutoutFactory

    coordinates = _coordinates(coordinates)
    found = _matching(coordinates, cutout_size, _sectors(sequence), collection, fsspec_kwargs)
    factory = CutoutFactory()
    return [factory.cube_cut(entry.path, coordinates, _size_or_point(cutout_size),
                             output_path=output_dir, verbose=verbose,
                             fsspec_kwargs=fsspec_kwargs)
            for entry in found]
