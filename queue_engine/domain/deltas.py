"""View deltas: the coarse "what changed" that applying an event yields.

The push layer turns them into per-subscriber views (positions are derived at render time,
never stored or emitted per ticket). They carry ids and numbers only, never personal data.
"""

from __future__ import annotations

from dataclasses import dataclass

from .ids import CounterId, ServiceCode, TicketId


@dataclass(frozen=True, slots=True)
class QueueChanged:
    """A service's waiting line changed: every watcher of it may have a new position."""

    service: ServiceCode


@dataclass(frozen=True, slots=True)
class CounterChanged:
    counter: CounterId


@dataclass(frozen=True, slots=True)
class TicketChanged:
    ticket_id: TicketId


@dataclass(frozen=True, slots=True)
class Announced:
    """A number was called (or recalled) to a counter: boards chime and speak."""

    counter: CounterId
    ticket_id: TicketId
    number: str
    service: ServiceCode
    recall: bool


@dataclass(frozen=True, slots=True)
class Recorded:
    """Bookkeeping that no view shows (a keyed command's key): every event yields a delta, so a
    listener can tell an event it was told of from one it missed."""


@dataclass(frozen=True, slots=True)
class ModuleChanged:
    """A module's state changed (its own views re-render; the core's are untouched)."""

    module: str


Delta = QueueChanged | CounterChanged | TicketChanged | Announced | Recorded | ModuleChanged
