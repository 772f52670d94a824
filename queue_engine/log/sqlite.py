"""The embedded default log: one SQLite file in WAL mode.

Durability: ``synchronous=FULL`` makes every commit fsync the WAL, and ``append`` returns only
after its transaction committed, so an acknowledged command survives a crash or power cut.
A transaction either lands whole or not at all, so a killed writer never leaves half an event.
Many events (a whole batch of commands, "group commit") share one transaction and one fsync.

All SQLite calls run on one dedicated thread, never on the event loop.

Following (``tail``): SQLite cannot notify another connection, let alone another process, that a
row landed, so a follower polls. Each poll is one indexed range query (``read`` with a limit),
so news costs no extra round trip. While idle the interval doubles from 50 ms to at most 1 s
(:data:`POLL_MIN_S`, :data:`POLL_MAX_S`), and it drops back to 50 ms as soon as records arrive:
a busy facility is followed within about 50 ms, an idle one costs one query a second. Cancel the
iterating task before :meth:`SqliteLog.close`.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from .base import CONFLICT_RECORDS, LogConflict, LogUnavailable, Record, Snapshot

T = TypeVar("T")

#: ``tail`` polling interval right after records arrived, and the most it backs off to while idle.
POLL_MIN_S = 0.05
POLL_MAX_S = 1.0
#: records ``tail`` reads per poll
TAIL_CHUNK = 512
#: how long a connection waits for another connection's lock
BUSY_TIMEOUT_S = 5.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    facility TEXT NOT NULL,
    seq INTEGER NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (facility, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS snapshots (
    facility TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    payload BLOB NOT NULL
);
"""


def _enable_wal(conn: sqlite3.Connection) -> None:
    """Switch the file to WAL, waiting out another connection that holds a lock.

    Switching takes an exclusive lock, and SQLite answers ``database is locked`` at once, without
    the busy handler, while another connection is writing (waiting could deadlock). That happens when
    two handles open a fresh file together (a follower and a writer), so retry until the busy timeout.
    This runs on the log's own thread, never on the event loop.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


class SqliteLog:
    """An :class:`~queue_engine.log.base.EventLog` in one SQLite database file."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="antre-sqlite")
        self._conn: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_S)
            try:
                _enable_wal(conn)
                conn.execute("PRAGMA synchronous=FULL")
                conn.executescript(SCHEMA)
            except BaseException:
                conn.close()  # the next call tries again with a new connection
                raise
            self._conn = conn
        return self._conn

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            try:
                return fn(self._connect())
            except sqlite3.Error as exc:
                raise LogUnavailable(f"sqlite: {exc}") from exc

        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def append(self, facility: str, expected: int, payloads: Sequence[bytes]) -> int:
        rows = [(facility, expected + i + 1, p.decode()) for i, p in enumerate(payloads)]

        def write(conn: sqlite3.Connection) -> int:
            conn.execute("BEGIN IMMEDIATE")
            try:
                (last,) = conn.execute(
                    "SELECT coalesce(max(seq), 0) FROM events WHERE facility = ?", (facility,)
                ).fetchone()
                if last != expected:
                    missed = conn.execute(
                        "SELECT seq, payload FROM events WHERE facility = ? AND seq > ? ORDER BY seq LIMIT ?",
                        (facility, expected, CONFLICT_RECORDS),
                    )
                    raise LogConflict(expected, last, [Record(seq, payload.encode()) for seq, payload in missed])
                conn.executemany("INSERT INTO events (facility, seq, payload) VALUES (?, ?, ?)", rows)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return expected + len(rows)

        return await self._run(write)

    async def read(self, facility: str, after: int = 0, limit: int | None = None) -> list[Record]:
        def query(conn: sqlite3.Connection) -> list[Record]:
            cur = conn.execute(
                "SELECT seq, payload FROM events WHERE facility = ? AND seq > ? ORDER BY seq LIMIT ?",
                (facility, after, -1 if limit is None else limit),
            )
            return [Record(seq, payload.encode()) for seq, payload in cur]

        return await self._run(query)

    async def last_position(self, facility: str) -> int:
        def query(conn: sqlite3.Connection) -> int:
            (last,) = conn.execute(
                "SELECT coalesce(max(seq), 0) FROM events WHERE facility = ?", (facility,)
            ).fetchone()
            return int(last)

        return await self._run(query)

    async def tail(self, facility: str, after: int = 0) -> AsyncIterator[Record]:
        position, delay = after, POLL_MIN_S
        while True:
            records = await self.read(facility, position, TAIL_CHUNK)
            if not records:
                await asyncio.sleep(delay)  # no notification in SQLite: back off while idle
                delay = min(delay * 2, POLL_MAX_S)
                continue
            delay = POLL_MIN_S
            for record in records:
                position = record.position
                yield record

    async def save_snapshot(self, facility: str, snapshot: Snapshot) -> None:
        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO snapshots (facility, position, payload) VALUES (?, ?, ?) "
                "ON CONFLICT (facility) DO UPDATE SET position = excluded.position, payload = excluded.payload "
                "WHERE excluded.position >= snapshots.position",
                (facility, snapshot.position, snapshot.payload),
            )

        await self._run(write)

    async def load_snapshot(self, facility: str) -> Snapshot | None:
        def query(conn: sqlite3.Connection) -> Snapshot | None:
            row = conn.execute("SELECT position, payload FROM snapshots WHERE facility = ?", (facility,)).fetchone()
            return None if row is None else Snapshot(row[0], bytes(row[1]))

        return await self._run(query)

    async def close(self) -> None:
        def shut(conn: sqlite3.Connection) -> None:
            conn.close()

        if self._conn is not None:
            await self._run(shut)
            self._conn = None
        self._executor.shutdown(wait=True)
