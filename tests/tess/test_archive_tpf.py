"""Our TPFs against a real archive TPF: the 2018 TESScut file shipped in astroquery's wheel
(``astroquery/mast/tests/data/astrocut_107.27_-70.0_5x5.zip``), issue 13 item 6.

Keywords, column names, formats and units are compared; where the 2018 file differs from
SPOC's own TPFs on purpose or by an archive quirk, the difference is listed with its reason.
"""

import os
import zipfile

import numpy as np
import pytest
from astropy.io import fits

from astrocut import CutoutFactory

# Keywords the 2018 archive file has and ours do not, with the reason.
KNOWN = {
    "ASTATE": "a 2018 FFI primary keyword the simulated FFIs do not carry",
    "SCCONFIG": "likewise",
    "TCID": "the 2018 archive's misspelling of TICID, which ours write",
    "EQUINOX": "ours keep no celestial WCS keyword in the primary; APERTURE carries EQUINOX",
    "TUNIT12": "the 2018 file gives FFI_FILE the unit 'pixel'; a file name has none",
}
# The 2018 file spells the column WCS reference value 1CRVALn; SPOC TPFs (and ours) 1CRVLn.
MISSPELT = {f"{axis}CRVAL{column}" for axis in (1, 2) for column in range(4, 9)}
# The 2018 file wrote the reference pixel into the column CTYPEs (1CTYPn = 2.84...).
CTYPE_QUIRK = {f"{axis}CTYP{column}" for axis in (1, 2) for column in range(4, 9)}
# The 2018 APERTURE kept the FFI's whole SIP WCS; ours carry the fitted linear WCS.
SIP_PREFIXES = ("A_", "B_", "AP_", "BP_")
SIP_ALSO = {"LONPOLE", "LATPOLE", "MJD-OBS", "DATE-OBS"}


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    astroquery = pytest.importorskip("astroquery")
    path = os.path.join(os.path.dirname(astroquery.__file__), "mast", "tests", "data",
                        "astrocut_107.27_-70.0_5x5.zip")
    if not os.path.exists(path):
        pytest.skip("this astroquery wheel ships no TESScut sample")
    out = tmp_path_factory.mktemp("archive")
    with zipfile.ZipFile(path) as bundle:
        [name] = [n for n in bundle.namelist() if n.endswith(".fits")]
        bundle.extract(name, out)
    with fits.open(out / name) as hdulist:
        return [(hdu.name, hdu.header.copy(), hdu.columns if hasattr(hdu, "columns") else None)
                for hdu in hdulist]


@pytest.fixture(scope="module")
def ours(small_sector, small_cube):
    star = small_sector.variable_star
    hdulist = CutoutFactory().cube_cut(small_cube, f"{star.ra} {star.dec}", 5, memory_only=True)
    return [(hdu.name, hdu.header.copy(), hdu.columns if hasattr(hdu, "columns") else None)
            for hdu in hdulist]


def test_same_hdus_columns_formats_and_units(archive, ours):
    assert [name for name, _, _ in ours] == [name for name, _, _ in archive]
    theirs, mine = archive[1][2], ours[1][2]
    assert mine.names == theirs.names
    for a, b in zip(theirs, mine, strict=True):
        # Pixel and name columns repeat by the stamp and the file names: compare the type.
        assert b.format[-1] == a.format[-1], a.name
        if a.format[:-1] and a.name != "FFI_FILE":
            assert b.format == a.format, a.name  # both 5x5 stamps
        if a.name != "FFI_FILE":
            assert b.unit == a.unit, a.name
        assert b.disp == a.disp, a.name
        assert (b.null, b.dim) == (a.null, a.dim.replace(" ", "") if a.dim else a.dim), a.name
    assert archive[1][1]["TUNIT12"] == "pixel" and "TUNIT12" not in ours[1][1]


def test_every_archive_keyword_is_in_ours_or_explained(archive, ours):
    primary = set(ours[0][1].keys())
    for index in range(3):
        mine = set(ours[index][1].keys())
        # Ours inherit the primary (INHERIT = T) where the 2018 file copied it.
        available = mine | (primary if index else set())
        missing = set()
        for key in archive[index][1].keys():
            if key in available or key in KNOWN or key in MISSPELT:
                continue
            if index == 2 and (key.startswith(SIP_PREFIXES) or key.endswith("_ORDER")
                               or key in SIP_ALSO):
                continue
            missing.add(key)
        assert not missing, (archive[index][0], sorted(missing))
    # The misspelt column keys have their SPOC spelling in ours.
    for key in MISSPELT:
        assert key.replace("CRVAL", "CRVL") in ours[1][1]


def test_keyword_values_have_the_archive_types(archive, ours):
    for index in range(3):
        theirs, mine = archive[index][1], ours[index][1]
        for key in set(theirs.keys()) & set(mine.keys()):
            if (key in ("COMMENT", "HISTORY", "") or key in CTYPE_QUIRK
                    or theirs[key] is None or mine[key] is None):
                continue
            if isinstance(theirs[key], str) and theirs[key] == "":
                continue  # the 2018 file leaves SECTOR blank
            kind = bool if isinstance(theirs[key], bool) else (
                str if isinstance(theirs[key], str) else (int, float))
            assert isinstance(mine[key], kind), (archive[index][0], key, theirs[key], mine[key])
    # The aperture: the 2018 file wrote a float image of ones; SPOC and ours integer bits.
    assert all(ours[1][1][key] in ("RA---TAN", "DEC--TAN") for key in CTYPE_QUIRK)
    assert archive[2][1]["BITPIX"] == -64 and ours[2][1]["BITPIX"] == 32
    assert np.dtype(">i4").itemsize * 8 == ours[2][1]["BITPIX"]
