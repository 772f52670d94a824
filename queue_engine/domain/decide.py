"""``decide(state, command)``: the events a command causes, or a :class:`DomainError`.

It never mutates ``state`` (websockets' sans-I/O rule: inputs in, events out), so a
rejected command changes nothing by construction. A command that repeats an earlier one
(same idempotency key, a second check-in, opening an open counter) succeeds with no events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import assert_never

from . import commands as c
from .errors import (
    CheckInNotAllowed,
    CounterBusy,
    CounterIdle,
    CounterNotOpen,
    DuplicateId,
    InvalidCommand,
    InvalidTransition,
    ModuleNotEnabled,
    NotFound,
    NothingToUndo,
    OutsideOpeningHours,
    QueueEmpty,
    QuotaExhausted,
    ServiceNotServed,
    StageNotAllowed,
)
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
from .evolve import forgets
from .forecast import join_prediction
from .ids import CounterId, Millis, ServiceCode, TicketId, format_number
from .model import CounterStatus, Lane, Payer, Service
from .modules import ModuleCommand
from .ordering import Key
from .state import CounterState, FacilityState, Ticket
from .status import Action, TicketStatus, check_transition

MINUTE = 60_000


@dataclass(frozen=True, slots=True)
class Decision:
    """The events to append, and the ticket the command concerned (if any)."""

    events: list[Event] = field(default_factory=list)
    ticket_id: TicketId | None = None


def decide(state: FacilityState, command: c.Command) -> Decision:  # noqa: C901 - one flat dispatch
    """Decide what ``command`` causes in ``state``.

    Raises:
        DomainError: the command is not allowed; nothing happened.
    """
    match command:
        case c.IssueTicket():
            return _issue(state, command)
        case c.CheckIn():
            return _check_in(state, command)
        case c.CallNext():
            return _call_next(state, command)
        case c.CallTicket():
            return _call_ticket(state, command)
        case c.Recall():
            t = _current(state, command.counter, Action.RECALL)
            return Decision(
                [TicketRecalled(at=command.at, ticket_id=t.id, counter=command.counter, actor=command.actor)], t.id
            )
        case c.StartService():
            t = _current(state, command.counter, Action.START)
            return Decision(
                [ServiceStarted(at=command.at, ticket_id=t.id, counter=command.counter, actor=command.actor)], t.id
            )
        case c.Complete():
            return _complete(state, command)
        case c.MarkMissed():
            t = _current(state, command.counter, Action.MISS)
            return Decision(
                [TicketMissed(at=command.at, ticket_id=t.id, counter=command.counter, actor=command.actor)], t.id
            )
        case c.Requeue():
            t = _ticket(state, command.ticket_id, Action.REQUEUE, command.at)
            return Decision([_requeued(state, t, command)], t.id)
        case c.Cancel():
            t = _ticket(state, command.ticket_id, Action.CANCEL, command.at)
            return Decision(
                [TicketCancelled(at=command.at, ticket_id=t.id, actor=command.actor, reason=command.reason)], t.id
            )
        case c.Transfer():
            return _transfer(state, command)
        case c.OpenCounter() | c.PauseCounter() | c.CloseCounter():
            return _counter(state, command)
        case c.Undo():
            return _undo(state, command)
        case c.Keyed():
            return _keyed(state, command)
        case ModuleCommand():
            return _module_command(state, command)
        case _:
            assert_never(command)


def _module_command(state: FacilityState, cmd: ModuleCommand) -> Decision:
    module = state.facility.module(cmd.MODULE)
    if module is None:
        raise ModuleNotEnabled(module=cmd.MODULE)
    return Decision(list(module.decide(state, state.modules[module.name], cmd)), None)


def _keyed(state: FacilityState, cmd: c.Keyed) -> Decision:
    """The first outcome of a keyed command again, or the command carried out and its key recorded."""
    if cmd.key in state.commands:
        return Decision([], state.commands[cmd.key])
    decision = decide(state, cmd.command)
    if not decision.events:  # a no-op stays a no-op: nothing to remember
        return decision
    recorded = CommandRecorded(at=cmd.at, key=cmd.key, ticket_id=decision.ticket_id)
    return Decision([*decision.events, recorded], decision.ticket_id)


def _service(state: FacilityState, code: ServiceCode) -> Service:
    service = state.facility.services.get(code)
    if service is None:
        raise NotFound("unknown_service", service=code)
    return service


def _counter_state(state: FacilityState, counter: CounterId) -> CounterState:
    cs = state.counters.get(counter)
    if cs is None:
        raise NotFound("unknown_counter", counter=counter)
    return cs


def _ticket(state: FacilityState, ticket_id: TicketId, action: Action, at: Millis | None = None) -> Ticket:
    ticket = state.tickets.get(ticket_id)
    if ticket is None or (at is not None and forgets(state, ticket, at)):
        # A missed ticket of yesterday is dropped by the first event of today: naming it then
        # would make an event that apply cannot fold (KeyError), so it is not found already.
        raise NotFound("ticket_not_found", ticket=ticket_id)
    check_transition(ticket.status, action)
    return ticket


def _current(state: FacilityState, counter: CounterId, action: Action) -> Ticket:
    ticket_id = _counter_state(state, counter).ticket
    if ticket_id is None:
        raise CounterIdle(counter=counter)
    return _ticket(state, ticket_id, action)


def _next_number(state: FacilityState, service: Service, day: str) -> tuple[int, str]:
    seq = state.day_seq.get((service.code, day), 0) + 1
    return seq, format_number(service.prefix, seq)


def _issue(state: FacilityState, cmd: c.IssueTicket) -> Decision:
    if cmd.idempotency_key is not None:
        existing = state.idempotency.get(cmd.idempotency_key)
        if existing is not None:
            return Decision([], existing)
    service = _service(state, cmd.service)
    if cmd.ticket_id in state.tickets or cmd.token in state.by_token:
        raise DuplicateId(ticket=cmd.ticket_id)
    _check_hours(state, service, cmd)
    day = state.local_day(cmd.at)
    if cmd.appointment_at is not None:
        # Numbered on its slot's day, but never on a day already over: a 23:55 slot booked at
        # 00:05 (within the grace) would reuse numbers of a day whose sequence is forgotten.
        day = max(day, state.local_day(cmd.appointment_at))
    _check_quota(state, service, day, cmd.payer)
    seq, number = _next_number(state, service, day)
    checked_in = not cmd.channel.remote
    wait_from = predicted = None
    if checked_in:
        key = (cmd.appointment_at if cmd.appointment_at is not None else cmd.at, seq)
        lane = cmd.priority.lane
        wait_from, predicted = join_prediction(
            state, service.code, lane, key, cmd.ticket_id, cmd.appointment_at, cmd.at
        )
    event = TicketIssued(
        at=cmd.at,
        ticket_id=cmd.ticket_id,
        token=cmd.token,
        service=service.code,
        number=number,
        seq=seq,
        day=day,
        priority=cmd.priority,
        channel=cmd.channel,
        payer=cmd.payer,
        appointment_at=cmd.appointment_at,
        checked_in=checked_in,
        idempotency_key=cmd.idempotency_key,
        wait_from=wait_from,
        predicted_wait=predicted,
    )
    return Decision([event], cmd.ticket_id)


def _check_hours(state: FacilityState, service: Service, cmd: c.IssueTicket) -> None:
    if cmd.appointment_at is not None:
        if cmd.appointment_at < cmd.at - state.facility.policy.checkin_grace_min * MINUTE:
            raise InvalidCommand("appointment_in_past", appointment_at=cmd.appointment_at)
        if not service.is_open(*state.local_clock(cmd.appointment_at)):
            raise OutsideOpeningHours(service=service.code, at=cmd.appointment_at)
        return
    if not service.hours:
        return  # always open (as is_open says): no need to work out the local time
    weekday, minute = state.local_clock(cmd.at)
    if cmd.channel.remote:
        # Remote numbers for today may be taken before opening, until the last window closes.
        if service.hours and not any(minute < end for _, end in service.hours.get(weekday, ())):
            raise OutsideOpeningHours(service=service.code, at=cmd.at)
    elif not service.is_open(weekday, minute):
        raise OutsideOpeningHours(service=service.code, at=cmd.at)


def _check_quota(state: FacilityState, service: Service, day: str, payer: Payer) -> None:
    jkn, non_jkn = state.quota_used.get((service.code, day), (0, 0))
    quota = service.quota
    if quota.total is not None and jkn + non_jkn >= quota.total:
        raise QuotaExhausted(service=service.code, day=day, limit=quota.total)
    limit = quota.limit(payer)
    if limit is not None and (jkn if payer is Payer.JKN else non_jkn) >= limit:
        raise QuotaExhausted(service=service.code, day=day, limit=limit, payer=payer.value)


def _check_in(state: FacilityState, cmd: c.CheckIn) -> Decision:
    ticket = _ticket(state, cmd.ticket_id, Action.CHECK_IN, cmd.at)
    if ticket.checked_in:
        return Decision([], ticket.id)
    if ticket.day != state.local_day(cmd.at):
        raise CheckInNotAllowed(ticket=ticket.id, day=ticket.day)
    waitlist = state.services[ticket.service].waitlist
    passed_at = waitlist.high_water[ticket.lane].passed_at(ticket.key)
    grace = state.facility.policy.checkin_grace_min * MINUTE
    kept = passed_at is None or cmd.at - passed_at <= grace
    key = ticket.key if kept else (cmd.at, ticket.key[1])
    wait_from, predicted = join_prediction(
        state, ticket.service, ticket.lane, key, ticket.id, ticket.appointment_at, cmd.at
    )
    event = TicketCheckedIn(
        at=cmd.at, ticket_id=ticket.id, kept_place=kept, wait_from=wait_from, predicted_wait=predicted
    )
    return Decision([event], ticket.id)


def _open_counter(state: FacilityState, counter: CounterId) -> CounterState:
    cs = _counter_state(state, counter)
    if cs.status is not CounterStatus.OPEN:
        raise CounterNotOpen(counter=counter, status=cs.status.value)
    return cs


def _call_next(state: FacilityState, cmd: c.CallNext) -> Decision:
    cs = _open_counter(state, cmd.counter)
    events: list[Event] = []
    if cs.ticket is not None:
        if not cmd.complete_current:
            raise CounterBusy(counter=cmd.counter, ticket=cs.ticket)
        current = _ticket(state, cs.ticket, Action.COMPLETE)
        events.append(TicketCompleted(at=cmd.at, ticket_id=current.id, counter=cmd.counter, actor=cmd.actor))
    best: tuple[tuple[int, Key], TicketId] | None = None
    ratio = state.facility.policy.priority_ratio
    for code in state.facility.counters[cmd.counter].services:
        found = state.services[code].waitlist.candidate(ratio)
        if found is not None:
            lane, (key, ticket_id) = found
            rank = (0 if lane is Lane.EMERGENCY else 1, key)
            if best is None or rank < best[0]:
                best = (rank, ticket_id)
    if best is None:
        if events:
            return Decision(events, None)
        raise QueueEmpty(counter=cmd.counter)
    events.append(TicketCalled(at=cmd.at, ticket_id=best[1], counter=cmd.counter, actor=cmd.actor))
    return Decision(events, best[1])


def _call_ticket(state: FacilityState, cmd: c.CallTicket) -> Decision:
    cs = _open_counter(state, cmd.counter)
    if not cmd.reason.strip() or not cmd.actor.strip():
        raise InvalidCommand("reason_required")
    ticket = _ticket(state, cmd.ticket_id, Action.CALL, cmd.at)
    if ticket.service not in state.facility.counters[cmd.counter].services:
        raise ServiceNotServed(counter=cmd.counter, service=ticket.service)
    if cs.ticket is not None:
        raise CounterBusy(counter=cmd.counter, ticket=cs.ticket)
    event = TicketCalled(
        at=cmd.at, ticket_id=ticket.id, counter=cmd.counter, actor=cmd.actor, out_of_order=True, reason=cmd.reason
    )
    return Decision([event], ticket.id)


def _requeued(state: FacilityState, ticket: Ticket, cmd: c.Requeue) -> TicketRequeued:
    places = state.facility.policy.requeue_places
    waitlist = state.services[ticket.service].waitlist
    key = waitlist.requeue_key(ticket.lane, places, fallback=(cmd.at, ticket.key[1]))
    wait_from, predicted = join_prediction(state, ticket.service, ticket.lane, key, ticket.id, None, cmd.at)
    return TicketRequeued(
        at=cmd.at,
        ticket_id=ticket.id,
        places=places,
        actor=cmd.actor,
        wait_from=wait_from,
        predicted_wait=predicted,
    )


def _routed(
    state: FacilityState, ticket: Ticket, to: Service, at: Millis, actor: str, reason: str
) -> TicketTransferred:
    day = state.local_day(at)
    seq, number = _next_number(state, to, day)
    wait_from, predicted = join_prediction(state, to.code, ticket.lane, (at, seq), ticket.id, None, at)
    return TicketTransferred(
        at=at,
        ticket_id=ticket.id,
        to_service=to.code,
        number=number,
        seq=seq,
        day=day,
        actor=actor,
        reason=reason,
        wait_from=wait_from,
        predicted_wait=predicted,
    )


def _complete(state: FacilityState, cmd: c.Complete) -> Decision:
    if cmd.next_service is None:
        ticket = _current(state, cmd.counter, Action.COMPLETE)
        return Decision(
            [TicketCompleted(at=cmd.at, ticket_id=ticket.id, counter=cmd.counter, actor=cmd.actor)], ticket.id
        )
    ticket = _current(state, cmd.counter, Action.ADVANCE)
    to = _service(state, cmd.next_service)
    if to.code not in state.facility.services[ticket.service].next_stages:
        raise StageNotAllowed(service=ticket.service, next_service=to.code)
    done = TicketCompleted(at=cmd.at, ticket_id=ticket.id, counter=cmd.counter, actor=cmd.actor)
    return Decision([done, _routed(state, ticket, to, cmd.at, cmd.actor, "next_stage")], ticket.id)


def _transfer(state: FacilityState, cmd: c.Transfer) -> Decision:
    ticket = _ticket(state, cmd.ticket_id, Action.TRANSFER, cmd.at)
    to = _service(state, cmd.to_service)
    if to.code == ticket.service:
        raise InvalidCommand("same_service", service=to.code)
    return Decision([_routed(state, ticket, to, cmd.at, cmd.actor, cmd.reason)], ticket.id)


#: target status -> the statuses a counter may reach it from
_COUNTER_FROM = {
    CounterStatus.OPEN: (CounterStatus.PAUSED, CounterStatus.CLOSED),
    CounterStatus.PAUSED: (CounterStatus.OPEN,),
    CounterStatus.CLOSED: (CounterStatus.OPEN, CounterStatus.PAUSED),
}


def _counter(state: FacilityState, cmd: c.OpenCounter | c.PauseCounter | c.CloseCounter) -> Decision:
    cs = _counter_state(state, cmd.counter)
    event: Event
    match cmd:
        case c.OpenCounter():
            target, event = CounterStatus.OPEN, CounterOpened(at=cmd.at, counter=cmd.counter, actor=cmd.actor)
        case c.PauseCounter():
            if not cmd.reason.strip():
                raise InvalidCommand("reason_required")
            target = CounterStatus.PAUSED
            event = CounterPaused(at=cmd.at, counter=cmd.counter, actor=cmd.actor, reason=cmd.reason)
        case c.CloseCounter():
            if cs.ticket is not None:
                raise CounterBusy(counter=cmd.counter, ticket=cs.ticket)
            target, event = CounterStatus.CLOSED, CounterClosed(at=cmd.at, counter=cmd.counter, actor=cmd.actor)
        case _:
            assert_never(cmd)
    if cs.status is target:
        return Decision([], None)
    if cs.status not in _COUNTER_FROM[target]:
        raise InvalidTransition("invalid_counter_transition", counter=cmd.counter, status=cs.status.value)
    return Decision([event], None)


__all__ = ["Decision", "TicketStatus", "decide"]


_UNDO_ACTIONS = {"call": Action.UNDO_CALL, "miss": Action.UNDO_MISS, "complete": Action.UNDO_COMPLETE}


def _undo(state: FacilityState, cmd: c.Undo) -> Decision:
    cs = _counter_state(state, cmd.counter)
    window = state.facility.policy.undo_window_s * 1000
    action, ticket_id = cs.undoable, cs.undo_ticket
    if action is None or ticket_id is None or cmd.at - cs.undo_at > window:
        raise NothingToUndo(counter=cmd.counter)
    ticket = state.tickets.get(ticket_id)
    if ticket is None or forgets(state, ticket, cmd.at):
        # (a finished ticket of yesterday is dropped by today's first event: apply could not fold it)
        raise NothingToUndo(counter=cmd.counter)
    check_transition(ticket.status, _UNDO_ACTIONS[action])
    if action == "call" and ticket.counter != cmd.counter:  # pragma: no cover - defensive
        # (a later action on the ticket elsewhere clears this counter's record first)
        raise NothingToUndo(counter=cmd.counter)
    if action != "call" and cs.status is CounterStatus.CLOSED:
        # It would put the ticket back at a closed counter (closing is refused while busy).
        raise CounterNotOpen(counter=cmd.counter, status=cs.status.value)
    # A skip or completion left the counter free, and any later call there replaced this record,
    # so the counter is free whenever "miss" or "complete" is still the undoable action.
    if action == "complete" and ticket.status is TicketStatus.WAITING and ticket.prev_called_at is None:
        raise NothingToUndo(counter=cmd.counter)  # moved on again since: not this counter's to take back
    event = ActionUndone(at=cmd.at, counter=cmd.counter, ticket_id=ticket.id, action=action, actor=cmd.actor)
    return Decision([event], ticket.id)
