"""Progress reports for long work: a bar on a terminal, one line per step in logs."""

import sys
import time


class Progress:
    """Report ``total`` steps of work under ``label``; silent when ``verbose`` is false.

    On a terminal it redraws one bar; otherwise (logs, notebooks, CI) it prints one line per
    step, or one per percent when there are many steps, so logs stay readable.
    """

    def __init__(self, total, label, verbose=True, stream=None):
        self.total = max(int(total), 0)
        self.label = label
        self.verbose = verbose
        self.stream = stream or sys.stdout
        self.done = 0
        self.started = time.perf_counter()
        self._is_tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_percent = -1

    def step(self, message=None, n=1):
        """Record ``n`` finished steps, with an optional message for the line."""
        self.done += n
        if not self.verbose:
            return
        if self._is_tty:
            width = 30
            filled = width * self.done // max(self.total, 1)
            self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] "
                              f"{self.done}/{self.total}")
            if self.done >= self.total:
                self.stream.write("\n")
            self.stream.flush()
            return
        percent = 100 * self.done // max(self.total, 1)
        if self.total <= 100 or percent != self._last_percent or self.done >= self.total:
            self._last_percent = percent
            text = message or f"{self.label}: {self.done}/{self.total}"
            print(text, file=self.stream, flush=True)

    def elapsed(self):
        """Seconds since the reporter was created."""
        return time.perf_counter() - self.started

    def say(self, message):
        """Print one line (when verbose)."""
        if self.verbose:
            print(message, file=self.stream, flush=True)
