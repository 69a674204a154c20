"""Exceptions and warnings raised by astrocut and its plugins.

Every error a user can cause by bad input is an :class:`AstrocutError`, so scripts can
catch one class; the subclasses also derive from the matching built-in exception so that
``except ValueError`` keeps working in code written against the reference tool.
"""


class AstrocutError(Exception):
    """Base class of every error astrocut raises on purpose."""


class InvalidInputError(AstrocutError, ValueError):
    """An input file or argument is unusable (wrong kind of file, bad size, bad value)."""


class InvalidQueryError(AstrocutError, ValueError):
    """The request cannot be answered from these inputs (e.g. the target is off the image)."""


class OutputError(AstrocutError, OSError):
    """The result cannot be written where it was asked to go.

    When an operating-system error is the cause, ``errno`` and ``filename`` are set as on
    the :class:`OSError` (``errno.ENOSPC`` for a full disk), so scripts can test them.
    """

    def __init__(self, message, errno=None, filename=None):
        super().__init__(message)
        self.errno = errno
        self.filename = filename

    def __str__(self):
        return str(self.args[0]) if self.args else ""

    def __reduce__(self):
        # Raised in pool workers: must cross back to the caller with its errno and path.
        return type(self), (str(self), self.errno, self.filename)


class WorkerError(AstrocutError, RuntimeError):
    """A worker of an executor stopped before finishing its task (killed, out of memory, or
    the executor was shut down), so the batch could not be completed."""


class Interrupted(KeyboardInterrupt):
    """The process was asked to stop by a signal other than Ctrl-C (SIGTERM).

    A :class:`KeyboardInterrupt`, so every clean-up that Ctrl-C runs runs for it too.
    """

    def __init__(self, signal_number):
        super().__init__(signal_number)
        self.signal_number = signal_number


class PluginError(AstrocutError):
    """No plugin can handle the input, or a plugin broke its contract."""


class AstrocutWarning(UserWarning):
    """Base class of astrocut's warnings."""


class InputWarning(AstrocutWarning):
    """An input was skipped or used in a way the user may not expect."""


class DataWarning(AstrocutWarning):
    """The data are usable but imperfect (e.g. a stamp partly off the image)."""


class PluginLoadWarning(AstrocutWarning):
    """A plugin registered under the ``astrocut.plugins`` entry point failed to load."""
