"""Fixtures for the runtime tests: the demo puskesmas on a Thursday morning, over memory or SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from queue_engine import ManualClock, SequentialIds, load_facility
from queue_engine.log import EventLog
from queue_engine.log.memory import MemoryLog
from queue_engine.log.sqlite import SqliteLog

from .support import THURSDAY_0800, Env


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio only (the engine is asyncio code)."""
    return "asyncio"


@pytest.fixture(params=["memory", "sqlite"])
async def env(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Env]:
    """The demo facility at 08:00 on a Thursday, over a fresh store of each backend."""
    backend: str = request.param
    if backend == "memory":
        shared = MemoryLog()

        def connect() -> EventLog:
            return shared

    else:

        def connect() -> EventLog:
            return SqliteLog(tmp_path / "antre.db")

    async with AsyncExitStack() as stack:
        yield Env(load_facility(), ManualClock(THURSDAY_0800), SequentialIds(), stack, connect, backend)
