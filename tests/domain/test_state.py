"""State: snapshots round-trip, replay rebuilds the live state, and a new local day forgets finished tickets."""

from __future__ import annotations

import orjson
import pytest

from queue_engine.domain import commands as c
from queue_engine.domain.errors import NotFound
from queue_engine.domain.ids import CounterId, FacilityId, ServiceCode, TicketId
from queue_engine.domain.model import Channel, Facility, Priority
from queue_engine.domain.state import FacilityState
from queue_engine.domain.status import TicketStatus

from ..conftest import HOUR, MINUTE, NEXT_MIDNIGHT, START, Desk, make_facility, replay, service

L1, L2 = CounterId("L1"), CounterId("L2")


def busy_day(facility: Facility) -> Desk:
    """A morning with every kind of event: appointments, remote check-ins, requeues, stages, pauses."""
    desk = Desk(facility)
    for priority in (Priority.UMUM, Priority.LANSIA, Priority.DARURAT, Priority.UMUM, Priority.IBU_HAMIL):
        desk.issue(priority=priority, idempotency_key=f"kiosk:{desk.now}:{priority}")
        desk.advance(MINUTE)
    remote = desk.issue(channel=Channel.BPJS)
    desk.issue(channel=Channel.STAFF, appointment_at=START + 30 * MINUTE)
    desk.issue("B")
    desk.call_next()
    desk.advance(3 * MINUTE)
    desk.start()
    desk.advance(4 * MINUTE)
    desk.complete(next_service="B")
    desk.call_next()
    desk.miss()
    missed = next(t for t in desk.state.tickets.values() if t.status is TicketStatus.MISSED)
    desk.run(c.Requeue(at=desk.now, ticket_id=missed.id))
    desk.check_in(remote)
    desk.call_next("L2")
    desk.run(c.PauseCounter(at=desk.now, counter=L2, reason="istirahat"))
    desk.advance(20 * MINUTE)
    desk.run(c.CallNext(at=desk.now, counter=L1, complete_current=False))
    return desk


def roundtrip(state: FacilityState) -> FacilityState:
    """Snapshot through JSON and back, as a log backend stores it."""
    return FacilityState.from_snapshot(state.facility, orjson.loads(orjson.dumps(state.snapshot())))


def test_snapshot_round_trip_is_exact(facility: Facility) -> None:
    """from_snapshot(snapshot()) (through JSON) has exactly the same snapshot."""
    desk = busy_day(facility)
    assert roundtrip(desk.state).snapshot() == desk.state.snapshot()


def test_restored_state_continues_identically(facility: Facility) -> None:
    """A state restored from a snapshot decides and applies the next commands exactly as the live one."""
    live = busy_day(facility)
    restored = Desk(facility, now=live.now, open_counters=False)
    restored.state = roundtrip(live.state)
    restored._n = live._n
    for desk in (live, restored):
        desk.run(c.CallNext(at=desk.now, counter=L1, complete_current=True))
        desk.issue(priority=Priority.LANSIA)
        desk.run(c.OpenCounter(at=desk.now, counter=L2))
        desk.run(c.CallNext(at=desk.now, counter=L2, complete_current=True))
    assert restored.events == live.events[-len(restored.events) :]
    assert restored.state.snapshot() == live.state.snapshot()


def test_replay_of_the_log_rebuilds_the_live_state(facility: Facility) -> None:
    """Folding every event from an empty state gives exactly the live snapshot."""
    desk = busy_day(facility)
    assert replay(facility, desk.events).snapshot() == desk.state.snapshot()


def test_snapshot_of_another_facility_is_refused(facility: Facility) -> None:
    """A snapshot names its facility; loading it into another one is an error."""
    desk = busy_day(facility)
    other = make_facility(service("A"), facility_id="pkm-lain")
    assert other.id == FacilityId("pkm-lain")
    with pytest.raises(ValueError):
        FacilityState.from_snapshot(other, desk.state.snapshot())


# -- day rollover ------------------------------------------------------------------------------


def yesterday_desk(facility: Facility) -> tuple[Desk, dict[str, TicketId]]:
    """Tickets of 2026-11-26 in every status, left over when the day ends."""
    desk = Desk(facility, now=NEXT_MIDNIGHT - 2 * HOUR)
    ids: dict[str, TicketId] = {}
    for name in ("done", "missed", "cancelled", "serving", "waiting"):
        ids[name] = desk.issue(idempotency_key=f"key-{name}").id
    ids["remote"] = desk.issue(channel=Channel.WEB).id
    ids["tomorrow"] = desk.issue(channel=Channel.BPJS, appointment_at=NEXT_MIDNIGHT + 9 * HOUR).id
    desk.call_next()
    desk.complete()
    desk.call_next()
    desk.miss()
    desk.cancel(desk.ticket(ids["cancelled"]))
    desk.call_next()
    desk.start()
    return desk, ids


def test_new_local_day_forgets_finished_tickets_and_keeps_waiting_ones(facility: Facility) -> None:
    """At the first event after local midnight, done / missed / cancelled tickets of earlier days are dropped."""
    desk, ids = yesterday_desk(facility)
    desk.now = NEXT_MIDNIGHT + 7 * HOUR
    desk.issue("B")
    tickets = desk.state.tickets
    for name in ("done", "missed", "cancelled"):
        assert ids[name] not in tickets
    for name in ("serving", "waiting", "remote", "tomorrow"):
        assert ids[name] in tickets
    assert set(desk.state.by_token.values()) == set(tickets)
    assert set(desk.state.idempotency) == {"key-serving", "key-waiting"}
    assert desk.state.counters[L1].ticket == ids["serving"]
    assert all(day >= "2026-11-27" for _, day in desk.state.day_seq)
    assert all(day >= "2026-11-27" for _, day in desk.state.quota_used)


def test_leftover_waiting_ticket_is_still_called_after_midnight(facility: Facility) -> None:
    """Yesterday's waiting ticket keeps its place ahead of today's."""
    desk, ids = yesterday_desk(facility)
    desk.now = NEXT_MIDNIGHT + 7 * HOUR
    desk.complete()
    today = desk.issue()
    assert today.number == "A002"  # tomorrow's appointment already took A001
    assert desk.call_all() == [desk.ticket(ids["waiting"]).number, today.number]


def test_day_does_not_roll_before_local_midnight(facility: Facility) -> None:
    """An event at 23:59 local time forgets nothing, even though it is a later UTC date than 16:00 WIB."""
    desk, ids = yesterday_desk(facility)
    desk.now = NEXT_MIDNIGHT - MINUTE
    desk.issue("B")
    assert ids["done"] in desk.state.tickets
    desk.now = NEXT_MIDNIGHT
    desk.issue("B")
    assert ids["done"] not in desk.state.tickets


def test_counter_forgets_last_called_ticket_that_was_dropped(facility: Facility) -> None:
    """A counter does not point at a ticket the new day has forgotten."""
    desk = Desk(facility, now=NEXT_MIDNIGHT - HOUR)
    desk.issue()
    desk.call_next()
    desk.complete()
    assert desk.state.counters[L1].last_called is not None
    desk.now = NEXT_MIDNIGHT + HOUR
    desk.issue("B")
    assert desk.state.counters[L1].last_called is None


def test_rollover_replays_identically(facility: Facility) -> None:
    """Forgetting at midnight is part of apply, so replay forgets the same tickets."""
    desk, _ = yesterday_desk(facility)
    desk.now = NEXT_MIDNIGHT + 7 * HOUR
    desk.issue("B")
    assert replay(facility, desk.events).snapshot() == desk.state.snapshot()
    assert ServiceCode("A") in desk.state.services


@pytest.mark.parametrize("action", ["requeue", "call", "cancel"])
def test_missed_ticket_of_yesterday_is_not_found_after_midnight(facility: Facility, action: str) -> None:
    """The first command of a new day cannot name yesterday's missed ticket: the day's first event drops it."""
    # Were it accepted, its event would name a ticket that applying that very event forgets.
    desk = Desk(facility, now=NEXT_MIDNIGHT - HOUR)
    missed = desk.issue()
    desk.call_next()
    desk.miss()
    desk.now = NEXT_MIDNIGHT + MINUTE
    commands: dict[str, c.Command] = {
        "requeue": c.Requeue(at=desk.now, ticket_id=missed.id),
        "call": c.CallTicket(at=desk.now, counter=L1, ticket_id=missed.id, actor="petugas", reason="datang"),
        "cancel": c.Cancel(at=desk.now, ticket_id=missed.id),
    }
    cmd = commands[action]
    before = desk.state.snapshot()
    with pytest.raises(NotFound):
        desk.run(cmd)
    assert desk.state.snapshot() == before
    desk.issue()
    assert missed.id not in desk.state.tickets


def test_missed_ticket_can_be_requeued_until_midnight(facility: Facility) -> None:
    """Before the day ends, yesterday's rule does not apply: a missed ticket is requeued normally."""
    desk = Desk(facility, now=NEXT_MIDNIGHT - HOUR)
    missed = desk.issue()
    desk.call_next()
    desk.miss()
    desk.now = NEXT_MIDNIGHT - 1
    desk.run(c.Requeue(at=desk.now, ticket_id=missed.id))
    assert missed.status is TicketStatus.WAITING
