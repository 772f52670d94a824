"""Views: positions match the real call order, ETA ranges are ordered and widen, boards carry no tokens."""

from __future__ import annotations

import dataclasses
import itertools

import orjson
import pytest
from hypothesis import given, settings, strategies as st

from queue_engine.domain import commands as c
from queue_engine.domain.forecast import people_ahead
from queue_engine.domain.ids import CounterId, ServiceCode
from queue_engine.domain.model import Channel, Policy, Priority
from queue_engine.domain.status import TicketStatus
from queue_engine.domain.views import board_view, queue_view, ticket_view

from ..conftest import MINUTE, SECOND, Desk, make_facility, service

A = ServiceCode("A")

ratios = st.sampled_from([(2, 1), (1, 1), (1, 3), (3, 2)])
arrivals = st.lists(
    st.tuples(st.sampled_from(list(Priority)), st.none() | st.integers(-15, 90)), min_size=1, max_size=25
)


@settings(max_examples=200, deadline=None)
@given(ratio=ratios, tickets=arrivals, warmup=st.integers(0, 6))
def test_people_ahead_matches_the_actual_call_order(
    ratio: tuple[int, int], tickets: list[tuple[Priority, int | None]], warmup: int
) -> None:
    """With no new arrivals, each waiting ticket's people_ahead is the number of tickets called before it."""
    desk = Desk(make_facility(service("A"), policy=Policy(priority_ratio=ratio)))
    for priority, slot_min in tickets:
        appointment = None if slot_min is None else desk.now + slot_min * MINUTE
        desk.issue(priority=priority, channel=Channel.STAFF, appointment_at=appointment)
        desk.advance(7 * SECOND)
    for _ in range(min(warmup, len(tickets) - 1)):  # move the interleave cycle somewhere
        desk.call_next()
        desk.complete()
    waiting = [t for t in desk.state.tickets.values() if t.status is TicketStatus.WAITING]
    predicted = {t.number: people_ahead(desk.state, t) for t in waiting}
    order = desk.call_all()
    assert sorted(order) == sorted(predicted)
    assert {number: i for i, number in enumerate(order)} == predicted


def test_remote_ticket_counts_as_ahead_until_passed_over() -> None:
    """A remote ticket not yet passed over may still check in, so it counts; once passed over it no longer does."""
    desk = Desk(make_facility(service("A")))
    desk.issue(channel=Channel.WEB)
    desk.advance(MINUTE)
    first, second = desk.issue(), desk.issue()
    assert (people_ahead(desk.state, first), people_ahead(desk.state, second)) == (1, 2)
    desk.call_next()
    assert people_ahead(desk.state, second) == 0
    assert people_ahead(desk.state, first) is None


def test_people_ahead_is_none_for_a_ticket_not_waiting(desk: Desk) -> None:
    """Called tickets have no position."""
    ticket = desk.issue()
    desk.call_next()
    assert people_ahead(desk.state, ticket) is None
    assert ticket_view(desk.state, ticket, desk.now).eta is None


COUNTER_SETUPS: dict[str, dict[str, tuple[str, ...]]] = {
    "one-counter": {"L1": ("A",)},
    "two-counters": {"L1": ("A",), "L2": ("A",)},
    "shared-counters": {"L1": ("A", "B"), "L2": ("A", "B", "C")},
}


@pytest.mark.parametrize("busy", [False, True])
@pytest.mark.parametrize("setup", list(COUNTER_SETUPS))
def test_eta_range_is_ordered_and_widens_with_position(setup: str, busy: bool) -> None:
    """For every waiting ticket earliest <= at <= latest, and later positions get later, wider ranges."""
    desk = Desk(make_facility(service("A"), service("B"), service("C"), counters=COUNTER_SETUPS[setup]))
    tickets = [desk.issue() for _ in range(12)]
    if busy:
        desk.call_next("L1")
        tickets = tickets[1:]
    views = [ticket_view(desk.state, t, desk.now) for t in tickets]
    assert [v.people_ahead for v in views] == list(range(len(tickets)))
    estimates = [v.eta for v in views]
    for e in estimates:
        assert e is not None
        assert desk.now <= e.earliest <= e.at <= e.latest
    widths = [e.latest - e.earliest for e in estimates if e is not None]
    for before, after in itertools.pairwise(estimates):
        assert before is not None and after is not None
        assert before.at <= after.at
        assert before.latest <= after.latest
    assert widths == sorted(widths)
    assert widths[-1] > widths[0]


served_by = st.lists(
    st.tuples(st.sets(st.sampled_from("ABC"), min_size=1).map(sorted), st.sampled_from(["open", "busy", "closed"])),
    min_size=1,
    max_size=4,
).filter(lambda counters: any("A" in services for services, _ in counters))


@settings(max_examples=150, deadline=None)
@given(counters=served_by, waiting=st.integers(2, 15))
def test_eta_range_is_ordered_and_monotone_for_any_counter_setup(
    counters: list[tuple[list[str], str]], waiting: int
) -> None:
    """Whatever counters serve A (shared, idle, busy, closed): ranges are ordered and never shrink back."""
    setup = {f"L{i}": tuple(services) for i, (services, _) in enumerate(counters, 1)}
    desk = Desk(make_facility(service("A"), service("B"), service("C"), counters=setup))
    for i, (services, how) in enumerate(counters, 1):
        if how == "busy":
            desk.issue(services[0])
            desk.call_next(f"L{i}")
        elif how == "closed":
            desk.run(c.CloseCounter(at=desk.now, counter=CounterId(f"L{i}")))
    tickets = [desk.issue("A") for _ in range(waiting)]
    estimates = []
    for ticket in tickets:
        view = ticket_view(desk.state, ticket, desk.now)
        assert view.eta is not None
        estimates.append(view.eta)
    for e in estimates:
        assert desk.now <= e.earliest <= e.at <= e.latest
    for before, after in itertools.pairwise(estimates):
        assert before.at <= after.at
        assert before.latest <= after.latest
        assert before.latest - before.earliest <= after.latest - after.earliest


def test_eta_starts_at_the_appointment_slot_when_it_is_later(desk: Desk) -> None:
    """An appointment in the future is not expected before its slot."""
    slot = desk.now + 90 * MINUTE
    ticket = desk.issue(channel=Channel.STAFF, appointment_at=slot)
    view = ticket_view(desk.state, ticket, desk.now)
    assert view.eta is not None
    assert view.eta.earliest >= slot


def test_board_view_never_contains_tokens() -> None:
    """The TV board shows numbers only: no ticket's tracking token appears anywhere in it."""
    desk = Desk(make_facility(service("A"), service("B"), counters={"L1": ("A",), "L2": ("A", "B")}))
    tickets = [desk.issue("A"), desk.issue("B", channel=Channel.WEB), desk.issue("A", priority=Priority.LANSIA)]
    tickets += [desk.issue("B") for _ in range(3)]
    desk.call_next("L1")
    desk.call_next("L2")
    board = board_view(desk.state)
    payload = orjson.dumps(dataclasses.asdict(board))
    assert board.counters and any(q.next_numbers for q in board.queues)
    for ticket in tickets:
        assert ticket.token.encode() not in payload
    assert b"secret-token" not in payload


def test_deltas_never_carry_tokens(desk: Desk) -> None:
    """View deltas from apply carry ids and numbers, never a token."""
    ticket = desk.issue(channel=Channel.WEB)
    desk.check_in(ticket)
    desk.call_next()
    desk.run(c.Recall(at=desk.now, counter=CounterId("L1")))
    desk.complete(next_service="B")
    assert desk.deltas
    assert ticket.token not in repr(desk.deltas)


def test_board_view_lists_next_numbers_in_call_order() -> None:
    """queue_view's next numbers are the order CallNext would take."""
    desk = Desk(make_facility(service("A")))
    for priority in [Priority.UMUM, Priority.UMUM, Priority.LANSIA, Priority.DARURAT, Priority.LANSIA]:
        desk.issue(priority=priority)
    shown = queue_view(desk.state, A, limit=10)
    assert shown.waiting == 5
    assert list(shown.next_numbers) == desk.call_all()


def test_board_view_for_a_display_shows_only_its_services() -> None:
    """A display bound to service B shows B's queue and the counters that serve B."""
    desk = Desk(make_facility(service("A"), service("B"), counters={"L1": ("A",), "L2": ("B",)}))
    board = board_view(desk.state, (ServiceCode("B"),))
    assert [q.service for q in board.queues] == ["B"]
    assert [cv.counter for cv in board.counters] == ["L2"]
