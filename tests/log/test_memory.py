"""The log contract, run against the in-process memory log."""

from __future__ import annotations

import pytest

from queue_engine.log.memory import MemoryLog

from .contract import Connect, LogContract


class TestMemoryLog(LogContract):
    @pytest.fixture
    def connect(self) -> Connect:
        """Every handle is the same MemoryLog: two nodes in one process share one store."""
        log = MemoryLog()
        return lambda: log

    @pytest.fixture
    def url(self) -> str:
        return "memory://"
