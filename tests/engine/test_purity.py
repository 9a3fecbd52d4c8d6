"""The engine stays pure: it imports no adapter, no framework, no clock, no randomness, no I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import engine

ALLOWED = {"__future__", "collections", "dataclasses", "datetime", "enum", "functools", "math", "statistics", "typing"}
ALLOWED |= {"bisect", "heapq", "itertools", "zoneinfo", "msgspec", "engine"}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_engine_imports_only_pure_modules() -> None:
    modules = sorted(Path(engine.__file__).parent.glob("*.py"))
    assert len(modules) >= 8
    offenders = {path.name: imported_roots(path) - ALLOWED for path in modules if imported_roots(path) - ALLOWED}
    assert offenders == {}


def test_the_purity_check_sees_a_clock(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import time\nfrom os import path\nfrom engine.state import SiteState\n", encoding="utf-8")
    assert imported_roots(sample) - ALLOWED == {"time", "os"}
