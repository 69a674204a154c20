"""Meta-test: every hook spec is tested and documented for plugin authors."""

import ast
import os
import re

from astrocut import hookspecs

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def hook_names():
    return sorted(name for name in dir(hookspecs) if name.startswith("astrocut_")
                  and callable(getattr(hookspecs, name)))


def test_there_are_hooks_for_every_job():
    assert {"astrocut_identify", "astrocut_build_cube", "astrocut_cut_cube",
            "astrocut_cut_images", "astrocut_fit_wcs", "astrocut_write"} <= set(hook_names())


def test_every_hook_has_a_test():
    tree = ast.parse(open(os.path.join(ROOT, "tests", "core", "test_hooks.py")).read())
    tests = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    missing = [name for name in hook_names() if f"test_hook_{name}" not in tests]
    assert not missing, f"hooks without a test_hook_<name> in tests/core/test_hooks.py: {missing}"


def test_every_hook_is_documented_for_plugin_authors():
    guide = open(os.path.join(ROOT, "docs", "plugins.md")).read()
    headings = set(re.findall(r"^### `?(astrocut_\w+)", guide, flags=re.MULTILINE))
    missing = [name for name in hook_names() if name not in headings]
    assert not missing, f"hooks without a '### name' section in docs/plugins.md: {missing}"


def test_every_hook_spec_has_a_docstring():
    assert all(getattr(hookspecs, name).__doc__ for name in hook_names())
