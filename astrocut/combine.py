"""Combining cutout files of the same region (the 1.x ``CutoutsCombiner``).

``fits_cut`` writes one CUTOUT extension per input; several such files cut around the same
position (e.g. from overlapping images) combine extension by extension into one file, each
pixel the mean of the inputs that have data there.
"""

import warnings

import numpy as np

from .errors import DataWarning, InvalidInputError

# Keywords that describe one file's bytes, never the combination.
_PER_FILE = ("S_REGION", "CHECKSUM", "DATASUM")


def _pixels(item):
    # The combiners take HDUs or plain arrays (1.x passes both).
    return np.asarray(getattr(item, "data", item) if hasattr(item, "header") else item,
                      dtype=float)


def build_default_combine_function(template_hdu_arr, no_data_val=np.nan):
    """Return a function combining images shaped like ``template_hdu_arr``'s.

    Each output pixel is the mean of the images that have data there in the templates (a
    template pixel equal to ``no_data_val``, or NaN by default, has none); the weights are
    fixed by the templates, so the function can be applied to other images of that shape.
    """
    stack = np.array([_pixels(hdu) for hdu in template_hdu_arr])
    has_data = ~np.isnan(stack) if np.isnan(no_data_val) else stack != no_data_val
    weights = has_data.astype(float)
    counts = weights.sum(axis=0)
    weights = np.divide(weights, counts, out=np.zeros_like(weights), where=counts != 0)

    def combine_function(cutout_hdu_arr):
        images = np.array([_pixels(hdu) for hdu in cutout_hdu_arr])
        missing = np.isnan(images)
        combined = np.sum(weights * np.where(missing, 0.0, images), axis=0)
        combined[missing.all(axis=0)] = np.nan
        return combined

    return combine_function


def combine_headers(headers, constant_only=False):
    """One header for combined extensions: cards equal in all ``headers`` are kept.

    A keyword whose value differs is recorded per input as ``Fnn_Kmm`` (keyword), ``Fnn_Vmm``
    (value) and ``Fnn_Cmm`` (comment), unless ``constant_only``.
    """
    from astropy.io import fits

    if len(headers) == 1:
        return headers[0]
    uniform, varying = [], []
    for keyword in headers[0]:
        if keyword in _PER_FILE or keyword in ("", "COMMENT", "HISTORY"):
            continue
        first = headers[0][keyword]
        if all(keyword in h and h[keyword] == first for h in headers[1:]):
            uniform.append(headers[0].cards[keyword])
        elif not constant_only:
            number = len(varying) // (3 * len(headers)) + 1
            for index, header in enumerate(headers, start=1):
                varying += [(f"F{index:02}_K{number:02}", keyword, "Keyword"),
                            (f"F{index:02}_V{number:02}", header.get(keyword), "Value"),
                            (f"F{index:02}_C{number:02}", header.comments[keyword]
                             if keyword in header else "", "Comment")]
    return fits.Header(uniform + varying)


class CutoutsCombiner:
    """Combine cutout files of one region, extension by extension.

    Parameters
    ----------
    fits_list : list of str or `~astropy.io.fits.HDUList`
        Cutout files (as written by :func:`~astrocut.fits_cut`) or opened HDU lists.
    exts : list of int, optional
        Extensions to combine; by default every extension after a data-less primary.
    img_combiner : callable, optional
        Takes the list of one extension's HDUs and returns the combined array; by default
        :func:`build_default_combine_function` built on the first extension.
    """

    def __init__(self, fits_list=None, exts=None, img_combiner=None):
        self.input_hdulists = None
        self.center_coord = None
        self.combine_headers = combine_headers
        if fits_list:
            self.load(fits_list, exts)
        if img_combiner is not None:
            self.combine_images = img_combiner
        elif self.input_hdulists is not None:
            self.build_img_combiner(build_default_combine_function,
                                    [self.input_hdulists[0], np.nan])

    def load(self, fits_list, exts=None):
        """Open ``fits_list`` and group the selected extensions across the files."""
        from astropy.coordinates import SkyCoord
        from astropy.io import fits

        if all(isinstance(item, fits.HDUList) for item in fits_list):
            hdulists = list(fits_list)
        elif all(isinstance(item, str) for item in fits_list):
            hdulists = [fits.open(path) for path in fits_list]
        else:
            raise InvalidInputError("fits_list must be a list of file names or of HDULists")
        if exts is None:
            skip = 1 if hdulists[0][0].data is None else 0
            selected = [list(hdulist)[skip:] for hdulist in hdulists]
        else:
            selected = [[hdulist[ext] for ext in exts] for hdulist in hdulists]
        if len({len(hdus) for hdus in selected}) != 1:
            raise InvalidInputError("the cutout files hold different numbers of extensions")
        # One row per extension, holding that extension of every file.
        self.input_hdulists = [list(row) for row in zip(*selected)]
        primary = hdulists[0][0].header
        try:
            self.center_coord = SkyCoord(primary["RA_OBJ"], primary["DEC_OBJ"], unit="deg")
        except (KeyError, ValueError):
            warnings.warn("the first cutout file has no usable RA_OBJ/DEC_OBJ: the combined "
                          "file's centre is set to 0, 0", DataWarning, stacklevel=2)
            self.center_coord = SkyCoord(0, 0, unit="deg")

    def build_img_combiner(self, function_builder, builder_args):
        """Set ``combine_images`` to ``function_builder(*builder_args)``."""
        self.combine_images = function_builder(*builder_args)

    def combine(self, output_file="./cutout.fits", memory_only=False):
        """Combine the extensions; write ``output_file`` (returned) or return the HDUList."""
        from astropy.io import fits

        from .output import atomic_path

        extensions = [fits.ImageHDU(data=self.combine_images(hdus),
                                    header=self.combine_headers([h.header for h in hdus]))
                      for hdus in self.input_hdulists]
        primary = fits.PrimaryHDU()
        primary.header["RA_OBJ"] = (float(self.center_coord.ra.deg), "[deg] right ascension")
        primary.header["DEC_OBJ"] = (float(self.center_coord.dec.deg), "[deg] declination")
        hdulist = fits.HDUList([primary, *extensions])
        if memory_only:
            return hdulist
        with atomic_path(output_file) as temporary:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", fits.verify.VerifyWarning)  # long comments
                hdulist.writeto(temporary, checksum=True)
        return output_file
