"""The report engine is pure like the domain: no clock, randomness, files or network (import-linter covers the rest)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.test_architecture import FORBIDDEN_CALLS, FORBIDDEN_MODULES, _calls, _imports

REPORTS = Path(__file__).resolve().parents[2] / "queue_engine" / "reports"
#: in-memory buffers for the CSV and the workbook; nothing else of ``io``
ALLOWED = {"io"}


@pytest.mark.parametrize("path", sorted(REPORTS.glob("*.py")), ids=lambda p: p.name)
def test_report_module_reads_no_clock_randomness_or_files(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert not _imports(tree) & (FORBIDDEN_MODULES - ALLOWED)
    assert not _calls(tree) & FORBIDDEN_CALLS
    io_uses = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and getattr(n.value, "id", "") == "io"}
    assert io_uses <= {"StringIO", "BytesIO"}
