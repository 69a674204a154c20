"""The simulated sky's stars and what :func:`~astrocut_tess.sample.simulate_ffis` returns."""

from __future__ import annotations

import re

import attrs
import numpy as np

@attrs.frozen
class SimulatedStar:
    """A star of the simulated sky.

    Parameters
    ----------
    name : str
        ``"star-0007"`` for constant stars, ``"variable"`` or ``"transit"``.
    ra, dec : float
        Fixed ICRS position in degrees.
    flux : float
        Mean flux in e-/s.
    kind : str
        ``"constant"``, ``"variable"`` or ``"transit"``.
    period : float
        Days: the sinusoid period (variable) or the orbital period (transit).
    amplitude : float
        Fractional: the sinusoid semi-amplitude (variable) or the transit depth.
    epoch : float
        BTJD of phase zero (variable) or of mid-transit (transit).
    duration : float
        Transit duration in days.
    """

    name: str
    ra: float
    dec: float
    flux: float
    kind: str
    period: float = 0.0
    amplitude: float = 0.0
    epoch: float = 0.0
    duration: float = 0.0

    def flux_at(self, btjd):
        """Model flux (e-/s) at the given BTJD times.

        Parameters
        ----------
        btjd : array_like
            Times in BJD - 2457000.

        Returns
        -------
        numpy.ndarray
            Flux at each time, same shape as ``btjd``.
        """
        t = np.asarray(btjd, dtype=float)
        if self.kind == "variable":
            phase = 2.0 * np.pi * (t - self.epoch) / self.period
            return self.flux * (1.0 + self.amplitude * np.sin(phase))
        if self.kind == "transit":
            # Distance from the nearest mid-transit, so every orbit in range dips.
            offset = (t - self.epoch + 0.5 * self.period) % self.period - 0.5 * self.period
            in_transit = np.abs(offset) <= 0.5 * self.duration
            return self.flux * np.where(in_transit, 1.0 - self.amplitude, 1.0)
        return np.full(t.shape, float(self.flux))


@attrs.frozen
class SimulatedSector:
    """What :func:`simulate_ffis` wrote.

    Attributes
    ----------
    files : list of str
        FFI paths sorted by time.
    stars : list of SimulatedStar
        Every star placed on the image.
    sector, camera, ccd : int
        Where the FFIs claim to come from.
    shape : tuple of int
        ``(n_columns, n_rows)``, i.e. ``(NAXIS1, NAXIS2)``.
    times : numpy.ndarray
        Mid-exposure BTJD of each FFI.
    """

    files: list[str]
    stars: list[SimulatedStar]
    sector: int
    camera: int
    ccd: int
    shape: tuple[int, int]
    times: np.ndarray = attrs.field(eq=attrs.cmp_using(eq=np.array_equal))
    mover: object = None  # a SimulatedMover when simulate_ffis(mover=...) asked for one

    def _only(self, kind):
        found = [star for star in self.stars if star.kind == kind]
        if len(found) != 1:
            raise LookupError(f"expected one {kind} star, found {len(found)}")
        return found[0]

    @property
    def variable_star(self):
        """The sinusoidal variable (bright, near the image centre)."""
        return self._only("variable")

    @property
    def transit_star(self):
        """The star with box-shaped transits."""
        return self._only("transit")


_SIZE_RE = re.compile(r"^\s*(\d+)\s*[xX]\s*(\d+)\s*$")


def parse_size(text):
    """Parse ``"COLUMNSxROWS"``.

    Parameters
    ----------
    text : str
        For example ``"200x150"``: 200 columns (NAXIS1) by 150 rows (NAXIS2).

    Returns
    -------
    tuple of int
        ``(n_columns, n_rows)``.

    Raises
    ------
    ValueError
        If ``text`` is not two positive integers joined by ``x``.
    """
    match = _SIZE_RE.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"invalid size {text!r}: expected COLUMNSxROWS, e.g. '200x150'")
    columns, rows = int(match.group(1)), int(match.group(2))
    if columns < 1 or rows < 1:
        raise ValueError(f"invalid size {text!r}: columns and rows must be positive")
    return columns, rows
