"""Positions and estimated call times of waiting tickets. Pure; O(log n) per ticket."""

from __future__ import annotations

from .eta import Estimate, estimate, plain_wait
from .ids import Millis, ServiceCode, TicketId
from .model import Lane
from .ordering import Key
from .state import FacilityState, Ticket
from .status import TicketStatus

MINUTE = 60_000


def people_ahead(state: FacilityState, ticket: Ticket) -> int | None:
    """Calls expected before this ticket's call, or None when it is not waiting."""
    if ticket.status is not TicketStatus.WAITING:
        return None
    waitlist = state.services[ticket.service].waitlist
    return waitlist.position(ticket.lane, ticket.key, ticket.id, state.facility.policy.priority_ratio)


def start_of_wait(
    state: FacilityState, code: ServiceCode, appointment_at: Millis | None, now: Millis, counters_open: bool
) -> Millis:
    """When the queue starts moving for a ticket: now, its slot, or the service's opening."""
    start = now
    if appointment_at is not None and appointment_at > start:
        start = appointment_at
    service = state.facility.services[code]
    if not counters_open and service.hours:
        weekday, minute = state.local_clock(start)
        windows = service.hours.get(weekday, ())
        if not any(a <= minute < b for a, b in windows):
            later = [a for a, _ in windows if a > minute]
            if later:
                start += (min(later) - minute) * MINUTE
    return start


def plain(
    state: FacilityState, code: ServiceCode, appointment_at: Millis | None, ahead: int, now: Millis
) -> tuple[Millis, float]:
    """(start of the wait, plain-model wait in ms) for a ticket of ``code`` with ``ahead`` before it."""
    servers, idle = state.open_share(code)
    counters_open = servers > 0
    if not counters_open:
        # Nobody is open yet: assume the configured counters will open.
        servers = sum(1.0 / len(c.services) for c in state.facility.counters_serving(code)) or 1.0
        idle = 0.0
    stats = state.services[code].stats
    wait = plain_wait(stats, position=ahead, servers=servers, idle=idle)
    return start_of_wait(state, code, appointment_at, now, counters_open), wait


def join_prediction(
    state: FacilityState,
    code: ServiceCode,
    lane: Lane,
    key: Key,
    ticket_id: TicketId,
    appointment_at: Millis | None,
    now: Millis,
) -> tuple[Millis, int]:
    """What the plain model predicts for a ticket about to join ``code``'s present queue at ``key``.

    ``decide`` puts this in the joining event; the real wait, at the call, calibrates the ETA.
    """
    ahead = state.services[code].waitlist.position(lane, key, ticket_id, state.facility.policy.priority_ratio)
    start, wait = plain(state, code, appointment_at, ahead, now)
    return start, round(wait)


def ticket_eta(state: FacilityState, ticket: Ticket, ahead: int, now: Millis) -> Estimate:
    """The calibrated estimated call time of a waiting ticket with ``ahead`` calls before it."""
    start, wait = plain(state, ticket.service, ticket.appointment_at, ahead, now)
    calibration = state.services[ticket.service].calibration[ticket.lane]
    return estimate(wait, calibration, start=start, coverage=state.facility.policy.eta_coverage)
