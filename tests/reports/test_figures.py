"""A simulated day's report against figures computed here, independently, from the same events.

The computation below is deliberately plain: one pass over the events, lists of intervals, the
``statistics`` module. It shares no code with :mod:`queue_engine.reports`. The simulated day has
no undo and no cancellation (checked), so this pass needs none; ``test_edges.py`` covers those.
The ETA figures are checked against the simulation's own judgement, made live as it ran.
"""

from __future__ import annotations

import asyncio
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from queue_engine import codec
from queue_engine.domain.events import (
    ActionUndone,
    CounterClosed,
    CounterOpened,
    CounterPaused,
    Event,
    ServiceStarted,
    TicketCalled,
    TicketCancelled,
    TicketCheckedIn,
    TicketCompleted,
    TicketIssued,
    TicketMissed,
    TicketRecalled,
    TicketRequeued,
    TicketTransferred,
)
from queue_engine.domain.evolve import apply
from queue_engine.domain.state import FacilityState
from queue_engine.log import open_log
from queue_engine.report_cli import read_report
from queue_engine.reports import ALL, Report, day_report, range_report
from queue_engine.simulate import Simulation

from .support import DAY, demo, simulated

MIN = 60_000


@dataclass
class Visit:
    service: str
    priority: str
    channel: str
    joined: int | None
    calls: list[int] = field(default_factory=list)
    started: int | None = None
    completed: int | None = None
    missed: int = 0


@dataclass
class Expected:
    tickets: Counter[str]
    visits: list[Visit]
    arrivals: Counter[int]
    calls: Counter[int]
    open_min: dict[str, float]
    serving_min: dict[str, float]
    counter_calls: Counter[str]
    counter_done: Counter[str]


def overlap(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> int:
    return sum(max(0, min(x1, y1) - max(x0, y0)) for x0, x1 in a for y0, y1 in b)


def expected(records: tuple[tuple[int, Event], ...]) -> Expected:  # noqa: C901 - one flat, plain pass
    """The figures, straight from the events."""
    tz = ZoneInfo(demo().timezone)
    current: dict[str, Visit] = {}
    visits: list[Visit] = []
    tickets: Counter[str] = Counter()
    arrivals: Counter[int] = Counter()
    calls: Counter[int] = Counter()
    counter_calls: Counter[str] = Counter()
    counter_done: Counter[str] = Counter()
    opened: dict[str, int] = {}
    open_spans: dict[str, list[tuple[int, int]]] = defaultdict(list)
    held: dict[str, tuple[int, str]] = {}  # counter -> (since, ticket)
    busy_spans: dict[str, list[tuple[int, int]]] = defaultdict(list)
    last = 0

    def release(ticket: str, at: int) -> None:
        for counter, (since, holder) in list(held.items()):
            if holder == ticket:
                busy_spans[counter].append((since, at))
                del held[counter]

    for _, e in records:
        last = max(last, e.at)
        hour = datetime.fromtimestamp(e.at / 1000, tz).hour
        assert not isinstance(e, ActionUndone | TicketCancelled)  # not in a simulated day
        if isinstance(e, TicketIssued):
            tickets[e.channel.value] += 1
            visit = Visit(e.service, e.priority.value, e.channel.value, e.at if e.checked_in else None)
            visits.append(visit)
            current[e.ticket_id] = visit
            if e.checked_in:
                arrivals[hour] += 1
        elif isinstance(e, TicketCheckedIn):
            current[e.ticket_id].joined = e.at
            arrivals[hour] += 1
        elif isinstance(e, TicketCalled):
            current[e.ticket_id].calls.append(e.at)
            calls[hour] += 1
            counter_calls[e.counter] += 1
            held[e.counter] = (e.at, e.ticket_id)
        elif isinstance(e, ServiceStarted):
            current[e.ticket_id].started = e.at
        elif isinstance(e, TicketCompleted):
            current[e.ticket_id].completed = e.at
            counter_done[e.counter] += 1
            release(e.ticket_id, e.at)
        elif isinstance(e, TicketMissed):
            current[e.ticket_id].missed += 1
            release(e.ticket_id, e.at)
        elif isinstance(e, TicketTransferred):
            old = current[e.ticket_id]
            release(e.ticket_id, e.at)
            visit = Visit(e.to_service, old.priority, old.channel, e.at)
            visits.append(visit)
            current[e.ticket_id] = visit
        elif isinstance(e, CounterOpened):
            opened[e.counter] = e.at
        elif isinstance(e, CounterPaused | CounterClosed) and e.counter in opened:
            open_spans[e.counter].append((opened.pop(e.counter), e.at))
        else:
            assert isinstance(e, TicketRequeued | TicketRecalled)
    for counter, since in opened.items():
        open_spans[counter].append((since, last))
    for counter, (since, _) in held.items():
        busy_spans[counter].append((since, last))
    return Expected(
        tickets=tickets,
        visits=visits,
        arrivals=arrivals,
        calls=calls,
        open_min={c: sum(b - a for a, b in open_spans[c]) / MIN for c in demo().counters},
        serving_min={c: overlap(busy_spans[c], open_spans[c]) / MIN for c in demo().counters},
        counter_calls=counter_calls,
        counter_done=counter_done,
    )


def spread(values: list[float]) -> tuple[int, float, float, float]:
    p90 = statistics.quantiles(values, n=10, method="inclusive")[8] if len(values) > 1 else values[0]
    return len(values), statistics.median(values), p90, max(values)


def grouped(visits: list[Visit], measure: Any) -> dict[tuple[str, str], list[float]]:
    groups: dict[tuple[str, str], list[float]] = defaultdict(list)
    for v in visits:
        value = measure(v)
        if value is not None:
            for key in ((v.service, v.priority), (v.service, ALL), (ALL, v.priority), (ALL, ALL)):
                groups[key].append(value / MIN)
    return groups


def wait(v: Visit) -> int | None:
    return v.calls[0] - v.joined if v.joined is not None and v.calls else None


def service_time(v: Visit) -> int | None:
    if v.completed is None:
        return None
    return v.completed - (v.started if v.started is not None else v.calls[-1])


def check_distributions(actual: dict[tuple[str, str], Any], groups: dict[tuple[str, str], list[float]]) -> None:
    assert set(actual) == set(groups)
    for key, values in groups.items():
        d = actual[key]
        assert (d.count, d.median, d.p90, d.max) == pytest.approx(spread(values)), key


@pytest.fixture(params=[1, 3], ids=lambda seed: f"seed{seed}")
def day(request: pytest.FixtureRequest) -> tuple[Any, tuple[tuple[int, Event], ...], Report, Expected]:
    sim, records = simulated(request.param)
    return sim, records, day_report(demo(), records, DAY), expected(records)


def test_tickets_visits_and_hours_match(day: Any) -> None:
    """Tickets per channel, visits per service and channel, arrivals and calls per hour."""
    _, records, report, exp = day
    assert report.tickets_by_channel == dict(exp.tickets)
    assert report.tickets == len([e for _, e in records if isinstance(e, TicketIssued)])
    assert report.visits == dict(Counter((v.service, v.channel) for v in exp.visits))
    assert report.arrivals_per_hour == tuple(exp.arrivals[h] for h in range(24))
    assert report.calls_per_hour == tuple(exp.calls[h] for h in range(24))
    assert (report.first_position, report.last_position) == (1, len(records))


def test_waiting_and_service_time_distributions_match(day: Any) -> None:
    """Count, median, p90 and max per (service, class), per service, per class and overall."""
    _, _, report, exp = day
    check_distributions(report.waiting, grouped(exp.visits, wait))
    check_distributions(report.service_time, grouped(exp.visits, service_time))


def test_outcomes_and_no_shows_match(day: Any) -> None:
    """Per service: visits, called, completed, no-shows (missed, never served)."""
    _, _, report, exp = day
    for figures in report.services:
        mine = [v for v in exp.visits if v.service == figures.service]
        assert figures.visits == len(mine)
        assert figures.called == sum(1 for v in mine if v.calls)
        assert figures.completed == sum(1 for v in mine if v.completed is not None)
        assert figures.no_shows == sum(1 for v in mine if v.missed and v.started is None and v.completed is None)
        assert figures.cancelled == 0
    called = sum(1 for v in exp.visits if v.calls)
    no_shows = sum(1 for v in exp.visits if v.missed and v.started is None and v.completed is None)
    assert report.no_show_rate == pytest.approx(no_shows / called)


def test_counter_utilisation_matches(day: Any) -> None:
    """Open and serving minutes, calls and completions per counter."""
    _, _, report, exp = day
    for use in report.counters:
        assert use.open_min == pytest.approx(exp.open_min[use.counter])
        assert use.serving_min == pytest.approx(exp.serving_min[use.counter])
        assert use.calls == exp.counter_calls[use.counter]
        assert use.completed == exp.counter_done[use.counter]
        assert use.utilisation is not None and 0 < use.utilisation < 1
    total = sum(exp.serving_min.values()) / sum(exp.open_min.values())
    assert report.utilisation == pytest.approx(total)


def test_eta_range_held_is_the_simulations_own_judgement(day: Any) -> None:
    """Rebuilt from the log, the ETA ranges hold exactly as often as the simulation saw live."""
    sim, _, report, _ = day
    assert report.eta_judged == len(sim.eta_hits) == sim.report()["eta_judged"]
    assert sum(s.eta_held for s in report.services) == sum(sim.eta_hits)
    assert round(report.eta_hit_rate, 3) == sim.report()["eta_range_hit_rate"]


def test_the_same_report_comes_from_a_sqlite_log_read_in_chunks(tmp_path: Path) -> None:
    """Written to SQLite and read back 250 records at a time (on worker threads), the figures are equal."""
    _, records = simulated(1)

    async def go() -> Report:
        log = open_log(f"sqlite:///{tmp_path / 'day.db'}")
        try:
            await log.append(demo().id, 0, [codec.encode_event(e) for _, e in records])
            return await read_report(demo(), log, DAY, DAY, chunk=250)
        finally:
            await log.close()

    assert asyncio.run(go()) == day_report(demo(), records, DAY)


def test_a_range_adds_the_days_up() -> None:
    """Two days simulated into one log: the range's counts are the days' counts added."""
    _, first = simulated(1)
    state = FacilityState(demo())
    for _, event in first:
        apply(state, event)
    nxt = DAY + timedelta(days=1)
    sim = Simulation(facility=demo(), seed=2, start=state, day=(nxt.year, nxt.month, nxt.day), id_prefix="d2-")
    sim.run()
    second = [e for batch in sim.batches for e in batch]
    records = (*first, *enumerate(second, start=len(first) + 1))
    one, two = day_report(demo(), records, DAY), day_report(demo(), records, nxt)
    both = range_report(demo(), records, DAY, nxt)
    assert both.tickets == one.tickets + two.tickets
    assert both.calls_per_hour == tuple(a + b for a, b in zip(one.calls_per_hour, two.calls_per_hour, strict=True))
    assert both.eta_judged == one.eta_judged + two.eta_judged
    assert [c.open_min for c in both.counters] == pytest.approx(
        [a.open_min + b.open_min for a, b in zip(one.counters, two.counters, strict=True)]
    )
    assert two.eta_judged == len(sim.eta_hits)
    assert sum(s.eta_held for s in two.services) == sum(sim.eta_hits)
