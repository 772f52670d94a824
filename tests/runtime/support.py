"""Test support for the runtime: a fixed morning, command builders, and a spy around a real log."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from queue_engine import (
    CallNext,
    Complete,
    CounterId,
    Facility,
    IssueTicket,
    ManualClock,
    OpenCounter,
    Runtime,
    SequentialIds,
    ServiceCode,
    StartService,
)
from queue_engine.domain.ids import Millis
from queue_engine.log import EventLog, LogUnavailable, Record, Snapshot

#: Thursday 26 November 2026, 08:00 in Jakarta: every demo service is open.
THURSDAY_0800: Millis = int(datetime(2026, 11, 26, 8, 0, tzinfo=ZoneInfo("Asia/Jakarta")).timestamp() * 1000)

LOKET = ServiceCode("LOKET")
LAB = ServiceCode("LAB")
APOTEK = ServiceCode("APOTEK")
LOKET_1 = CounterId("loket-1")
LOKET_2 = CounterId("loket-2")


class SpyLog:
    """A real log, wrapped to count appends and reads, hold appends at a gate, or fail them.

    Not a fake: every call that is not made to fail is delegated to the real backend.
    """

    def __init__(self, inner: EventLog) -> None:
        self.inner = inner
        #: number of events in each successful append call, in order
        self.appends: list[int] = []
        self.failed_appends = 0
        #: ``after`` of every read call, in order
        self.reads: list[int] = []
        #: the last position the real log acknowledged
        self.durable = 0
        #: raise LogUnavailable on this many coming appends (nothing reaches the real log)
        self.fail_next = 0
        #: when set, appends wait for it (``entered`` is set once one is waiting)
        self.gate: asyncio.Event | None = None
        self.entered = asyncio.Event()
        #: awaited before every append is delegated (e.g. another node writing first)
        self.before_append: Callable[[], Awaitable[None]] | None = None
        #: every call raises LogUnavailable (the store is unreachable)
        self.down = False
        #: save_snapshot raises LogUnavailable
        self.fail_snapshots = False
        #: this many coming appends are written, then LogUnavailable is raised (a lost reply)
        self.lose_next_reply = 0

    def _check(self) -> None:
        if self.down:
            raise LogUnavailable("injected: store unreachable")

    async def append(self, facility: str, expected: int, payloads: Sequence[bytes]) -> int:
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        self._check()
        if self.fail_next:
            self.fail_next -= 1
            self.failed_appends += 1
            raise LogUnavailable("injected failure")
        if self.before_append is not None:
            await self.before_append()
        position = await self.inner.append(facility, expected, payloads)
        self.appends.append(len(payloads))
        self.durable = position
        if self.lose_next_reply:
            self.lose_next_reply -= 1
            raise LogUnavailable("injected: written, but the reply was lost")
        return position

    async def read(self, facility: str, after: int = 0, limit: int | None = None) -> list[Record]:
        self._check()
        self.reads.append(after)
        return await self.inner.read(facility, after, limit)

    async def last_position(self, facility: str) -> int:
        self._check()
        return await self.inner.last_position(facility)

    async def tail(self, facility: str, after: int = 0) -> AsyncIterator[Record]:
        self._check()
        async for record in self.inner.tail(facility, after):
            yield record

    async def save_snapshot(self, facility: str, snapshot: Snapshot) -> None:
        self._check()
        if self.fail_snapshots:
            raise LogUnavailable("injected: snapshot not saved")
        await self.inner.save_snapshot(facility, snapshot)

    async def load_snapshot(self, facility: str) -> Snapshot | None:
        self._check()
        return await self.inner.load_snapshot(facility)

    async def close(self) -> None:
        await self.inner.close()


@dataclass
class Env:
    """One test's facility, clock, ids and log store; everything it opens is closed at the end."""

    facility: Facility
    clock: ManualClock
    ids: SequentialIds
    stack: AsyncExitStack
    connect: Callable[[], EventLog]
    backend: str

    def log(self) -> EventLog:
        """A new handle on this test's store (for SQLite: its own connection to the same file)."""
        log = self.connect()
        self.stack.push_async_callback(log.close)
        return log

    async def runtime(self, log: EventLog | None = None, **options: Any) -> Runtime:
        """A started Runtime over ``log`` (a new handle by default), closed at the end of the test."""
        options.setdefault("clock", self.clock)
        options.setdefault("ids", self.ids)
        runtime = Runtime(self.facility, log if log is not None else self.log(), **options)
        await runtime.start()
        self.stack.push_async_callback(runtime.close)
        return runtime

    def issue(self, service: ServiceCode = LOKET, *, ids: SequentialIds | None = None, **kw: Any) -> IssueTicket:
        source = ids or self.ids
        return IssueTicket(
            at=self.clock.now(), ticket_id=source.ticket_id(), token=source.token(), service=service, **kw
        )

    def open_counter(self, counter: CounterId = LOKET_1) -> OpenCounter:
        return OpenCounter(at=self.clock.now(), counter=counter, actor="petugas")

    def call_next(self, counter: CounterId = LOKET_1, **kw: Any) -> CallNext:
        return CallNext(at=self.clock.now(), counter=counter, actor="petugas", **kw)

    def start(self, counter: CounterId = LOKET_1) -> StartService:
        return StartService(at=self.clock.now(), counter=counter, actor="petugas")

    def complete(self, counter: CounterId = LOKET_1, **kw: Any) -> Complete:
        return Complete(at=self.clock.now(), counter=counter, actor="petugas", **kw)
