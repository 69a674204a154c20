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
    """The result cannot be written where it was asked to go."""


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
