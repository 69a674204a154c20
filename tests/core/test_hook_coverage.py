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
    assert {"astrocut_identify", "astrocut_build_cube", "astrocut_open_cube",
            "astrocut_cut_images", "astrocut_fit_wcs", "astrocut_writers"} <= set(hook_names())


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


def _sections(guide):
    """``{hook name: text of its '### name' section}`` in docs/plugins.md."""
    parts = re.split(r"^### `?(astrocut_\w+)`?.*$", guide, flags=re.MULTILINE)
    return {name: re.split(r"^## ", body, flags=re.MULTILINE)[0]
            for name, body in zip(parts[1::2], parts[2::2])}


def test_every_hook_section_names_each_argument():
    import inspect

    sections = _sections(open(os.path.join(ROOT, "docs", "plugins.md")).read())
    missing = {}
    for name in hook_names():
        arguments = list(inspect.signature(getattr(hookspecs, name)).parameters)
        absent = [a for a in arguments if f"`{a}`" not in sections.get(name, "")
                  and not re.search(rf"\b{a}\b", sections.get(name, "").split("```")[0])]
        if absent:
            missing[name] = absent
    assert not missing, f"hook arguments not explained in their docs/plugins.md section: {missing}"


def test_every_model_field_is_documented_for_plugin_authors():
    import attrs

    from astrocut import models

    guide = open(os.path.join(ROOT, "docs", "plugins.md")).read()
    missing = []
    for cls in (models.CubeRequest, models.CubeCutRequest, models.ImageCutRequest,
                models.CutoutSize, models.FittedWCS, models.CubeCutout, models.ImageCutout,
                models.Writer):
        section = re.search(rf"^#### `{cls.__name__}`$(.*?)(?=^#|\Z)", guide,
                            flags=re.MULTILINE | re.DOTALL)
        for field in attrs.fields(cls):
            if section is None or f"`{field.name}`" not in section.group(1):
                missing.append(f"{cls.__name__}.{field.name}")
    assert not missing, f"model fields not documented in docs/plugins.md: {missing}"


def test_every_hook_spec_has_a_docstring():
    assert all(getattr(hookspecs, name).__doc__ for name in hook_names())
