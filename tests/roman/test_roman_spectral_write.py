"""RomanSpectralSubset's files: names, contents read back, workers, validation, failures."""

import os

import asdf
import numpy as np
import pytest

import astrocut

from spectral_files import SOURCES_A, SOURCES_B, make_pair, make_spectral_file, spectrum, subset


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return make_pair(tmp_path_factory.mktemp("spectra"))


def test_write_per_source_and_file_reads_back(files, tmp_path):
    got = subset(files, [420002, 420004], wl_range=(790, 810), lite=False)
    paths = got.write_as_asdf(tmp_path, group_by="source_file")
    names = ["prism_a_subset_420002.asdf", "prism_a_subset_420004.asdf",
             "prism_b_subset_420004.asdf"]
    assert paths == [str(tmp_path / name) for name in names]
    assert sorted(os.listdir(tmp_path)) == names  # and no temporary file left
    with asdf.open(paths[2]) as af:
        data = af["roman"]["data"]
        np.testing.assert_array_equal(data["wl"], [790, 800, 810])
        np.testing.assert_array_equal(data["flux"], got.subset_data[files[1]]["420004"]["flux"])
        assert data["flux"].dtype == np.float32 and data["flag"].dtype == np.uint32
        assert af["roman"]["meta"]["file_date"].isot == "2026-11-02T10:00:00.000"
        assert af["provenance"]["inputs"] == ["exp_001.asdf", "exp_002.asdf"]
        assert af["history"]["entries"][-1]["description"].startswith(
            "Spectral subset created for source ID 420004 from file")
        # a plain tree: it claims no roman_datamodels model, so none validates it
        assert type(af["roman"]) is dict


def test_write_per_file_and_combined_lite_names(files, tmp_path):
    got = subset(files, [420003])
    assert got.write_as_asdf(tmp_path, group_by="file") == [
        str(tmp_path / "prism_a_subset_lite.asdf"), str(tmp_path / "prism_b_subset_lite.asdf")]
    (combined,) = got.write_as_asdf(tmp_path)
    assert combined == str(tmp_path / "combined_spectral_subset_lite.asdf")
    with asdf.open(combined) as af:
        assert list(af["roman"]["data"]) == files
        assert af["roman"]["meta"][files[1]]["source_ids"] == ["420003"]
        np.testing.assert_array_equal(af["roman"]["data"][files[1]]["420003"]["flux"],
                                      spectrum(420003)["flux"])


def test_same_stems_in_two_folders_get_two_files(tmp_path):
    (tmp_path / "obs_a").mkdir()
    (tmp_path / "obs_b").mkdir()
    first = make_spectral_file(tmp_path / "obs_a" / "spectrum.asdf", [7], extra=False)
    second = make_spectral_file(tmp_path / "obs_b" / "spectrum.asdf", [7], extra=False)
    got = subset([first, second], 7)
    table = got.get_asdf_subsets(group_by="source_file")
    assert list(zip(table["file"], table["source_id"])) == [(first, "7"), (second, "7")]
    out = tmp_path / "out"
    paths = got.write_as_asdf(out, group_by="source_file")
    assert [os.path.basename(p) for p in paths] == ["obs_a_spectrum_subset_7_lite.asdf",
                                                    "obs_b_spectrum_subset_7_lite.asdf"]
    for path, source in zip(paths, (first, second)):
        with asdf.open(path) as af:
            assert af["history"]["entries"][-1]["description"].endswith(f"from file {source}.")


def test_without_validation_files_are_the_same(files, tmp_path):
    got = subset(files, SOURCES_A, lite=False)
    checked = got.write_as_asdf(tmp_path / "checked", group_by="source_file")
    quick = got.write_as_asdf(tmp_path / "quick", group_by="source_file", validate_output=False)
    assert [os.path.basename(p) for p in quick] == [os.path.basename(p) for p in checked]
    for a, b in zip(checked, quick):
        with asdf.open(a) as one, asdf.open(b) as two:  # each validates as it is read
            for name in one["roman"]["data"]:
                np.testing.assert_array_equal(one["roman"]["data"][name],
                                              two["roman"]["data"][name])


def test_writing_in_workers_gives_the_same_files(files, tmp_path):
    got = subset(files, SOURCES_B, wl_range=(800, 1000))
    one = got.write_as_asdf(tmp_path / "one", group_by="source_file", max_workers=1)
    two = got.write_as_asdf(tmp_path / "two", group_by="source_file", max_workers=3,
                            validate_output=False)
    assert len(one) == 8
    assert [os.path.basename(p) for p in two] == [os.path.basename(p) for p in one]
    for a, b in zip(one, two):
        with asdf.open(a) as first, asdf.open(b) as second:
            assert first["roman"]["meta"] == second["roman"]["meta"]
            np.testing.assert_array_equal(first["roman"]["data"]["flux"],
                                          second["roman"]["data"]["flux"])


def test_a_failed_write_leaves_the_previous_files(files, tmp_path):
    got = subset(files, [420003, 420004])
    paths = got.write_as_asdf(tmp_path, group_by="source_file")
    before = {p: open(p, "rb").read() for p in paths}
    # subset_data is what is written: an object asdf cannot store fails the third file
    got.subset_data[files[1]]["420003"]["flux"] = object()
    with pytest.raises(astrocut.errors.OutputError, match=r"prism_b_subset_420003_lite\.asdf"):
        got.write_as_asdf(tmp_path, group_by="source_file")
    assert {p: open(p, "rb").read() for p in paths} == before
    assert sorted(os.listdir(tmp_path)) == sorted(os.path.basename(p) for p in paths)


def test_output_dir_that_is_a_file_is_refused(files, tmp_path):
    taken = tmp_path / "taken"
    taken.write_text("mine")
    with pytest.raises(astrocut.errors.OutputError, match="output_dir .*taken' is a file"):
        subset(files, [420003]).write_as_asdf(taken)
    assert taken.read_text() == "mine"


def test_over_http_equals_local(files, tmp_path):
    pytest.importorskip("fsspec")
    pytest.importorskip("aiohttp")
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "remote"))
    from servers import RangeServer

    astrocut.remote.cache.clear()
    with RangeServer() as server:
        with open(files[1], "rb") as handle:
            server.put("prism_b.asdf", handle.read())
        url = f"{server.url}/prism_b.asdf"
        remote = subset([url], [420007, 420004], wl_range=(900, 950), lite=False)
    local = subset(files[1:], [420007, 420004], wl_range=(900, 950), lite=False)
    assert list(remote.subset_data) == [url]
    for sid, kept in local.subset_data[files[1]].items():
        for name, value in kept.items():
            np.testing.assert_array_equal(remote.subset_data[url][sid][name], value)
    (path,) = remote.write_as_asdf(tmp_path, group_by="file")
    assert os.path.basename(path) == "prism_b_subset.asdf"


def test_validation_is_skipped_after_the_first_file_only_while_writing(files, tmp_path,
                                                                       monkeypatch):
    import asdf.schema

    got = subset(files, [420003, 420004, 420005])
    calls = []
    counting = lambda *args, **kwargs: calls.append(1)  # noqa: E731
    monkeypatch.setattr(asdf.schema, "validate", counting)
    assert len(got.write_as_asdf(tmp_path / "all", group_by="source_file")) == 6
    assert len(calls) == 6
    calls.clear()
    assert len(got.write_as_asdf(tmp_path / "first", group_by="source_file",
                                 validate_output=False)) == 6
    assert len(calls) == 1
    assert asdf.schema.validate is counting  # asdf's own function is back after the writes
    got.subset_data[files[1]]["420005"]["flux"] = object()
    with pytest.raises(astrocut.errors.OutputError):
        got.write_as_asdf(tmp_path / "failed", group_by="source_file", validate_output=False)
    assert asdf.schema.validate is counting
    assert os.listdir(tmp_path / "failed") == []
