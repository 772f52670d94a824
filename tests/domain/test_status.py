"""The status machine is the table in ``status.py``; every refused command changes nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from queue_engine.domain import commands as c
from queue_engine.domain.decide import decide
from queue_engine.domain.errors import (
    CheckInNotAllowed,
    CounterBusy,
    CounterIdle,
    CounterNotOpen,
    DomainError,
    DuplicateId,
    InvalidCommand,
    InvalidTransition,
    NotFound,
    OutsideOpeningHours,
    QueueEmpty,
    QuotaExhausted,
    ServiceNotServed,
    StageNotAllowed,
)
from queue_engine.domain.ids import CounterId, ServiceCode, TicketId
from queue_engine.domain.model import Channel, Facility, Quota
from queue_engine.domain.state import Ticket
from queue_engine.domain.status import TRANSITIONS, Action, TicketStatus, check_transition

from ..conftest import HOUR, MINUTE, NEXT_MIDNIGHT, START, Desk, every_day, make_facility, service

S = TicketStatus
L1, L2 = CounterId("L1"), CounterId("L2")
A, B = ServiceCode("A"), ServiceCode("B")


def status_facility() -> Facility:
    return make_facility(service("A", next_stages=(B,)), service("B"), counters={"L1": ("A",), "L2": ("A", "B")})


def ticket_in(status: TicketStatus, via: TicketStatus | None = None) -> tuple[Desk, Ticket]:
    """A desk with one ticket of service A in ``status`` (at counter L1 when called or serving).

    ``via=SERVING`` starts service on the way (a done ticket then had been served).
    """
    desk = Desk(status_facility())
    ticket = desk.issue("A")
    if status in (S.CALLED, S.SERVING, S.DONE, S.MISSED):
        desk.call_next("L1")
    if status is S.SERVING or (via is S.SERVING and status is S.DONE):
        desk.start()
    if status is S.DONE:
        desk.complete()
    if status is S.MISSED:
        desk.miss()
    if status is S.CANCELLED:
        desk.cancel(ticket)
    assert ticket.status is status
    return desk, ticket


#: The command that performs each action on ``ticket`` (counter actions address counter L1).
ACTION_COMMANDS: dict[Action, Callable[[Ticket], c.Command]] = {
    Action.CHECK_IN: lambda t: c.CheckIn(at=START, ticket_id=t.id),
    Action.CALL: lambda t: c.CallTicket(at=START, counter=L2, ticket_id=t.id, actor="dr. Sari", reason="kontrol"),
    Action.RECALL: lambda t: c.Recall(at=START, counter=L1),
    Action.START: lambda t: c.StartService(at=START, counter=L1),
    Action.COMPLETE: lambda t: c.Complete(at=START, counter=L1),
    Action.ADVANCE: lambda t: c.Complete(at=START, counter=L1, next_service=B),
    Action.MISS: lambda t: c.MarkMissed(at=START, counter=L1),
    Action.REQUEUE: lambda t: c.Requeue(at=START, ticket_id=t.id),
    Action.CANCEL: lambda t: c.Cancel(at=START, ticket_id=t.id),
    Action.TRANSFER: lambda t: c.Transfer(at=START, ticket_id=t.id, to_service=B),
}
COUNTER_ACTIONS = {Action.RECALL, Action.START, Action.COMPLETE, Action.ADVANCE, Action.MISS}
AT_COUNTER = {S.CALLED, S.SERVING}

#: Undo names no action: it takes back whatever the counter did last. So each undo action is
#: reached by doing that action at L1 first (refusals of undo are in test_undo_edges.py).
UNDO_SETUPS: dict[tuple[TicketStatus, Action], Callable[[Desk], object]] = {
    (S.CALLED, Action.UNDO_CALL): lambda d: None,
    (S.MISSED, Action.UNDO_MISS): lambda d: None,
    # the table says "back to serving": these tickets had started (unstarted ones go back to called)
    (S.DONE, Action.UNDO_COMPLETE): lambda d: None,
    (S.WAITING, Action.UNDO_COMPLETE): lambda d: (d.call_next("L1"), d.start(), d.complete(next_service="B")),
}

ALLOWED = [(s, a) for s in S for a in Action if a in TRANSITIONS[s] and a in ACTION_COMMANDS]
REFUSED = [(s, a) for s in S for a in Action if a not in TRANSITIONS[s]]
REFUSED_COMMANDS = [(s, a) for s, a in REFUSED if a in ACTION_COMMANDS]
UNDOS = [(s, a) for s in S for a in Action if a in TRANSITIONS[s] and a not in ACTION_COMMANDS]


def test_every_action_has_a_command() -> None:
    """The tests below reach every action of the table."""
    assert set(ACTION_COMMANDS) | {a for _, a in UNDO_SETUPS} == set(Action)
    assert set(UNDO_SETUPS) == set(UNDOS)
    assert set(TRANSITIONS) == set(S)


@pytest.mark.parametrize(("status", "action"), REFUSED, ids=[f"{s}-{a}" for s, a in REFUSED])
def test_check_transition_refuses_what_the_table_lacks(status: TicketStatus, action: Action) -> None:
    """check_transition raises InvalidTransition for every pair missing from TRANSITIONS."""
    with pytest.raises(InvalidTransition) as err:
        check_transition(status, action)
    assert err.value.params == {"status": status.value, "action": action.value}


@pytest.mark.parametrize(("status", "action"), REFUSED_COMMANDS, ids=[f"{s}-{a}" for s, a in REFUSED_COMMANDS])
def test_commands_refuse_transitions_not_in_the_table(status: TicketStatus, action: Action) -> None:
    """A command whose transition is not in the table is refused and changes nothing."""
    # Counter actions reach only the counter's current ticket: for a ticket that cannot be at a
    # counter (waiting, done, missed, cancelled) the counter is idle, so the refusal is CounterIdle.
    desk, ticket = ticket_in(status)
    before = desk.state.snapshot()
    expected = CounterIdle if action in COUNTER_ACTIONS and status not in AT_COUNTER else InvalidTransition
    with pytest.raises(expected):
        decide(desk.state, ACTION_COMMANDS[action](ticket))
    assert desk.state.snapshot() == before


@pytest.mark.parametrize(("status", "action"), ALLOWED, ids=[f"{s}-{a}" for s, a in ALLOWED])
def test_commands_follow_the_table_for_allowed_transitions(status: TicketStatus, action: Action) -> None:
    """Every allowed pair succeeds and leaves the ticket in the status the table names."""
    desk, ticket = ticket_in(status)
    desk.run(ACTION_COMMANDS[action](ticket))
    assert desk.state.tickets[ticket.id].status is TRANSITIONS[status][action]


@pytest.mark.parametrize(("status", "action"), UNDOS, ids=[f"{s}-{a}" for s, a in UNDOS])
def test_undo_follows_the_table(status: TicketStatus, action: Action) -> None:
    """Undo of the counter's last action takes the ticket to the status the table names."""
    desk, ticket = ticket_in(status, via=S.SERVING)
    UNDO_SETUPS[(status, action)](desk)
    assert ticket.status is status
    desk.run(c.Undo(at=desk.now, counter=L1))
    assert desk.state.tickets[ticket.id].status is TRANSITIONS[status][action]


# -- rejected commands change nothing ----------------------------------------------------------


def rich_desk() -> tuple[Desk, dict[str, Ticket]]:
    """Tickets in every status, busy / idle / paused / closed counters, a full quota, closed hours."""
    facility = make_facility(
        service("A", next_stages=(B,)),
        service("B", quota=Quota(total=1)),
        service("C", hours=every_day((13 * 60, 15 * 60))),
        counters={"L1": ("A",), "L2": ("B",), "L3": ("A",), "L4": ("A",), "L5": ("C",), "L6": ("A", "B")},
    )
    desk = Desk(facility)
    t: dict[str, Ticket] = {}
    t["done"] = desk.issue("A")
    desk.call_next("L1")
    desk.complete("L1")
    t["missed"] = desk.issue("A")
    desk.call_next("L1")
    desk.miss("L1")
    t["cancelled"] = desk.issue("A")
    desk.cancel(t["cancelled"])
    t["serving"] = desk.issue("A")
    desk.call_next("L1")
    desk.start("L1")
    t["waiting"] = desk.issue("A")
    t["remote"] = desk.issue("A", channel=Channel.WEB)
    t["tomorrow"] = desk.issue("A", channel=Channel.BPJS, appointment_at=NEXT_MIDNIGHT + 9 * HOUR)
    t["called_b"] = desk.issue("B")
    desk.call_next("L2")
    desk.run(c.CloseCounter(at=START, counter=CounterId("L3")))
    desk.run(c.PauseCounter(at=START, counter=CounterId("L4"), reason="istirahat"))
    desk.advance(MINUTE)
    return desk, t


def cid(name: str) -> CounterId:
    return CounterId(name)


Builder = Callable[[Desk, dict[str, Ticket]], c.Command]


def issue(service_code: str = "A", **kwargs) -> Builder:
    def build(desk: Desk, t: dict[str, Ticket]) -> c.Command:
        ticket_id, token = desk.fresh_ids()
        fields = {"ticket_id": ticket_id, "token": token, **kwargs}
        fields = {k: (v(desk, t) if callable(v) else v) for k, v in fields.items()}
        return c.IssueTicket(at=desk.now, service=ServiceCode(service_code), **fields)

    return build


REJECTED: list[tuple[str, Builder, type[DomainError]]] = [
    ("issue-unknown-service", issue("Z"), NotFound),
    ("issue-duplicate-id", issue(ticket_id=lambda d, t: t["waiting"].id), DuplicateId),
    ("issue-duplicate-token", issue(token=lambda d, t: t["done"].token), DuplicateId),
    ("issue-quota", issue("B"), QuotaExhausted),
    ("issue-outside-hours", issue("C"), OutsideOpeningHours),
    ("issue-appointment-outside-hours", issue("C", appointment_at=START + 9 * HOUR), OutsideOpeningHours),
    ("issue-appointment-in-past", issue(appointment_at=START - HOUR), InvalidCommand),
    ("check-in-unknown", lambda d, t: c.CheckIn(at=d.now, ticket_id=TicketId("nope")), NotFound),
    ("check-in-called", lambda d, t: c.CheckIn(at=d.now, ticket_id=t["called_b"].id), InvalidTransition),
    ("check-in-other-day", lambda d, t: c.CheckIn(at=d.now, ticket_id=t["tomorrow"].id), CheckInNotAllowed),
    ("call-next-unknown-counter", lambda d, t: c.CallNext(at=d.now, counter=cid("L9")), NotFound),
    ("call-next-busy", lambda d, t: c.CallNext(at=d.now, counter=L1), CounterBusy),
    ("call-next-closed", lambda d, t: c.CallNext(at=d.now, counter=cid("L3")), CounterNotOpen),
    ("call-next-paused", lambda d, t: c.CallNext(at=d.now, counter=cid("L4")), CounterNotOpen),
    ("call-next-empty", lambda d, t: c.CallNext(at=d.now, counter=cid("L5")), QueueEmpty),
    (
        "call-ticket-no-reason",
        lambda d, t: c.CallTicket(at=d.now, counter=cid("L6"), ticket_id=t["waiting"].id, actor="x", reason=""),
        InvalidCommand,
    ),
    (
        "call-ticket-not-served",
        lambda d, t: c.CallTicket(at=d.now, counter=cid("L5"), ticket_id=t["waiting"].id, actor="x", reason="y"),
        ServiceNotServed,
    ),
    (
        "call-ticket-busy",
        lambda d, t: c.CallTicket(at=d.now, counter=L1, ticket_id=t["waiting"].id, actor="x", reason="y"),
        CounterBusy,
    ),
    (
        "call-ticket-done",
        lambda d, t: c.CallTicket(at=d.now, counter=cid("L6"), ticket_id=t["done"].id, actor="x", reason="y"),
        InvalidTransition,
    ),
    ("recall-idle", lambda d, t: c.Recall(at=d.now, counter=cid("L6")), CounterIdle),
    ("recall-serving", lambda d, t: c.Recall(at=d.now, counter=L1), InvalidTransition),
    ("start-serving", lambda d, t: c.StartService(at=d.now, counter=L1), InvalidTransition),
    ("complete-idle", lambda d, t: c.Complete(at=d.now, counter=cid("L6")), CounterIdle),
    ("complete-stage-not-allowed", lambda d, t: c.Complete(at=d.now, counter=L1, next_service=A), StageNotAllowed),
    (
        "complete-unknown-stage",
        lambda d, t: c.Complete(at=d.now, counter=L1, next_service=ServiceCode("Z")),
        NotFound,
    ),
    ("miss-serving", lambda d, t: c.MarkMissed(at=d.now, counter=L1), InvalidTransition),
    ("requeue-waiting", lambda d, t: c.Requeue(at=d.now, ticket_id=t["waiting"].id), InvalidTransition),
    ("requeue-unknown", lambda d, t: c.Requeue(at=d.now, ticket_id=TicketId("nope")), NotFound),
    ("cancel-done", lambda d, t: c.Cancel(at=d.now, ticket_id=t["done"].id), InvalidTransition),
    ("cancel-cancelled", lambda d, t: c.Cancel(at=d.now, ticket_id=t["cancelled"].id), InvalidTransition),
    (
        "transfer-same-service",
        lambda d, t: c.Transfer(at=d.now, ticket_id=t["waiting"].id, to_service=A),
        InvalidCommand,
    ),
    (
        "transfer-unknown-service",
        lambda d, t: c.Transfer(at=d.now, ticket_id=t["waiting"].id, to_service=ServiceCode("Z")),
        NotFound,
    ),
    ("transfer-missed", lambda d, t: c.Transfer(at=d.now, ticket_id=t["missed"].id, to_service=B), InvalidTransition),
    ("pause-no-reason", lambda d, t: c.PauseCounter(at=d.now, counter=cid("L6"), reason=""), InvalidCommand),
    ("pause-closed", lambda d, t: c.PauseCounter(at=d.now, counter=cid("L3"), reason="x"), InvalidTransition),
    ("close-busy", lambda d, t: c.CloseCounter(at=d.now, counter=L1), CounterBusy),
    ("open-unknown", lambda d, t: c.OpenCounter(at=d.now, counter=cid("L9")), NotFound),
]


@pytest.mark.parametrize(("build", "error"), [r[1:] for r in REJECTED], ids=[r[0] for r in REJECTED])
def test_rejected_command_leaves_the_state_unchanged(build: Builder, error: type[DomainError]) -> None:
    """Each invalid command raises its DomainError and the state's snapshot is exactly as before."""
    desk, tickets = rich_desk()
    cmd = build(desk, tickets)
    before = desk.state.snapshot()
    with pytest.raises(error) as err:
        decide(desk.state, cmd)
    assert err.value.code
    assert desk.state.snapshot() == before


def test_rich_desk_accepts_valid_commands() -> None:
    """The scenario above is not rejecting everything: its valid neighbours succeed."""
    desk, t = rich_desk()
    desk.run(c.CheckIn(at=desk.now, ticket_id=t["remote"].id))
    desk.run(c.Requeue(at=desk.now, ticket_id=t["missed"].id))
    desk.run(c.CallTicket(at=desk.now, counter=cid("L6"), ticket_id=t["waiting"].id, actor="x", reason="y"))
    desk.run(c.Complete(at=desk.now, counter=L1, next_service=B))
    assert desk.issue("A").number == "A007"  # A001-A006 today; the appointment took tomorrow's A001
    assert t["serving"].service == "B"
