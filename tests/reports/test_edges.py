"""The report's definitions at their edges: undo, requeue, next stages, remote tickets, midnight, counters.

Each scenario is played through the real engine (``tests.conftest.Desk``: decide + apply) on the
small test facility (service A with next stage B; counter L1 serves A, L2 serves B), starting
Thursday 2026-11-26 08:00 WIB; the expected figures are worked out by hand in each test.
"""

from __future__ import annotations

from datetime import date

import pytest

from queue_engine.domain import commands as c
from queue_engine.domain.evolve import apply
from queue_engine.domain.ids import CounterId, ServiceCode
from queue_engine.domain.model import Channel, Facility, Priority
from queue_engine.domain.state import FacilityState
from queue_engine.reports import (
    ALL,
    FOLLOW_MS,
    MAX_DAYS,
    Distribution,
    Report,
    ReportBuilder,
    ServiceFigures,
    day_report,
    quantile,
    range_report,
)
from tests.conftest import MINUTE, NEXT_MIDNIGHT, START, Desk, local_ms

DAY = date(2026, 11, 26)
NEXT = date(2026, 11, 27)
DAY_MS = 24 * 60 * MINUTE
L1, L2 = CounterId("L1"), CounterId("L2")


def report(desk: Desk, day: date = DAY, *, now: int | None = None) -> Report:
    return day_report(desk.facility, list(enumerate(desk.events, start=1)), day, now=now)


def figures(rep: Report, service: str) -> ServiceFigures:
    return next(s for s in rep.services if s.service == service)


def undo(desk: Desk, counter: CounterId = L1) -> None:
    desk.run(c.Undo(at=desk.now, counter=counter, actor="petugas"))


def test_an_undone_call_is_no_call(desk: Desk) -> None:
    """The wait runs to the call that stood; calls per hour, the counter and the ETA count that one only."""
    desk.issue("A")
    desk.advance(10 * MINUTE)
    desk.call_next("L1")  # 08:10, taken back at 08:11
    desk.advance(MINUTE)
    undo(desk)
    desk.advance(9 * MINUTE)
    desk.call_next("L1")  # 08:20
    desk.advance(5 * MINUTE)
    desk.complete("L1")  # 08:25
    rep = report(desk)
    assert rep.waiting[("A", "umum")] == Distribution(count=1, median=20.0, p90=20.0, max=20.0)
    assert rep.service_time[("A", ALL)].median == 5.0  # from the call: no service_started
    assert rep.calls_per_hour[8] == 1
    a = figures(rep, "A")
    assert (a.called, a.completed, a.eta_judged) == (1, 1, 1)
    l1 = rep.counters[0]
    assert (l1.calls, l1.completed) == (1, 1)
    # The engine held the ticket at L1 from 08:10 to the undo at 08:11, and 08:20-08:25.
    assert l1.serving_min == pytest.approx(6.0)


def test_an_undone_miss_is_no_miss_and_a_requeue_keeps_the_first_call(desk: Desk) -> None:
    """Missed then undone: not a no-show. Missed, requeued, called again: the wait ends at the first call."""
    first = desk.issue("A")
    second = desk.issue("A", priority=Priority.LANSIA)
    desk.advance(5 * MINUTE)
    assert desk.call_next("L1") == second  # priority first; 08:05
    desk.advance(MINUTE)
    desk.miss("L1")
    undo(desk)
    desk.start("L1")
    desk.advance(4 * MINUTE)
    desk.complete("L1")  # 08:10
    assert desk.call_next("L1") == first  # 08:10
    desk.advance(2 * MINUTE)
    desk.miss("L1")  # 08:12
    desk.advance(10 * MINUTE)
    desk.run(c.Requeue(at=desk.now, ticket_id=first.id, actor="petugas"))  # 08:22
    desk.advance(3 * MINUTE)
    assert desk.call_next("L1") == first  # 08:25
    desk.start("L1")
    desk.advance(6 * MINUTE)
    desk.complete("L1")  # 08:31
    rep = report(desk)
    assert rep.waiting[("A", "lansia")].median == 5.0
    assert rep.waiting[("A", "umum")].median == 10.0  # to the first call, not the one after the requeue
    assert rep.service_time[("A", "umum")].median == 6.0  # start to completion
    assert rep.service_time[("A", "lansia")].median == 4.0
    a = figures(rep, "A")
    assert (a.visits, a.called, a.completed, a.no_shows) == (2, 2, 2, 0)
    assert rep.calls_per_hour[8] == 3
    assert a.eta_judged == 3  # two joins at issue, one at the requeue


def test_missed_and_never_served_is_a_no_show_even_when_cancelled_later(desk: Desk) -> None:
    """No-show rate = missed-and-never-served visits / called visits; a cancellation is counted as well."""
    gone = desk.issue("A")
    desk.issue("A")
    desk.call_next("L1")
    desk.miss("L1")
    desk.advance(20 * MINUTE)
    desk.cancel(gone)
    desk.call_next("L1")
    desk.complete("L1")
    rep = report(desk)
    a = figures(rep, "A")
    assert (a.called, a.no_shows, a.cancelled, a.completed) == (2, 1, 1, 1)
    assert rep.no_show_rate == 0.5


def test_the_next_stage_is_a_new_visit_and_an_undone_completion_takes_it_back(desk: Desk) -> None:
    """Completing to B starts a visit at B, waiting from the transfer; undoing that completion removes it."""
    desk.issue("A")
    desk.call_next("L1")
    desk.advance(3 * MINUTE)
    desk.complete("L1", next_service="B")  # 08:03: to B
    undo(desk)  # a mistake: back at L1
    desk.advance(2 * MINUTE)
    desk.complete("L1", next_service="B")  # 08:05: to B, for good
    desk.advance(7 * MINUTE)
    desk.call_next("L2")  # 08:12
    desk.advance(4 * MINUTE)
    desk.complete("L2")
    rep = report(desk)
    assert rep.visits == {("A", "kiosk"): 1, ("B", "kiosk"): 1}
    assert rep.waiting[("B", ALL)].median == 7.0  # from the transfer that stood
    assert rep.service_time[("A", ALL)].median == 5.0  # the call to the completion that stood
    assert rep.service_time[("B", ALL)].median == 4.0
    assert (figures(rep, "A").completed, figures(rep, "B").completed) == (1, 1)
    assert rep.arrivals_per_hour[8] == 1  # a next stage is no arrival
    assert rep.counters[0].completed == 1  # L1: the undone completion does not count
    assert figures(rep, "B").eta_judged == 1


def test_a_remote_booking_belongs_to_its_slots_day_and_arrives_at_check_in(desk: Desk) -> None:
    """Booked the evening before for a slot today: today's ticket; its arrival and wait start at check-in."""
    desk.now = local_ms(2026, 11, 25, 20, 0)
    booked = desk.issue("A", channel=Channel.WEB, appointment_at=local_ms(2026, 11, 26, 8, 30))
    desk.now = local_ms(2026, 11, 26, 8, 20)
    desk.check_in(booked)
    desk.advance(15 * MINUTE)
    desk.call_next("L1")  # 08:35
    rep = report(desk)
    assert rep.tickets_by_channel == {"web": 1}
    assert rep.arrivals_per_hour[8] == 1 and sum(rep.arrivals_per_hour) == 1
    assert rep.waiting[("A", ALL)].median == 15.0
    assert report(desk, date(2026, 11, 25)).tickets == 0


def test_a_ticket_never_checked_in_counts_as_a_ticket_but_has_no_wait(desk: Desk) -> None:
    """A remote ticket that never came: a ticket and a visit, never called, no wait, no no-show."""
    desk.issue("A", channel=Channel.WEB)
    rep = report(desk)
    assert rep.tickets == 1 and figures(rep, "A").visits == 1
    assert rep.waiting == {} and rep.no_show_rate is None and rep.eta_hit_rate is None


def test_a_wait_across_midnight_stays_with_the_day_of_its_number(facility: Facility) -> None:
    """Issued 23:50, called 00:10: Thursday's report has the 20-minute wait, Friday's the call."""
    desk = Desk(facility, now=local_ms(2026, 11, 26, 23, 50))
    desk.issue("A")
    desk.now = NEXT_MIDNIGHT + 10 * MINUTE
    desk.call_next("L1")
    thursday, friday = report(desk), report(desk, NEXT)
    assert thursday.waiting[("A", ALL)].median == 20.0
    assert thursday.calls_per_hour == (0,) * 24
    assert friday.calls_per_hour[0] == 1 and friday.waiting == {} and friday.tickets == 0
    # Counter time is cut at midnight: L1 was open 10 minutes of Thursday, busy none of them.
    assert thursday.counters[0].open_min == pytest.approx(10.0)
    assert thursday.counters[0].serving_min == 0


def test_counter_utilisation_counts_open_time_only(facility: Facility) -> None:
    """Open 08:00-08:30 and 08:40-09:00, serving 08:10-08:20 and 08:45-08:55 (and through a pause)."""
    desk = Desk(facility, open_counters=False)
    desk.run(c.OpenCounter(at=desk.now, counter=L1))
    desk.issue("A")
    desk.issue("A")
    desk.issue("A")
    desk.advance(10 * MINUTE)
    desk.call_next("L1")
    desk.advance(10 * MINUTE)
    desk.complete("L1")  # 08:20
    desk.call_next("L1")  # 08:20, held through the pause: not open, so not counted
    desk.advance(10 * MINUTE)
    desk.run(c.PauseCounter(at=desk.now, counter=L1, reason="istirahat"))  # 08:30
    desk.advance(10 * MINUTE)
    desk.run(c.OpenCounter(at=desk.now, counter=L1))  # 08:40
    desk.complete("L1")
    desk.advance(5 * MINUTE)
    desk.call_next("L1")  # 08:45
    desk.advance(10 * MINUTE)
    desk.complete("L1")  # 08:55
    desk.advance(5 * MINUTE)
    desk.run(c.CloseCounter(at=desk.now, counter=L1))  # 09:00
    rep = report(desk)
    l1, l2 = rep.counters
    assert l1.open_min == pytest.approx(50.0)
    assert l1.serving_min == pytest.approx(30.0)  # 08:10-08:30 and 08:45-08:55
    assert l1.utilisation == pytest.approx(0.6)
    assert l2.open_min == 0 and l2.utilisation is None


def test_a_counter_left_open_counts_until_now_or_the_last_event(desk: Desk) -> None:
    """Open at 08:00 and never closed: until ``now`` for a day still running, else until the last event."""
    desk.issue("A")
    desk.advance(30 * MINUTE)
    desk.call_next("L1")  # 08:30, still at the counter
    assert report(desk).counters[0].open_min == pytest.approx(30.0)
    later = report(desk, now=START + 60 * MINUTE)
    assert later.counters[0].open_min == pytest.approx(60.0)
    assert later.counters[0].serving_min == pytest.approx(30.0)
    assert later.until == START + 60 * MINUTE
    # A past day is cut at its midnight, whatever "now" is.
    assert report(desk, now=NEXT_MIDNIGHT + DAY_MS).until == NEXT_MIDNIGHT


def test_an_out_of_order_call_is_not_judged_for_the_eta(desk: Desk) -> None:
    """``antre simulate`` does not judge a ticket called out of turn; neither does the report."""
    desk.issue("A")
    second = desk.issue("A")
    desk.run(c.CallTicket(at=desk.now, counter=L1, ticket_id=second.id, actor="petugas", reason="kontrol"))
    desk.complete("L1")
    desk.call_next("L1")
    a = figures(report(desk), "A")
    assert (a.called, a.eta_judged) == (2, 1)


def test_a_transfer_of_a_waiting_ticket_replaces_its_range(desk: Desk) -> None:
    """Moved from A to B before any call: one range judged, at B; A's visit was never called."""
    ticket = desk.issue("A")
    desk.advance(MINUTE)
    desk.run(c.Transfer(at=desk.now, ticket_id=ticket.id, to_service=ServiceCode("B"), actor="petugas"))
    desk.call_next("L2")
    rep = report(desk)
    assert (figures(rep, "A").called, figures(rep, "A").eta_judged) == (0, 0)
    assert (figures(rep, "B").called, figures(rep, "B").eta_judged) == (1, 1)


def test_records_long_after_the_window_stop_the_fold(desk: Desk) -> None:
    """The builder says it is done once a record is more than ``FOLLOW_MS`` past the window."""
    builder = ReportBuilder(desk.facility, DAY, DAY)
    desk.issue("A")
    desk.now = NEXT_MIDNIGHT + FOLLOW_MS
    desk.issue("A")
    for position, event in enumerate(desk.events, start=1):
        builder.feed(position, event)
    assert builder.done
    assert builder.report().tickets == 1
    assert range_report(desk.facility, list(enumerate(desk.events, start=1)), DAY, DAY).tickets == 1


def test_a_report_may_start_from_a_snapshot_taken_before_the_window(facility: Facility) -> None:
    """Folding Friday from Thursday's end state gives Friday's figures, ETA included."""
    desk = Desk(facility)
    desk.issue("A")
    desk.call_next("L1")
    desk.complete("L1")
    thursday = len(desk.events)
    desk.now = NEXT_MIDNIGHT + 8 * 60 * MINUTE
    desk.issue("A")
    desk.advance(4 * MINUTE)
    desk.call_next("L1")
    records = list(enumerate(desk.events, start=1))
    state = FacilityState(facility)
    for _, event in records[:thursday]:
        apply(state, event)
    snap = FacilityState.from_snapshot(facility, state.snapshot())
    assert day_report(facility, records[thursday:], NEXT, state=snap) == day_report(facility, records, NEXT)


def test_windows_are_checked(facility: Facility) -> None:
    with pytest.raises(ValueError, match="before"):
        ReportBuilder(facility, NEXT, DAY)
    with pytest.raises(ValueError, match=str(MAX_DAYS)):
        ReportBuilder(facility, date(2025, 1, 1), date(2026, 1, 2))  # 367 days


def test_quantiles_interpolate_between_ranks() -> None:
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.9) == pytest.approx(3.7)
    assert quantile([5.0], 0.9) == 5.0
    assert Distribution.of([]) == Distribution(count=0, median=None, p90=None, max=None)
    assert Distribution.of([3.0, 1.0]) == Distribution(count=2, median=2.0, p90=2.8, max=3.0)
