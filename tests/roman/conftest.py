import os
import sys
import warnings

import pytest

pytest.importorskip("asdf")
pytest.importorskip("gwcs")
pytest.importorskip("roman_datamodels")

sys.path.insert(0, os.path.dirname(__file__))
import roman_files  # noqa: E402


def _make(maker, path, **kwargs):
    with warnings.catch_warnings():
        # the inverse-distortion fit of the test file is of high degree on purpose
        warnings.simplefilter("ignore")
        return maker(path, **kwargs)


@pytest.fixture(scope="session")
def roman_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("roman")


@pytest.fixture(scope="session")
def l2_file(roman_dir):
    return str(_make(roman_files.make_l2, roman_dir / "wfi_l2_cal.asdf"))


@pytest.fixture(scope="session")
def l3_file(roman_dir):
    return str(_make(roman_files.make_l3, roman_dir / "wfi_l3_coadd.asdf"))


@pytest.fixture(scope="session")
def plain_file(roman_dir):
    return str(_make(roman_files.make_plain, roman_dir / "plain_tree.asdf"))
