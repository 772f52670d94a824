"""Demand forecast: expected arrivals per hour and service for one day, and the counters they need.

PURE: events in, numbers out. No I/O and no clock: the caller reads the events from the log and
says which days are complete (today's counts are partial). ``forecast(facility, events, day)``.

**Arrivals.** An arrival is a patient joining a service's *present* queue, counted in the local
hour (the facility's timezone) it happened: a ticket issued at the kiosk or the desk; a remote
ticket (web, BPJS, a module) when it checks in, not when it was booked from home (nobody stands
at the counter yet, and one that never comes never needed a counter); a visit sent on to the
service (next stage or transfer). So the poli and the apotek get a forecast too, not only the
registration desk. An undone completion is not taken back (a few a day at most).

**Expected arrivals** of service *s* at hour *h* on the target day (weekday *w*):

1. *Seasonal term* ``S(h)``: the weighted mean of the arrivals at hour *h* on the same weekday
   over the last ``weeks`` weeks. The day *k* weeks back (k = 1 … weeks) weighs
   ``weeks + 1 - k``: with 4 weeks 4, 3, 2, 1, i.e. 40 %, 30 %, 20 %, 10 %. The recent weeks count
   most; the older ones smooth the noise. A day the facility had no arrival at all (a holiday, a
   strike of the network) and a day the events do not cover are left out, with their weights.
2. *Trend factor* ``T``: the last ``recent_days`` (7) open days' arrivals of *s*, against what
   each of those days' own weekday usually brings (the mean of the other same-weekday open days
   in the window): ``L = Σ actual / Σ usual``, ``T = 1 + ½·(L - 1)``, kept within 0.5 … 2. Half of
   a recent rise or fall (a new doctor, a campaign, school holidays) carries into the forecast
   before the weekday weights catch up. The recent days only set the *level*, not the hourly
   *shape*: a plain "mean of the last 7 days at that hour" mixes weekdays, so a short Saturday
   would pull a Monday's 08:00 peak down (and Monday's peak would lift a Saturday).
3. ``expected(h) = S(h) · T``.

**Range** ``low … high``: the 10th and 90th percentiles of a count whose mean is ``expected`` and
whose variance is ``max(expected, V·T²)``, with ``V`` the weighted variance of the same-weekday
observations at *h*: Poisson when the past varied no more than chance (variance = mean),
negative binomial with that variance when it varied more. Four observations alone cannot give a
10-90 % range (it would be their minimum and maximum, or nothing when they agree); the count
model adds the chance variation every hour has.

**Counters needed**: each hour is an M/M/c queue in steady state: Poisson arrivals at rate
``λ = expected / 60`` per minute, ``c`` counters, exponential service with mean ``1/μ`` minutes —
the mean *call-to-completion* time of the service's completed visits in the window (the time a
counter spends per patient, walking up included, as the ETA uses), or its configured
``service_min`` with fewer than 10 of them. With offered load ``a = λ/μ`` and ``c > a``, the
probability that an arrival waits at all is Erlang C, ``C(c, a)`` (computed through the stable
Erlang B recursion ``B_k = a·B_{k-1} / (k + a·B_{k-1})``, ``C = c·B_c / (c - a·(1 - B_c))``), and
the wait of those who wait is exponential with rate ``cμ - λ``:
``P(W > t) = C(c, a) · e^{-(cμ - λ)·t}``. The median wait is the ``t`` with ``P(W > t) = ½``:
0 when ``C ≤ ½`` (most do not wait at all), else ``ln(2C) / (cμ - λ)``. The suggestion is the
smallest ``c`` whose median wait is at most ``target_wait_min`` (15 min by default). Caveats: the
model assumes the hour is in balance; a queue built at 07:00 carries into 08:00, so the hour after
a peak needs a little more than shown. A counter serving several services is counted per service.

**Not enough data**: fewer than 2 same-weekday days covered by the events in the window gives
``status = not_enough_data`` and no rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from statistics import NormalDist, median
from typing import Any
from zoneinfo import ZoneInfo

from .domain.events import Event, TicketCalled, TicketCheckedIn, TicketCompleted, TicketIssued, TicketTransferred
from .domain.ids import Millis, ServiceCode, TicketId
from .domain.model import Facility, Service

#: weeks of history, and the open days that set the trend
WEEKS = 4
RECENT_DAYS = 7
#: the share of a recent rise or fall carried into the forecast, and its limits
TREND_SHARE = 0.5
TREND_LIMITS = (0.5, 2.0)
#: same-weekday days the events must cover for a forecast
MIN_SAME_WEEKDAYS = 2
#: completed visits needed to use the observed service time rather than the configured one
MIN_SERVICE_SAMPLES = 10
#: a call-to-completion time longer than this many times the median is clipped (a counter left busy over lunch)
CLIP_SERVICE = 6.0
#: the median wait the counters are sized for (minutes)
TARGET_WAIT_MIN = 15.0
#: the range's quantiles
RANGE_QUANTILES = (0.1, 0.9)
#: the most counters ever suggested for one service
MAX_COUNTERS = 200

#: the event types the forecast reads (a log reader may decode only these)
EVENT_TYPES = frozenset(
    cls.TYPE for cls in (TicketIssued, TicketCheckedIn, TicketTransferred, TicketCalled, TicketCompleted)
)
DAYS_ID = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
DAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class Status(StrEnum):
    OK = "ok"
    NOT_ENOUGH_DATA = "not_enough_data"


@dataclass(frozen=True, slots=True, kw_only=True)
class HourForecast:
    """One local hour (``hour``:00 to ``hour + 1``:00) of one service."""

    hour: int
    expected: float
    low: int
    high: int
    counters: int
    #: with that many counters: the share of arrivals who wait at all (Erlang C), and the median wait
    p_wait: float
    median_wait_min: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceForecast:
    service: ServiceCode
    #: mean call-to-completion minutes, and where it came from ("observed" or "configured")
    service_min: float
    service_min_source: str
    #: completed visits it was measured from
    completed: int
    trend: float
    #: the service is closed on that weekday (configured hours), or had no arrival on any of those days
    closed: bool
    hours: tuple[HourForecast, ...]

    @property
    def expected_total(self) -> float:
        return sum(h.expected for h in self.hours)

    @property
    def peak_counters(self) -> int:
        return max((h.counters for h in self.hours), default=0)


@dataclass(frozen=True, slots=True, kw_only=True)
class Forecast:
    day: date
    weeks: int
    target_wait_min: float
    status: Status
    #: same-weekday days in the window covered by the events, and how many of them had arrivals
    same_weekdays: int
    open_same_weekdays: int
    services: tuple[ServiceForecast, ...] = ()

    @property
    def weekday(self) -> int:
        return self.day.weekday()

    def message(self) -> tuple[str, str]:
        """What to tell the reader, in Indonesian and English (empty when the forecast is ordinary)."""
        wd = self.weekday
        if self.status is Status.NOT_ENOUGH_DATA:
            return (
                f"Belum cukup data: baru {self.same_weekdays} hari {DAYS_ID[wd]} tercatat dalam {self.weeks} minggu "
                f"sebelum {self.day.isoformat()}; perlu paling sedikit {MIN_SAME_WEEKDAYS}.",
                f"Not enough data: {self.same_weekdays} past {DAYS_EN[wd]}(s) in the log within {self.weeks} weeks "
                f"before {self.day.isoformat()}; at least {MIN_SAME_WEEKDAYS} are needed.",
            )
        if self.open_same_weekdays == 0:
            return (
                f"Tidak ada kunjungan pada {self.same_weekdays} hari {DAYS_ID[wd]} terakhir: fasilitas tutup?",
                f"No arrivals on the last {self.same_weekdays} {DAYS_EN[wd]}s: is the facility closed that day?",
            )
        return ("", "")


# --------------------------------------------------------------------------- queueing


def erlang_c(servers: int, load: float) -> float:
    """P(an arrival waits) in an M/M/c queue with ``servers`` counters and offered load ``load`` = λ/μ.

    1.0 when ``load >= servers`` (the queue grows without end).

    Raises:
        ValueError: fewer than one server.
    """
    if servers < 1:
        raise ValueError("an M/M/c queue needs at least one server")
    if load <= 0:
        return 0.0
    if load >= servers:
        return 1.0
    blocked = 1.0  # Erlang B with 0 servers
    for k in range(1, servers + 1):
        blocked = load * blocked / (k + load * blocked)
    return servers * blocked / (servers - load * (1.0 - blocked))


def wait_beyond(t: float, servers: int, arrival_rate: float, service_rate: float) -> float:
    """P(W > t) in M/M/c: ``C(c, a) · e^{-(cμ - λ)t}`` (rates per minute, ``t`` in minutes)."""
    if arrival_rate <= 0:
        return 0.0
    spare = servers * service_rate - arrival_rate
    if spare <= 0:
        return 1.0
    return erlang_c(servers, arrival_rate / service_rate) * math.exp(-spare * t)


def median_wait(servers: int, arrival_rate: float, service_rate: float) -> float:
    """The median wait (minutes) in M/M/c: 0 when at most half wait, else ``ln(2C) / (cμ - λ)``; inf if unstable."""
    if arrival_rate <= 0:
        return 0.0
    spare = servers * service_rate - arrival_rate
    if spare <= 0:
        return math.inf
    waits = erlang_c(servers, arrival_rate / service_rate)
    return 0.0 if waits <= 0.5 else math.log(2.0 * waits) / spare


def counters_needed(arrival_rate: float, service_rate: float, target_min: float) -> int:
    """The fewest counters whose median wait is at most ``target_min`` (0 when nobody comes), capped at MAX_COUNTERS."""
    if arrival_rate <= 0:
        return 0
    servers = min(max(1, math.floor(arrival_rate / service_rate) + 1), MAX_COUNTERS)
    while servers < MAX_COUNTERS and median_wait(servers, arrival_rate, service_rate) > target_min:
        servers += 1
    return servers


def count_quantile(mean: float, variance: float, q: float) -> int:
    """The smallest ``k`` with P(N ≤ k) ≥ ``q`` for a count N of that mean and variance.

    Poisson when ``variance <= mean``, negative binomial above; a normal approximation past a mean of 200.
    """
    if mean <= 0:
        return 0
    variance = max(variance, mean)
    if mean > 200:
        return max(0, round(mean + NormalDist().inv_cdf(q) * math.sqrt(variance)))
    poisson = variance <= mean * (1 + 1e-9)
    # P(N = 0), then P(N = k + 1) = P(N = k) · step(k)
    p = mean / variance
    r = mean * p / (1 - p) if not poisson else 0.0
    term = math.exp(-mean) if poisson else p**r
    total, k = term, 0
    while total < q and k < 100_000:
        term *= mean / (k + 1) if poisson else (k + r) / (k + 1) * (1 - p)
        k += 1
        total += term
    return k


# --------------------------------------------------------------------------- history


@dataclass(slots=True)
class _History:
    """What the window's events say: arrivals per service and day (24 hourly counts), service times."""

    arrivals: dict[ServiceCode, dict[date, list[int]]] = field(default_factory=dict)
    durations: dict[ServiceCode, list[float]] = field(default_factory=dict)
    #: days with at least one arrival of any service
    open_days: set[date] = field(default_factory=set)
    #: the local day of the first event given (the events cover days from it on)
    first_day: date | None = None


class _Reader:
    """Folds events into a :class:`_History` for days ``start <= d < end``."""

    def __init__(self, tz: ZoneInfo, start: date, end: date) -> None:
        self.tz, self.start, self.end = tz, start, end
        self.history = _History()
        self.service_of: dict[TicketId, ServiceCode] = {}
        self.remote: set[TicketId] = set()
        self.called: dict[TicketId, Millis] = {}

    def _local(self, at: Millis) -> datetime:
        return datetime.fromtimestamp(at / 1000, self.tz)

    def _arrive(self, service: ServiceCode | None, at: Millis) -> None:
        when = self._local(at)
        day = when.date()
        if service is None or not self.start <= day < self.end:
            return
        self.history.arrivals.setdefault(service, {}).setdefault(day, [0] * 24)[when.hour] += 1
        self.history.open_days.add(day)

    def feed(self, event: Event) -> None:
        if self.history.first_day is None:
            self.history.first_day = self._local(event.at).date()
        if isinstance(event, TicketIssued):
            self.service_of[event.ticket_id] = event.service
            if event.checked_in:
                self._arrive(event.service, event.at)
            else:
                self.remote.add(event.ticket_id)
        elif isinstance(event, TicketCheckedIn):
            if event.ticket_id in self.remote:
                self.remote.discard(event.ticket_id)
                self._arrive(self.service_of.get(event.ticket_id), event.at)
        elif isinstance(event, TicketTransferred):
            self.remote.discard(event.ticket_id)
            self.service_of[event.ticket_id] = event.to_service
            self._arrive(event.to_service, event.at)
        elif isinstance(event, TicketCalled):
            self.called[event.ticket_id] = event.at
        elif isinstance(event, TicketCompleted):
            called = self.called.pop(event.ticket_id, None)
            service = self.service_of.get(event.ticket_id)
            if called is not None and service is not None and self.start <= self._local(event.at).date() < self.end:
                self.history.durations.setdefault(service, []).append((event.at - called) / 60_000)


# --------------------------------------------------------------------------- the forecast


def _weighted(values: Sequence[float], weights: Sequence[float]) -> tuple[float, float | None]:
    """Weighted mean and (reliability-weighted, unbiased) variance; variance None with fewer than 2 values."""
    total = sum(weights)
    mean = sum(w * x for w, x in zip(weights, values, strict=True)) / total
    if len(values) < 2:
        return mean, None
    spread = total - sum(w * w for w in weights) / total
    variance = sum(w * (x - mean) ** 2 for w, x in zip(weights, values, strict=True)) / spread
    return mean, variance


def _closed_by_hours(service: Service, weekday: int) -> bool:
    return bool(service.hours) and not service.hours.get(weekday)


def _open_hours(service: Service, weekday: int) -> set[int]:
    """Hours of the day that overlap the service's configured windows on ``weekday``."""
    return {h for start, end in service.hours.get(weekday, ()) for h in range(start // 60, math.ceil(end / 60))}


def _trend(totals: dict[date, int], open_days: Sequence[date], recent: Sequence[date]) -> float:
    """``1 + TREND_SHARE·(L - 1)`` within TREND_LIMITS; L = recent arrivals / what their weekdays usually bring."""
    actual = usual = 0.0
    for day in recent:
        others = [totals.get(d, 0) for d in open_days if d.weekday() == day.weekday() and d != day]
        if others:
            actual += totals.get(day, 0)
            usual += sum(others) / len(others)
    if usual <= 0:
        return 1.0
    low, high = TREND_LIMITS
    return min(max(1.0 + TREND_SHARE * (actual / usual - 1.0), low), high)


def _service_time(service: Service, durations: list[float]) -> tuple[float, str, int]:
    if len(durations) < MIN_SERVICE_SAMPLES:
        return float(service.service_min), "configured", len(durations)
    cap = CLIP_SERVICE * median(durations)
    clipped = [min(max(x, 0.0), cap) for x in durations]
    mean = sum(clipped) / len(clipped)
    if mean <= 0:
        return float(service.service_min), "configured", len(durations)
    return mean, "observed", len(durations)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Window:
    day: date
    weeks: int
    target_wait_min: float
    #: same-weekday open days, oldest first, and their weights
    same: tuple[date, ...]
    weights: tuple[float, ...]
    open_days: tuple[date, ...]
    recent: tuple[date, ...]


def _service_forecast(service: Service, history: _History, window: _Window) -> ServiceForecast:
    weekday = window.day.weekday()
    days = history.arrivals.get(service.code, {})
    mean_min, source, completed = _service_time(service, history.durations.get(service.code, []))
    totals = {d: sum(counts) for d, counts in days.items()}
    trend = _trend(totals, window.open_days, window.recent)
    if _closed_by_hours(service, weekday) or not window.same:
        return ServiceForecast(
            service=service.code,
            service_min=mean_min,
            service_min_source=source,
            completed=completed,
            trend=trend,
            closed=True,
            hours=(),
        )
    zero = [0] * 24
    rows = [days.get(d, zero) for d in window.same]
    hours = sorted(_open_hours(service, weekday) | {h for row in rows for h in range(24) if row[h]})
    rate = 1.0 / mean_min
    out: list[HourForecast] = []
    for hour in hours:
        seasonal, variance = _weighted([row[hour] for row in rows], window.weights)
        expected = seasonal * trend
        spread = expected if variance is None else max(expected, variance * trend * trend)
        arrival_rate = expected / 60.0
        counters = counters_needed(arrival_rate, rate, window.target_wait_min)
        out.append(
            HourForecast(
                hour=hour,
                expected=expected,
                low=count_quantile(expected, spread, RANGE_QUANTILES[0]),
                high=count_quantile(expected, spread, RANGE_QUANTILES[1]),
                counters=counters,
                p_wait=erlang_c(counters, arrival_rate / rate) if counters else 0.0,
                median_wait_min=median_wait(counters, arrival_rate, rate) if counters else 0.0,
            )
        )
    return ServiceForecast(
        service=service.code,
        service_min=mean_min,
        service_min_source=source,
        completed=completed,
        trend=trend,
        closed=not any(totals.get(d, 0) for d in window.same),
        hours=tuple(out),
    )


def window_start(day: date, weeks: int) -> date:
    """The first day of the history a forecast of ``day`` reads."""
    return day - timedelta(days=7 * weeks)


def forecast(
    facility: Facility,
    events: Iterable[Event],
    day: date,
    *,
    weeks: int = WEEKS,
    complete_before: date | None = None,
    covered_from: date | None = None,
    recent_days: int = RECENT_DAYS,
    target_wait_min: float = TARGET_WAIT_MIN,
) -> Forecast:
    """Expected arrivals per hour and service on local ``day``, their range, and the counters they need.

    Args:
        facility: the facility (services, hours, timezone).
        events: its events in log order (any kind; only the :data:`EVENT_TYPES` are read).
        day: the day to forecast.
        weeks: how many weeks of history (the window is the ``7·weeks`` days before ``day``).
        complete_before: the first day whose counts are not complete (today, while it runs);
            days from it on are ignored. Default: ``day``.
        covered_from: the first day the events cover (days before it count as unknown, not as
            closed). Default: the day of the first event given.
        recent_days: the open days that set the trend factor.
        target_wait_min: the median wait the counters are sized for.

    Raises:
        ValueError: ``weeks`` or ``recent_days`` below 1, or a target wait that is not positive.
    """
    if weeks < 1 or recent_days < 1 or not target_wait_min > 0:
        raise ValueError("weeks and recent_days must be at least 1, and the target wait positive")
    start = window_start(day, weeks)
    end = min(complete_before or day, day)
    reader = _Reader(ZoneInfo(facility.timezone), start, end)
    for event in events:
        reader.feed(event)
    history = reader.history
    first = covered_from if covered_from is not None else history.first_day
    days = (start + timedelta(days=i) for i in range(max((end - start).days, 0)))
    covered = [] if first is None else [d for d in days if d >= first]
    same_all = [d for d in covered if d.weekday() == day.weekday()]
    if len(same_all) < MIN_SAME_WEEKDAYS:
        return Forecast(
            day=day,
            weeks=weeks,
            target_wait_min=target_wait_min,
            status=Status.NOT_ENOUGH_DATA,
            same_weekdays=len(same_all),
            open_same_weekdays=sum(d in history.open_days for d in same_all),
        )
    open_days = tuple(d for d in covered if d in history.open_days)
    same = tuple(d for d in same_all if d in history.open_days)
    window = _Window(
        day=day,
        weeks=weeks,
        target_wait_min=target_wait_min,
        same=same,
        weights=tuple(float(weeks + 1 - (day - d).days // 7) for d in same),
        open_days=open_days,
        recent=open_days[-recent_days:],
    )
    return Forecast(
        day=day,
        weeks=weeks,
        target_wait_min=target_wait_min,
        status=Status.OK,
        same_weekdays=len(same_all),
        open_same_weekdays=len(same),
        services=tuple(_service_forecast(s, history, window) for s in facility.services.values()),
    )


def forecast_dict(result: Forecast, facility: Facility) -> dict[str, Any]:
    """The forecast as plain JSON-able data (the API's answer, ``antre forecast --json``), rounded for reading."""
    message_id, message_en = result.message()
    services = []
    for s in result.services:
        service = facility.services.get(s.service)
        services.append(
            {
                "service": s.service,
                "name": service.name if service is not None else s.service,
                "service_min": round(s.service_min, 2),
                "service_min_source": s.service_min_source,
                "completed": s.completed,
                "trend": round(s.trend, 3),
                "closed": s.closed,
                "expected_total": round(s.expected_total, 1),
                "peak_counters": s.peak_counters,
                "hours": [
                    {
                        "hour": h.hour,
                        "from": f"{h.hour:02d}:00",
                        "to": f"{(h.hour + 1) % 24:02d}:00",
                        "expected": round(h.expected, 1),
                        "low": h.low,
                        "high": h.high,
                        "counters": h.counters,
                        "p_wait": round(h.p_wait, 3),
                        "median_wait_min": round(h.median_wait_min, 1) if math.isfinite(h.median_wait_min) else None,
                    }
                    for h in s.hours
                ],
            }
        )
    return {
        "date": result.day.isoformat(),
        "weekday": result.weekday,
        "weeks": result.weeks,
        "target_wait_min": result.target_wait_min,
        "status": result.status.value,
        "message_id": message_id,
        "message_en": message_en,
        "same_weekdays": result.same_weekdays,
        "open_same_weekdays": result.open_same_weekdays,
        "services": services,
    }
