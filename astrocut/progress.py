"""Progress of long work: astropy's ProgressBar on a terminal, INFO log records otherwise.

Records go to the ``astrocut.progress`` logger (shown on stderr unless the application
configured logging, see :mod:`astrocut.log`), so logs, notebooks, CI and pytest's caplog all
see the same lines. Nothing is drawn or logged when ``verbose`` is false.
"""

import sys
import time

from .log import get_logger

logger = get_logger("astrocut.progress")


def _is_terminal(stream):
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class Progress:
    """Report ``total`` steps of work under ``label``; silent when ``verbose`` is false.

    On a terminal (``stream``, by default stderr) it draws an astropy
    :class:`~astropy.utils.console.ProgressBar`; otherwise it logs one INFO record per step,
    or one per percent when there are more than 100 steps, so logs stay readable.
    """

    def __init__(self, total, label, verbose=True, stream=None):
        self.total = max(int(total), 0)
        self.label = label
        self.verbose = verbose
        self.stream = stream
        self.done = 0
        self.started = time.perf_counter()
        self._last_percent = -1
        self._bar = None
        terminal = stream if stream is not None else sys.stderr
        if verbose and self.total > 0 and _is_terminal(terminal):
            from astropy.utils.console import ProgressBar

            self._bar = ProgressBar(self.total, file=terminal)

    def step(self, message=None, n=1):
        """Record ``n`` finished steps, with an optional message for the log record."""
        self.done += n
        if not self.verbose:
            return
        if self._bar is not None:
            self._bar.update(min(self.done, self.total))
            if self.done >= self.total:
                self._bar.__exit__(None, None, None)  # ends the bar's line
                self._bar = None
            return
        percent = 100 * self.done // max(self.total, 1)
        if self.total <= 100 or percent != self._last_percent or self.done >= self.total:
            self._last_percent = percent
            logger.info(message or f"{self.label}: {self.done}/{self.total}")

    def elapsed(self):
        """Seconds since the reporter was created."""
        return time.perf_counter() - self.started

    def say(self, message):
        """Log one INFO record (when verbose)."""
        if self.verbose:
            logger.info(message)
