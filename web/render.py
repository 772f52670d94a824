"""JSON renderings of the engine's views, shared by the HTTP API and WebSocket push.

Numbers, ids and names of services and counters only: never a patient's name or NIK, and a
ticket's tracking token only in the response to whoever created or holds it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from display_board.announce import announcement
from queue_engine.domain.deltas import Announced
from queue_engine.domain.eta import Estimate
from queue_engine.domain.forecast import people_ahead
from queue_engine.domain.ids import CounterId, Millis, ServiceCode
from queue_engine.domain.model import Display, Facility
from queue_engine.domain.state import FacilityState, Ticket
from queue_engine.domain.status import TicketStatus
from queue_engine.domain.views import board_view, ticket_view

STEP = 5 * 60_000  # ranges are shown rounded outward to 5 minutes


def hhmm(at: Millis, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(at / 1000, tz).strftime("%H:%M")


def eta_json(est: Estimate, tz: ZoneInfo) -> dict[str, Any]:
    low = est.earliest - est.earliest % STEP
    high = est.latest + (-est.latest) % STEP
    return {
        "at": est.at,
        "earliest": low,
        "latest": high,
        "text": f"{hhmm(low, tz)}\u2013{hhmm(high, tz)}",  # an en dash, as clocks are written
    }


def ticket_json(state: FacilityState, ticket: Ticket, now: Millis) -> dict[str, Any]:
    """What the ticket's holder sees (no token: they already have it)."""
    view = ticket_view(state, ticket, now)
    facility = state.facility
    counter = facility.counters.get(view.counter) if view.counter else None
    return {
        "number": view.number,
        "service": view.service,
        "service_name": facility.services[view.service].name,
        "status": view.status.value,
        "checked_in": view.checked_in,
        "people_ahead": view.people_ahead,
        "eta": eta_json(view.eta, state.tz) if view.eta else None,
        "counter": view.counter,
        "counter_name": counter.name if counter else None,
        "issued_at": ticket.issued_at,
        "appointment_at": ticket.appointment_at,
        "position": view.position_log,
    }


def board_json(state: FacilityState, display: Display | None, now: Millis) -> dict[str, Any]:
    """A board's full content: counters with current numbers, next numbers per service."""
    facility = state.facility
    view = board_view(state, display.services if display else ())
    return {
        "facility": facility.name,
        "display": display.id if display else None,
        "display_name": display.name if display else facility.name,
        "now": now,
        "counters": [
            {
                "counter": c.counter,
                "name": facility.counters[c.counter].name,
                "status": c.status,
                "number": c.number,
                "ticket_status": c.ticket_status.value if c.ticket_status else None,
            }
            for c in view.counters
        ],
        "queues": [
            {
                "service": q.service,
                "name": facility.services[q.service].name,
                "waiting": q.waiting,
                "next": list(q.next_numbers),
            }
            for q in view.queues
        ],
        "position": view.position_log,
    }


def call_json(facility: Facility, delta: Announced) -> dict[str, Any]:
    """A call for boards: number, counter, service, and the Indonesian announcement."""
    counter_name = facility.counters[delta.counter].name
    return {
        "counter": delta.counter,
        "counter_name": counter_name,
        "number": delta.number,
        "service": delta.service,
        "service_name": facility.services[delta.service].name,
        "recall": delta.recall,
        "speech": announcement(delta.number, counter_name),
    }


#: waiting tickets shown per service to staff (the next ones: a console shows no more; at 10,000 waiting,
#: rendering them all with their places cost each call-next answer and counter push a tenth of a second)
WAITING_SHOWN = 200


def waiting_json(state: FacilityState, services: tuple[ServiceCode, ...], now: Millis) -> list[dict[str, Any]]:
    """The next waiting tickets of some services (at most :data:`WAITING_SHOWN` each), in call order,
    with why each is where it is (staff only)."""
    out: list[dict[str, Any]] = []
    ratio = state.facility.policy.priority_ratio
    for code in services:
        waitlist = state.services[code].waitlist
        # In call order; then the remote tickets not checked in yet, which keep a place but are passed over.
        pending = sorted(entry for entries in waitlist.pending.values() for entry in entries)
        upcoming = waitlist.upcoming(ratio, limit=WAITING_SHOWN)
        for ticket_id in [*upcoming, *(tid for _, tid in pending)][:WAITING_SHOWN]:
            ticket = state.tickets[ticket_id]
            out.append(
                {
                    "ticket_id": ticket.id,
                    "number": ticket.number,
                    "service": code,
                    "priority": ticket.priority.value,
                    "lane": ticket.lane.value,
                    "channel": ticket.channel.value,
                    "appointment_at": ticket.appointment_at,
                    "checked_in": ticket.checked_in,
                    "people_ahead": people_ahead(state, ticket),
                    "waiting_since": ticket.issued_at,
                }
            )
    return out


#: calls listed with a board, newest first
LAST_CALLS = 6
_AT_COUNTER = (TicketStatus.CALLED, TicketStatus.SERVING)


def last_calls(state: FacilityState, display: Display) -> list[dict[str, Any]]:
    """The tickets now called or served at the display's counters, newest call first."""
    shown = set(display.services or state.facility.services)
    standing = []
    for counter in state.facility.counters.values():
        ticket_id = state.counters[counter.id].ticket
        ticket = state.tickets.get(ticket_id) if ticket_id is not None else None
        if ticket is not None and ticket.status in _AT_COUNTER and ticket.service in shown:
            standing.append((ticket.called_at or 0, counter.id, ticket))
    standing.sort(key=lambda item: item[0], reverse=True)
    facility = state.facility
    return [
        {
            **call_json(facility, Announced(counter, ticket.id, ticket.number, ticket.service, recall=False)),
            "at": called_at,
        }
        for called_at, counter, ticket in standing[:LAST_CALLS]
    ]


def counter_json(state: FacilityState, counter_id: CounterId, now: Millis) -> dict[str, Any]:
    """``{counter, name, status, pause_reason, current, waiting, undo, position}`` for the staff console."""
    counter = state.facility.counters[counter_id]
    cs = state.counters[counter_id]
    ticket = state.tickets.get(cs.ticket) if cs.ticket is not None else None
    until = cs.undo_at + state.facility.policy.undo_window_s * 1000
    return {
        "counter": counter.id,
        "name": counter.name,
        "status": cs.status.value,
        "pause_reason": cs.pause_reason,
        "current": None
        if ticket is None
        else {
            "ticket_id": ticket.id,
            "number": ticket.number,
            "status": ticket.status.value,
            "service": ticket.service,
        },
        "waiting": waiting_json(state, counter.services, now),
        "missed": missed_json(state, counter.services),
        # A hint for the undo button: the core re-checks everything when the undo is submitted.
        "undo": {"action": cs.undoable, "until": until} if cs.undoable is not None and now <= until else None,
        "position": state.position,
    }


#: (id of the state, its log position) -> its missed tickets, latest call first (see ``_all_missed``)
_MISSED_CACHE: dict[tuple[int, int], list[Ticket]] = {}


def _all_missed(state: FacilityState) -> list[Ticket]:
    """Every missed ticket, latest call first, found once per log position.

    Every counter answer and counter push shows the missed list; scanning all of the day's tickets
    for each of them cost a fifth of the server's time under load. Nothing changes a state without
    moving its position, so the scan is kept until it moves (for the last few states seen).
    """
    key = (id(state), state.position)
    found = _MISSED_CACHE.get(key)
    if found is None:
        found = [t for t in state.tickets.values() if t.status is TicketStatus.MISSED]
        found.sort(key=lambda t: t.called_at or 0, reverse=True)
        if len(_MISSED_CACHE) >= 8:
            _MISSED_CACHE.clear()
        _MISSED_CACHE[key] = found
    return found


def missed_json(state: FacilityState, services: tuple[ServiceCode, ...], limit: int = 20) -> list[dict[str, Any]]:
    """Today's missed tickets of some services, latest call first: staff may requeue them."""
    shown: list[dict[str, Any]] = []
    for t in _all_missed(state):
        if t.service in services:
            shown.append({"ticket_id": t.id, "number": t.number, "service": t.service, "at": t.called_at})
            if len(shown) == limit:
                break
    return shown
