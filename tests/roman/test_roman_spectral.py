"""RomanSpectralSubset: spectra of chosen sources and wavelengths out of Roman spectral files."""

import os
import warnings

import asdf
import numpy as np
import pytest
from astropy import units as u

import astrocut
from astrocut.errors import DataWarning, InvalidInputError, InvalidQueryError

import spectral_files
from spectral_files import SOURCES_A, make_pair, spectrum, subset


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return make_pair(tmp_path_factory.mktemp("spectra"))


def test_lite_keeps_the_spectrum_of_each_source_and_file(files):
    got = subset(files, [420004, "420001"])
    assert list(got.subset_data) == files
    assert list(got.subset_data[files[0]]) == ["420004", "420001"]
    assert list(got.subset_data[files[1]]) == ["420004"]  # 420001 is not in file b
    for sid in (420004, 420001):
        kept = got.subset_data[files[0]][str(sid)]
        whole = spectrum(sid)
        assert set(kept) == {"wl", "flux", "flux_error"}
        for name in kept:
            np.testing.assert_array_equal(kept[name], whole[name])
            assert kept[name].dtype == whole[name].dtype
    assert len(got.subset_data[files[0]]["420004"]["wl"]) == 60 + 4 * 6


def test_wavelength_range_is_inclusive_and_cuts_every_sampled_array(files):
    got = subset(files, [420002], wl_range=(800, 900), lite=False)
    kept = got.subset_data[files[0]]["420002"]
    whole = spectrum(420002)
    inside = (whole["wl"] >= 800) & (whole["wl"] <= 900)
    np.testing.assert_array_equal(kept["wl"], np.arange(800.0, 901.0, 10.0))
    for name in ("flux", "flux_error", "flag"):
        np.testing.assert_array_equal(kept[name], whole[name][inside])
    np.testing.assert_allclose(kept["flux"], 2 + kept["wl"] / 10000, rtol=1e-6)
    assert kept["flux_exposures"].shape == (11, 3)
    np.testing.assert_array_equal(kept["flux_exposures"][:, 2], kept["flux"])
    # not sampled on the wavelengths: kept whole
    np.testing.assert_array_equal(kept["exposure_ids"], whole["exposure_ids"])
    assert kept["number_coadds"] == 3 and kept["ra"] == whole["ra"]
    assert set(kept) == set(whole)


def test_integer_keys_are_found_by_either_spelling(files):
    for ids in (420007, "420007", [np.int64(420007)]):
        got = subset(files, ids, wl_range=(1000, 1020))
        assert list(got.subset_data) == [files[1]]
        np.testing.assert_array_equal(got.subset_data[files[1]]["420007"]["wl"],
                                      [1000, 1010, 1020])


def test_quantity_range_is_converted_to_the_files_unit(files):
    in_um = subset(files, [420001], wl_range=(0.8 * u.um, 0.9 * u.um))
    in_nm = subset(files, [420001], wl_range=(800, 900))
    np.testing.assert_array_equal(in_um.subset_data[files[0]]["420001"]["wl"],
                                  in_nm.subset_data[files[0]]["420001"]["wl"])
    # a frequency range runs backwards in wavelength: the same samples
    as_freq = subset(files, [420001], wl_range=((0.9 * u.um).to(u.THz, u.spectral()),
                                                (0.8 * u.um).to(u.THz, u.spectral())))
    np.testing.assert_allclose(as_freq.subset_data[files[0]]["420001"]["wl"][[0, -1]],
                               [800, 900])


def test_out_of_range_sources_are_skipped_with_a_warning(files):
    # 420001 (66 samples) ends at 1400 nm, 420004 (84) at 1580 nm
    with pytest.warns(DataWarning) as caught:
        got = subset(files, [420001, 420004], wl_range=(1450, 1500))
    messages = [str(w.message) for w in caught]
    assert messages == [f"Wavelength range (1450, 1500) is out of bounds for source ID 420001 "
                        f"and file {files[0]}. Available wavelength range: [750.0, 1400.0]. "
                        f"Skipping this source for this file."]
    assert list(got.subset_data) == [files[0], files[1]]
    assert list(got.subset_data[files[0]]) == ["420004"]


def test_a_range_between_two_samples_is_skipped(files):
    with pytest.warns(DataWarning, match=r"\(801, 809\) holds no sample of source ID 420001"):
        with pytest.raises(InvalidQueryError, match="No subsets were created"):
            subset(files[:1], [420001], wl_range=(801, 809))


def test_missing_sources_warn_only_when_verbose(files):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        subset(files, [420001, 420006])
    with pytest.warns(DataWarning) as caught:
        subset(files, [420001, 420006], verbose=True)
    assert [str(w.message) for w in caught] == [
        f"Source ID 420006 not found in file {files[0]}. Skipping this source for this file.",
        f"Source ID 420001 not found in file {files[1]}. Skipping this source for this file."]


def test_workers_give_the_same_subsets_and_warnings_in_file_order(files):
    with pytest.warns(DataWarning) as in_process:
        one = subset(files, SOURCES_A + [420007], wl_range=(900, 1200), lite=False,
                     verbose=True, max_workers=1)
    with pytest.warns(DataWarning) as caught:
        two = subset(files, SOURCES_A + [420007], wl_range=(900, 1200), lite=False,
                     verbose=True, max_workers=2)
    assert [files[0] in str(w.message) for w in caught] == [True, False, False]
    assert [str(w.message) for w in caught] == [str(w.message) for w in in_process]
    assert list(two.subset_data) == list(one.subset_data)
    for file in files:
        assert list(two.subset_data[file]) == list(one.subset_data[file])
        for sid, kept in one.subset_data[file].items():
            for name, value in kept.items():
                np.testing.assert_array_equal(two.subset_data[file][sid][name], value)


def test_rows_per_source_and_file(files):
    got = subset(files, [420003, 420001], wl_range=(760, 780), lite=False)
    rows = list(got.iter_asdf_subsets(group_by="source_file"))
    assert [(f, sid) for f, sid, _ in rows] == [(files[0], "420003"), (files[0], "420001"),
                                                (files[1], "420003")]
    tree = rows[2][2].tree
    assert tree["roman"]["meta"]["source_id"] == "420003"
    assert tree["roman"]["meta"]["filename"] == "prism_b.asdf"
    np.testing.assert_array_equal(tree["roman"]["data"]["wl"], [760, 770, 780])
    # the full form keeps the rest of the file and its history, and adds an entry
    assert tree["roman"]["catalog_ref"] == {"catalog_id": "cat-7", "file_number": 3}
    assert tree["provenance"]["pipeline"] == "g2dp"
    assert set(tree) == {"roman", "provenance", "history"}  # not the input's asdf_library
    entries = tree["history"]["entries"]
    assert [e["description"] for e in entries] == [
        "combined 1-D spectra",
        f"Spectral subset created for source ID 420003 from file {files[1]} with wavelength "
        f"range (760, 780)."]
    assert entries[-1]["software"]["name"] == "astrocut"


def test_lite_rows_hold_only_the_spectrum_and_keywords(files):
    got = subset(files, [420003])
    (_, _, af), _ = got.iter_asdf_subsets(group_by="source_file")
    assert set(af.tree) == {"roman", "history"}
    assert set(af.tree["roman"]) == {"data", "meta"}
    assert af.tree["roman"]["meta"] == {**spectral_files.meta("prism_a.asdf"),
                                        "source_id": "420003"}
    assert len(af.tree["history"]["entries"]) == 1


def test_rows_per_file_and_combined(files):
    got = subset(files, [420001, 420005, 420007], lite=False)
    per_file = list(got.iter_asdf_subsets(group_by="file"))
    assert [(f, ids) for f, ids, _ in per_file] == [(files[0], ["420001", "420005"]),
                                                    (files[1], ["420005", "420007"])]
    assert list(per_file[1][2].tree["roman"]["data"]) == ["420005", "420007"]
    assert per_file[1][2].tree["roman"]["meta"]["source_ids"] == ["420005", "420007"]
    ((grouping, ids, af),) = got.iter_asdf_subsets(group_by="combined")
    assert grouping == files and ids == ["420001", "420005", "420007"]
    roman = af.tree["roman"]
    assert list(roman["data"]) == files
    assert list(roman["data"][files[1]]) == ["420005", "420007"]
    assert roman["meta"][files[0]]["source_ids"] == ["420001", "420005"]
    assert roman["catalog_ref"] == {f: {"catalog_id": "cat-7", "file_number": 3} for f in files}
    assert list(af.tree["inputs_history"]) == files
    # a tree is a copy: changing it leaves subset_data alone
    roman["data"][files[0]]["420001"]["flux"][:] = -1
    assert got.subset_data[files[0]]["420001"]["flux"][0] > 0


def test_selection_chooses_files_and_sources(files):
    got = subset(files, [420001, 420004, 420007])
    rows = list(got.iter_asdf_subsets(group_by="source_file", source_ids=420004))
    assert [(f, sid) for f, sid, _ in rows] == [(files[0], "420004"), (files[1], "420004")]
    rows = list(got.iter_asdf_subsets(group_by="file", spectral_files=files[1]))
    assert [(f, ids) for f, ids, _ in rows] == [(files[1], ["420004", "420007"])]
    # a file chosen by another spelling of its path
    relative = os.path.relpath(files[0])
    rows = list(got.iter_asdf_subsets(group_by="combined", spectral_files=[relative],
                                      source_ids=["420001"]))
    assert [(f, ids) for f, ids, _ in rows] == [([files[0]], ["420001"])]
    # a chosen source a file does not hold: that file has no row
    rows = list(got.iter_asdf_subsets(group_by="file", source_ids="420007"))
    assert [f for f, _, _ in rows] == [files[1]]


def test_table_of_subsets(files):
    got = subset(files, [420003, 420004])
    table = got.get_asdf_subsets(group_by="source_file")
    assert table.colnames == ["file", "source_id", "subset"]
    assert list(zip(table["file"], table["source_id"])) == [
        (files[0], "420003"), (files[0], "420004"), (files[1], "420003"), (files[1], "420004")]
    assert all(isinstance(af, asdf.AsdfFile) for af in table["subset"])
    table = got.get_asdf_subsets(group_by="combined")
    assert table.colnames == ["files", "source_ids", "subset"] and len(table) == 1
    assert table["files"][0] == files and table["source_ids"][0] == ["420003", "420004"]


def test_selection_errors_name_what_is_missing(files, tmp_path):
    got = subset(files, [420001])
    with pytest.raises(InvalidQueryError, match=r"^Spectral file .*prism_b\.asdf not found in "):
        got.get_asdf_subsets(spectral_files=files[1])  # file b holds no 420001
    with pytest.raises(InvalidQueryError, match=r"^Source ID 420002 not found in subset results"):
        got.get_asdf_subsets(source_ids=[420002])
    with pytest.raises(InvalidInputError, match=r"^Invalid group_by value: 'per_file'\. Must be"):
        got.iter_asdf_subsets(group_by="per_file")  # at the call, not at the first row
    with pytest.raises(InvalidInputError, match="Invalid group_by value"):
        got.write_as_asdf(tmp_path, group_by="per_file")
    assert os.listdir(tmp_path) == []


def test_bad_arguments_are_one_line_errors(files, tmp_path):
    fits = tmp_path / "image.fits"
    fits.write_bytes(b"SIMPLE  =                    T" + b" " * 2850)
    image_only = tmp_path / "image.asdf"
    asdf.AsdfFile({"roman": {"meta": {}, "data": np.zeros((4, 4))}}).write_to(image_only)
    cases = [
        (([], [1]), "spectral_files is empty"),
        (([str(tmp_path / "none.asdf")], [1]), r"spectral file '.*none\.asdf' does not exist"),
        (([str(fits)], [1]), r"image\.fits' could not be read as ASDF"),
        (([str(image_only)], [1]), r"image\.asdf' has no roman\.data mapping of source IDs"),
        ((files, []), "source_ids is empty"),
        ((files, [1.5]), r"source_ids holds 1\.5: a source ID is an integer or a string"),
        ((files, [1], (900, 800)), r"wl_range \(900, 800\) has its minimum above its maximum"),
        ((files, [1], (1, 2, 3)), r"wl_range must be \(min, max\)"),
        ((files, [1], (1 * u.um, 2)), "not a mixture"),
        ((files, [1], (1 * u.s, 2 * u.s)), r"cannot be converted to the unit 'nm'"),
    ]
    for args, message in cases:
        with pytest.raises(InvalidInputError, match=message) as caught:
            astrocut.RomanSpectralSubset(*args, max_workers=1)
        assert "\n" not in str(caught.value)
    with pytest.raises(InvalidInputError, match="max_workers must be a positive integer"):
        astrocut.RomanSpectralSubset(files, [1], max_workers=0)


# astrocut 1.4.0's signatures (inspect.signature of its RomanSpectralSubset), parameter by
# parameter: name, kind, default.
_PK, _KO = "POSITIONAL_OR_KEYWORD", "KEYWORD_ONLY"
REFERENCE_SIGNATURES = {
    "__init__": [("self", _PK, None), ("spectral_files", _PK, None), ("source_ids", _PK, None),
                 ("wl_range", _PK, None), ("lite", _PK, True), ("max_workers", _PK, None),
                 ("verbose", _PK, False)],
    "iter_asdf_subsets": [("self", _PK, None), ("group_by", _KO, "combined"),
                          ("spectral_files", _KO, None), ("source_ids", _KO, None)],
    "get_asdf_subsets": [("self", _PK, None), ("group_by", _KO, "combined"),
                         ("spectral_files", _KO, None), ("source_ids", _KO, None)],
    "write_as_asdf": [("self", _PK, None), ("output_dir", _PK, "."), ("group_by", _KO, "combined"),
                      ("spectral_files", _KO, None), ("source_ids", _KO, None),
                      ("max_workers", _KO, None), ("validate_output", _KO, True)],
    "subset": [("self", _PK, None)],
}


def test_the_1x_name_and_signatures():
    import inspect

    assert "RomanSpectralSubset" in dir(astrocut)
    for method, expected in REFERENCE_SIGNATURES.items():
        parameters = inspect.signature(getattr(astrocut.RomanSpectralSubset, method)).parameters
        got = [(p.name, p.kind.name, None if p.default is p.empty else p.default)
               for p in parameters.values()]
        assert got == expected, method


def test_quantity_arrays_keep_their_units(tmp_path):
    path = tmp_path / "quantities.asdf"
    whole = spectrum(31)
    source = {"wl": whole["wl"] * u.nm, "flux": whole["flux"] * u.Jy, "number_coadds": 3}
    asdf.AsdfFile({"roman": {"meta": {}, "data": {"31": source}}}).write_to(path)
    in_um = subset([str(path)], 31, wl_range=(0.8 * u.um, 0.82 * u.um), lite=False)
    kept = in_um.subset_data[str(path)]["31"]
    assert kept["wl"].unit == u.nm and kept["flux"].unit == u.Jy
    np.testing.assert_array_equal(kept["wl"].value, [800, 810, 820])
    np.testing.assert_array_equal(kept["flux"].value, whole["flux"][5:8])
    plain = subset([str(path)], 31, wl_range=(800, 820))  # numbers: in the array's unit
    np.testing.assert_array_equal(plain.subset_data[str(path)]["31"]["wl"], kept["wl"])
