"""Keyed commands: a command sent again with the same key (its reply was lost) changes nothing."""

from __future__ import annotations

import pytest

from queue_engine.domain import commands as c
from queue_engine.domain.errors import QueueEmpty
from queue_engine.domain.events import CommandRecorded, TicketCalled
from queue_engine.domain.ids import CounterId, TicketId
from queue_engine.domain.state import FacilityState

from ..conftest import Desk, replay

DAY_MS = 24 * 3600 * 1000


def keyed_call(desk: Desk, key: str, counter: str = "L1") -> c.Keyed:
    return c.Keyed(key=key, command=c.CallNext(at=desk.now, counter=CounterId(counter), actor="petugas"))


def test_a_keyed_command_runs_once_and_a_retry_gets_its_outcome(desk: Desk):
    """The first send calls the next ticket and records the key; the same key again changes nothing."""
    first, second = desk.issue(), desk.issue()
    done = desk.run(keyed_call(desk, "petugas:k-1"))
    assert done.ticket_id == first.id
    assert isinstance(done.events[0], TicketCalled)
    assert done.events[-1] == CommandRecorded(at=desk.now, key="petugas:k-1", ticket_id=first.id)
    again = desk.run(keyed_call(desk, "petugas:k-1"))
    assert (again.events, again.ticket_id) == ([], first.id)
    assert desk.ticket(second.id).status.value == "waiting"  # the retry did not call the next one
    desk.complete()
    assert desk.run(keyed_call(desk, "petugas:k-2")).ticket_id == second.id  # a new key is a new press


def test_a_keyed_no_op_and_a_rejection_record_nothing(desk: Desk):
    """Only a command that changed something is remembered; a refused one may be sent again later."""
    opened = desk.run(c.Keyed(key="k-open", command=c.OpenCounter(at=desk.now, counter=CounterId("L1"))))
    assert opened.events == [] and "k-open" not in desk.state.commands  # L1 was already open
    with pytest.raises(QueueEmpty):
        desk.run(keyed_call(desk, "k-call"))
    assert "k-call" not in desk.state.commands
    ticket = desk.issue()
    assert desk.run(keyed_call(desk, "k-call")).ticket_id == ticket.id


def test_keys_survive_replay_and_snapshots_and_are_forgotten_the_next_day(desk: Desk):
    """The keys are state like any other: rebuilt by replay, kept by a snapshot, dropped at midnight."""
    ticket = desk.issue()
    desk.run(keyed_call(desk, "k-1"))
    rebuilt = replay(desk.facility, desk.events)
    restored = FacilityState.from_snapshot(desk.facility, desk.state.snapshot())
    for state in (rebuilt, restored):
        assert state.commands == {"k-1": TicketId(ticket.id)}
        assert state.snapshot() == desk.state.snapshot()
    desk.advance(DAY_MS)
    desk.issue()  # the first event of the next day rolls it
    assert desk.state.commands == {}
