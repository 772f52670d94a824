"""What the feedback module reports: counts, means and distributions by service and counter; comments.

Pure: it reads :class:`~.module.FeedbackState` and returns values. Nothing in a :class:`Report`
names a ticket, a token or a time of day: a comment carries its day, service, counter and rating
only, so it cannot be joined back to the queue's log by the minute it was written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from queue_engine.domain.ids import CounterId, ServiceCode

from .module import RATINGS, Comment, FeedbackState


@dataclass(frozen=True, slots=True)
class Tally:
    """How many of each rating: ``counts[0]`` ones … ``counts[4]`` fives."""

    counts: tuple[int, ...] = (0,) * len(RATINGS)

    @property
    def count(self) -> int:
        return sum(self.counts)

    @property
    def mean(self) -> float | None:
        """The mean rating, or None when nobody rated."""
        n = self.count
        return None if n == 0 else sum(r * c for r, c in zip(RATINGS, self.counts, strict=True)) / n

    def __add__(self, other: Tally) -> Tally:
        return Tally(tuple(a + b for a, b in zip(self.counts, other.counts, strict=True)))


@dataclass(frozen=True, slots=True, kw_only=True)
class CounterTally:
    counter: CounterId | None
    tally: Tally


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceTally:
    service: ServiceCode
    tally: Tally
    counters: tuple[CounterTally, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class DayTally:
    day: str
    tally: Tally


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportComment:
    """A comment as reports show it: its visit's day, service, counter and rating, and the cleaned text."""

    day: str
    service: ServiceCode
    counter: CounterId | None
    rating: int
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    first: str
    last: str
    total: Tally
    services: tuple[ServiceTally, ...]
    days: tuple[DayTally, ...]
    #: newest first, at most the limit asked for
    comments: tuple[ReportComment, ...]
    comments_total: int


def _sum(tallies: Iterable[Tally]) -> Tally:
    total = Tally()
    for tally in tallies:
        total = total + tally
    return total


def report(state: FeedbackState, first: str, last: str, *, comments: int = 100) -> Report:
    """Ratings of visits from local day ``first`` to ``last`` (ISO dates, both included).

    Services and counters come in code order (a counter of None: the visit was completed before
    counters were recorded); days in date order; comments newest first, at most ``comments``.
    """
    by_key: dict[tuple[ServiceCode, CounterId | None], Tally] = {}
    days: list[DayTally] = []
    found: list[tuple[str, Comment]] = []
    for day in sorted(d for d in state.days if first <= d <= last):
        data = state.days[day]
        for key, counts in data.counts.items():
            by_key[key] = by_key.get(key, Tally()) + Tally(tuple(counts))
        day_tally = _sum(Tally(tuple(c)) for c in data.counts.values())
        if day_tally.count:
            days.append(DayTally(day=day, tally=day_tally))
        found.extend((day, c) for c in data.comments)
    services: list[ServiceTally] = []
    for service in sorted({svc for svc, _ in by_key}):
        counters = sorted(
            ((ctr, t) for (svc, ctr), t in by_key.items() if svc == service and t.count),
            key=lambda item: item[0] or "",
        )
        if counters:
            services.append(
                ServiceTally(
                    service=service,
                    tally=_sum(t for _, t in counters),
                    counters=tuple(CounterTally(counter=ctr, tally=t) for ctr, t in counters),
                )
            )
    # newest first; comments of one instant in the reverse of their order
    newest = sorted(range(len(found)), key=lambda i: (found[i][1].at, i), reverse=True)
    shown = tuple(
        ReportComment(day=day, service=c.service, counter=c.counter, rating=c.rating, text=c.text)
        for day, c in (found[i] for i in newest[: max(comments, 0)])
    )
    return Report(
        first=first,
        last=last,
        total=_sum(s.tally for s in services),
        services=tuple(services),
        days=tuple(days),
        comments=shown,
        comments_total=len(found),
    )
