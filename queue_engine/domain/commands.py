"""Commands: what someone asks the engine to do. Each carries its time and any new ids."""

from __future__ import annotations

from dataclasses import dataclass

from .ids import CounterId, Millis, ServiceCode, TicketId, TicketToken
from .model import Channel, Payer, Priority
from .modules import ModuleCommand


@dataclass(frozen=True, slots=True, kw_only=True)
class IssueTicket:
    """Take a number. ``idempotency_key`` makes a retried or double-tapped request safe."""

    at: Millis
    ticket_id: TicketId
    token: TicketToken
    service: ServiceCode
    priority: Priority = Priority.UMUM
    channel: Channel = Channel.KIOSK
    payer: Payer = Payer.UMUM
    appointment_at: Millis | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckIn:
    """A remote ticket's holder arrived at the facility."""

    at: Millis
    ticket_id: TicketId


@dataclass(frozen=True, slots=True, kw_only=True)
class CallNext:
    """Call the best waiting ticket across the counter's services.

    With ``complete_current`` the counter's called or serving ticket is completed first,
    in the same atomic step (the usual "next patient" button).
    """

    at: Millis
    counter: CounterId
    actor: str = ""
    complete_current: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class CallTicket:
    """Call one ticket out of order; who and why are recorded."""

    at: Millis
    counter: CounterId
    ticket_id: TicketId
    actor: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Recall:
    at: Millis
    counter: CounterId
    actor: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class StartService:
    at: Millis
    counter: CounterId
    actor: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Complete:
    """Finish the counter's ticket; with ``next_service`` the visit goes on to that stage."""

    at: Millis
    counter: CounterId
    actor: str = ""
    next_service: ServiceCode | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MarkMissed:
    """The called person did not come (skip)."""

    at: Millis
    counter: CounterId
    actor: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Requeue:
    """Put a missed ticket back in line, ``policy.requeue_places`` behind the head."""

    at: Millis
    ticket_id: TicketId
    actor: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Cancel:
    at: Millis
    ticket_id: TicketId
    actor: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Transfer:
    """Move a ticket to another service's queue (it gets that service's next number)."""

    at: Millis
    ticket_id: TicketId
    to_service: ServiceCode
    actor: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenCounter:
    at: Millis
    counter: CounterId
    actor: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class PauseCounter:
    at: Millis
    counter: CounterId
    reason: str
    actor: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CloseCounter:
    at: Millis
    counter: CounterId
    actor: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Undo:
    """Take back the counter's last call, skip or completion, within ``policy.undo_window_s``.

    The log is never edited: undoing appends a compensating event.
    """

    at: Millis
    counter: CounterId
    actor: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Keyed:
    """Run ``command`` at most once per ``key``.

    A client that sent a command and lost the reply cannot know whether it was written (it may
    have been, on any node). Sent again with the same key, it gets the first outcome and changes
    nothing. Keys live for the local day; the caller scopes them (e.g. per staff account).
    """

    key: str
    command: Command

    @property
    def at(self) -> Millis:
        return self.command.at


Command = (
    IssueTicket
    | CheckIn
    | CallNext
    | CallTicket
    | Recall
    | StartService
    | Complete
    | MarkMissed
    | Requeue
    | Cancel
    | Transfer
    | OpenCounter
    | PauseCounter
    | CloseCounter
    | Undo
    | Keyed
    | ModuleCommand
)
