"""The fold behind :mod:`queue_engine.reports`: records in, figures out (see the package docstring)."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ..domain.events import (
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
    TicketRequeued,
    TicketTransferred,
)
from ..domain.evolve import apply
from ..domain.forecast import people_ahead, ticket_eta
from ..domain.ids import CounterId, Millis, TicketId
from ..domain.model import Channel, CounterStatus, Facility, Priority
from ..domain.state import FacilityState, Ticket
from ..domain.status import TicketStatus
from .figures import ALL, CounterUse, Distribution, Report, ServiceFigures

MINUTE = 60_000
DAY_MS = 24 * 60 * MINUTE
#: how long after the window a visit that belongs to it is still followed
FOLLOW_MS = DAY_MS
#: ranges are shown rounded outward to this step (as pages and ``antre simulate`` do)
DISPLAY_STEP = 5 * MINUTE
#: priority classes, then channels, in their declared order (for sorting rows)
_SUB_RANK = {p.value: i for i, p in enumerate(Priority)} | {c.value: i for i, c in enumerate(Channel)}
#: the events after which a counter may be open, paused or closed, or hold a ticket or not
_COUNTER_EVENTS = (
    CounterOpened,
    CounterPaused,
    CounterClosed,
    TicketCalled,
    TicketMissed,
    TicketCompleted,
    TicketCancelled,
    TicketTransferred,
    ActionUndone,
)
#: the longest window a report may cover, in days
MAX_DAYS = 366


@dataclass(slots=True)
class _Visit:
    ticket: TicketId
    service: str
    priority: str
    channel: str
    joined: Millis | None = None
    calls: list[Millis] = field(default_factory=list)
    started: Millis | None = None
    completed: Millis | None = None
    missed: int = 0
    cancelled: bool = False
    dropped: bool = False


@dataclass(slots=True)
class _Watch:
    """A range shown when ``visit`` joined its queue (already rounded as pages show it)."""

    visit: _Visit
    low: Millis
    high: Millis


def window(facility: Facility, first_day: date, last_day: date) -> tuple[Millis, Millis]:
    """(start, end) in ms of the local days ``first_day`` to ``last_day``, both included."""
    tz = ZoneInfo(facility.timezone)
    start = datetime.combine(first_day, time(), tz)
    end = datetime.combine(last_day + timedelta(days=1), time(), tz)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


class ReportBuilder:
    """Folds a log's records, in order, into the figures of one window.

    Args:
        facility: the facility the log belongs to.
        first_day, last_day: the window, local days, both included.
        state: the state to start from (a snapshot taken before the window); default empty, in
            which case the records must start at position 1.

    Raises:
        ValueError: ``last_day`` is before ``first_day``, or the window is longer than ``MAX_DAYS``.
    """

    def __init__(
        self, facility: Facility, first_day: date, last_day: date, *, state: FacilityState | None = None
    ) -> None:
        if last_day < first_day:
            raise ValueError("the last day is before the first day")
        if (last_day - first_day).days >= MAX_DAYS:
            raise ValueError(f"a report covers at most {MAX_DAYS} days")
        self.facility = facility
        self.first_day, self.last_day = first_day, last_day
        self.days = frozenset(
            (first_day + timedelta(days=i)).isoformat() for i in range((last_day - first_day).days + 1)
        )
        self.start, self.end = window(facility, first_day, last_day)
        self.state = state if state is not None else FacilityState(facility)
        self.tz = ZoneInfo(facility.timezone)
        self._service_rank: dict[str, int] = {code: i for i, code in enumerate(facility.services)}
        #: True once a record beyond ``end + FOLLOW_MS`` came: the caller may stop reading
        self.done = False
        self._last_at: Millis = 0
        self._positions = (0, 0)
        self._tickets: Tally[str] = Tally()
        self._visits: list[_Visit] = []
        self._stack: dict[TicketId, list[_Visit | None]] = {}
        self._arrivals = [0] * 24
        self._calls = [0] * 24
        self._watch: dict[TicketId, _Watch] = {}
        self._judged: dict[TicketId, tuple[_Watch, bool | None]] = {}
        self._eta: dict[str, list[int]] = {}
        self._last_call: dict[TicketId, tuple[Millis, CounterId]] = {}
        self._last_done: dict[TicketId, tuple[Millis, CounterId]] = {}
        self._counter_calls: Tally[str] = Tally()
        self._counter_done: Tally[str] = Tally()
        # counter time: (open, serving) as of ``_since``; None until the window starts
        self._mode: dict[CounterId, tuple[bool, bool]] | None = None
        self._since: dict[CounterId, Millis] = {}
        self._open_ms: Tally[str] = Tally()
        self._serving_ms: Tally[str] = Tally()
        self._counters_final = False

    # -- folding ---------------------------------------------------------------------------

    def feed(self, position: int, event: Event) -> None:
        """Fold one record (its log position and event)."""
        at = event.at
        if self.done or at >= self.end + FOLLOW_MS:
            self.done = True
            return
        ticket_id: TicketId | None = getattr(event, "ticket_id", None)
        if at < self.start and ticket_id not in self._stack and not self._opens_visit(event):
            apply(self.state, event)  # before the window and about no visit of it: the state only
            return
        if at >= self.start and self._mode is None:
            self._begin_counters()
        if at >= self.end and not self._counters_final:
            self._end_counters(self.end)
        inside = self.start <= at < self.end
        if inside:
            first = self._positions[0] or position
            self._positions = (first, position)
            self._last_at = max(self._last_at, at)
        before = self.state.tickets.get(ticket_id) if ticket_id is not None else None
        moved_on = isinstance(event, ActionUndone) and before is not None and before.status is TicketStatus.WAITING
        apply(self.state, event)
        if ticket_id is not None:
            self._ticket_event(event, ticket_id, inside, moved_on)
        if inside and not self._counters_final and isinstance(event, _COUNTER_EVENTS):
            self._counter_marks(at)

    def _opens_visit(self, event: Event) -> bool:
        return isinstance(event, TicketIssued | TicketTransferred) and event.day in self.days

    def _ticket_event(self, event: Event, ticket_id: TicketId, inside: bool, moved_on: bool) -> None:  # noqa: C901
        visit = self._current(ticket_id)
        match event:
            case TicketIssued():
                if event.day in self.days:
                    self._tickets[event.channel.value] += 1
                    self._begin_visit(ticket_id, event.service, event.at if event.checked_in else None)
                if event.checked_in:
                    self._arrival(event.at, inside)
            case TicketCheckedIn():
                if visit is not None and visit.joined is None:
                    visit.joined = event.at
                    self._join(ticket_id, visit, event.at)
                self._arrival(event.at, inside)
            case TicketCalled():
                self._called(event, visit, inside)
            case ServiceStarted():
                if visit is not None:
                    visit.started = event.at
            case TicketCompleted():
                if visit is not None:
                    visit.completed = event.at
                self._last_done[ticket_id] = (event.at, event.counter)
                if inside:
                    self._counter_done[event.counter] += 1
            case TicketMissed():
                if visit is not None:
                    visit.missed += 1
            case TicketRequeued():
                if visit is not None:
                    self._join(ticket_id, visit, event.at)
            case TicketCancelled():
                if visit is not None:
                    visit.cancelled = True
            case TicketTransferred():
                if event.day in self.days:
                    self._begin_visit(ticket_id, event.to_service, event.at)
                elif ticket_id in self._stack:
                    self._stack[ticket_id].append(None)
            case ActionUndone():
                self._undone(event, visit, moved_on)
            case _:
                pass

    def _current(self, ticket_id: TicketId) -> _Visit | None:
        stack = self._stack.get(ticket_id)
        return stack[-1] if stack else None

    def _begin_visit(self, ticket_id: TicketId, service: str, joined: Millis | None) -> None:
        ticket = self.state.tickets[ticket_id]
        visit = _Visit(ticket_id, service, ticket.priority.value, ticket.channel.value, joined=joined)
        self._visits.append(visit)
        self._stack.setdefault(ticket_id, []).append(visit)
        if joined is not None:
            self._join(ticket_id, visit, joined)

    def _join(self, ticket_id: TicketId, visit: _Visit, at: Millis) -> None:
        """Note the range the engine shows this ticket now (as ``antre simulate`` does)."""
        ticket: Ticket = self.state.tickets[ticket_id]
        ahead = people_ahead(self.state, ticket)
        if ahead is None:
            return
        est = ticket_eta(self.state, ticket, ahead, at)
        low = est.earliest - est.earliest % DISPLAY_STEP
        high = est.latest + (-est.latest) % DISPLAY_STEP
        self._watch[ticket_id] = _Watch(visit, low, high)

    def _arrival(self, at: Millis, inside: bool) -> None:
        if inside:
            self._arrivals[self._hour(at)] += 1

    def _called(self, event: TicketCalled, visit: _Visit | None, inside: bool) -> None:
        if visit is not None:
            visit.calls.append(event.at)
        self._last_call[event.ticket_id] = (event.at, event.counter)
        if inside:
            self._calls[self._hour(event.at)] += 1
            self._counter_calls[event.counter] += 1
        watched = self._watch.pop(event.ticket_id, None)
        if watched is None:
            self._judged.pop(event.ticket_id, None)
            return
        held: bool | None = None
        if not event.out_of_order:
            held = watched.low <= event.at <= watched.high
            self._tally_eta(watched.visit.service, held, +1)
        self._judged[event.ticket_id] = (watched, held)

    def _tally_eta(self, service: str, held: bool, sign: int) -> None:
        counts = self._eta.setdefault(service, [0, 0])
        counts[0] += sign
        counts[1] += sign if held else 0

    def _undone(self, event: ActionUndone, visit: _Visit | None, moved_on: bool) -> None:
        ticket_id = event.ticket_id
        if event.action == "call":
            if visit is not None and visit.calls:
                visit.calls.pop()
            self._untally(self._last_call.pop(ticket_id, None), self._calls, self._counter_calls)
            judged = self._judged.pop(ticket_id, None)
            if judged is not None:
                watched, held = judged
                if held is not None:
                    self._tally_eta(watched.visit.service, held, -1)
                self._watch[ticket_id] = watched
        elif event.action == "miss":
            if visit is not None and visit.missed:
                visit.missed -= 1
        elif event.action == "complete":
            if moved_on:
                stack = self._stack.get(ticket_id)
                if stack:
                    gone = stack.pop()
                    if gone is not None:
                        gone.dropped = True
                self._watch.pop(ticket_id, None)
                visit = self._current(ticket_id)
            if visit is not None:
                visit.completed = None
            self._untally(self._last_done.pop(ticket_id, None), None, self._counter_done)

    def _untally(
        self, last: tuple[Millis, CounterId] | None, hourly: list[int] | None, per_counter: Tally[str]
    ) -> None:
        if last is None or not self.start <= last[0] < self.end:
            return
        if hourly is not None:
            hourly[self._hour(last[0])] -= 1
        per_counter[last[1]] -= 1

    def _hour(self, at: Millis) -> int:
        return datetime.fromtimestamp(at / 1000, self.tz).hour

    # -- counter time ----------------------------------------------------------------------

    def _counter_now(self) -> dict[CounterId, tuple[bool, bool]]:
        return {
            cid: (cs.status is CounterStatus.OPEN, cs.status is CounterStatus.OPEN and cs.ticket is not None)
            for cid, cs in self.state.counters.items()
        }

    def _begin_counters(self) -> None:
        self._mode = self._counter_now()
        self._since = dict.fromkeys(self._mode, self.start)

    def _counter_marks(self, at: Millis) -> None:
        assert self._mode is not None
        for cid, mode in self._counter_now().items():
            if mode != self._mode[cid]:
                self._accrue(cid, at)
                self._mode[cid] = mode

    def _accrue(self, cid: CounterId, at: Millis) -> None:
        assert self._mode is not None
        since = self._since[cid]
        if at > since:
            is_open, serving = self._mode[cid]
            if is_open:
                self._open_ms[cid] += at - since
            if serving:
                self._serving_ms[cid] += at - since
            self._since[cid] = at

    def _end_counters(self, at: Millis) -> None:
        if self._mode is None:
            self._begin_counters()
        for cid in self.facility.counters:
            self._accrue(cid, at)
        self._counters_final = True

    # -- the result ------------------------------------------------------------------------

    def report(self, *, now: Millis | None = None) -> Report:
        """The figures so far. ``now``: counters still open count until then (default: the last event)."""
        until = min(self.end, max(now or 0, self._last_at, self.start))
        if not self._counters_final:
            self._end_counters(until)
        visits = [v for v in self._visits if not v.dropped]
        return Report(
            facility=self.facility.id,
            first_day=self.first_day,
            last_day=self.last_day,
            start=self.start,
            end=self.end,
            until=until,
            first_position=self._positions[0],
            last_position=self._positions[1],
            tickets_by_channel=dict(sorted(self._tickets.items())),
            visits=dict(sorted(Tally((v.service, v.channel) for v in visits).items(), key=self._order)),
            waiting=self._distributions(visits, _wait),
            service_time=self._distributions(visits, _service_time),
            arrivals_per_hour=tuple(self._arrivals),
            calls_per_hour=tuple(self._calls),
            services=self._service_figures(visits),
            counters=tuple(
                CounterUse(
                    counter=cid,
                    open_min=self._open_ms[cid] / MINUTE,
                    serving_min=self._serving_ms[cid] / MINUTE,
                    calls=self._counter_calls[cid],
                    completed=self._counter_done[cid],
                )
                for cid in self.facility.counters
            ),
        )

    def _order(self, item: tuple[tuple[str, str], object]) -> tuple[int, str, int, str]:
        """Sort keys: all services first, then the facility's order; "all" first, then each class or channel."""
        (service, sub), _ = item
        s = 0 if service == ALL else 1 + self._service_rank.get(service, len(self._service_rank))
        k = 0 if sub == ALL else 1 + _SUB_RANK.get(sub, len(_SUB_RANK))
        return s, service, k, sub

    def _distributions(
        self, visits: list[_Visit], measure: Callable[[_Visit], Millis | None]
    ) -> dict[tuple[str, str], Distribution]:
        groups: dict[tuple[str, str], list[float]] = {}
        for visit in visits:
            value = measure(visit)
            if value is None:
                continue
            minutes = value / MINUTE
            for key in ((visit.service, visit.priority), (visit.service, ALL), (ALL, visit.priority), (ALL, ALL)):
                groups.setdefault(key, []).append(minutes)
        return {key: Distribution.of(values) for key, values in sorted(groups.items(), key=self._order)}

    def _service_figures(self, visits: list[_Visit]) -> tuple[ServiceFigures, ...]:
        out = []
        for code in self.facility.services:
            mine = [v for v in visits if v.service == code]
            judged, held = self._eta.get(code, (0, 0))
            out.append(
                ServiceFigures(
                    service=code,
                    visits=len(mine),
                    called=sum(1 for v in mine if v.calls),
                    completed=sum(1 for v in mine if v.completed is not None),
                    no_shows=sum(1 for v in mine if _no_show(v)),
                    cancelled=sum(1 for v in mine if v.cancelled),
                    eta_judged=judged,
                    eta_held=held,
                )
            )
        return tuple(out)


def _wait(visit: _Visit) -> Millis | None:
    if visit.joined is None or not visit.calls:
        return None
    return visit.calls[0] - visit.joined


def _service_time(visit: _Visit) -> Millis | None:
    if visit.completed is None:
        return None
    begin = visit.started if visit.started is not None else (visit.calls[-1] if visit.calls else None)
    return None if begin is None else visit.completed - begin


def _no_show(visit: _Visit) -> bool:
    return visit.missed > 0 and visit.started is None and visit.completed is None


def range_report(
    facility: Facility,
    records: Iterable[tuple[int, Event]],
    first_day: date,
    last_day: date,
    *,
    now: Millis | None = None,
    state: FacilityState | None = None,
) -> Report:
    """The report of local days ``first_day`` to ``last_day`` from a log's ``(position, event)`` records.

    Records must come in log order from position 1 (or from just after ``state``'s position).
    """
    builder = ReportBuilder(facility, first_day, last_day, state=state)
    for position, event in records:
        builder.feed(position, event)
        if builder.done:
            break
    return builder.report(now=now)


def day_report(
    facility: Facility,
    records: Iterable[tuple[int, Event]],
    day: date,
    *,
    now: Millis | None = None,
    state: FacilityState | None = None,
) -> Report:
    """The report of one local day; see :func:`range_report`."""
    return range_report(facility, records, day, day, now=now, state=state)
