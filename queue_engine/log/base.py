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

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol


class LogError(Exception):
    """Base of the log layer's errors."""

    code = "log_error"


#: At most this many records come with a :class:`LogConflict` (the ones the loser missed).
CONFLICT_RECORDS = 64


class LogConflict(LogError):
    """Another writer appended first; nothing was written.

    ``records`` are the records after ``expected`` that the loser missed, in order, at most
    :data:`CONFLICT_RECORDS` of them (all of them when fewer), read in the same atomic step as the
    failed compare: a loser catches up from them without another round trip to the store. A
    backend that trims may return fewer (or none); ``read`` is then the way to the rest.
    """

    code = "log_conflict"

    def __init__(self, expected: int, actual: int, records: Sequence[Record] = ()) -> None:
        super().__init__(f"expected position {expected}, log is at {actual}")
        self.expected = expected
        self.actual = actual
        self.records = tuple(records)


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

    def tail(self, facility: str, after: int = 0) -> AsyncIterator[Record]:
        """Follow the facility's log: every record with position > ``after``, then each new one as it lands.

        The iterator first yields what is already stored after ``after``, then waits for appends made
        through *any* handle on the same store (another engine node included) and yields those. Records
        come in position order, each once per iterator. It never ends by itself: stop it by cancelling
        the task that iterates (a wait in progress is cancellable) or with ``aclose()``. How a backend
        waits differs (Redis: ``XREAD BLOCK``; memory: a condition; SQLite: polling with a back-off);
        nothing else does.

        A backend that trims behind snapshots may have dropped records after an old ``after``; the
        first record then has a position above ``after + 1``, and the caller must load the snapshot.

        Raises:
            LogUnavailable: the store failed; the iterator is finished. Resume with
                ``tail(facility, after=<last position seen>)`` once the store is back.
        """
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
