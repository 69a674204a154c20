"""FITS card images as astropy makes them, remembered, for writers that assemble headers as
text.

Card images are those of :class:`astropy.io.fits.Card` (:func:`astropy_card_image`); images
of values that repeat between targets and cubes are cached (:func:`cached_card`), so each
such card is formatted once per process. One exception: astropy writes at most 20
characters of a float and drops the digits that do not fit (``-0.005833215210984427``
becomes ``-0.00583321521098442``; astropy has no option for it, see astropy issue #18416);
such values are handed to astropy as a free-format card image with every digit, which
astropy parses and checks, so every float reads back exactly.

Why :func:`card_image` formats the plain cases itself: a ``Card`` costs ~60 us (keyword,
value and comment validation, each reading astropy's configuration), and a target pixel file
has ~30 cards whose values change per target (the fitted WCS, the time keywords, RA/Dec),
a third of the bulk path's time. For a standard keyword, a finite float, an int, a bool or a
short string, and a printable comment, the image is astropy's layout written out (value
right-aligned in columns 11-30, strings quoted and padded to 8 characters, `` / comment``,
padded to 80); anything else (long strings, undefined values, cards that would need
cutting) goes to astropy. ``tests/tess/test_cards.py`` proves the two give the same images.
"""

import re

import numpy as np
from astropy.io import fits

from .rawfits import CARD, padded


_STANDARD_KEY = re.compile(r"[A-Z0-9_-]{1,8}\Z")
_PRINTABLE = re.compile(r"[ -~]*\Z")
_COMMENTARY = frozenset(("COMMENT", "HISTORY", "CONTINUE", "END"))


def card_image(key, value=None, comment=""):
    """The image of the card ``key = value / comment``, as :func:`astropy_card_image` makes it
    (plain cases formatted here, the same way; see the module's docstring)."""
    image = _plain_image(key, value, comment)
    return image if image is not None else astropy_card_image(key, value, comment)


def _plain_image(key, value, comment):
    """The image of a plain card, or ``None`` when astropy has to make it."""
    if (key in _COMMENTARY or not _STANDARD_KEY.match(key)
            or (comment and (comment[-1] == " " or not _PRINTABLE.match(comment)))):
        return None  # (astropy's configuration decides about trailing blanks)
    kind = type(value)
    if kind is float or kind is np.float64 or kind is np.float32:
        value = float(value)
        if value != value or value in (_INF, -_INF):
            return None
        text = repr(value).upper()
        if len(text) > 20:
            # The free-format image astropy checks in _free_format_float; the value is
            # Python's shortest exact text, so it reads back as this float.
            return f"{key:<8}= {text:>20} / {comment}"[:CARD].ljust(CARD)
        field = f"{text:>20}"
    elif kind is bool or kind is np.bool_:
        field = "                   T" if value else "                   F"
    elif kind is int or isinstance(value, np.integer):
        field = f"{int(value):>20d}"
    elif kind is str:
        if not _PRINTABLE.match(value):
            return None
        quoted = "'{:8}'".format(value.replace("'", "''"))
        field = "''" if value == "" else f"{quoted:20}"
    else:
        return None
    image = f"{key:<8}= {field} / {comment}" if comment else f"{key:<8}= {field}"
    return image.ljust(CARD) if len(image) <= CARD else None


_INF = float("inf")


def astropy_card_image(key, value=None, comment=""):
    """The image of the card ``key = value / comment``, made by :class:`astropy.io.fits.Card`.

    ``None`` gives an undefined value. Floats keep their full precision: astropy formats a
    float in at most 20 characters and truncates longer ones (``str(-0.005833215210984427)``
    has 21), so those are handed to astropy in free format (Python's shortest exact text,
    ``E`` exponent) and checked to read back exactly.
    """
    if isinstance(value, (float, np.floating)):
        value = float(value)
        text = repr(value).upper()
        if len(text) > 20:
            return _free_format_float(key, value, text, comment)
    elif isinstance(value, np.bool_):
        value = bool(value)
    elif isinstance(value, np.integer):
        value = int(value)
    elif isinstance(value, str) and comment and len(value) + len(comment) > 40:
        # A comment that does not fit is cut, as astropy cuts it, but without its warning.
        # The comment follows " / " after the value field, which astropy pads to at least 20
        # columns (from column 11) except for the empty string.
        bare = fits.Card(key, value).image
        if len(bare) == CARD:
            end = len(bare.rstrip())
            comment = comment[:max(0, CARD - (end if value == "" else max(end, 30)) - 3)]
    return fits.Card(key, value, comment).image


def _free_format_float(key, value, text, comment):
    # The value field of a free-format card: "KEY     = " then the number; astropy parses
    # and checks the image, and the comment is cut (as astropy does) to keep one card.
    card = fits.Card.fromstring(f"{key:<8}= {text:>20} / {comment}"[:CARD])
    if card.keyword != key or card.value != value:
        raise ValueError(f"cannot write {key} = {value!r} exactly")  # pragma: no cover
    return card.image


_CACHED_CARDS = {}


def cached_card(key, value=None, comment=""):
    """:func:`card_image`, remembered: for cards whose value repeats between targets (and
    between cubes or calls), so that astropy formats each such card once per process."""
    cache_key = (key, type(value), repr(value), comment)
    image = _CACHED_CARDS.get(cache_key)
    if image is None:
        image = card_image(key, value, comment)
        if len(_CACHED_CARDS) >= 20000:
            _CACHED_CARDS.clear()
        _CACHED_CARDS[cache_key] = image
    return image


def header_bytes(cards):
    """Header card images plus END, padded with spaces to whole 2880-byte blocks."""
    text = "".join(cards) + f"{'END':<{CARD}}"
    return text.ljust(padded(len(text))).encode("ascii")


def keyed(key, image):
    """``image`` (a card's image) with its keyword replaced by ``key`` (at most 8 characters)."""
    return f"{key:<8}" + image[8:]
