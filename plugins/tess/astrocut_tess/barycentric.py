"""Barycentric time toward the target rather than toward one point of the CCD.

SPOC corrects each FFI's times to the solar-system barycentre for a single sky position, the
pixel ``BTC_PIX1``/``BTC_PIX2`` of its header (``BARYCORR``, days). A target 12 degrees from
that point sees the Earth's orbit at another angle: its light-travel time differs by up to a
minute. A target pixel file should carry the target's own correction, so

    TIMECORR = BARYCORR + (delay toward the target - delay toward the FFI's point)
    TIME     = TIME_ffi + (the same difference)

Only the difference is computed here. Both delays are Rømer delays seen from the geocentre
(astropy's built-in ephemeris, no download): TESS is within ~1.3 light-seconds of the Earth,
and the part of its offset that is common to both directions cancels in the difference, which
leaves errors of a few tenths of a second at most across a camera.

The delay ``r_earth . n / c`` is the one :meth:`astropy.time.Time.light_travel_time` computes
for a geocentric location; it is evaluated here once for all cadences and both directions
(one ephemeris call, two dot products), ~100x faster than two ``light_travel_time`` calls.
``tests/tess/test_barycentric.py`` proves the two equal.
"""

import attrs
import numpy as np

from astrocut.errors import InvalidInputError

#: Values of ``time_correction``.
MODES = ("target", "ffi")
BJDREFI = 2457000

_C_M_PER_DAY = 299792458.0 * 86400.0


def check_mode(time_correction):
    """``time_correction`` checked: ``"target"`` or ``"ffi"``."""
    if time_correction not in MODES:
        raise InvalidInputError(f"time_correction must be 'target' or 'ffi', not "
                                f"{time_correction!r}")
    return time_correction


def earth_positions(btjd):
    """Barycentric position of the geocentre (metres, shape ``(n, 3)``) at TDB times ``btjd``."""
    from astropy.coordinates import get_body_barycentric
    from astropy.time import Time

    times = Time(BJDREFI, np.asarray(btjd, dtype=float), format="jd", scale="tdb")
    return get_body_barycentric("earth", times).xyz.to_value("m").T.reshape(-1, 3)


def unit_vector(ra_deg, dec_deg):
    """ICRS unit vector toward ``(ra, dec)`` in degrees."""
    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    return np.array([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)])


def romer_delay(positions, ra_deg, dec_deg):
    """Light-travel time (days) from ``positions`` (metres) to the barycentre toward a star."""
    return positions @ unit_vector(ra_deg, dec_deg) / _C_M_PER_DAY


def reference_pixel(ffi_values, image_shape):
    """0-based ``(x, y)`` of the pixel the FFI's ``BARYCORR`` was computed for, and its source.

    ``BTC_PIX1``/``BTC_PIX2`` (1-based column and row, as SPOC writes them) when the FFI's
    header has both, else the centre of the image array.
    """
    x, y = ffi_values.get("BTC_PIX1"), ffi_values.get("BTC_PIX2")
    if _finite(x) and _finite(y):
        return float(x) - 1.0, float(y) - 1.0, "BTC_PIX"
    rows, columns = image_shape
    return (columns - 1) / 2.0, (rows - 1) / 2.0, "CENTER"


def _finite(value):
    return (isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
            and np.isfinite(value))


@attrs.frozen
class TimeCorrection:
    """The time columns of a target pixel file, and what was done to them.

    ``delta`` (days) was added to the FFI's ``TIME`` and ``BARYCORR``; ``target`` and
    ``reference`` are the ``(ra, dec)`` (deg) of the target and of the FFI's point, and
    ``reference_pixel`` the 1-based ``(column, row)`` of that point with its source
    (``"BTC_PIX"`` or ``"CENTER"``). In mode ``"ffi"`` ``delta`` is zero.
    """

    mode: str
    time: np.ndarray
    timecorr: np.ndarray
    delta: np.ndarray
    target: tuple
    reference: tuple
    reference_pixel: tuple
    reference_source: str

    def header_cards(self):
        """``(key, value, comment)`` of the keywords that say what was done."""
        cards = [("TCORRTYP", self.mode.upper(),
                  "TIMECORR toward TARGET or as in the FFI (FFI)"),
                 ("BTC_RA", float(self.target[0] if self.mode == "target"
                                  else self.reference[0]),
                  "[deg] RA TIMECORR is computed toward"),
                 ("BTC_DEC", float(self.target[1] if self.mode == "target"
                                   else self.reference[1]),
                  "[deg] Dec TIMECORR is computed toward"),
                 *self.reference_cards()]
        if len(self.delta):
            cards.append(("BTC_DMAX", float(np.max(np.abs(self.delta))) * 86400.0,
                          "[s] largest change of TIME and TIMECORR"))
        return cards

    def reference_cards(self):
        """The cards of :meth:`header_cards` that describe the FFI's reference point."""
        return [("BTC_PIX1", float(self.reference_pixel[0]),
                 "FFI BARYCORR reference column (1-based)"),
                ("BTC_PIX2", float(self.reference_pixel[1]),
                 "FFI BARYCORR reference row (1-based)"),
                ("BTC_PSRC", self.reference_source,
                 "FFI reference point: BTC_PIX keys or CENTER"),
                ("BTC_REFR", float(self.reference[0]), "[deg] RA of the FFI reference point"),
                ("BTC_REFD", float(self.reference[1]), "[deg] Dec of the FFI reference point")]


@attrs.frozen
class CubeTimes:
    """What every target of one cube shares: the FFI times, the Earth's positions at them and
    the FFI's reference point (:func:`prepare`); :func:`apply` finishes per target."""

    time: np.ndarray
    barycorr: np.ndarray
    finite: np.ndarray
    positions: np.ndarray  # (n_finite, 3) metres
    reference: tuple
    reference_pixel: tuple
    reference_source: str
    reference_delay: np.ndarray  # days, toward the reference point


def prepare(time, barycorr, wcs, ffi_values, image_shape):
    """:class:`CubeTimes` for FFI mid-times ``time`` (BTJD) and ``barycorr`` (days)."""
    time = np.asarray(time, dtype=np.float64)
    barycorr = np.asarray(barycorr, dtype=np.float64)
    x, y, source = reference_pixel(ffi_values, image_shape)
    ref_ra, ref_dec = (float(v) for v in wcs.celestial.all_pix2world([[x, y]], 0)[0])
    finite = np.isfinite(time) & np.isfinite(barycorr)
    # The ephemeris at the spacecraft's (uncorrected) time; a few minutes do not matter.
    positions = (earth_positions((time - barycorr)[finite]) if finite.any()
                 else np.zeros((0, 3)))
    return CubeTimes(time=time, barycorr=barycorr, finite=finite, positions=positions,
                     reference=(ref_ra, ref_dec), reference_pixel=(x + 1.0, y + 1.0),
                     reference_source=source,
                     reference_delay=romer_delay(positions, ref_ra, ref_dec))


def apply(cube_times, target, mode="target"):
    """The target's :class:`TimeCorrection` (``target`` a SkyCoord, or ICRS ``(ra, dec)`` in
    degrees)."""
    check_mode(mode)
    if isinstance(target, tuple):
        target_radec = (float(target[0]), float(target[1]))
    else:
        target_radec = (float(target.icrs.ra.deg), float(target.icrs.dec.deg))
    delta = np.zeros_like(cube_times.time)
    if mode == "target" and len(cube_times.positions):
        delta[cube_times.finite] = (romer_delay(cube_times.positions, *target_radec)
                                    - cube_times.reference_delay)
    return TimeCorrection(mode=mode, time=cube_times.time + delta,
                          timecorr=cube_times.barycorr + delta, delta=delta,
                          target=target_radec, reference=cube_times.reference,
                          reference_pixel=cube_times.reference_pixel,
                          reference_source=cube_times.reference_source)


def correct_times(time, barycorr, target, wcs, ffi_values, image_shape, mode="target"):
    """The target's ``TIME`` and ``TIMECORR`` from the FFI's, as a :class:`TimeCorrection`.

    ``time`` and ``barycorr`` are the FFI's mid-exposure BTJD and ``BARYCORR`` (days) per
    cadence; ``target`` a SkyCoord; ``wcs`` the FFI's WCS, used to find the sky position of
    the FFI's reference pixel; ``ffi_values`` that FFI's header values.
    """
    check_mode(mode)
    return apply(prepare(time, barycorr, wcs, ffi_values, image_shape), target, mode)


def apply_each(cube_times, ra_deg, dec_deg, mode="target"):
    """:class:`TimeCorrection` toward a position that changes with each cadence (a moving
    target): ``ra_deg``/``dec_deg`` hold one position per cadence, NaN where it is unknown
    (those cadences keep the FFI's values). ``target`` is then the pair of arrays, and
    :meth:`TimeCorrection.header_cards` does not apply: the caller says what was done
    (:meth:`TimeCorrection.reference_cards` does).
    """
    check_mode(mode)
    ra = np.asarray(ra_deg, dtype=np.float64)
    dec = np.asarray(dec_deg, dtype=np.float64)
    delta = np.zeros_like(cube_times.time)
    if mode == "target" and len(cube_times.positions):
        known = np.isfinite(ra[cube_times.finite]) & np.isfinite(dec[cube_times.finite])
        toward = unit_vector(ra[cube_times.finite][known], dec[cube_times.finite][known])
        delay = np.einsum("ij,ji->i", cube_times.positions[known], toward) / _C_M_PER_DAY
        step = np.zeros(int(cube_times.finite.sum()))
        step[known] = delay - cube_times.reference_delay[known]
        delta[cube_times.finite] = step
    return TimeCorrection(mode=mode, time=cube_times.time + delta,
                          timecorr=cube_times.barycorr + delta, delta=delta,
                          target=(ra, dec), reference=cube_times.reference,
                          reference_pixel=cube_times.reference_pixel,
                          reference_source=cube_times.reference_source)
