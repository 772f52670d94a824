"""The pure core stays pure: no clocks, randomness or I/O inside queue_engine/domain."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[1] / "queue_engine" / "domain"
FORBIDDEN_MODULES = {"time", "random", "secrets", "uuid", "asyncio", "sqlite3", "socket", "os", "subprocess", "io"}
FORBIDDEN_CALLS = {"now", "utcnow", "today", "uuid4", "open", "time_ns", "monotonic"}


def _imports(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def _calls(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute):
                names.add(func.attr)
            elif isinstance(func, ast.Name):
                names.add(func.id)
    return names


@pytest.mark.parametrize("path", sorted(DOMAIN.glob("*.py")), ids=lambda p: p.name)
def test_domain_module_reads_no_clock_randomness_or_io(path: Path) -> None:
    """No domain module imports time/random/I-O modules or calls now()/uuid4()/open()."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert not _imports(tree) & FORBIDDEN_MODULES
    assert not _calls(tree) & FORBIDDEN_CALLS


def test_domain_has_modules() -> None:
    """The guard above actually looked at the domain package."""
    assert len(list(DOMAIN.glob("*.py"))) >= 10
