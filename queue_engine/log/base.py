"""The event-log protocol every backend implements, and its errors.

A log holds, per facility, a gap-free sequence of encoded events numbered from 1. ``append``
is a compare-and-append: it writes only if the facility's last position is ``expected``,
and it returns only once the events are durable. That is what lets several engine nodes share
one log (the loser of a race gets :class:`LogConflict`, catches up and decides again) and what
makes an acknowledged command safe from crashes.

Errors::

    LogError
    ├── LogConflict      the log moved on since ``expected``; nothing was written
    └── LogUnavailable   the store cannot be reached or written; nothing was acknowledged
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


class LogError(Exception):
    """Base of the log layer's errors."""

    code = "log_error"


class LogConflict(LogError):
    """Another writer appended first; nothing was written."""

    code = "log_conflict"

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"expected position {expected}, log is at {actual}")
        self.expected = expected
        self.actual = actual


class LogUnavailable(LogError):
    """The store cannot be reached or written right now; retry later."""

    code = "log_unavailable"
    retry_after_s = 2


@dataclass(frozen=True, slots=True)
class Record:
    """One stored event: its 1-based position in the facility's log and its encoded bytes."""

    position: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A state snapshot taken after the event at ``position``."""

    position: int
    payload: bytes


class EventLog(Protocol):
    """Durable, ordered, per-facility storage of encoded events and snapshots."""

    async def append(self, facility: str, expected: int, payloads: Sequence[bytes]) -> int:
        """Append ``payloads`` after position ``expected``; return the new last position.

        Raises:
            LogConflict: the facility's last position is not ``expected``.
            LogUnavailable: the store failed; nothing is acknowledged.
        """
        ...

    async def read(self, facility: str, after: int = 0, limit: int | None = None) -> list[Record]:
        """Records with position > ``after`` in order, at most ``limit`` of them."""
        ...

    async def last_position(self, facility: str) -> int:
        """The position of the facility's last event (0 when empty)."""
        ...

    async def save_snapshot(self, facility: str, snapshot: Snapshot) -> None:
        """Store a snapshot; the newest one wins."""
        ...

    async def load_snapshot(self, facility: str) -> Snapshot | None:
        """The newest snapshot, if any."""
        ...

    async def close(self) -> None:
        """Release connections and threads."""
        ...
