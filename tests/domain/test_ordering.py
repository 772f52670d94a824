"""Call order: emergency first, priority interleave, appointments, remote tickets and check-in grace."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, strategies as st

from queue_engine.domain import commands as c
from queue_engine.domain.decide import decide
from queue_engine.domain.errors import CheckInNotAllowed, QueueEmpty
from queue_engine.domain.ids import CounterId, TicketId
from queue_engine.domain.model import Channel, Lane, Policy, Priority
from queue_engine.domain.ordering import key_between

from ..conftest import HOUR, MINUTE, NEXT_MIDNIGHT, SECOND, START, Desk, make_facility, service

P, N, E = Priority.LANSIA, Priority.UMUM, Priority.DARURAT


def one_service(policy: Policy | None = None) -> Desk:
    return Desk(make_facility(service("A"), policy=policy))


def lanes_called(desk: Desk, count: int) -> list[Lane]:
    out = []
    for _ in range(count):
        ticket = desk.call_next()
        assert ticket is not None
        out.append(ticket.lane)
        desk.complete()
    return out


def test_emergency_is_called_before_everyone() -> None:
    """A darurat ticket that arrives last is called first, ahead of priority and normal tickets."""
    desk = one_service()
    desk.issue(priority=N)
    desk.issue(priority=P)
    desk.advance(MINUTE)
    emergency = desk.issue(priority=E)
    called = desk.call_next()
    assert called is not None
    assert called.id == emergency.id


def test_emergencies_are_called_in_arrival_order() -> None:
    """Two emergencies keep their arrival order between themselves."""
    desk = one_service()
    first = desk.issue(priority=E)
    desk.advance(SECOND)
    desk.issue(priority=E)
    called = desk.call_next()
    assert called is not None
    assert called.id == first.id


def test_default_ratio_calls_two_priority_then_one_normal() -> None:
    """With ratio (2, 1) and both lanes full, the call order is P, P, N, P, P, N."""
    desk = one_service()
    for _ in range(4):
        desk.issue(priority=N)
        desk.advance(SECOND)
        desk.issue(priority=P)
        desk.advance(SECOND)
    L = Lane
    assert lanes_called(desk, 6) == [L.PRIORITY, L.PRIORITY, L.NORMAL, L.PRIORITY, L.PRIORITY, L.NORMAL]


def test_each_lane_is_first_come_first_served() -> None:
    """Within a lane tickets are called in arrival order, whatever the priority class within the lane."""
    desk = one_service()
    classes = [Priority.IBU_HAMIL, Priority.LANSIA, Priority.DISABILITAS, Priority.BALITA]
    numbers = []
    for cls in classes:
        numbers.append(desk.issue(priority=cls).number)
        desk.advance(SECOND)
    assert desk.call_all() == numbers


def test_normal_tickets_are_called_while_the_priority_lane_is_empty() -> None:
    """With no priority ticket waiting, normal tickets are called one after another."""
    desk = one_service()
    for _ in range(3):
        desk.issue(priority=N)
    assert lanes_called(desk, 3) == [Lane.NORMAL] * 3


def test_priority_lane_gets_its_turn_as_soon_as_someone_arrives() -> None:
    """Normal calls while the priority lane was empty do not use up its turn: a newcomer goes next."""
    desk = one_service()
    normals = [desk.issue(priority=N) for _ in range(4)]
    assert lanes_called(desk, 2) == [Lane.NORMAL, Lane.NORMAL]
    late = desk.issue(priority=P)
    called = desk.call_next()
    assert called is not None
    assert called.id == late.id
    desk.complete()
    called = desk.call_next()
    assert called is not None
    assert called.id == normals[2].id


def test_ratio_one_to_one_alternates() -> None:
    """With ratio (1, 1) the lanes alternate P, N, P, N."""
    desk = one_service(Policy(priority_ratio=(1, 1)))
    for _ in range(3):
        desk.issue(priority=N)
        desk.issue(priority=P)
    assert lanes_called(desk, 4) == [Lane.PRIORITY, Lane.NORMAL, Lane.PRIORITY, Lane.NORMAL]


def test_ratio_one_to_three_calls_three_normals_per_priority() -> None:
    """The ratio is configurable: (1, 3) calls one priority then three normal tickets."""
    desk = one_service(Policy(priority_ratio=(1, 3)))
    for _ in range(8):
        desk.issue(priority=N)
        desk.issue(priority=P)
    P_, N_ = Lane.PRIORITY, Lane.NORMAL
    assert lanes_called(desk, 8) == [P_, N_, N_, N_, P_, N_, N_, N_]


def test_appointment_ranks_as_if_it_arrived_at_its_slot() -> None:
    """An appointment for 08:05 is called after the 08:00 walk-in and before the 08:10 one."""
    desk = one_service()
    desk.now = START - HOUR
    appt = desk.issue(channel=Channel.STAFF, appointment_at=START + 5 * MINUTE)
    desk.now = START
    early = desk.issue()
    desk.now = START + 10 * MINUTE
    late = desk.issue()
    assert desk.call_all() == [early.number, appt.number, late.number]


def test_remote_ticket_not_checked_in_is_passed_over() -> None:
    """CallNext skips a remote ticket that has not checked in; it stays waiting."""
    desk = one_service()
    remote = desk.issue(channel=Channel.WEB)
    desk.advance(MINUTE)
    walk_in = desk.issue()
    called = desk.call_next()
    assert called is not None
    assert called.id == walk_in.id
    assert remote.status == "waiting"
    assert not remote.checked_in
    desk.complete()
    with pytest.raises(QueueEmpty):
        decide(desk.state, c.CallNext(at=desk.now, counter=CounterId("L1")))


def grace_scenario() -> tuple[Desk, TicketId, list[str]]:
    """A web ticket at 08:00, walk-ins at 08:01-08:03; the 08:10 call passes the web ticket over."""
    desk = one_service()
    remote = desk.issue(channel=Channel.WEB)
    walk_ins = []
    for _ in range(3):
        desk.advance(MINUTE)
        walk_ins.append(desk.issue().number)
    desk.now = START + 10 * MINUTE
    first = desk.call_next()
    assert first is not None
    assert first.number == walk_ins[0]
    desk.complete()
    return desk, remote.id, walk_ins


def test_check_in_within_grace_keeps_the_place() -> None:
    """Checking in up to the grace window after being passed over keeps the original place: called next."""
    desk, remote_id, walk_ins = grace_scenario()
    desk.now = START + 10 * MINUTE + desk.facility.policy.checkin_grace_min * MINUTE
    decision = desk.check_in(desk.ticket(remote_id))
    assert decision.events[0].kept_place is True  # type: ignore[union-attr]
    assert desk.call_all() == [desk.ticket(remote_id).number, walk_ins[1], walk_ins[2]]


def test_check_in_after_grace_goes_to_the_back() -> None:
    """A check-in later than the grace window ranks by the check-in time: behind those already waiting."""
    desk, remote_id, walk_ins = grace_scenario()
    desk.now = START + 10 * MINUTE + desk.facility.policy.checkin_grace_min * MINUTE + 1
    decision = desk.check_in(desk.ticket(remote_id))
    assert decision.events[0].kept_place is False  # type: ignore[union-attr]
    assert desk.ticket(remote_id).key[0] == desk.now
    assert desk.call_all() == [walk_ins[1], walk_ins[2], desk.ticket(remote_id).number]


def test_check_in_never_passed_over_keeps_the_place_however_late() -> None:
    """Grace counts from the first time the ticket was passed over, not from issue."""
    desk = one_service()
    remote = desk.issue(channel=Channel.WEB)
    desk.advance(2 * HOUR)
    walk_in = desk.issue()
    decision = desk.check_in(remote)
    assert decision.events[0].kept_place is True  # type: ignore[union-attr]
    assert desk.call_all() == [remote.number, walk_in.number]


def test_second_check_in_is_a_no_op(desk: Desk) -> None:
    """Checking in twice succeeds the second time with no events."""
    remote = desk.issue(channel=Channel.WEB)
    desk.check_in(remote)
    assert desk.check_in(remote).events == []


def test_check_in_of_a_ticket_of_another_day_is_refused() -> None:
    """A remote ticket of yesterday cannot check in today."""
    desk = one_service()
    desk.now = NEXT_MIDNIGHT - HOUR
    remote = desk.issue(channel=Channel.WEB)
    desk.now = NEXT_MIDNIGHT + 8 * HOUR
    with pytest.raises(CheckInNotAllowed):
        desk.check_in(remote)


def test_check_in_for_a_future_appointment_day_is_refused() -> None:
    """An appointment for tomorrow cannot be checked in today."""
    desk = one_service()
    appt = desk.issue(channel=Channel.BPJS, appointment_at=NEXT_MIDNIGHT + 9 * HOUR)
    with pytest.raises(CheckInNotAllowed):
        desk.check_in(appt)


def test_counter_serving_several_services_takes_the_best_across_them() -> None:
    """A counter for A and B calls the earliest ticket of either service."""
    desk = Desk(make_facility(service("A"), service("B"), counters={"L1": ("A", "B")}))
    a = desk.issue("A")
    desk.advance(SECOND)
    b = desk.issue("B")
    desk.advance(SECOND)
    a2 = desk.issue("A")
    assert desk.call_all() == [a.number, b.number, a2.number]


def test_emergency_in_one_service_beats_earlier_normal_of_another() -> None:
    """Across services an emergency still goes first."""
    desk = Desk(make_facility(service("A"), service("B"), counters={"L1": ("A", "B")}))
    b = desk.issue("B")
    desk.advance(MINUTE)
    a = desk.issue("A", priority=E)
    assert desk.call_all() == [a.number, b.number]


def test_multi_service_counter_follows_each_services_interleave() -> None:
    """Each service's candidate follows its own ratio; the counter takes the better of the candidates."""
    desk = Desk(make_facility(service("A"), service("B"), counters={"L1": ("A", "B"), "L2": ("B",)}))
    normal_b = desk.issue("B", priority=N)
    desk.advance(SECOND)
    prio_b = desk.issue("B", priority=P)
    desk.advance(SECOND)
    normal_a = desk.issue("A", priority=N)
    # B's interleave prefers its priority lane first, so B offers prio_b (not its older normal ticket);
    # prio_b arrived before normal_a, so it wins; then B offers normal_b, the oldest of all.
    assert desk.call_all() == [prio_b.number, normal_b.number, normal_a.number]


# -- key_between -------------------------------------------------------------------------------

keys = st.lists(st.integers(-5, 5), min_size=1, max_size=4).map(tuple)


@given(a=keys, b=keys)
def test_key_between_is_strictly_between_neighbours(a: tuple[int, ...], b: tuple[int, ...]) -> None:
    """For keys a < b, key_between(a, b) lies strictly between them."""
    low, high = sorted((a, b))
    if low == high:
        return
    mid = key_between(low, high)
    assert low < mid < high


@given(a=keys)
def test_key_between_open_ends(a: tuple[int, ...]) -> None:
    """With one side open the result is strictly beyond the given bound."""
    assert key_between(a, None) > a
    assert key_between(None, a) < a


@given(ks=st.lists(keys, min_size=2, max_size=8, unique=True), data=st.data())
def test_key_between_repeated_insertion_stays_ordered(ks: list[tuple[int, ...]], data: st.DataObject) -> None:
    """Inserting between neighbours again and again keeps the list strictly sorted (requeue never renumbers)."""
    ordered = sorted(ks)
    for _ in range(10):
        i = data.draw(st.integers(0, len(ordered)))
        low = ordered[i - 1] if i > 0 else None
        high = ordered[i] if i < len(ordered) else None
        ordered.insert(i, key_between(low, high))
        assert all(x < y for x, y in itertools.pairwise(ordered))


def test_key_between_needs_a_bound() -> None:
    """Both sides open is an error."""
    with pytest.raises(ValueError):
        key_between(None, None)
