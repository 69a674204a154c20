"""The fits-cut and img-cut commands, through astrocut.cli.main."""

import os

from astropy.io import fits
from PIL import Image

from astrocut.cli import main


def test_fits_cut_single_file(hst_field, tmp_path, capsys):
    coord = hst_field.marker
    code = main(["fits-cut", hst_field.f606w, hst_field.f814w, "--ra", str(coord.ra.deg),
                 "--dec", str(coord.dec.deg), "--size", "200", "--size-y", "300",
                 "-o", str(tmp_path)])
    assert code == 0
    [line] = capsys.readouterr().out.split()
    assert os.path.basename(line) == (f"cutout_{coord.ra.deg:.6f}_{coord.dec.deg:.6f}_"
                                      f"200-x-300_astrocut.fits")
    with fits.open(line) as hdulist:
        assert [h.data.shape for h in hdulist[1:]] == [(300, 200), (300, 200)]


def test_fits_cut_per_file_and_extension(small_images, tmp_path, capsys):
    code = main(["fits-cut", small_images.multi, "--ra", "30", "--dec", "-20", "--size", "16",
                 "--per-file", "--extension", "2,3", "-o", str(tmp_path)])
    assert code == 0
    [line] = capsys.readouterr().out.split()
    assert os.path.basename(line) == "multi_ext_30.000000_-20.000000_16-x-16_astrocut.fits"
    with fits.open(line) as hdulist:
        assert [h.header["ORIG_EXT"] for h in hdulist[1:]] == [2, 3]


def test_img_cut_png_and_colour(small_images, tmp_path, capsys):
    code = main(["img-cut", small_images.rgb[0], "--ra", "30", "--dec", "-20", "--size", "30",
                 "--size-y", "20", "--format", "png", "--stretch", "linear", "-o",
                 str(tmp_path)])
    assert code == 0
    [line] = capsys.readouterr().out.split()
    with Image.open(line) as picture:
        assert (picture.format, picture.size) == ("PNG", (30, 20))
    code = main(["img-cut", *small_images.rgb, "--ra", "30", "--dec", "-20", "--size", "30",
                 "--colorize", "--minmax-percent", "1", "99", "-o", str(tmp_path)])
    assert code == 0
    [line] = capsys.readouterr().out.split()
    with Image.open(line) as picture:
        assert (picture.format, picture.mode, picture.size) == ("JPEG", "RGB", (30, 30))


def test_skipped_input_is_one_warning_line(hst_field, small_images, tmp_path, capsys):
    coord = hst_field.marker
    code = main(["fits-cut", hst_field.f606w, small_images.sip, "--ra", str(coord.ra.deg),
                 "--dec", str(coord.dec.deg), "--size", "10", "-o", str(tmp_path)])
    assert code == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("astrocut: warning: skipping")
    assert "sip_image.fits" in err[0]


def _one_error_line(capsys):
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    errors = [line for line in lines if line.startswith("astrocut: error:")]
    assert len(errors) == 1, captured.err
    return errors[0]


def test_bad_inputs_exit_1_with_one_line(hst_field, small_images, tmp_path, capsys):
    out = str(tmp_path / "out")
    missing = str(tmp_path / "missing.fits")
    assert main(["fits-cut", missing, "--ra", "1", "--dec", "2", "--size", "5", "-o",
                 out]) == 1
    assert "missing.fits" in _one_error_line(capsys)
    assert main(["fits-cut", hst_field.f606w, "--ra", "1", "--dec", "2", "--size", "0",
                 "-o", out]) == 1
    assert "cutout_size" in _one_error_line(capsys)
    assert main(["img-cut", *small_images.rgb[:2], "--ra", "30", "--dec", "-20", "--size",
                 "5", "--colorize", "-o", out]) == 1
    assert "three" in _one_error_line(capsys)
    assert main(["img-cut", small_images.rgb[0], "--ra", "30", "--dec", "-20", "--size",
                 "5", "--stretch", "cubic", "-o", out]) == 1
    assert "stretch" in _one_error_line(capsys)
    assert main(["fits-cut", small_images.sip, "--ra", "30", "--dec", "-20", "--size", "5",
                 "-o", out]) == 1
    assert "overlaps none" in _one_error_line(capsys)
    assert not os.path.exists(out) or not os.listdir(out)
