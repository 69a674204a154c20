"""CHECKSUM/DATASUM made from bytes (issue 13 item 5) against astropy and fitsverify."""

import contextlib
import io
import shutil
import subprocess
import warnings

import numpy as np
import pytest
from astropy.io import fits

from astrocut_tess import checksum


def _astropy_hdus(rng):
    table = fits.BinTableHDU.from_columns([
        fits.Column(name="TIME", format="D", array=rng.uniform(1300, 1400, 37)),
        fits.Column(name="FLUX", format="25E", array=rng.normal(size=(37, 25)).astype("f4"))])
    image = fits.ImageHDU(rng.integers(-5, 2 ** 31 - 1, size=(5, 7)).astype(">i4"))
    primary = fits.PrimaryHDU()
    primary.header["OBJECT"] = "TIC 1"
    return fits.HDUList([primary, table, image])


def _resigned(raw):
    """Astropy's checksummed file with every CHECKSUM/DATASUM value blanked, then signed
    again by :func:`checksum.sign`."""
    out = bytearray()
    with fits.open(io.BytesIO(raw)) as hdulist:
        spans = [hdu.fileinfo() for hdu in hdulist]
    for info in spans:
        header = bytearray(raw[info["hdrLoc"]:info["datLoc"]])
        data = raw[info["datLoc"]:info["datLoc"] + info["datSpan"]]
        for offset in range(0, len(header), 80):
            key = bytes(header[offset:offset + 8])
            if key == b"CHECKSUM":
                header[offset + 11:offset + 27] = b"0" * 16
            elif key == b"DATASUM ":
                header[offset + 10:offset + 30] = b"'0'".ljust(20)
        out += checksum.sign(bytes(header), data) + data
    return bytes(out)


@pytest.mark.parametrize("seed", range(6))
def test_signing_reproduces_astropys_bytes(tmp_path, seed):
    hdulist = _astropy_hdus(np.random.default_rng(seed))
    path = tmp_path / "astropy.fits"
    for hdu in hdulist:
        hdu.add_checksum(when="fixed comment")
    hdulist.writeto(path, checksum=False)
    raw = path.read_bytes()
    with fits.open(path) as check:
        assert all("CHECKSUM" in hdu.header for hdu in check)
    assert _resigned(raw) == raw


def _our_bytes(hdulist):
    """Each HDU serialised by astropy without checksums, our cards appended and signed."""
    raw = io.BytesIO()
    hdulist.writeto(raw)
    raw = raw.getvalue()
    out = bytearray()
    with fits.open(io.BytesIO(raw)) as reread:
        spans = [hdu.fileinfo() for hdu in reread]
    for info in spans:
        text = raw[info["hdrLoc"]:info["datLoc"]].decode("ascii")
        cards = [text[i:i + 80] for i in range(0, len(text), 80)]
        cards = cards[:[card[:8] for card in cards].index("END     ")]
        header = "".join(cards + checksum.checksum_cards()) + "END".ljust(80)
        header = header.ljust(-(-len(header) // 2880) * 2880).encode("ascii")
        data = raw[info["datLoc"]:info["datLoc"] + info["datSpan"]]
        out += checksum.sign(header, data) + data
    return bytes(out)


@contextlib.contextmanager
def _signed_file(tmp_path, seed):
    """A file of astropy-made HDUs signed by our cards, read back by astropy with checksums
    verified and every warning an error; gives its path and the open HDUList."""
    path = tmp_path / "ours.fits"
    path.write_bytes(_our_bytes(_astropy_hdus(np.random.default_rng(seed))))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with fits.open(path, checksum=True) as hdulist:
            yield path, hdulist


def test_our_cards_verify_with_astropy(tmp_path):
    with _signed_file(tmp_path, 11) as (_, hdulist):
        for hdu in hdulist:
            assert hdu.verify_checksum() == 1 and hdu.verify_datasum() == 1
            assert hdu.header.comments["CHECKSUM"] == checksum.CHECKSUM_COMMENT


def test_encoding_matches_astropy_for_many_sums():
    hdu = fits.ImageHDU()
    rng = np.random.default_rng(7)
    for value in list(rng.integers(0, 2 ** 32, 2000)) + [0, 0xFFFFFFFF, 0x3A3A3A3A, 0x60606060]:
        value = int(value)
        # astropy's encoder of the same convention (a private method, hence the guard).
        if hasattr(hdu, "_char_encode"):
            assert checksum.encode(value) == hdu._char_encode(value)


def test_ones_complement_sum_folds_carries_and_pads():
    words = np.array([0xFFFFFFFF, 0x00000002], dtype=">u4").tobytes()
    assert checksum.ones_complement_sum(words) == 2  # 0xFFFFFFFF + 2 wraps to 1 + 1
    assert checksum.ones_complement_sum(b"\x01") == 0x01000000
    data = np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8).tobytes()
    slow = 0
    for index in range(0, len(data), 4):
        slow += int.from_bytes(data[index:index + 4], "big")
        slow = (slow & 0xFFFFFFFF) + (slow >> 32)
    assert checksum.ones_complement_sum(data) == slow


@pytest.mark.skipif(shutil.which("fitsverify") is None, reason="fitsverify is not installed")
def test_fitsverify_accepts_the_sums(tmp_path):
    with _signed_file(tmp_path, 3) as (path, hdulist):
        assert all(hdu.verify_checksum() == 1 for hdu in hdulist)
    result = subprocess.run(["fitsverify", "-e", str(path)], capture_output=True, text=True)
    assert "0 error" in result.stdout, result.stdout
    assert "checksum" not in result.stdout.lower().replace("checksum keyword", ""), result.stdout
