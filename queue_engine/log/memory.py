"""In-process log for tests, benchmarks and demos: the same semantics, no durability."""

from __future__ import annotations

from collections.abc import Sequence

from .base import LogConflict, Record, Snapshot


class MemoryLog:
    """An :class:`~queue_engine.log.base.EventLog` kept in a dict of lists."""

    def __init__(self) -> None:
        self._events: dict[str, list[bytes]] = {}
        self._snapshots: dict[str, Snapshot] = {}

    async def append(self, facility: str, expected: int, payloads: Sequence[bytes]) -> int:
        events = self._events.setdefault(facility, [])
        if len(events) != expected:
            raise LogConflict(expected, len(events))
        events.extend(payloads)
        return len(events)

    async def read(self, facility: str, after: int = 0, limit: int | None = None) -> list[Record]:
        events = self._events.get(facility, [])
        end = len(events) if limit is None else min(len(events), after + limit)
        return [Record(i + 1, events[i]) for i in range(after, end)]

    async def last_position(self, facility: str) -> int:
        return len(self._events.get(facility, []))

    async def save_snapshot(self, facility: str, snapshot: Snapshot) -> None:
        current = self._snapshots.get(facility)
        if current is None or snapshot.position >= current.position:
            self._snapshots[facility] = snapshot

    async def load_snapshot(self, facility: str) -> Snapshot | None:
        return self._snapshots.get(facility)

    async def close(self) -> None:
        return None
