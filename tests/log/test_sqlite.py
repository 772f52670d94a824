"""The log contract, run against the SQLite log; plus what only a file-backed log has."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import anyio
import pytest

from queue_engine.log import open_log
from queue_engine.log.sqlite import SqliteLog

from .contract import Connect, DurableLogContract, payloads


class TestSqliteLog(DurableLogContract):
    @pytest.fixture
    def connect(self, tmp_path: Path) -> Connect:
        """Each handle is its own connection (and thread) on one database file."""
        return lambda: SqliteLog(tmp_path / "antre.db")

    @pytest.fixture
    def url(self, tmp_path: Path) -> str:
        return f"sqlite:///{tmp_path / 'url.db'}"


@pytest.mark.anyio
async def test_relative_url_is_relative_to_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """sqlite:///data/antre.db (three slashes) names a file under the current directory."""
    monkeypatch.chdir(tmp_path)
    log = open_log("sqlite:///data/antre.db")
    try:
        await log.append("pkm", 0, payloads("a"))
    finally:
        await log.close()
    assert (tmp_path / "data" / "antre.db").is_file()


@pytest.mark.anyio
async def test_absolute_url_names_an_absolute_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """sqlite:////abs/antre.db (four slashes) names an absolute path, whatever the working directory."""
    target = tmp_path / "abs" / "antre.db"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    url = f"sqlite:///{target}"
    assert url.startswith("sqlite:////")
    log = open_log(url)
    try:
        await log.append("pkm", 0, payloads("a"))
    finally:
        await log.close()
    assert target.is_file()
    assert list(elsewhere.iterdir()) == []


@pytest.mark.anyio
async def test_database_is_in_wal_mode_with_full_sync(tmp_path: Path):
    """The file is in WAL mode and events land in the documented table, one row per event."""
    path = tmp_path / "antre.db"
    log = SqliteLog(path)
    try:
        await log.append("pkm", 0, payloads("a", "b"))
    finally:
        await log.close()
    with sqlite3.connect(path) as conn:
        (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
        rows = conn.execute("SELECT facility, seq FROM events ORDER BY seq").fetchall()
    conn.close()
    assert mode == "wal"
    assert rows == [("pkm", 1), ("pkm", 2)]


@pytest.mark.anyio
async def test_handles_opening_a_fresh_file_together_both_work(tmp_path: Path):
    """Two handles (a follower and a writer) that first touch a new file at once both succeed.

    Switching a new file to WAL can meet "database is locked" without SQLite's busy handler; the
    log retries it. Forty fresh files make the race near-certain to occur at least once.
    """
    for i in range(40):
        reader, writer = SqliteLog(tmp_path / f"fresh-{i}.db"), SqliteLog(tmp_path / f"fresh-{i}.db")
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(reader.read, "pkm")
                tg.start_soon(writer.append, "pkm", 0, payloads("a"))
            assert await reader.last_position("pkm") == 1
        finally:
            await reader.close()
            await writer.close()
