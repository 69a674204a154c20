"""Run astrocut 1.4.0's own test suite against this package and print a table.

    python tools/conformance.py [--wheel PATH] [--keep DIR] [-k EXPR]

The reference wheel is fetched with ``pip download astrocut==1.4.0 --no-deps`` (or taken
from ``--wheel``); its ``astrocut/tests`` folder (with its data) is extracted to a scratch
directory, where only the import lines are rewritten so that every reference module name
(``astrocut.fits_cutout``, ``..cube_factory``, ``from .. import cutout_processing`` ...)
points at the ``astrocut`` namespace of this package. pytest then runs them with outbound
network connections refused. Each test lands in one row of the table:

- passed;
- needs network: it failed because it tried to connect to a host other than 127.0.0.1, or
  it reads a public bucket (named in the expectations' ``[network]``);
- documented difference: a deliberate difference named in ``docs/compatibility.md``;
- out of scope: a feature no issue delivers yet (the expectations name it);
- failed: anything else (the goal is zero).

``tools/conformance_expectations.toml`` names the documented and out-of-scope tests with
their reasons. A named test that passes counts as passed (and is listed as stale), so the
table never hides a pass. Exit status: 0 with no unexplained failure, 1 otherwise, and 0 with
a message when the wheel cannot be had (no registry reachable).
"""

import argparse
import glob
import os
import re
import subprocess
import sys
import tempfile
import tomllib
import xml.etree.ElementTree as ElementTree
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
EXPECTATIONS = os.path.join(HERE, "conformance_expectations.toml")
COMPATIBILITY = os.path.join(os.path.dirname(HERE), "docs", "compatibility.md")
REFERENCE = "astrocut==1.4.0"
NETWORK_MARK = "astrocut-conformance: network blocked"

# Refuses connections to anything but the loopback interface, so a test that needs the
# network fails with a recognisable message instead of hanging or reaching a server.
CONFTEST = f'''
import socket

import pytest

_connect = socket.socket.connect


def _guarded_connect(self, address):
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and host not in ("127.0.0.1", "::1", "localhost") \\
            and self.family in (socket.AF_INET, socket.AF_INET6):
        raise OSError("{NETWORK_MARK}: " + repr(address))
    return _connect(self, address)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
'''

# Stands in for a name this package does not have: using it raises ImportError naming it,
# and it can still be subclassed or decorated at import time.
MISSING = '''
class _Missing(type):
    def __getattr__(cls, attribute):
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        raise ImportError(f"cannot import name {cls._name!r} from {cls._module!r}")

    def __call__(cls, *args, **kwargs):
        raise ImportError(f"cannot import name {cls._name!r} from {cls._module!r}")


def missing(module, name):
    return _Missing(name, (), {"_name": name, "_module": module})
'''

# from ..x.y import a  |  from .. import a  |  from astrocut.x import a  |  from astrocut import a
_FROM = re.compile(r"^(\s*)from\s+(\.\.[\w.]*|astrocut[\w.]*)\s+import\s+(.*)$")
_IMPORT = re.compile(r"^(\s*)import\s+astrocut\.[\w.]+(\s+as\s+\w+)?\s*$")


def rewrite_imports(source):
    """Point every import of a reference module at the ``astrocut`` namespace.

    Only import statements change. ``from ..fits_cutout import FITSCutout`` becomes
    ``from astrocut import FITSCutout``; an imported reference *module*
    (``from .. import cutout_processing``) becomes ``import astrocut as cutout_processing``
    so its attributes resolve through this package's public names.
    """
    lines = source.splitlines(keepends=True)
    out = []
    index = 0
    while index < len(lines):
        line = lines[index]
        match = _FROM.match(line)
        if not match:
            imported = _IMPORT.match(line)
            if imported:
                alias = imported.group(2) or ""
                line = f"{imported.group(1)}import astrocut{alias}\n"
            out.append(line)
            index += 1
            continue
        indent, module, names = match.groups()
        names = names.strip()
        if names.startswith("(") and ")" not in names:
            while ")" not in names:  # a parenthesised multi-line import
                index += 1
                names += " " + lines[index].strip()
        index += 1
        names = names.split("#")[0].strip().strip("()")
        parts = [n.strip() for n in names.split(",") if n.strip()]
        module_names = _module_names()
        plain, modules = [], []
        for part in parts:
            name = part.split(" as ")[0].strip()
            alias = part.split(" as ")[-1].strip()
            if module in ("..", "astrocut", "..utils", "astrocut.utils") and name in module_names:
                modules.append(alias)
            else:
                plain.append(part)
        target = "astrocut.exceptions" if module.endswith("exceptions") else "astrocut"
        for part in plain:
            name = part.split(" as ")[0].strip()
            alias = part.split(" as ")[-1].strip()
            # One guarded import per name: a name this package lacks fails only the tests
            # that use it, not the whole module at collection.
            out.append(f"{indent}try:\n{indent}    from {target} import {part}\n"
                       f"{indent}except ImportError:\n"
                       f"{indent}    {alias} = _conformance_missing({target!r}, {name!r})\n")
        for alias in modules:
            out.append(f"{indent}import astrocut as {alias}\n")
    if any("_conformance_missing(" in line for line in out):
        out.insert(_first_code_line(out), "from ._conformance import missing as _conformance_missing\n")
    return "".join(out)


def _first_code_line(lines):
    # After the module docstring and __future__ imports, before any other code.
    import ast

    tree = ast.parse("".join(lines))
    line = 0
    for node in tree.body:
        if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)) or (
                isinstance(node, ast.ImportFrom) and node.module == "__future__"):
            line = node.end_lineno
            continue
        break
    return _physical_index(lines, line)


def _physical_index(lines, line_number):
    # ``lines`` may hold multi-line entries (the guarded imports); count physical lines.
    seen = 0
    for index, entry in enumerate(lines):
        if seen >= line_number:
            return index
        seen += entry.count("\n") or 1
    return len(lines)


def _module_names():
    # The reference's module names that its tests import as modules.
    return {"cutout_processing", "footprint_cutout", "fits_cutout", "utils", "image_cutout",
            "cube_cutout", "asdf_cutout", "tess_cube_cutout", "tess_footprint_cutout",
            "cutout_factory", "cube_factory", "exceptions_module"}


def fetch_wheel(directory):
    """Download the reference wheel; return its path or ``None`` with the reason."""
    command = [sys.executable, "-m", "pip", "download", REFERENCE, "--no-deps",
               "--only-binary", ":all:", "-d", directory, "-q"]
    done = subprocess.run(command, capture_output=True, text=True)
    wheels = glob.glob(os.path.join(directory, "astrocut-1.4.0-*.whl"))
    if done.returncode or not wheels:
        return None, (done.stderr.strip().splitlines() or ["no wheel"])[-1]
    return wheels[0], None


def extract_tests(wheel, directory):
    """Extract ``astrocut/tests`` as package ``reference_tests`` with rewritten imports."""
    target = os.path.join(directory, "reference_tests")
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.namelist():
            if not member.startswith("astrocut/tests/") or member.endswith("/"):
                continue
            relative = member[len("astrocut/tests/"):]
            path = os.path.join(target, relative)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            data = archive.read(member)
            if member.endswith(".py"):
                data = rewrite_imports(data.decode()).encode()
            with open(path, "wb") as handle:
                handle.write(data)
    with open(os.path.join(target, "conftest.py"), "w") as handle:
        handle.write(CONFTEST)
    with open(os.path.join(target, "_conformance.py"), "w") as handle:
        handle.write(MISSING)
    return target


def run_pytest(tests_dir, junit, extra):
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               "-o", "addopts=", "-o", "filterwarnings=", "--continue-on-collection-errors", f"--rootdir={os.path.dirname(tests_dir)}",
               f"--junitxml={junit}", "reference_tests", *extra]
    # Run from the scratch folder so "import astrocut" is this package as installed.
    return subprocess.run(command, cwd=os.path.dirname(tests_dir), capture_output=True,
                          text=True)


def read_results(junit):
    """``{test id: (outcome, message)}`` from pytest's junit XML."""
    results = {}
    for case in ElementTree.parse(junit).iter("testcase"):
        module = case.get("classname", "").split(".")[-1]
        test_id = f"{module}::{case.get('name')}"
        if not module:  # the module itself failed to import
            test_id = f"{case.get('name').split('.')[-1]}::<collection>"
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed"
                message = (child.get("message") or "") + "\n" + (child.text or "")
            elif child.tag == "skipped":
                outcome, message = "skipped", child.get("message") or ""
        if outcome == "failed" and test_id in results:
            continue  # keep a setup/teardown error from hiding the call result
        results[test_id] = (outcome, message)
    return results


def load_expectations(path=EXPECTATIONS, docs=COMPATIBILITY):
    """``(network, documented, out_of_scope)`` dicts; documented values become doc links.

    Every documented anchor must exist in docs/compatibility.md, so no test is excused by
    an entry that was never written.
    """
    with open(path, "rb") as handle:
        table = tomllib.load(handle)
    with open(docs) as handle:
        anchors = set(re.findall(r"\{#([\w-]+)\}", handle.read()))
    documented = {}
    for key, anchor in table.get("documented", {}).items():
        if anchor not in anchors:
            raise SystemExit(f"{path}: {key} names #{anchor}, which {docs} does not have")
        documented[key] = f"docs/compatibility.md#{anchor}"
    return table.get("network", {}), documented, table.get("out_of_scope", {})


def _lookup(table, test_id, exact=False):
    # Keys are "module::test" or a "module::test" prefix ending in "*" (parametrised sets).
    module_test = test_id.split("[")[0]
    for key, reason in table.items():
        if key == test_id or key == module_test:
            return reason
        if not exact and key.endswith("*") and test_id.startswith(key[:-1]):
            return reason
    return None


def classify(results, network, documented, out_of_scope):
    rows = {"passed": [], "needs network": [], "documented difference": [],
            "out of scope": [], "failed": []}
    stale = []
    for test_id, (outcome, message) in sorted(results.items()):
        doc, scope = _lookup(documented, test_id), _lookup(out_of_scope, test_id)
        remote = _lookup(network, test_id)
        if outcome == "passed":
            rows["passed"].append((test_id, ""))
            # A pass under a wildcard (a module partly supported) is no stale entry.
            if any(_lookup(table, test_id, exact=True)
                   for table in (network, documented, out_of_scope)):
                stale.append(test_id)
        elif NETWORK_MARK in message or remote:
            rows["needs network"].append((test_id, remote or "connected outside 127.0.0.1"))
        elif scope:
            rows["out of scope"].append((test_id, scope))
        elif doc:
            rows["documented difference"].append((test_id, doc))
        else:
            first = next((line for line in message.splitlines() if line.strip()), outcome)
            rows["failed"].append((test_id, first[:160]))
    return rows, stale


def print_table(rows, stale, details):
    total = sum(len(v) for v in rows.values())
    print(f"\nastrocut 1.4.0 test suite against this package ({total} tests)\n")
    print("| outcome | tests |")
    print("|---|---|")
    for name, items in rows.items():
        print(f"| {name} | {len(items)} |")
    for name in ("needs network", "documented difference", "out of scope", "failed"):
        if rows[name] and (details or name == "failed"):
            print(f"\n{name}:")
            for test_id, reason in rows[name]:
                print(f"  {test_id}" + (f"  -- {reason}" if reason else ""))
    if stale:
        print("\nnamed in the expectations but passing now (remove them from the file):")
        for test_id in stale:
            print(f"  {test_id}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", help="use this astrocut-1.4.0 wheel instead of pip download")
    parser.add_argument("--keep", help="extract and run in this directory (kept afterwards)")
    parser.add_argument("--details", action="store_true",
                        help="list every test that is not a plain pass, with its reason")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="astrocut-conformance-") as scratch:
        work = args.keep or scratch
        os.makedirs(work, exist_ok=True)
        wheel = args.wheel
        if wheel is None:
            wheel, reason = fetch_wheel(work)
            if wheel is None:
                print(f"conformance: skipped, the reference wheel {REFERENCE} cannot be had "
                      f"({reason})")
                return 0
        tests_dir = extract_tests(wheel, work)
        junit = os.path.join(work, "results.xml")
        done = run_pytest(tests_dir, junit, args.pytest_args)
        if not os.path.exists(junit):
            print(done.stdout[-3000:], done.stderr[-3000:])
            return 1
        rows, stale = classify(read_results(junit), *load_expectations())
    print_table(rows, stale, args.details)
    return 1 if rows["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
