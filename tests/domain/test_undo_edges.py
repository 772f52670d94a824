"""Undo edge cases: only the counter's own last action, only while nothing moved on, never a poison event.

The basic undo behaviour is in ``test_undo.py``."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from queue_engine.domain import commands as c
from queue_engine.domain.decide import decide
from queue_engine.domain.errors import CounterNotOpen, InvalidTransition, NothingToUndo
from queue_engine.domain.ids import CounterId, ServiceCode
from queue_engine.domain.model import Facility
from queue_engine.domain.state import Ticket
from queue_engine.domain.status import TicketStatus

from ..conftest import NEXT_MIDNIGHT, SECOND, Desk, make_facility, service

L1, L2, L3 = CounterId("L1"), CounterId("L2"), CounterId("L3")
A, B, C = ServiceCode("A"), ServiceCode("B"), ServiceCode("C")
S = TicketStatus


@pytest.fixture
def undo_facility() -> Facility:
    """A -> B -> C stages; L1 serves A, L2 serves B, L3 serves A and C."""
    return make_facility(
        service("A", next_stages=(B,)),
        service("B", next_stages=(C,)),
        service("C"),
        counters={"L1": ("A",), "L2": ("B",), "L3": ("A", "C")},
    )


@pytest.fixture
def desk(undo_facility: Facility) -> Desk:
    return Desk(undo_facility)


def undo(desk: Desk, counter: CounterId = L1):
    return desk.run(c.Undo(at=desk.now, counter=counter, actor="petugas"))


def called(desk: Desk, counter: str = "L1") -> Ticket:
    ticket = desk.call_next(counter)
    assert ticket is not None
    return ticket


@pytest.mark.parametrize(("started", "status"), [(True, S.SERVING), (False, S.CALLED)])
def test_undo_complete_returns_the_ticket_to_the_counter(desk: Desk, started: bool, status: TicketStatus) -> None:
    """Undoing a completion puts the ticket back at the counter, serving if it had started, else called."""
    ticket = desk.issue()
    called(desk)
    if started:
        desk.start()
    desk.complete()
    undo(desk)
    assert (ticket.status, ticket.counter, ticket.finished_at) == (status, L1, None)
    assert desk.state.counters[L1].ticket == ticket.id


def test_undo_only_takes_back_the_last_action_once(desk: Desk) -> None:
    """After a completion then a call, undo takes back the call; a second undo has nothing left."""
    first, second = desk.issue(), desk.issue()
    called(desk)
    desk.complete()
    called(desk)
    undo(desk)
    assert (first.status, second.status) == (S.DONE, S.WAITING)
    with pytest.raises(NothingToUndo):
        undo(desk)


def test_undo_within_the_window_only(desk: Desk) -> None:
    """Undo works up to policy.undo_window_s after the action, not a millisecond later."""
    window = desk.facility.policy.undo_window_s * SECOND
    for late in (False, True):
        desk.issue()
        called(desk)
        desk.advance(window + (1 if late else 0))
        if late:
            with pytest.raises(NothingToUndo):
                undo(desk)
        else:
            undo(desk)


# -- the ticket moved on since: the undo is refused and nothing changes --------------------------


def call_then(then: Callable[[Desk, Ticket], object]) -> Callable[[Desk], Ticket]:
    def build(desk: Desk) -> Ticket:
        ticket = desk.issue()
        called(desk)
        then(desk, ticket)
        return ticket

    return build


def miss_then(then: Callable[[Desk, Ticket], object]) -> Callable[[Desk], Ticket]:
    return call_then(lambda desk, ticket: (desk.miss(), then(desk, ticket)))


def advance_then(then: Callable[[Desk, Ticket], object]) -> Callable[[Desk], Ticket]:
    return call_then(lambda desk, ticket: (desk.complete(next_service="B"), then(desk, ticket)))


def by_hand(counter: CounterId) -> Callable[[Desk, Ticket], object]:
    return lambda desk, t: desk.run(c.CallTicket(at=desk.now, counter=counter, ticket_id=t.id, actor="x", reason="y"))


REFUSED = (InvalidTransition, NothingToUndo)
MOVED_ON: dict[str, Callable[[Desk], Ticket]] = {
    "call-then-start": call_then(lambda d, t: d.start()),
    "call-then-cancel": call_then(lambda d, t: d.cancel(t)),
    "call-then-transfer": call_then(lambda d, t: d.run(c.Transfer(at=d.now, ticket_id=t.id, to_service=B))),
    "miss-then-requeue": miss_then(lambda d, t: d.run(c.Requeue(at=d.now, ticket_id=t.id))),
    "miss-then-cancel": miss_then(lambda d, t: d.cancel(t)),
    "miss-then-called-elsewhere": miss_then(by_hand(L3)),
    "advance-then-called-there": advance_then(lambda d, t: d.call_next("L2")),
    "advance-then-transferred": advance_then(lambda d, t: d.run(c.Transfer(at=d.now, ticket_id=t.id, to_service=C))),
    "advance-then-completed-on-there": advance_then(
        lambda d, t: (d.call_next("L2"), d.complete("L2", next_service="C"))
    ),
    "advance-then-missed-and-requeued-there": advance_then(
        lambda d, t: (d.call_next("L2"), d.miss("L2"), d.run(c.Requeue(at=d.now, ticket_id=t.id)))
    ),
}


@pytest.mark.parametrize("build", list(MOVED_ON.values()), ids=list(MOVED_ON))
def test_undo_after_the_ticket_moved_on_is_refused(desk: Desk, build: Callable[[Desk], Ticket]) -> None:
    """Once the ticket has moved on from what the counter did, that counter cannot take it back."""
    build(desk)
    before = desk.state.snapshot()
    with pytest.raises(REFUSED):
        decide(desk.state, c.Undo(at=desk.now, counter=L1))
    assert desk.state.snapshot() == before


def test_undo_call_of_a_missed_ticket_does_not_jump_the_queue(desk: Desk) -> None:
    """Calling a missed patient by hand then undoing it must not put them at the head of the line."""
    missed = desk.issue()
    others = [desk.issue() for _ in range(3)]
    called(desk)
    desk.miss()
    desk.run(c.CallTicket(at=desk.now, counter=L1, ticket_id=missed.id, actor="x", reason="datang"))
    with pytest.raises(NothingToUndo):
        undo(desk)
    assert (missed.status, missed.counter) == (S.CALLED, L1)
    assert [t.status for t in others] == [S.WAITING] * 3


@pytest.mark.parametrize("action", ["miss", "complete"])
def test_undo_at_a_closed_counter_is_refused(desk: Desk, action: str) -> None:
    """A closed counter holds no ticket, so a skip or completion there cannot be taken back."""
    desk.issue()
    called(desk)
    desk.miss() if action == "miss" else desk.complete()
    desk.run(c.CloseCounter(at=desk.now, counter=L1))
    before = desk.state.snapshot()
    with pytest.raises(CounterNotOpen):
        undo(desk)
    assert desk.state.snapshot() == before


@pytest.mark.parametrize("action", ["miss", "complete"])
def test_undo_across_midnight_of_a_finished_ticket_is_refused(desk: Desk, action: str) -> None:
    """The day's first event drops yesterday's finished tickets, so undoing one just after midnight is refused."""
    desk.now = NEXT_MIDNIGHT - 30 * SECOND
    desk.issue()
    called(desk)
    desk.miss() if action == "miss" else desk.complete()
    desk.now = NEXT_MIDNIGHT + 30 * SECOND
    before = desk.state.snapshot()
    with pytest.raises(NothingToUndo):
        undo(desk)
    assert desk.state.snapshot() == before
