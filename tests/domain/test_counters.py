"""Counters: open, pause (with a reason), close; calls only at open counters."""

from __future__ import annotations

import pytest

from queue_engine.domain import commands as c
from queue_engine.domain.decide import decide
from queue_engine.domain.errors import CounterBusy, CounterNotOpen, InvalidCommand, InvalidTransition
from queue_engine.domain.events import CounterClosed, CounterOpened, CounterPaused
from queue_engine.domain.ids import CounterId
from queue_engine.domain.model import CounterStatus, Facility

from ..conftest import START, Desk

L1 = CounterId("L1")


@pytest.fixture
def closed(facility: Facility) -> Desk:
    """The default facility with every counter still closed."""
    return Desk(facility, open_counters=False)


def status(desk: Desk) -> CounterStatus:
    return desk.state.counters[L1].status


def test_counters_start_closed(closed: Desk) -> None:
    """A new facility's counters are closed until opened."""
    assert status(closed) is CounterStatus.CLOSED


def test_open_counter(closed: Desk) -> None:
    """OpenCounter opens a closed counter."""
    decision = closed.run(c.OpenCounter(at=START, counter=L1, actor="petugas"))
    assert decision.events == [CounterOpened(at=START, counter=L1, actor="petugas")]
    assert status(closed) is CounterStatus.OPEN


def test_opening_an_open_counter_is_a_no_op(desk: Desk) -> None:
    """Repeating a counter command succeeds with no events."""
    assert desk.run(c.OpenCounter(at=START, counter=L1)).events == []


def test_pause_counter_records_the_reason(desk: Desk) -> None:
    """Pausing an open counter needs a reason, which the counter shows."""
    decision = desk.run(c.PauseCounter(at=START, counter=L1, reason="istirahat", actor="petugas"))
    assert decision.events == [CounterPaused(at=START, counter=L1, actor="petugas", reason="istirahat")]
    assert (status(desk), desk.state.counters[L1].pause_reason) == (CounterStatus.PAUSED, "istirahat")
    desk.run(c.OpenCounter(at=START, counter=L1))
    assert (status(desk), desk.state.counters[L1].pause_reason) == (CounterStatus.OPEN, "")


@pytest.mark.parametrize("reason", ["", "  "])
def test_pause_without_reason_is_refused(desk: Desk, reason: str) -> None:
    """A pause must say why."""
    with pytest.raises(InvalidCommand):
        desk.run(c.PauseCounter(at=START, counter=L1, reason=reason))


def test_pausing_a_closed_counter_is_refused(closed: Desk) -> None:
    """Only an open counter can pause."""
    with pytest.raises(InvalidTransition) as err:
        closed.run(c.PauseCounter(at=START, counter=L1, reason="istirahat"))
    assert err.value.code == "invalid_counter_transition"


@pytest.mark.parametrize("paused", [False, True])
def test_close_counter(desk: Desk, paused: bool) -> None:
    """An idle open or paused counter can close."""
    if paused:
        desk.run(c.PauseCounter(at=START, counter=L1, reason="istirahat"))
    decision = desk.run(c.CloseCounter(at=START, counter=L1))
    assert decision.events == [CounterClosed(at=START, counter=L1, actor="")]
    assert status(desk) is CounterStatus.CLOSED


def test_closing_a_busy_counter_is_refused(desk: Desk) -> None:
    """A counter with a called or serving ticket cannot close."""
    desk.issue()
    desk.call_next()
    with pytest.raises(CounterBusy):
        desk.run(c.CloseCounter(at=START, counter=L1))


def test_pausing_a_busy_counter_keeps_its_ticket(desk: Desk) -> None:
    """Pausing while serving is allowed: the current patient can still be completed."""
    ticket = desk.issue()
    desk.call_next()
    desk.run(c.PauseCounter(at=START, counter=L1, reason="istirahat setelah pasien ini"))
    assert desk.state.counters[L1].ticket == ticket.id
    desk.complete()
    assert desk.state.counters[L1].ticket is None


@pytest.mark.parametrize("how", ["paused", "closed"])
def test_call_next_at_a_counter_not_open_is_refused(desk: Desk, how: str) -> None:
    """A paused or closed counter cannot call next."""
    desk.issue()
    desk.run(
        c.PauseCounter(at=START, counter=L1, reason="istirahat")
        if how == "paused"
        else c.CloseCounter(at=START, counter=L1)
    )
    with pytest.raises(CounterNotOpen):
        desk.call_next()


@pytest.mark.parametrize("how", ["paused", "closed"])
def test_call_ticket_at_a_counter_not_open_is_refused(desk: Desk, how: str) -> None:
    """A paused or closed counter cannot call a ticket out of order either."""
    ticket = desk.issue()
    desk.run(
        c.PauseCounter(at=START, counter=L1, reason="istirahat")
        if how == "paused"
        else c.CloseCounter(at=START, counter=L1)
    )
    with pytest.raises(CounterNotOpen):
        decide(desk.state, c.CallTicket(at=START, counter=L1, ticket_id=ticket.id, actor="x", reason="y"))
