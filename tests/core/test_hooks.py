"""Every hook, exercised through the plugin manager with real plugins.

``test_hook_coverage.py`` checks that each hook spec has a ``test_hook_<name>`` here.
"""

import types

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from astrocut import get_plugin_manager
from astrocut.geometry import parse_coordinates, parse_cutout_size
from astrocut.hookspecs import hookimpl
from astrocut.models import (CubeCutRequest, CubeRequest, FittedWCS, ImageCutout,
                             ImageCutRequest)


def _tan_header(shape=(30, 40), crval=(150.0, 2.0), scale=1e-4):
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = crval
    wcs.wcs.crpix = [shape[1] / 2, shape[0] / 2]
    wcs.wcs.cdelt = [-scale, scale]
    return wcs.to_header()


@pytest.fixture
def plain_fits(tmp_path):
    path = tmp_path / "plain.fits"
    data = np.arange(30 * 40, dtype=np.float32).reshape(30, 40)
    fits.PrimaryHDU(data, header=_tan_header()).writeto(path)
    return str(path)


@pytest.fixture
def toy_cube(toy_plugin, tmp_path):
    from astrocut_toymission.simulate import simulate

    paths, header = simulate(str(tmp_path), n_frames=4, shape=(40, 50))
    request = CubeRequest(files=tuple(paths), cube_file=str(tmp_path / "t.toycube"),
                          kind="toy.image", verbose=False)
    return toy_plugin.hook.astrocut_build_cube(request=request), header


def test_hook_astrocut_identify(toy_plugin, tmp_path):
    from astrocut_toymission.simulate import simulate

    hook = toy_plugin.hook
    toy_path = simulate(str(tmp_path), n_frames=1)[0][0]
    assert hook.astrocut_identify(path=toy_path, hdulist=None) == "toy.image"
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    assert hook.astrocut_identify(path=str(text), hdulist=None) is None


def test_built_in_plugins_identify_their_files(builtin_plugins, plain_fits, tmp_path):
    hook = get_plugin_manager().hook
    with fits.open(plain_fits) as hdulist:
        assert hook.astrocut_identify(path=plain_fits, hdulist=hdulist) == "fits.image"
    tess_like = tmp_path / "tess.fits"
    header = fits.Header({"TELESCOP": "TESS"})
    fits.HDUList([fits.PrimaryHDU(header=header),
                  fits.ImageHDU(np.zeros((5, 6), np.float32))]).writeto(tess_like)
    with fits.open(tess_like) as hdulist:
        assert hook.astrocut_identify(path=str(tess_like), hdulist=hdulist) == "tess.ffi"


def test_hook_astrocut_build_cube(toy_cube):
    from astrocut_toymission import formats

    cube, _ = toy_cube
    header, stack = formats.open_cube(cube)
    assert stack.shape == (4, 40, 50)


def test_hook_astrocut_build_cube_is_declined_for_unknown_products(tmp_path):
    request = CubeRequest(files=("a",), cube_file=str(tmp_path / "c"), kind="nobody.image")
    assert get_plugin_manager().hook.astrocut_build_cube(request=request) is None
    assert not (tmp_path / "c").exists()


def test_hook_astrocut_update_cube(toy_plugin, tmp_path):
    from astrocut_toymission import formats
    from astrocut_toymission.simulate import simulate

    paths, _ = simulate(str(tmp_path), n_frames=5, shape=(20, 30))
    hook = toy_plugin.hook
    cube = str(tmp_path / "t.toycube")
    hook.astrocut_build_cube(request=CubeRequest(files=tuple(paths[:2]), cube_file=cube,
                                                 kind="toy.image", verbose=False))
    more = CubeRequest(files=tuple(paths[2:]), cube_file=cube, kind="toy.image", verbose=False)
    assert hook.astrocut_update_cube(request=more) == cube
    header, stack = formats.open_cube(cube)
    assert stack.shape == (5, 20, 30)
    times = [frame["time"] for frame in header["frames"]]
    assert times == sorted(times)
    assert hook.astrocut_update_cube(request=CubeRequest(
        files=(), cube_file=cube, kind="nobody.image")) is None


def test_hook_astrocut_open_cube(toy_cube):
    cube, _ = toy_cube
    hook = get_plugin_manager().hook
    with hook.astrocut_open_cube(path=cube, kind="toy.cube") as handle:
        assert handle.stack.shape == (4, 40, 50)
    assert hook.astrocut_open_cube(path=cube, kind="nobody.cube") is None


def test_the_cube_handle_cuts_names_and_declares_its_format(toy_cube):
    from astrocut.models import CubeHandle

    cube, header = toy_cube
    hook = get_plugin_manager().hook
    center = parse_coordinates(f"{header['pointing'][0]} {header['pointing'][1]}")
    request = CubeCutRequest(center=center, size=parse_cutout_size([6, 4]))
    with hook.astrocut_open_cube(path=cube, kind="toy.cube") as handle:
        assert isinstance(handle, CubeHandle)
        cutout = handle.cut(request)
        assert handle.output_format == "toy.stamp"
        assert handle.default_name(center, cutout.shape).endswith("_6x4_astrocut.fits")
    assert cutout.flux.shape == (4, 4, 6)
    assert cutout.source_kind == "toy.cube"
    assert cutout.fitted_wcs is None  # cutting never fits or writes: the core does that next


def test_hook_astrocut_cut_images(toy_plugin, tmp_path):
    from astrocut_toymission.simulate import simulate

    paths, header = simulate(str(tmp_path), n_frames=2, shape=(40, 50))
    center = parse_coordinates(f"{header['pointing'][0]} {header['pointing'][1]}")
    request = ImageCutRequest(files=tuple(paths), center=center, size=parse_cutout_size(5))
    cutouts = toy_plugin.hook.astrocut_cut_images(request=request)
    assert [c.source for c in cutouts] == list(paths)
    assert all(c.data.shape == (5, 5) for c in cutouts)
    # The stamp's WCS is the image's moved by the corner: the pointing is image pixel (24, 19).
    x, y = cutouts[0].wcs.world_to_pixel(center)
    corner = cutouts[0].corner
    np.testing.assert_allclose([float(x) + corner[0], float(y) + corner[1]], [24, 19], atol=1e-8)


def test_built_in_generic_plugin_cuts_fits_images(builtin_plugins, plain_fits):
    hook = get_plugin_manager().hook
    request = ImageCutRequest(files=(plain_fits,), center=parse_coordinates("150.0 2.0"),
                              size=parse_cutout_size(5))
    cutouts = hook.astrocut_cut_images(request=request)
    assert len(cutouts) == 1
    assert cutouts[0].data.shape == (5, 5)
    assert cutouts[0].source == plain_fits


def test_hook_astrocut_fit_wcs():
    wcs = WCS(_tan_header())
    fitted = get_plugin_manager().hook.astrocut_fit_wcs(wcs=wcs, corner=(10, 5), shape=(6, 8))
    assert isinstance(fitted, FittedWCS)
    # A TAN image is fitted exactly by a TAN stamp WCS.
    assert fitted.max_separation < 1e-9
    ra, dec = wcs.pixel_to_world_values(13, 7)
    np.testing.assert_allclose(fitted.wcs.pixel_to_world_values(3, 2), (ra, dec), atol=1e-10)


def test_hook_astrocut_fit_wcs_prefers_a_mission_fitter():
    manager = get_plugin_manager()
    better = types.SimpleNamespace()
    sentinel = FittedWCS(wcs=None, max_separation=0.0, sigma=0.0)

    @hookimpl
    def astrocut_fit_wcs(wcs, corner, shape):
        return sentinel

    better.astrocut_fit_wcs = astrocut_fit_wcs
    manager.register(better, name="better-fitter")
    try:
        assert manager.hook.astrocut_fit_wcs(wcs=WCS(_tan_header()), corner=(0, 0),
                                             shape=(3, 3)) is sentinel
    finally:
        manager.unregister(name="better-fitter")


def test_hook_astrocut_writers(toy_cube, tmp_path):
    from astrocut.dispatch import write_cutouts
    from astrocut.errors import PluginError
    from astrocut.models import Writer

    cube, header = toy_cube
    manager = get_plugin_manager()
    offered = [w for ws in manager.hook.astrocut_writers() for w in ws]
    assert all(isinstance(w, Writer) for w in offered)
    assert "toy.stamp" in {w.format for w in offered}
    center = parse_coordinates(f"{header['pointing'][0]} {header['pointing'][1]}")
    request = CubeCutRequest(center=center, size=parse_cutout_size(5))
    with manager.hook.astrocut_open_cube(path=cube, kind="toy.cube") as handle:
        cutout = handle.cut(request)
    cutout.fitted_wcs = manager.hook.astrocut_fit_wcs(wcs=cutout.image_wcs,
                                                      corner=cutout.corner, shape=cutout.shape)
    out = str(tmp_path / "toy-stamp.fits")
    assert write_cutouts([cutout], "toy.stamp", out) == out
    with fits.open(out) as hdulist:
        assert hdulist["FLUX"].data.shape == (4, 5, 5)
    with pytest.raises(PluginError, match="no installed plugin writes the output format "
                                          "'nonsense'.*toy.stamp"):
        write_cutouts([cutout], "nonsense", out)
    with pytest.raises(PluginError, match="'toy.stamp'.*does not write these ImageCutout"):
        write_cutouts([ImageCutout(data=np.zeros((2, 2)), header=None, wcs=None, corner=(0, 0),
                                   center=center, source="x.fits", extension=0)],
                      "toy.stamp", out)
    from astrocut.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="'toy.stamp' takes no options, got stretch"):
        write_cutouts([cutout], "toy.stamp", out, {"stretch": "log"})


def _provenance_plugin(seen):
    """A plugin adding a PROVENANCE table to FITS files of cutouts cut from plain.fits."""
    @hookimpl
    def astrocut_fits_extensions(cutouts, hdulist):
        seen.append([hdu.name for hdu in hdulist])
        if not cutouts[0].source.endswith("plain.fits"):
            return None
        names = [c.source.rpartition("/")[2] for c in cutouts]
        return [fits.BinTableHDU.from_columns(
            [fits.Column(name="SOURCE", format="20A", array=names)], name="PROVENANCE")]

    return types.SimpleNamespace(astrocut_fits_extensions=astrocut_fits_extensions)


def _stamp(source):
    return ImageCutout(data=np.ones((3, 4), np.float32), header=fits.Header(), wcs=None,
                       corner=(0, 0), center=parse_coordinates("150.0 2.0"), source=source,
                       extension=0)


def test_hook_astrocut_fits_extensions(astrocut_plugins):
    from astrocut.errors import PluginError
    from astrocut.writer_registry import fits_extensions

    seen = []
    manager = astrocut_plugins(_provenance_plugin(seen))
    hdulist = fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(name="CUTOUT")])
    added = fits_extensions(manager, [_stamp("/data/plain.fits")], hdulist)
    assert [hdu.name for hdu in added] == ["PROVENANCE"]
    assert list(added[0].data["SOURCE"]) == ["plain.fits"]
    assert seen == [["PRIMARY", "CUTOUT"]]
    assert len(hdulist) == 2  # the plugin returns HDUs; the writer appends them
    assert fits_extensions(manager, [_stamp("other.fits")], hdulist) == []

    @hookimpl
    def astrocut_fits_extensions(cutouts, hdulist):
        return [fits.PrimaryHDU()]

    manager.register(types.SimpleNamespace(astrocut_fits_extensions=astrocut_fits_extensions),
                     name="bad-extensions")
    with pytest.raises(PluginError, match="'bad-extensions'.*astrocut_fits_extensions"):
        fits_extensions(manager, [_stamp("other.fits")], hdulist)


def test_generic_fits_writer_appends_the_plugins_hdus(builtin_plugins, plain_fits, tmp_path):
    from astrocut.dispatch import read_into_memory, write_cutouts

    manager = get_plugin_manager()
    request = ImageCutRequest(files=(plain_fits,), center=parse_coordinates("150.0 2.0"),
                              size=parse_cutout_size(5))
    cutouts = manager.hook.astrocut_cut_images(request=request)
    seen = []
    manager.register(_provenance_plugin(seen), name="provenance-plugin")
    try:
        out = write_cutouts(cutouts, "fits", str(tmp_path / "with-extra.fits"))
        with fits.open(out, checksum=True) as hdulist:
            assert [hdu.name for hdu in hdulist] == ["PRIMARY", "CUTOUT", "PROVENANCE"]
            assert list(hdulist["PROVENANCE"].data["SOURCE"]) == ["plain.fits"]
            assert "CHECKSUM" in hdulist["PROVENANCE"].header
            np.testing.assert_array_equal(hdulist["CUTOUT"].data, cutouts[0].data)
        assert seen[0] == ["PRIMARY", "CUTOUT"]
        assert [hdu.name for hdu in read_into_memory(cutouts, "fits")][-1] == "PROVENANCE"
    finally:
        manager.unregister(name="provenance-plugin")
    with fits.open(write_cutouts(cutouts, "fits", str(tmp_path / "no-extra.fits"))) as hdulist:
        assert [hdu.name for hdu in hdulist] == ["PRIMARY", "CUTOUT"]


def test_hook_astrocut_register_commands():
    from astrocut.cli import build_parser, main

    manager = get_plugin_manager()
    extra = types.SimpleNamespace()

    @hookimpl
    def astrocut_register_commands(subparsers):
        hello = subparsers.add_parser("hello")
        hello.set_defaults(func=lambda args: 7)

    extra.astrocut_register_commands = astrocut_register_commands
    manager.register(extra, name="hello-plugin")
    try:
        assert main(["hello"]) == 7
    finally:
        manager.unregister(name="hello-plugin")
    assert "hello" not in build_parser().format_help()  # gone with its plugin


def test_hook_astrocut_public_api():
    import astrocut
    from astrocut.errors import PluginError

    manager = get_plugin_manager()
    exported = type("HelloCutout", (), {})

    def plugin(name, names):
        @hookimpl
        def astrocut_public_api():
            return names
        manager.register(types.SimpleNamespace(astrocut_public_api=astrocut_public_api),
                         name=name)

    plugin("hello-api", {"HelloCutout": exported, "CubeFactory": object()})
    try:
        from astrocut import HelloCutout

        assert HelloCutout is exported
        assert "HelloCutout" in dir(astrocut)
        # The core's own names win over a plugin's.
        assert astrocut.CubeFactory is astrocut.cubes.CubeFactory
        with pytest.raises(AttributeError, match="NoSuchName"):
            astrocut.NoSuchName
        plugin("hello-api-2", {"HelloCutout": type("Other", (), {})})
        with pytest.raises(PluginError, match="'HelloCutout'") as refused:
            astrocut.HelloCutout
        assert "'hello-api'" in str(refused.value) and "'hello-api-2'" in str(refused.value)
    finally:
        manager.unregister(name="hello-api")
        if manager.get_plugin("hello-api-2") is not None:
            manager.unregister(name="hello-api-2")
    with pytest.raises(AttributeError):
        astrocut.HelloCutout
