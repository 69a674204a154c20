"""The ``astrocut`` logger: INFO records for ``verbose=True``, shown on stderr by default.

As astropy does, astrocut shows its records without any set-up, yet hands them to the
application's logging as soon as it configures some: the default handler stays silent when
the root logger has handlers (``logging.basicConfig``, pytest's caplog ...), and records
always propagate to them.
"""

import logging
import sys

logger = logging.getLogger("astrocut")


class _DefaultHandler(logging.StreamHandler):
    """stderr, unless the application configured logging (then records go only there)."""

    def __init__(self):
        super().__init__()
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record):
        if logging.getLogger().handlers:
            return
        # Looked up at each record, so redirected or captured stderr is honoured.
        self.stream = sys.stderr
        super().emit(record)


def _install_default_handler():
    if not any(isinstance(handler, _DefaultHandler) for handler in logger.handlers):
        logger.addHandler(_DefaultHandler())
    if logger.level == logging.NOTSET:
        # verbose=False means no INFO record is made at all; the level only lets the
        # records verbose=True asks for through.
        logger.setLevel(logging.INFO)


_install_default_handler()


def get_logger(name):
    """A child of the ``astrocut`` logger (``astrocut.<name>``) for a core module or plugin."""
    inside = name == "astrocut" or name.startswith("astrocut.")
    return logging.getLogger(name if inside else f"astrocut.{name}")
