"""Read models rendered from the state at a given time. Numbers and ids only: no names, no NIK.

Positions and ETAs are derived here, O(log n) per ticket, only for tickets someone watches.
"""

from __future__ import annotations

from dataclasses import dataclass

from .eta import Estimate
from .forecast import people_ahead, ticket_eta
from .ids import CounterId, Millis, ServiceCode, TicketId
from .state import FacilityState, Ticket
from .status import TicketStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketView:
    """What a patient sees of their own ticket."""

    ticket_id: TicketId
    number: str
    service: ServiceCode
    status: TicketStatus
    checked_in: bool
    people_ahead: int | None
    eta: Estimate | None
    counter: CounterId | None
    position_log: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CounterView:
    counter: CounterId
    status: str
    pause_reason: str
    number: str | None
    ticket_status: TicketStatus | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceQueueView:
    service: ServiceCode
    waiting: int
    next_numbers: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class BoardView:
    """What a TV board shows: counters with their current number, and who is next per service."""

    counters: tuple[CounterView, ...]
    queues: tuple[ServiceQueueView, ...]
    position_log: int


def ticket_view(state: FacilityState, ticket: Ticket, now: Millis) -> TicketView:
    ahead = people_ahead(state, ticket)
    return TicketView(
        ticket_id=ticket.id,
        number=ticket.number,
        service=ticket.service,
        status=ticket.status,
        checked_in=ticket.checked_in,
        people_ahead=ahead,
        eta=None if ahead is None else ticket_eta(state, ticket, ahead, now),
        counter=ticket.counter,
        position_log=state.position,
    )


def counter_view(state: FacilityState, counter: CounterId) -> CounterView:
    cs = state.counters[counter]
    ticket = state.tickets[cs.ticket] if cs.ticket is not None else None
    return CounterView(
        counter=counter,
        status=cs.status.value,
        pause_reason=cs.pause_reason,
        number=ticket.number if ticket else None,
        ticket_status=ticket.status if ticket else None,
    )


def queue_view(state: FacilityState, service: ServiceCode, limit: int = 5) -> ServiceQueueView:
    waitlist = state.services[service].waitlist
    upcoming = waitlist.upcoming(state.facility.policy.priority_ratio, limit)
    return ServiceQueueView(
        service=service,
        waiting=waitlist.present_count(),
        next_numbers=tuple(state.tickets[t].number for t in upcoming),
    )


def board_view(state: FacilityState, services: tuple[ServiceCode, ...] = (), limit: int = 5) -> BoardView:
    """The board for a display showing ``services`` (all when empty)."""
    shown = services or tuple(state.facility.services)
    counters = tuple(
        counter_view(state, c.id)
        for c in state.facility.counters.values()
        if not services or any(s in shown for s in c.services)
    )
    return BoardView(
        counters=counters,
        queues=tuple(queue_view(state, s, limit) for s in shown),
        position_log=state.position,
    )
