"""Events: what happened. Frozen values with a stable ``TYPE`` and ``VERSION`` each.

Decide computes every number an event needs (ticket numbers, whether a late check-in kept
its place), so applying an event never has to decide anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .ids import CounterId, Millis, ServiceCode, TicketId, TicketToken
from .model import Channel, Payer, Priority
from .modules import ModuleEvent


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketIssued:
    TYPE: ClassVar[str] = "ticket.issued"
    VERSION: ClassVar[int] = 1
    at: Millis
    ticket_id: TicketId
    token: TicketToken
    service: ServiceCode
    number: str
    seq: int
    day: str
    priority: Priority
    channel: Channel
    payer: Payer
    appointment_at: Millis | None
    checked_in: bool
    idempotency_key: str | None
    #: the plain ETA model's prediction when the ticket joined the present queue (calibrates ETAs)
    wait_from: Millis | None = None
    predicted_wait: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketCheckedIn:
    TYPE: ClassVar[str] = "ticket.checked_in"
    VERSION: ClassVar[int] = 1
    at: Millis
    ticket_id: TicketId
    kept_place: bool
    #: the plain ETA model's prediction when the ticket joined the present queue (calibrates ETAs)
    wait_from: Millis | None = None
    predicted_wait: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketCalled:
    TYPE: ClassVar[str] = "ticket.called"
    VERSION: ClassVar[int] = 1
    at: Millis
    ticket_id: TicketId
    counter: CounterId
    actor: str
    out_of_order: bool = False
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketRecalled:
    TYPE: ClassVar[str] = "ticket.recalled"
    VERSION: ClassVar[int] = 1
    at: Millis
    ticket_id: TicketId
    counter: CounterId
    actor: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceStarted:
    TYPE: ClassVar[str] = "ticket.service_started"
    VERSION: ClassVar[int] = 1
    at: Millis
    ticket_id: TicketId
    counter: CounterId
    actor: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketCompleted:
    TYPE: ClassVar[str] = "ticket.completed"
    VERSION: ClassVar[int] = 1
    at: Millis
    ticket_id: TicketId
    counter: CounterId
    actor: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketMissed:
    TYPE: ClassVar[str] = "ticket.missed"
    VERSION: ClassVar[int] = 1
    at: Millis
    ticket_id: TicketId
    counter: CounterId
    actor: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketRequeued:
    TYPE: ClassVar[str] = "ticket.requeued"
    VERSION: ClassVar[int] = 1
    at: Millis
    ticket_id: TicketId
    places: int
    actor: str
    #: the plain ETA model's prediction when the ticket joined the present queue (calibrates ETAs)
    wait_from: Millis | None = None
    predicted_wait: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketCancelled:
    TYPE: ClassVar[str] = "ticket.cancelled"
    VERSION: ClassVar[int] = 1
    at: Millis
    ticket_id: TicketId
    actor: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketTransferred:
    """The visit moves to ``to_service`` with that service's next number (next stage or transfer)."""

    TYPE: ClassVar[str] = "ticket.transferred"
    VERSION: ClassVar[int] = 1
    at: Millis
    ticket_id: TicketId
    to_service: ServiceCode
    number: str
    seq: int
    day: str
    actor: str
    reason: str
    #: the plain ETA model's prediction when the ticket joined the present queue (calibrates ETAs)
    wait_from: Millis | None = None
    predicted_wait: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CounterOpened:
    TYPE: ClassVar[str] = "counter.opened"
    VERSION: ClassVar[int] = 1
    at: Millis
    counter: CounterId
    actor: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CounterPaused:
    TYPE: ClassVar[str] = "counter.paused"
    VERSION: ClassVar[int] = 1
    at: Millis
    counter: CounterId
    actor: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CounterClosed:
    TYPE: ClassVar[str] = "counter.closed"
    VERSION: ClassVar[int] = 1
    at: Millis
    counter: CounterId
    actor: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionUndone:
    """A compensating event: the counter's last ``action`` ("call", "miss", "complete") is taken back."""

    TYPE: ClassVar[str] = "counter.action_undone"
    VERSION: ClassVar[int] = 1
    at: Millis
    counter: CounterId
    ticket_id: TicketId
    action: str
    actor: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandRecorded:
    """A keyed command (:class:`~queue_engine.domain.commands.Keyed`) was carried out, by the events
    just before this one; ``ticket_id`` is the ticket it concerned."""

    TYPE: ClassVar[str] = "command.recorded"
    VERSION: ClassVar[int] = 1
    at: Millis
    key: str
    ticket_id: TicketId | None


Event = (
    TicketIssued
    | TicketCheckedIn
    | TicketCalled
    | TicketRecalled
    | ServiceStarted
    | TicketCompleted
    | TicketMissed
    | TicketRequeued
    | TicketCancelled
    | TicketTransferred
    | CounterOpened
    | CounterPaused
    | CounterClosed
    | ActionUndone
    | CommandRecorded
    | ModuleEvent
)

EVENT_TYPES: tuple[type[Event], ...] = (
    TicketIssued,
    TicketCheckedIn,
    TicketCalled,
    TicketRecalled,
    ServiceStarted,
    TicketCompleted,
    TicketMissed,
    TicketRequeued,
    TicketCancelled,
    TicketTransferred,
    CounterOpened,
    CounterPaused,
    CounterClosed,
    ActionUndone,
    CommandRecorded,
)
