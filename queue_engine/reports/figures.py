"""The figures of a report: frozen values, minutes as floats (see :mod:`queue_engine.reports`)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from ..domain.ids import Millis

#: "all services" / "all classes" in keys
ALL = "*"


@dataclass(frozen=True, slots=True, kw_only=True)
class Distribution:
    """Count, median, 90th percentile and maximum of durations, in minutes (None when empty)."""

    count: int
    median: float | None
    p90: float | None
    max: float | None

    @classmethod
    def of(cls, minutes: Iterable[float]) -> Distribution:
        xs = sorted(minutes)
        if not xs:
            return cls(count=0, median=None, p90=None, max=None)
        return cls(count=len(xs), median=quantile(xs, 0.5), p90=quantile(xs, 0.9), max=xs[-1])


def quantile(xs: list[float], q: float) -> float:
    """The ``q`` quantile of sorted ``xs`` by linear interpolation between closest ranks."""
    pos = (len(xs) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceFigures:
    """Per service: visits, what became of them, and how the ETA range held."""

    service: str
    visits: int
    called: int
    completed: int
    no_shows: int
    cancelled: int
    eta_judged: int
    eta_held: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CounterUse:
    """Per counter: open and serving minutes, calls made and visits completed there."""

    counter: str
    open_min: float
    serving_min: float
    calls: int
    completed: int

    @property
    def utilisation(self) -> float | None:
        """Serving time / open time; None when the counter was never open."""
        return self.serving_min / self.open_min if self.open_min > 0 else None


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """The figures of one window. See the module docstring for how each is computed."""

    facility: str
    first_day: date
    last_day: date
    #: window start and end (ms since the epoch), and where counter time stopped counting
    start: Millis
    end: Millis
    until: Millis
    #: the log positions of the first and last event inside the window (0 when none)
    first_position: int
    last_position: int
    tickets_by_channel: dict[str, int]
    visits: dict[tuple[str, str], int]
    waiting: dict[tuple[str, str], Distribution]
    service_time: dict[tuple[str, str], Distribution]
    arrivals_per_hour: tuple[int, ...]
    calls_per_hour: tuple[int, ...]
    services: tuple[ServiceFigures, ...]
    counters: tuple[CounterUse, ...]

    @property
    def tickets(self) -> int:
        return sum(self.tickets_by_channel.values())

    @property
    def called(self) -> int:
        return sum(s.called for s in self.services)

    @property
    def no_shows(self) -> int:
        return sum(s.no_shows for s in self.services)

    @property
    def no_show_rate(self) -> float | None:
        return self.no_shows / self.called if self.called else None

    @property
    def eta_judged(self) -> int:
        return sum(s.eta_judged for s in self.services)

    @property
    def eta_hit_rate(self) -> float | None:
        judged = self.eta_judged
        return sum(s.eta_held for s in self.services) / judged if judged else None

    @property
    def utilisation(self) -> float | None:
        """All counters together: serving time / open time."""
        open_min = sum(c.open_min for c in self.counters)
        return sum(c.serving_min for c in self.counters) / open_min if open_min > 0 else None
