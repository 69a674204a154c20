"""The suite on the oldest and newest Python that astropy supports here (3.11, 3.13).

``nox`` runs every session; a Python that is not installed is skipped with nox's message
("Python interpreter 3.13 not found"), so a machine without it still passes. The 3.13
session installs astropy and the rest from the package index into a fresh venv, so it runs
only tests/core there (about a minute each; all three sessions took 3 min 19 s here) to keep
CI well inside its time; 3.11 runs everything
in .ci/run's own environment through the README command.
"""

import os

import nox

nox.options.error_on_missing_interpreters = False
nox.options.sessions = ["core-3.11", "core-3.13", "contracts"]

PYTHON_313 = "/root/.pyenv/versions/3.13.0/bin/python"


def _python_313():
    return PYTHON_313 if os.path.exists(PYTHON_313) else "3.13"


# What tests/core needs beyond astrocut itself (the full test extra would pull lightkurve,
# dask, moto ... into each fresh venv for tests that are not run there).
CORE_TEST_NEEDS = ["pytest>=7.4", "hypothesis>=6.90", "setuptools>=64", "wheel", "scipy"]


def _core(session):
    session.install("-e", ".", *CORE_TEST_NEEDS)
    session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/core")


@nox.session(name="core-3.11", python="3.11")
def core_311(session):
    """tests/core on the oldest supported Python."""
    _core(session)


@nox.session(name="core-3.13", python=_python_313())
def core_313(session):
    """tests/core on the newest Python here."""
    _core(session)


@nox.session(python="3.11")
def contracts(session):
    """tests/core with every built-in mission blocked: the core stands on its contracts."""
    session.install("-e", ".", *CORE_TEST_NEEDS)
    session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/core",
                env={"ASTROCUT_DISABLE_PLUGINS": "tess,generic_fits,roman"})


@nox.session(python="3.11")
def full(session):
    """The whole suite in a fresh 3.11 venv (not run by default: .ci/run runs it directly)."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider")
