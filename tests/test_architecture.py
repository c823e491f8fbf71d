"""The packages' arrows run one way: model <- training, model <- service, and nothing else."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.utils.server import REPO_ROOT

PACKAGES = ("model", "training", "service")
# What each package may import from the project; model imports only itself.
ALLOWED = {"model": {"model"}, "training": {"model", "training"}, "service": {"model", "service"}}


def imported_packages(path: Path) -> set[str]:
    """The project packages a module imports, wherever the import stands (also inside functions)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found.update(name.split(".")[0] for name in names if name.split(".")[0] in PACKAGES)
    return found


def modules(package: str) -> list[Path]:
    return sorted((REPO_ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", PACKAGES)
def test_each_package_imports_only_what_its_arrows_allow(package: str) -> None:
    assert modules(package), package
    wrong = {
        str(path.relative_to(REPO_ROOT)): sorted(imported_packages(path) - ALLOWED[package])
        for path in modules(package)
    }
    assert {path: names for path, names in wrong.items() if names} == {}


def test_the_check_sees_imports_inside_functions(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "import numpy\n\ndef f():\n    from training.data import Span\n    import service.app\n"
    )
    assert imported_packages(module) == {"training", "service"}


def test_no_relative_imports_escape_the_check() -> None:
    relative = [
        str(path.relative_to(REPO_ROOT))
        for package in PACKAGES
        for path in modules(package)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.level > 0
    ]
    assert relative == []


def module_name(path: Path) -> str:
    name = ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts)
    return name.removesuffix(".__init__")


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """The project modules a module imports, wherever the import stands (also inside functions
    and under TYPE_CHECKING): `from a.b import c` counts a.b, and a.b.c if c is a module."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found & known


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    """The modules that `start` imports, directly or through others."""
    seen: set[str] = set()
    waiting = [start]
    while waiting:
        for following in graph[waiting.pop()] - seen:
            seen.add(following)
            waiting.append(following)
    return seen


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other, directly or through others."""
    reaches = {name: reachable(graph, name) for name in graph}
    groups = {
        tuple(sorted(other for other in reaches[name] if name in reaches[other]))
        for name in graph
        if name in reaches[name]
    }
    return sorted(list(group) for group in groups)


def test_no_module_imports_itself_through_others() -> None:
    """Not even at type-check time: training/checkpoint.py and training/chunks.py once did."""
    paths = {module_name(path): path for package in PACKAGES for path in modules(package)}
    graph = {name: imported_modules(path, set(paths)) - {name} for name, path in paths.items()}
    assert graph["training.checkpoint"] >= {"training.fit"}  # the check sees the imports
    assert import_cycles(graph) == []


def test_the_cycle_check_finds_a_cycle_under_type_checking(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import typing\nif typing.TYPE_CHECKING:\n    from training.chunks import Run\n")
    assert imported_modules(module, {"training.chunks", "training.fit"}) == {"training.chunks"}
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert import_cycles(graph) == [["a", "b", "c"]]
