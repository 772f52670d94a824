"""Fixtures for the log contract tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio only (the engine is asyncio code)."""
    return "asyncio"
