"""``apply(state, event)``: the only code that changes a :class:`FacilityState`.

Live operation and replay both go through here, so replay rebuilds exactly the live state.
Events are trusted: ``decide`` already checked them.
"""

from __future__ import annotations

from typing import assert_never

from .deltas import Announced, CounterChanged, Delta, ModuleChanged, QueueChanged, Recorded, TicketChanged
from .events import (
    ActionUndone,
    CommandRecorded,
    CounterClosed,
    CounterOpened,
    CounterPaused,
    Event,
    ServiceStarted,
    TicketCalled,
    TicketCancelled,
    TicketCheckedIn,
    TicketCompleted,
    TicketIssued,
    TicketMissed,
    TicketRecalled,
    TicketRequeued,
    TicketTransferred,
)
from .ids import CounterId, Millis, TicketId
from .model import CounterStatus, Payer
from .modules import ModuleEvent
from .state import FacilityState, Ticket
from .status import TicketStatus


def apply(state: FacilityState, event: Event) -> list[Delta]:  # noqa: C901 - one flat dispatch
    """Fold one event into ``state`` and return the view deltas it causes."""
    state.position += 1
    _advance_clock(state, event.at)
    match event:
        case TicketIssued():
            return _issued(state, event)
        case TicketCheckedIn():
            return _checked_in(state, event)
        case TicketCalled():
            return _called(state, event)
        case TicketRecalled() | ServiceStarted() | TicketMissed():
            return _at_counter(state, event)
        case TicketCompleted():
            return _completed(state, event)
        case TicketRequeued():
            return _requeued(state, event)
        case TicketCancelled():
            return _cancelled(state, event)
        case TicketTransferred():
            return _transferred(state, event)
        case CounterOpened() | CounterPaused() | CounterClosed():
            return _counter(state, event)
        case ActionUndone():
            return _undone(state, event)
        case CommandRecorded():
            state.commands[event.key] = event.ticket_id
            return [Recorded()]
        case ModuleEvent():
            return _module_event(state, event)
        case _:
            assert_never(event)


def _module_event(state: FacilityState, event: ModuleEvent) -> list[Delta]:
    name = event.module()
    module = state.facility.module(name)
    if module is None:
        raise ValueError(f"event {event.TYPE} belongs to module {name!r}, which is not enabled here")
    module.apply(state.modules[name], event)
    return [ModuleChanged(name)]


def _advance_clock(state: FacilityState, at: Millis) -> None:
    if at > state.last_at:
        state.last_at = at
    if at >= state.day_end and state.roll_day(at):
        _forget_finished_days(state)


_FINISHED = (TicketStatus.DONE, TicketStatus.CANCELLED, TicketStatus.MISSED)


def forgets(state: FacilityState, ticket: Ticket, at: Millis) -> bool:
    """Whether an event at ``at`` starts a new local day that drops ``ticket`` (see below).

    ``decide`` treats such a ticket as gone already: an event naming it could not be applied.
    """
    return ticket.status in _FINISHED and at >= state.day_end and state.today != "" and ticket.day < state.local_day(at)


def _forget_finished_days(state: FacilityState) -> None:
    """At the first event of a new local day, drop what earlier days finished.

    Finished tickets stay in the log (the audit trail); the live state keeps what is still
    waiting or in service, and today's and future days' numbering and quotas.
    """
    today = state.today
    gone = [t for t in state.tickets.values() if t.day < today and t.status in _FINISHED]
    for ticket in gone:
        del state.tickets[ticket.id]
        del state.by_token[ticket.token]
    state.day_seq = {k: v for k, v in state.day_seq.items() if k[1] >= today}
    state.quota_used = {k: v for k, v in state.quota_used.items() if k[1] >= today}
    state.idempotency = {k: v for k, v in state.idempotency.items() if v in state.tickets}
    state.commands = {}  # keys live for the local day
    for counter in state.counters.values():
        if counter.last_called is not None and counter.last_called not in state.tickets:
            counter.last_called = None


def _enqueue(
    state: FacilityState, ticket: Ticket, e: TicketIssued | TicketCheckedIn | TicketRequeued | TicketTransferred
) -> None:
    state.services[ticket.service].waitlist.add(ticket.lane, ticket.key, ticket.id, present=ticket.checked_in)
    if ticket.checked_in:
        # Remember the plain model's prediction (decided with the event); the real wait calibrates the ETA.
        ticket.joined_at = e.wait_from
        ticket.predicted_wait = e.predicted_wait


def _dequeue(state: FacilityState, ticket: Ticket) -> None:
    state.services[ticket.service].waitlist.remove(ticket.lane, ticket.key, ticket.id, present=ticket.checked_in)


def _release_counter(state: FacilityState, ticket: Ticket) -> list[Delta]:
    if ticket.counter is None:
        return []
    counter = state.counters[ticket.counter]
    if counter.ticket == ticket.id:
        counter.ticket = None
    ticket.counter = None
    return [CounterChanged(counter.id)]


def _issued(state: FacilityState, e: TicketIssued) -> list[Delta]:
    ticket = Ticket(
        id=e.ticket_id,
        token=e.token,
        service=e.service,
        number=e.number,
        day=e.day,
        priority=e.priority,
        channel=e.channel,
        payer=e.payer,
        issued_at=e.at,
        appointment_at=e.appointment_at,
        checked_in=e.checked_in,
        key=(e.appointment_at if e.appointment_at is not None else e.at, e.seq),
        stages=[e.service],
    )
    state.tickets[ticket.id] = ticket
    state.by_token[ticket.token] = ticket.id
    state.day_seq[(e.service, e.day)] = e.seq
    used = state.quota_used.setdefault((e.service, e.day), [0, 0])
    used[0 if e.payer is Payer.JKN else 1] += 1
    if e.idempotency_key is not None:
        state.idempotency[e.idempotency_key] = ticket.id
    _enqueue(state, ticket, e)
    return [TicketChanged(ticket.id), QueueChanged(ticket.service)]


def _checked_in(state: FacilityState, e: TicketCheckedIn) -> list[Delta]:
    ticket = state.tickets[e.ticket_id]
    _dequeue(state, ticket)
    ticket.checked_in = True
    if not e.kept_place:
        ticket.key = (e.at, ticket.key[1])
    _enqueue(state, ticket, e)
    return [TicketChanged(ticket.id), QueueChanged(ticket.service)]


def _called(state: FacilityState, e: TicketCalled) -> list[Delta]:
    ticket = state.tickets[e.ticket_id]
    deltas: list[Delta] = [TicketChanged(ticket.id), CounterChanged(e.counter)]
    was_waiting = ticket.status is TicketStatus.WAITING
    if was_waiting:
        _dequeue(state, ticket)
        deltas.append(QueueChanged(ticket.service))
        if not e.out_of_order:
            service = state.services[ticket.service]
            service.waitlist.on_called(ticket.lane, ticket.key, e.at, state.facility.policy.priority_ratio)
    if ticket.predicted_wait is not None and ticket.joined_at is not None and not e.out_of_order:
        calibration = state.services[ticket.service].calibration[ticket.lane]
        calibration.observe(ticket.predicted_wait, e.at - ticket.joined_at, state.facility.policy.eta_alpha)
    ticket.joined_at = ticket.predicted_wait = None
    ticket.status = TicketStatus.CALLED
    ticket.checked_in = True
    ticket.counter = e.counter
    ticket.called_at = e.at
    ticket.started_at = None
    ticket.calls += 1
    counter = state.counters[e.counter]
    counter.ticket = ticket.id
    counter.last_called = ticket.id
    # Undoing a call puts the ticket back in line; for a missed ticket called again by hand that
    # would be a place at the head of the line it never had, so such a call cannot be undone.
    _undoable(state, e.counter, "call" if was_waiting else None, ticket.id, e.at)
    deltas.append(Announced(e.counter, ticket.id, ticket.number, ticket.service, recall=False))
    return deltas


def _at_counter(state: FacilityState, e: TicketRecalled | ServiceStarted | TicketMissed) -> list[Delta]:
    ticket = state.tickets[e.ticket_id]
    match e:
        case TicketRecalled():
            ticket.calls += 1
            return [
                TicketChanged(ticket.id),
                Announced(e.counter, ticket.id, ticket.number, ticket.service, recall=True),
            ]
        case ServiceStarted():
            ticket.status = TicketStatus.SERVING
            ticket.started_at = e.at
        case TicketMissed():
            ticket.status = TicketStatus.MISSED
            _release_counter(state, ticket)
            _undoable(state, e.counter, "miss", ticket.id, e.at)
        case _:
            assert_never(e)
    return [TicketChanged(ticket.id), CounterChanged(e.counter)]


def _completed(state: FacilityState, e: TicketCompleted) -> list[Delta]:
    ticket = state.tickets[e.ticket_id]
    if ticket.called_at is not None:
        # Call to completion: what a counter spends per ticket, walking up included.
        state.services[ticket.service].stats.observe(e.at - ticket.called_at, state.facility.policy.eta_alpha)
    ticket.status = TicketStatus.DONE
    ticket.finished_at = e.at
    ticket.completed_by = e.counter
    _undoable(state, e.counter, "complete", ticket.id, e.at)
    return [TicketChanged(ticket.id), *_release_counter(state, ticket)]


def _requeued(state: FacilityState, e: TicketRequeued) -> list[Delta]:
    ticket = state.tickets[e.ticket_id]
    waitlist = state.services[ticket.service].waitlist
    ticket.key = waitlist.requeue_key(ticket.lane, e.places, fallback=(e.at, ticket.key[1]))
    ticket.status = TicketStatus.WAITING
    ticket.checked_in = True
    _enqueue(state, ticket, e)
    return [TicketChanged(ticket.id), QueueChanged(ticket.service)]


def _cancelled(state: FacilityState, e: TicketCancelled) -> list[Delta]:
    ticket = state.tickets[e.ticket_id]
    deltas: list[Delta] = [TicketChanged(ticket.id)]
    if ticket.status is TicketStatus.WAITING:
        _dequeue(state, ticket)
        deltas.append(QueueChanged(ticket.service))
        used = state.quota_used.get((ticket.service, ticket.day))
        if used is not None and ticket.stages == [ticket.service]:
            used[0 if ticket.payer is Payer.JKN else 1] -= 1
    deltas.extend(_release_counter(state, ticket))
    ticket.status = TicketStatus.CANCELLED
    ticket.finished_at = e.at
    return deltas


def _transferred(state: FacilityState, e: TicketTransferred) -> list[Delta]:
    ticket = state.tickets[e.ticket_id]
    deltas: list[Delta] = [TicketChanged(ticket.id), QueueChanged(e.to_service)]
    if ticket.status is TicketStatus.WAITING:
        _dequeue(state, ticket)
        deltas.append(QueueChanged(ticket.service))
    deltas.extend(_release_counter(state, ticket))
    state.day_seq[(e.to_service, e.day)] = e.seq
    ticket.prev_service, ticket.prev_number, ticket.prev_day, ticket.prev_key = (
        ticket.service,
        ticket.number,
        ticket.day,
        ticket.key,
    )
    ticket.prev_called_at, ticket.prev_started_at = ticket.called_at, ticket.started_at
    ticket.service = e.to_service
    ticket.number = e.number
    ticket.day = e.day
    ticket.status = TicketStatus.WAITING
    ticket.checked_in = True
    ticket.key = (e.at, e.seq)
    ticket.called_at = ticket.started_at = ticket.finished_at = None
    ticket.stages.append(e.to_service)
    _enqueue(state, ticket, e)
    return deltas


def _counter(state: FacilityState, e: CounterOpened | CounterPaused | CounterClosed) -> list[Delta]:
    counter = state.counters[e.counter]
    match e:
        case CounterOpened():
            counter.status, counter.pause_reason = CounterStatus.OPEN, ""
        case CounterPaused():
            counter.status, counter.pause_reason = CounterStatus.PAUSED, e.reason
        case CounterClosed():
            counter.status, counter.pause_reason = CounterStatus.CLOSED, ""
        case _:
            assert_never(e)
    counter.since = e.at  # decide emits these only for a change of status
    deltas: list[Delta] = [CounterChanged(counter.id)]
    deltas.extend(QueueChanged(code) for code in state.facility.counters[counter.id].services)
    return deltas


def _undoable(state: FacilityState, counter: CounterId, action: str | None, ticket: TicketId, at: Millis) -> None:
    """Record ``counter``'s last undoable action (None: nothing to undo there now).

    Whatever other counter last acted on this ticket can no longer take that back: the ticket
    has moved on (e.g. sent on to B at L1, then completed or skipped at L2).
    """
    for other in state.counters.values():
        if other.undo_ticket == ticket:
            other.undoable, other.undo_ticket = None, None
    cs = state.counters[counter]
    cs.undoable, cs.undo_ticket, cs.undo_at = action, (ticket if action is not None else None), at


def _undone(state: FacilityState, e: ActionUndone) -> list[Delta]:
    ticket = state.tickets[e.ticket_id]
    counter = state.counters[e.counter]
    counter.undoable, counter.undo_ticket = None, None
    deltas: list[Delta] = [TicketChanged(ticket.id), CounterChanged(counter.id)]
    if e.action == "call":
        counter.ticket = None
        ticket.counter = ticket.called_at = None
        ticket.status = TicketStatus.WAITING
        ticket.joined_at = ticket.predicted_wait = None
        state.services[ticket.service].waitlist.add(ticket.lane, ticket.key, ticket.id, present=True)
        deltas.append(QueueChanged(ticket.service))
        return deltas
    if e.action == "complete" and ticket.status is TicketStatus.WAITING:
        # It had gone on to the next stage: take it back out of that queue, restore its stage.
        _dequeue(state, ticket)
        deltas.append(QueueChanged(ticket.service))
        assert ticket.prev_service is not None and ticket.prev_number is not None and ticket.prev_day is not None
        ticket.service, ticket.number, ticket.day = ticket.prev_service, ticket.prev_number, ticket.prev_day
        ticket.key = ticket.prev_key or ticket.key
        ticket.called_at, ticket.started_at = ticket.prev_called_at, ticket.prev_started_at
        ticket.prev_called_at = None
        ticket.stages.pop()
        ticket.joined_at = ticket.predicted_wait = None
    if e.action == "complete":
        ticket.status = TicketStatus.SERVING if ticket.started_at is not None else TicketStatus.CALLED
        ticket.finished_at = None
    else:  # "miss"
        ticket.status = TicketStatus.CALLED
    ticket.counter = counter.id
    counter.ticket = ticket.id
    return deltas
