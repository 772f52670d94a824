"""In-process log for tests, benchmarks and demos: the same semantics, no durability.

``tail`` waits on one :class:`asyncio.Condition` that every non-empty append notifies, so a
follower wakes exactly when there is something to read and never polls.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from .base import CONFLICT_RECORDS, LogConflict, Record, Snapshot


class MemoryLog:
    """An :class:`~queue_engine.log.base.EventLog` kept in a dict of lists."""

    def __init__(self) -> None:
        self._events: dict[str, list[bytes]] = {}
        self._snapshots: dict[str, Snapshot] = {}
        # Bound to an event loop only when a follower first waits (Python >= 3.10).
        self._appended = asyncio.Condition()

    async def append(self, facility: str, expected: int, payloads: Sequence[bytes]) -> int:
        events = self._events.setdefault(facility, [])
        if len(events) != expected:
            missed = [Record(i + 1, events[i]) for i in range(expected, min(len(events), expected + CONFLICT_RECORDS))]
            raise LogConflict(expected, len(events), missed)
        events.extend(payloads)
        if payloads:
            async with self._appended:
                self._appended.notify_all()
        return len(events)

    async def read(self, facility: str, after: int = 0, limit: int | None = None) -> list[Record]:
        events = self._events.get(facility, [])
        end = len(events) if limit is None else min(len(events), after + limit)
        return [Record(i + 1, events[i]) for i in range(after, end)]

    async def last_position(self, facility: str) -> int:
        return len(self._events.get(facility, []))

    async def tail(self, facility: str, after: int = 0) -> AsyncIterator[Record]:
        position = after
        while True:
            async with self._appended:
                while len(self._events.get(facility, ())) <= position:
                    await self._appended.wait()
            # Yield outside the condition's lock: a slow consumer must never hold up appends.
            for record in await self.read(facility, position):
                position = record.position
                yield record

    async def save_snapshot(self, facility: str, snapshot: Snapshot) -> None:
        current = self._snapshots.get(facility)
        if current is None or snapshot.position >= current.position:
            self._snapshots[facility] = snapshot

    async def load_snapshot(self, facility: str) -> Snapshot | None:
        return self._snapshots.get(facility)

    async def close(self) -> None:
        return None
