"""The 1.x module ``astrocut.exceptions``: the same classes as :mod:`astrocut.errors`.

Scripts written for astrocut 1.x import their exceptions and warnings from here; they are
the very classes astrocut raises (``astrocut.exceptions.InvalidInputError is
astrocut.errors.InvalidInputError``), plus the 1.x warning names astrocut 2 has no other use
for.
"""

from .errors import (AstrocutError, AstrocutWarning, DataWarning, InputWarning,  # noqa: F401
                     InvalidInputError, InvalidQueryError, OutputError, PluginError,
                     PluginLoadWarning)


class TypeWarning(AstrocutWarning):
    """A value was converted to another data type (1.x name)."""


class ModuleWarning(AstrocutWarning):
    """An optional module is missing or too old for a feature (1.x name)."""


class UnsupportedPythonError(AstrocutError):
    """astrocut was imported on a Python it does not support (1.x name)."""


__all__ = ["AstrocutError", "AstrocutWarning", "DataWarning", "InputWarning",
           "InvalidInputError", "InvalidQueryError", "OutputError", "PluginError",
           "PluginLoadWarning", "TypeWarning", "ModuleWarning", "UnsupportedPythonError"]
