"""The one cube-layout reader (astrocut_tess.cubefile) against astropy, on a built cube."""

import os

import numpy as np
import pytest
from astropy.io import fits

from astrocut.errors import InvalidInputError
from astrocut_tess.cubefile import open_cube_file, read_layout


def test_layout_equals_astropy(small_cube):
    with open_cube_file(small_cube) as handle:
        layout = read_layout(handle, str(small_cube))
        table = layout.table_hdu(handle)
    with fits.open(small_cube) as hdulist:
        assert layout.data_offset == hdulist[1].fileinfo()["datLoc"]
        assert layout.table_offset == hdulist[2].fileinfo()["hdrLoc"]
        assert layout.table_data_offset == hdulist[2].fileinfo()["datLoc"]
        rows, cols, n_ffi, planes = layout.shape
        assert hdulist[1].data.shape == (rows, cols, n_ffi, planes)
        assert layout.primary.tostring() == hdulist[0].header.tostring()
        assert table.header.tostring() == hdulist[2].header.tostring()
        for name in hdulist[2].columns.names:
            theirs = hdulist[2].data[name]
            assert list(table.data[name]) == list(theirs)
            if name in layout.found and theirs.dtype.kind in "if":
                np.testing.assert_array_equal(layout.column(name), theirs)


def test_identity_names_the_file_read(small_cube):
    with open_cube_file(small_cube) as handle:
        layout = read_layout(handle, str(small_cube))
    stat = os.stat(small_cube)
    assert (layout.identity.device, layout.identity.inode, layout.identity.size) == (
        stat.st_dev, stat.st_ino, stat.st_size)


def test_missing_cube_is_named(tmp_path):
    with pytest.raises(InvalidInputError, match="absent.fits"):
        open_cube_file(tmp_path / "absent.fits")
