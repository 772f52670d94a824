"""open_log: choosing a backend by URL."""

from __future__ import annotations

import pytest

from queue_engine.log import open_log
from queue_engine.log.memory import MemoryLog
from queue_engine.log.sqlite import SqliteLog


def test_memory_url_opens_a_fresh_memory_log():
    """memory:// opens a new, empty in-process log each time."""
    first, second = open_log("memory://"), open_log("memory://")
    assert isinstance(first, MemoryLog)
    assert first is not second


@pytest.mark.anyio
async def test_sqlite_url_opens_a_sqlite_log_lazily(tmp_path):
    """sqlite:/// opens a SQLite log and touches no file until the log is used."""
    target = tmp_path / "lazy.db"
    log = open_log(f"sqlite:///{target}")
    try:
        assert isinstance(log, SqliteLog)
        assert not target.exists()
    finally:
        await log.close()


@pytest.mark.parametrize(
    "url",
    [
        "antre.db",  # no scheme at all
        "sqlite:/antre.db",  # one slash is not a URL
        "sqlite://",  # no path
        "sqlite:///",  # no path
        "postgres://localhost/antre",
        "file:///tmp/antre.db",
        "",
    ],
)
def test_bad_urls_raise_value_error(url: str):
    """A URL without a supported scheme or without a path raises ValueError."""
    with pytest.raises(ValueError):
        open_log(url)
