"""Undo: a counter's last call, skip or completion is taken back by a compensating event."""

from __future__ import annotations

import pytest

from queue_engine.domain import commands as c
from queue_engine.domain.errors import InvalidTransition, NothingToUndo
from queue_engine.domain.events import ActionUndone
from queue_engine.domain.ids import CounterId, ServiceCode
from queue_engine.domain.model import Policy
from queue_engine.domain.status import TicketStatus
from tests.conftest import MINUTE, Desk, make_facility, replay, service

L1 = CounterId("L1")


def _desk() -> Desk:
    facility = make_facility(
        service("A", next_stages=("B",)), service("B"), counters={"L1": ("A",), "L2": ("B",)}, policy=Policy()
    )
    return Desk(facility)


def _undo(desk: Desk, counter: str = "L1") -> ActionUndone:
    decision = desk.run(c.Undo(at=desk.now, counter=CounterId(counter), actor="petugas"))
    (event,) = decision.events
    assert isinstance(event, ActionUndone)
    return event


def test_undo_call_puts_the_ticket_back_in_its_place() -> None:
    """After an undone call the ticket waits again at the head, and the counter is free."""
    desk = _desk()
    first, second = desk.issue(), desk.issue()
    called = desk.call_next()
    assert called is not None and called.id == first.id
    event = _undo(desk)
    assert event.action == "call"
    assert first.status is TicketStatus.WAITING and first.counter is None
    assert desk.state.counters[L1].ticket is None
    assert desk.state.services[first.service].waitlist.upcoming((2, 1), 5) == [first.id, second.id]
    again = desk.call_next()
    assert again is not None and again.id == first.id


def test_undo_skip_calls_the_ticket_again_at_the_same_counter() -> None:
    """An undone skip makes the missed ticket the counter's current, called ticket again."""
    desk = _desk()
    ticket = desk.issue()
    desk.call_next()
    desk.miss()
    assert ticket.status is TicketStatus.MISSED
    assert _undo(desk).action == "miss"
    assert desk.ticket(ticket.id).status is TicketStatus.CALLED
    assert desk.state.counters[L1].ticket == ticket.id


def test_undo_complete_resumes_service() -> None:
    """An undone completion puts a started ticket back in service at the counter."""
    desk = _desk()
    ticket = desk.issue()
    desk.call_next()
    desk.start()
    desk.complete()
    assert _undo(desk).action == "complete"
    assert ticket.status is TicketStatus.SERVING and ticket.finished_at is None
    assert desk.state.counters[L1].ticket == ticket.id


def test_undo_complete_to_next_stage_takes_the_ticket_back_from_that_queue() -> None:
    """Undoing a completion that sent the visit on restores its stage, number and counter."""
    desk = _desk()
    ticket = desk.issue()
    desk.call_next()
    number = ticket.number
    desk.complete(next_service="B")
    assert ticket.service == "B" and ticket.status is TicketStatus.WAITING
    _undo(desk)
    restored = desk.ticket(ticket.id)
    assert restored.service == "A" and restored.number == number and restored.status is TicketStatus.CALLED
    assert len(desk.state.services[ServiceCode("B")].waitlist) == 0
    assert ticket.stages == ["A"]
    nxt = desk.issue("B")
    assert nxt.number == "B002"  # B001 stays used: numbers are never reused within a day


def test_undo_is_refused_after_the_window() -> None:
    """After policy.undo_window_s the last action can no longer be undone."""
    desk = _desk()
    desk.issue()
    desk.call_next()
    desk.advance(Policy().undo_window_s * 1000 + 1)
    with pytest.raises(NothingToUndo):
        desk.run(c.Undo(at=desk.now, counter=L1))


def test_undo_twice_is_refused() -> None:
    """Undo takes back one action; a second undo has nothing to take back."""
    desk = _desk()
    desk.issue()
    desk.call_next()
    _undo(desk)
    with pytest.raises(NothingToUndo):
        desk.run(c.Undo(at=desk.now, counter=L1))


def test_undo_call_after_service_started_is_refused() -> None:
    """Once service started, the call is no longer a mistake to undo."""
    desk = _desk()
    desk.issue()
    desk.call_next()
    desk.start()
    with pytest.raises(InvalidTransition):
        desk.run(c.Undo(at=desk.now, counter=L1))


def test_undo_replays_exactly() -> None:
    """A history with undos replays to exactly the live state."""
    desk = _desk()
    desk.issue()
    desk.issue()
    desk.call_next()
    _undo(desk)
    desk.call_next()
    desk.complete(next_service="B")
    desk.advance(MINUTE)
    _undo(desk)
    desk.miss()
    _undo(desk)
    assert replay(desk.facility, desk.events).snapshot() == desk.state.snapshot()
