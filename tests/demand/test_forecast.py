"""The demand forecast on synthetic past weeks made through the engine's commands (tests/demand/support.py).

Tolerances: with the same counts every week the forecast equals the pattern exactly (trend 1);
with Poisson arrivals each hour's expectation is within 2·√λ of the true rate λ (the weighted
mean of 4 weeks has a standard error of about 0.55·√λ; the trend factor adds a little), and the
10-90 % range holds 70-92 % of the real counts of the following week.
"""

from __future__ import annotations

import math
import random
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from queue_engine.demand import (
    MIN_SAME_WEEKDAYS,
    Forecast,
    ServiceForecast,
    Status,
    counters_needed,
    forecast,
    forecast_dict,
    window_start,
)
from queue_engine.domain import commands as c
from queue_engine.domain.ids import CounterId, ServiceCode
from queue_engine.domain.model import Channel
from tests.test_architecture import FORBIDDEN_CALLS, FORBIDDEN_MODULES, _calls, _imports

from .support import FIRST_DAY, PATTERN, TARGET, History, local, synthetic

WEEK = timedelta(days=7)


def service(result: Forecast, code: str) -> ServiceForecast:
    return next(s for s in result.services if s.service == code)


def by_hour(s: ServiceForecast) -> dict[int, float]:
    return {h.hour: h.expected for h in s.hours}


@pytest.fixture(scope="module")
def steady() -> History:
    return synthetic()


@pytest.mark.parametrize("offset", range(6))
def test_a_steady_pattern_is_recovered_exactly_for_each_weekday(steady: History, offset: int) -> None:
    """Same counts every week: each weekday's hours come back as they were, service times as observed."""
    day = TARGET + timedelta(days=offset)  # Monday ... Saturday
    result = forecast(steady.facility, steady.events, day, complete_before=TARGET)
    assert result.status is Status.OK and result.same_weekdays == result.open_same_weekdays == 4
    a, b = service(result, "A"), service(result, "B")
    expected = {h: float(PATTERN[day.weekday()].get(h, 0)) for h in range(7, 12)}
    assert by_hour(a) == pytest.approx(expected, abs=1e-9)
    assert a.trend == b.trend == 1.0
    assert (a.service_min, a.service_min_source) == (4.0, "observed")
    assert (b.service_min, b.service_min_source) == (8.0, "observed")
    assert b.expected_total == pytest.approx(a.expected_total)  # every visit goes on from A to B
    for h in a.hours:
        assert h.low <= h.expected <= h.high
        assert h.counters == counters_needed(h.expected / 60, 1 / 4, 15.0)
        assert h.counters > h.expected / 60 * 4 or h.expected == h.counters == 0  # more than the offered load
    assert result.message() == ("", "")


def test_weekday_seasonality_is_respected(steady: History) -> None:
    """Monday's peak stays a Monday peak, Saturday stays short, Sunday (closed) has no hours."""
    totals = {}
    for offset in range(7):
        day = TARGET + timedelta(days=offset)
        a = service(forecast(steady.facility, steady.events, day, complete_before=TARGET), "A")
        totals[day.weekday()] = a.expected_total
        if day.weekday() == 6:
            assert a.closed and a.hours == ()
    assert totals == {w: float(sum(PATTERN[w].values())) for w in range(7)}
    assert totals[0] > totals[1] == totals[2] == totals[3] > totals[4] > totals[5] > totals[6] == 0


def test_poisson_arrivals_are_recovered_within_tolerance_and_the_range_holds_the_next_week() -> None:
    inside = total = 0
    for seed in (11, 12, 13):
        history = History(synthetic().facility).days(FIRST_DAY, 35, rng=random.Random(seed))
        for offset in range(6):
            day = TARGET + timedelta(days=offset)
            a = service(forecast(history.facility, history.events, day, complete_before=day), "A")
            for h in a.hours:
                rate = PATTERN[day.weekday()].get(h.hour, 0)
                assert abs(h.expected - rate) <= 2 * math.sqrt(rate) + 0.5, (seed, day, h)
                inside += h.low <= history.arrivals.get((day, h.hour), 0) <= h.high
                total += 1
    assert 0.70 <= inside / total <= 0.92, inside / total


def test_a_recent_rise_is_followed_halfway_and_a_fall_too() -> None:
    base = synthetic().facility
    rise = History(base).days(FIRST_DAY, 21).days(FIRST_DAY + 3 * WEEK, 7, scale=1.5)
    fall = History(base).days(FIRST_DAY, 21).days(FIRST_DAY + 3 * WEEK, 7, scale=0.5)
    up = service(forecast(base, rise.events, TARGET), "A")
    down = service(forecast(base, fall.events, TARGET), "A")
    seasonal_up = 30 * (4 * 1.5 + 3 + 2 + 1) / 10  # the weighted same-weekday mean at 08:00
    seasonal_down = 30 * (4 * 0.5 + 3 + 2 + 1) / 10
    assert 1.1 < up.trend < 1.5 and 0.5 <= down.trend < 0.9
    assert seasonal_up < by_hour(up)[8] < 30 * 1.5
    assert 30 * 0.5 < by_hour(down)[8] < seasonal_down


def test_a_holiday_is_left_out_not_counted_as_a_quiet_day(steady: History) -> None:
    """A Monday with no arrivals at all (the facility was closed) does not pull the Monday forecast down."""
    holiday = FIRST_DAY + 2 * WEEK
    history = History(steady.facility).days(FIRST_DAY, 14)
    history.days(holiday + timedelta(days=1), 13)  # nothing on the holiday itself
    result = forecast(history.facility, history.events, TARGET)
    assert (result.same_weekdays, result.open_same_weekdays) == (4, 3)
    assert by_hour(service(result, "A")) == pytest.approx({7: 20, 8: 30, 9: 15, 10: 10, 11: 5})


def test_empty_or_short_history_is_not_enough_data(steady: History) -> None:
    empty = forecast(steady.facility, [], TARGET)
    assert empty.status is Status.NOT_ENOUGH_DATA and empty.services == ()
    assert "Belum cukup data" in empty.message()[0] and "Not enough data" in empty.message()[1]
    assert forecast_dict(empty, steady.facility)["status"] == "not_enough_data"

    one_week = History(steady.facility).days(TARGET - WEEK, 7)
    short = forecast(steady.facility, one_week.events, TARGET)
    assert (short.status, short.same_weekdays) == (Status.NOT_ENOUGH_DATA, 1)
    assert MIN_SAME_WEEKDAYS == 2
    two_weeks = History(steady.facility).days(TARGET - 2 * WEEK, 14)
    assert forecast(steady.facility, two_weeks.events, TARGET).status is Status.OK

    # the events cover only what the caller says they cover
    late = forecast(steady.facility, steady.events, TARGET, covered_from=TARGET - WEEK)
    assert late.status is Status.NOT_ENOUGH_DATA


def test_todays_partial_counts_are_ignored(steady: History) -> None:
    history = History(steady.facility).days(FIRST_DAY, 28)
    history.days(TARGET, 1, scale=0.2)  # Monday the 30th, only its first hours so far
    result = forecast(history.facility, history.events, TARGET + WEEK, complete_before=TARGET)
    assert by_hour(service(result, "A"))[8] == pytest.approx(30)
    assert window_start(TARGET + WEEK, 4) == TARGET - 3 * WEEK


def test_remote_tickets_arrive_at_check_in_and_visits_sent_on_count_for_their_next_stage(steady: History) -> None:
    history = History(steady.facility)
    for week in range(2):
        day = FIRST_DAY + week * WEEK
        history.now = local(day, 6 * 60)
        if week == 0:
            for cid in history.facility.counters:
                history.run(c.OpenCounter(at=history.now, counter=cid))
        booked = c.IssueTicket(
            at=history.now,
            ticket_id=history.ids.ticket_id(),
            token=history.ids.token(),
            service=ServiceCode("A"),
            channel=Channel.WEB,
        )
        history.run(booked)
        history.run(c.CheckIn(at=local(day, 9 * 60 + 10), ticket_id=booked.ticket_id))
        history.run(c.CallNext(at=local(day, 9 * 60 + 11), counter=CounterId("a1")))
        history.run(c.Complete(at=local(day, 9 * 60 + 15), counter=CounterId("a1"), next_service=ServiceCode("B")))
    result = forecast(history.facility, history.events, FIRST_DAY + 2 * WEEK)
    assert by_hour(service(result, "A")) == {7: 0, 8: 0, 9: 1.0, 10: 0, 11: 0}  # at check-in, not booking (06:00)
    assert by_hour(service(result, "B"))[9] == 1.0
    assert service(result, "A").service_min_source == "configured"  # 2 completions are too few
    assert service(result, "A").service_min == 3.0


def test_arguments_are_checked(steady: History) -> None:
    with pytest.raises(ValueError):
        forecast(steady.facility, [], TARGET, weeks=0)
    with pytest.raises(ValueError):
        forecast(steady.facility, [], TARGET, target_wait_min=0)


def test_a_service_without_hours_lists_the_hours_it_had_arrivals(steady: History) -> None:
    always = replace(steady.facility, services={k: replace(v, hours={}) for k, v in steady.facility.services.items()})
    result = forecast(always, steady.events, TARGET + timedelta(days=5), complete_before=TARGET)  # a Saturday
    assert [h.hour for h in service(result, "A").hours] == [7, 8, 9]
    sunday = forecast(always, steady.events, TARGET + timedelta(days=6), complete_before=TARGET)
    assert sunday.status is Status.OK and sunday.open_same_weekdays == 0
    assert service(sunday, "A").closed and service(sunday, "A").hours == ()
    assert "No arrivals on the last 4 Sundays" in sunday.message()[1]


def test_the_forecast_module_is_pure() -> None:
    """demand.py reads no clock, draws no random number and does no I/O (as the domain)."""
    import ast

    path = Path(__file__).resolve().parents[2] / "queue_engine" / "demand.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert not _imports(tree) & FORBIDDEN_MODULES
    assert not _calls(tree) & FORBIDDEN_CALLS
    assert date(2026, 11, 30).weekday() == 0  # TARGET is a Monday
