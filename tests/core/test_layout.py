"""The core's layout rules: no import cycle between its modules, no module over ~400 lines."""

import ast
import os

import astrocut

CORE = os.path.dirname(astrocut.__file__)
MAX_LINES = 420  # "about 400"


def _core_modules():
    for folder, _, names in os.walk(CORE):
        for name in names:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                dotted = os.path.relpath(path, os.path.dirname(CORE))[:-3].replace(os.sep, ".")
                yield dotted.removesuffix(".__init__"), path


def _imports(module, path, modules):
    """Core modules ``module`` imports, at module level or inside a function."""
    tree = ast.parse(open(path).read())
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("astrocut.")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            if base == "astrocut" or base.startswith("astrocut."):
                # "from . import cache" imports the module cache, not (for this graph) the
                # package whose __init__ may re-export its own modules.
                submodules = {f"{base}.{alias.name}" for alias in node.names} & set(modules)
                found |= submodules or {base}
    return found


def test_no_import_cycle_in_the_core():
    modules = dict(_core_modules())
    graph = {m: {i for i in _imports(m, p, modules) if i in modules and i != m}
             for m, p in modules.items()}
    # A package's __init__ imports its modules to re-export them, so a module reaching for a
    # name of its own package (astrocut, astrocut.remote ...) is not counted as a cycle.
    graph = {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in graph.items()
             if m != "astrocut"}

    def visit(node, stack):
        for dep in graph.get(node, ()):
            if dep in stack:
                raise AssertionError(" -> ".join(stack[stack.index(dep):] + [dep]))
            visit(dep, stack + [dep])

    for module in graph:
        visit(module, [module])


def test_geometry_and_models_import_in_one_direction():
    modules = dict(_core_modules())
    assert "astrocut.models" in _imports("astrocut.geometry", modules["astrocut.geometry"], modules)
    assert "astrocut.geometry" not in _imports("astrocut.models", modules["astrocut.models"], modules)


def test_no_core_module_over_about_400_lines():
    long = {m: n for m, p in _core_modules() if (n := len(open(p).read().splitlines())) > MAX_LINES}
    assert long == {}


# Mission and format words the core must not hold (the owner's guide). ``sector`` and
# ``product`` are 1.x parameter names of make_cube/cube_cut/cube_cut_many, passed through to
# the mission as mission_options, so they may appear only where that happens.
MISSION_WORDS = ("TESS", "SPOC", "FFI", "camera", "CCD", "TPF", "Roman", "ASDF")
PASS_THROUGH = {"sector": {"astrocut.cubes"}, "product": {"astrocut.cubes", "astrocut.bulk"}}


def test_the_core_holds_no_mission_word():
    import re

    found = []
    for module, path in _core_modules():
        text = open(path).read()
        for word in MISSION_WORDS:
            if re.search(rf"\b{word}\b", text, flags=re.IGNORECASE):
                found.append(f"{module}: {word}")
        for word, allowed in PASS_THROUGH.items():
            if module not in allowed and re.search(rf"\b{word}\b", text):
                found.append(f"{module}: {word}")
    assert found == []


def test_the_core_names_no_cube_format():
    def names_one(module, text):
        # make_cube's 1.x default file name is public API; it is the only cube name allowed.
        if module == "astrocut.cubes":
            text = text.replace('cube_file="img-cube.fits"', "")
        return '"tpf"' in text or "-cube.fits" in text

    found = [m for m, p in _core_modules() if names_one(m, open(p).read())]
    assert found == []
