"""The writer's own card formatting equals astropy's (issue 13 item 7: speed holds).

``cards.card_image`` formats plain cards itself (a ``fits.Card`` per card is a third of the
bulk path's time); these tests prove its images equal ``cards.astropy_card_image``'s, which
``fits.Card`` makes, for random keywords, values and comments, and for the cards of real
target pixel files.
"""

import warnings

import numpy as np
from astrocut_tess import cards
from astropy.io import fits
from hypothesis import example, given, settings
from hypothesis import strategies as st

PRINTABLE = st.characters(min_codepoint=32, max_codepoint=126)
KEYS = st.one_of(
    st.sampled_from(["RA_OBJ", "1CRV4P", "11PC4", "WCS_MSEP", "BTC_DMAX", "TSTART", "X",
                     "DATE-OBS", "NPIXSAP", "TICID", "OBJECT", "COMMENT", "HISTORY"]),
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", min_size=1, max_size=8))
COMMENTS = st.one_of(st.just(""), st.text(alphabet=PRINTABLE, max_size=80),
                     st.sampled_from(["[deg] right ascension", "column title",
                                      "[s] largest change of TIME and TIMECORR"]))
VALUES = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(min_value=-400, max_value=400),
    st.floats(min_value=-1e-3, max_value=1e-3),
    st.floats(width=32, allow_nan=False, allow_infinity=False).map(np.float32),
    st.floats(allow_nan=False, allow_infinity=False).map(np.float64),
    st.integers(min_value=-(2 ** 63), max_value=2 ** 63 - 1),
    st.integers(min_value=-(2 ** 31), max_value=2 ** 31 - 1).map(np.int32),
    st.integers(min_value=-(2 ** 63), max_value=2 ** 63 - 1).map(np.int64),
    st.booleans(), st.booleans().map(np.bool_),
    st.text(alphabet=PRINTABLE, max_size=90),
    st.none(),
)


def _astropy(key, value, comment):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return cards.astropy_card_image(key, value, comment)
        except Exception as exc:  # astropy refuses it: so must card_image
            return type(exc)


def _ours(key, value, comment):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return cards.card_image(key, value, comment)
        except Exception as exc:
            return type(exc)


@settings(max_examples=3000, deadline=None)
@given(KEYS, VALUES, COMMENTS)
@example("X", -0.005833215210984427, "comment")
@example("X", 1e16, "")
@example("X", 5e-324, "c")
@example("X", -0.0, "c")
@example("KEY", "it's", "c")
@example("KEY", "'", "")
@example("KEY", "a" * 68, "")
@example("KEY", "a" * 69, "")
@example("KEY", "x" * 30, "y" * 40)
@example("KEY", 1, "é")
def test_card_images_equal_astropys(key, value, comment):
    assert _ours(key, value, comment) == _astropy(key, value, comment)


@settings(max_examples=500, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False), COMMENTS)
def test_float_cards_are_astropy_cards_that_read_back_exactly(value, comment):
    image = cards.card_image("CRVAL1", value, comment)
    card = fits.Card.fromstring(image)
    card.verify("exception")
    assert card.value == value and card.image == image


def test_non_finite_floats_go_to_astropy():
    for value in (float("nan"), float("inf"), -float("inf")):
        assert cards._plain_image("X", value, "c") is None


def _assert_cards_are_astropys(path):
    # Each card of each HDU, re-made by astropy from the value and comment astropy reads,
    # gives the same image (CHECKSUM/DATASUM excepted: they are set in place).
    checked = 0
    with fits.open(path) as hdulist:
        for hdu in hdulist:
            for card in hdu.header.cards:
                if card.keyword in ("", "COMMENT", "HISTORY", "CHECKSUM", "DATASUM"):
                    continue
                value = card.value
                if isinstance(value, fits.card.Undefined):
                    value = None
                made = cards.astropy_card_image(card.keyword, value, card.comment)
                if len(made) == 80:
                    assert card.image == made, (path, card.keyword)
                    checked += 1
    return checked


def test_every_card_of_a_written_tpf_is_astropys(tmp_path, small_sector, small_cube):
    from astrocut import CutoutFactory

    star = small_sector.variable_star
    path = CutoutFactory().cube_cut(small_cube, f"{star.ra} {star.dec}", 9,
                                    output_path=str(tmp_path))
    assert _assert_cards_are_astropys(path) > 150


def test_cards_of_many_random_targets_are_astropys(tmp_path, small_cube):
    # Random positions, sizes and target keywords through the bulk path, with and without
    # the background: every per-target card (RA/Dec, fitted WCS, times, target keywords,
    # aperture counts) is astropy's image.
    from astropy.table import Table
    from astrocut import cube_cut_many
    from astrocut_tess.cutout import TessCube

    rng = np.random.default_rng(11)
    with TessCube.open(small_cube) as cube:
        ra, dec = cube.wcs.all_pix2world(rng.uniform(5, 75, 24), rng.uniform(5, 55, 24), 0)
    table = Table({"ra": ra, "dec": dec, "size": rng.integers(1, 16, 24),
                   "OBJECT": [f"TIC {n}" for n in rng.integers(1, 10 ** 9, 24)],
                   "TICID": rng.integers(1, 10 ** 9, 24), "TESSMAG": rng.uniform(4, 17, 24),
                   "PMRA": rng.normal(0, 30, 24)})
    checked = 0
    for background in (False, True):
        out = tmp_path / str(background)
        result = cube_cut_many(small_cube, table, output_path=str(out), verbose=False,
                               background=background)
        assert list(result["status"]) == ["ok"] * 24
        for path in result["path"]:
            checked += _assert_cards_are_astropys(path)
    assert checked > 48 * 150
