"""A device app depends on devicekit and the contract only: never on another device app or the hub.

Every import of every module of each device app (module level or inside a function) is read with ``ast``, so a
lazy import counts as much as one at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEVICE_APPS = ("kiosk", "caller", "display")
FORBIDDEN = {*DEVICE_APPS, "hub", "simulator", "bench", "tests"}
"""Packages of this repository a device may not import (its own app excepted)."""


def imported_packages(path: Path) -> set[tuple[str, int]]:
    """The top-level package of every absolute import in ``path``, with its line."""
    found: set[tuple[str, int]] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update((alias.name.split(".")[0], node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add((node.module.split(".")[0], node.lineno))
    return found


def offences(package: str, files: list[Path]) -> list[str]:
    allowed_self = {package} if package in DEVICE_APPS else set()
    return sorted(
        f"{path}:{line} imports {name}"
        for path in files
        for name, line in imported_packages(path)
        if name in FORBIDDEN - allowed_self
    )


@pytest.mark.parametrize("package", [*DEVICE_APPS, "devicekit"])
def test_a_device_app_imports_no_other_device_app_nor_the_hub(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    if package == "kiosk":
        files.append(ROOT / "run_kiosk.py")
    assert files
    assert offences(package, files) == []


def test_the_check_sees_a_lazy_import_of_another_app(tmp_path: Path) -> None:
    module = tmp_path / "speech.py"
    module.write_text(
        "import contract\nfrom devicekit.voice import Synthesizer\n\ndef f():\n    from display import feed\n"
    )
    assert imported_packages(module) == {("contract", 1), ("devicekit", 2), ("display", 5)}
    assert offences("caller", [module]) != []
    assert offences("display", [module]) == []
