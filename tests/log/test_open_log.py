"""open_log: choosing a backend by URL."""

from __future__ import annotations

import pytest

from queue_engine.log import open_log
from queue_engine.log.memory import MemoryLog
from queue_engine.log.redis_streams import RedisLog
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


@pytest.mark.anyio
async def test_redis_url_opens_a_redis_log_without_connecting():
    """redis:// opens a RedisLog with the URL's prefix and retain; nothing connects (port 1 has no Redis)."""
    log = open_log("redis://127.0.0.1:1/2?prefix=antre-site-7:&retain=500&health_check_interval=5")
    try:
        assert isinstance(log, RedisLog)
        assert (log.prefix, log.retain) == ("antre-site-7:", 500)
        assert log.keys("pkm-1").events == "antre-site-7:antre:{pkm-1}:events"
    finally:
        await log.close()


@pytest.mark.anyio
async def test_redis_url_defaults_keep_everything_without_prefix():
    """Without query options the prefix is empty and trimming is off."""
    log = open_log("rediss://example.invalid:6380")
    try:
        assert isinstance(log, RedisLog)
        assert (log.prefix, log.retain) == ("", None)
        assert log.keys("pkm").seq == "antre:{pkm}:seq"
    finally:
        await log.close()


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6379/0?retain=-1",
        "redis://127.0.0.1:6379/0?retain=many",
        "redis://127.0.0.1:6379/0?prefix=a{b}:",
        "redis://127.0.0.1:6379/0?decode_responses=true",
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
