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
