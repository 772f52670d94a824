"""A discrete-event simulation of one puskesmas day, driven through the real engine commands.

Patients arrive with a morning peak, at the kiosk or booking from home (they then come when
their estimated time is near, and check in); staff call, start and complete, sending each
visit on to the next stage (loket → poli → lab → apotek); some called patients do not come,
are marked missed and some come back and are requeued. Every step is a command decided and
applied by the pure core, so the figures describe the engine itself, not a model of it.

The ETA is judged as a patient would judge it: the range shown when a ticket joins a queue
(rounded outward to 5 minutes, as pages show it) either holds the real call time or not.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from statistics import mean
from typing import Any
from zoneinfo import ZoneInfo

from .clock import SequentialIds
from .domain import commands as c
from .domain.decide import Decision, decide
from .domain.errors import DomainError
from .domain.eta import Estimate
from .domain.events import Event, TicketCalled
from .domain.evolve import apply
from .domain.forecast import people_ahead, ticket_eta
from .domain.ids import CounterId, Millis, ServiceCode, TicketId
from .domain.model import Channel, CounterStatus, Facility, Payer, Priority
from .domain.state import FacilityState
from .domain.status import TicketStatus

MIN = 60_000
DISPLAY_STEP = 5 * MIN

#: share of patients per priority class
PRIORITY_MIX: tuple[tuple[Priority, float], ...] = (
    (Priority.UMUM, 0.725),
    (Priority.LANSIA, 0.15),
    (Priority.IBU_HAMIL, 0.05),
    (Priority.BALITA, 0.05),
    (Priority.DISABILITAS, 0.02),
    (Priority.DARURAT, 0.005),
)
#: where a visit goes after each stage: (next service or None, probability)
ROUTES: dict[str, tuple[tuple[str | None, float], ...]] = {
    "LOKET": (("UMUM", 0.55), ("KIA", 0.2), ("GIGI", 0.1), ("LAB", 0.15)),
    "UMUM": (("APOTEK", 0.75), ("LAB", 0.1), (None, 0.15)),
    "KIA": (("APOTEK", 0.5), ("LAB", 0.1), (None, 0.4)),
    "GIGI": (("APOTEK", 0.4), (None, 0.6)),
    "LAB": (("APOTEK", 0.3), (None, 0.7)),
    "APOTEK": ((None, 1.0),),
}
#: when each counter's staff start (local time)
OPENING = {"loket": (7, 0), "umum": (7, 30), "gigi": (7, 30), "kia": (7, 30), "lab": (7, 45), "apotek": (8, 0)}


@dataclass(slots=True)
class _Watch:
    """The range shown when a ticket joined a queue, judged at its next call."""

    estimate: Estimate
    joined: Millis
    priority: Priority


@dataclass(slots=True)
class _Counter:
    id: CounterId
    busy: bool = False


@dataclass
class Simulation:
    """One simulated day. ``run()`` returns the report."""

    facility: Facility
    seed: int
    patients: int = 160
    remote_share: float = 0.3
    day: tuple[int, int, int] = (2026, 11, 26)  # a Thursday
    #: the state to continue from (the log's, to simulate another day into it); default a fresh one
    start: FacilityState | None = None
    id_prefix: str = ""
    rng: random.Random = field(init=False)
    state: FacilityState = field(init=False)
    now: Millis = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.state = self.start if self.start is not None else FacilityState(self.facility)
        self.ids = SequentialIds(self.id_prefix)
        self.tz = ZoneInfo(self.facility.timezone)
        self.now = self.at(6, 0)
        self._queue: list[tuple[Millis, int, Callable[[], object]]] = []
        self._n = 0
        self.counters = {cid: _Counter(cid) for cid in self.facility.counters}
        self.watch: dict[TicketId, _Watch] = {}
        self.waits: dict[Priority, list[float]] = {p: [] for p, _ in PRIORITY_MIX}
        self.eta_errors: list[float] = []
        self.eta_hits: list[bool] = []
        self.eta_raw_hits: list[bool] = []
        self.completed_visits = 0
        self.rejected: dict[str, int] = {}
        self.events = 0
        self.missed = 0
        #: every decision's events, in order (``antre simulate --log-url`` writes them to a log)
        self.batches: list[list[Event]] = []

    # -- plumbing --------------------------------------------------------------------------

    def at(self, hour: int, minute: int) -> Millis:
        y, m, d = self.day
        return int(datetime(y, m, d, hour, minute, tzinfo=self.tz).timestamp() * 1000)

    def schedule(self, when: Millis, action: Callable[[], object]) -> None:
        self._n += 1
        heapq.heappush(self._queue, (max(when, self.now), self._n, action))

    def submit(self, command: c.Command) -> Decision | None:
        try:
            decision = decide(self.state, command)
        except DomainError as err:
            self.rejected[err.code] = self.rejected.get(err.code, 0) + 1
            return None
        if decision.events:
            self.batches.append(decision.events)
        for event in decision.events:
            apply(self.state, event)
            self.events += 1
            if isinstance(event, TicketCalled):
                self._judge(event)
        return decision

    def minutes(self, mean_min: float, cv: float = 0.5) -> Millis:
        """A lognormal duration with the given mean and coefficient of variation."""
        sigma2 = math.log(1 + cv * cv)
        mu = math.log(mean_min) - sigma2 / 2
        return round(self.rng.lognormvariate(mu, sigma2**0.5) * MIN)

    # -- patients --------------------------------------------------------------------------

    def _arrival_time(self) -> Millis:
        # Morning peak: most arrive 07:00-09:00, a tail until 11:30.
        if self.rng.random() < 0.7:
            return self.at(6, 45) + round(self.rng.triangular(0, 135, 30) * MIN)
        return self.at(9, 0) + round(self.rng.uniform(0, 150) * MIN)

    def _priority(self) -> Priority:
        x, acc = self.rng.random(), 0.0
        for priority, share in PRIORITY_MIX:
            acc += share
            if x < acc:
                return priority
        return Priority.UMUM

    def _new_patient(self) -> None:
        priority = self._priority()
        payer = Payer.JKN if self.rng.random() < 0.75 else Payer.UMUM
        if self.rng.random() < self.remote_share and priority is not Priority.DARURAT:
            booked = self.at(5, 30) + round(self.rng.uniform(0, 240) * MIN)
            self.schedule(booked, lambda: self._book(priority, payer))
        else:
            self.schedule(self._arrival_time(), lambda: self._walk_in(priority, payer))

    def _issue(self, priority: Priority, payer: Payer, channel: Channel) -> TicketId | None:
        cmd = c.IssueTicket(
            at=self.now,
            ticket_id=self.ids.ticket_id(),
            token=self.ids.token(),
            service=ServiceCode("LOKET"),
            priority=priority,
            channel=channel,
            payer=payer,
        )
        decision = self.submit(cmd)
        return None if decision is None else decision.ticket_id

    def _walk_in(self, priority: Priority, payer: Payer) -> None:
        ticket_id = self._issue(priority, payer, Channel.KIOSK)
        if ticket_id is not None:
            self._joined(ticket_id)

    def _book(self, priority: Priority, payer: Payer) -> None:
        ticket_id = self._issue(priority, payer, Channel.WEB)
        if ticket_id is None:
            return
        ticket = self.state.tickets[ticket_id]
        ahead = people_ahead(self.state, ticket) or 0
        shown = ticket_eta(self.state, ticket, ahead, self.now)
        # Patients aim to arrive a little before the earliest time shown; some are late, some never come.
        roll = self.rng.random()
        if roll < 0.05:
            return
        arrive = shown.earliest - round(self.rng.uniform(5, 25) * MIN)
        if roll < 0.15:
            arrive = shown.at + round(self.rng.uniform(10, 60) * MIN)
        self.schedule(max(arrive, self.now + 5 * MIN), lambda: self._check_in(ticket_id))

    def _check_in(self, ticket_id: TicketId) -> None:
        if self.submit(c.CheckIn(at=self.now, ticket_id=ticket_id)) is not None:
            self._joined(ticket_id)

    def _joined(self, ticket_id: TicketId) -> None:
        """The ticket now waits in a queue: note the range shown, wake idle staff."""
        ticket = self.state.tickets[ticket_id]
        ahead = people_ahead(self.state, ticket)
        if ahead is not None:
            estimate = ticket_eta(self.state, ticket, ahead, self.now)
            self.watch[ticket_id] = _Watch(estimate, self.now, ticket.priority)
        self._wake(ticket.service)

    def _judge(self, event: TicketCalled) -> None:
        watched = self.watch.pop(event.ticket_id, None)
        if watched is None or event.out_of_order:
            return
        est, actual = watched.estimate, event.at
        self.waits[watched.priority].append((actual - watched.joined) / MIN)
        self.eta_errors.append(abs(actual - est.at) / MIN)
        low = est.earliest - est.earliest % DISPLAY_STEP
        high = est.latest + (-est.latest) % DISPLAY_STEP
        self.eta_hits.append(low <= actual <= high)
        self.eta_raw_hits.append(est.earliest <= actual <= est.latest)

    # -- staff -----------------------------------------------------------------------------

    def _open_counters(self) -> None:
        for cid in self.facility.counters:
            hour, minute = OPENING.get(cid.split("-")[0], (7, 30))

            def open_counter(cid: CounterId = cid) -> None:
                self.submit(c.OpenCounter(at=self.now, counter=cid, actor="sim"))
                self._try_call(cid)

            self.schedule(self.at(hour, minute), open_counter)

    def _wake(self, service: ServiceCode) -> None:
        for counter in self.facility.counters_serving(service):
            if not self.counters[counter.id].busy and self.state.counters[counter.id].status is CounterStatus.OPEN:
                delay = round(self.rng.uniform(0.1, 1.0) * MIN)
                self.schedule(self.now + delay, partial(self._try_call, counter.id))

    def _try_call(self, cid: CounterId) -> None:
        sim_counter = self.counters[cid]
        if sim_counter.busy:
            return
        decision = self.submit(c.CallNext(at=self.now, counter=cid, actor="sim"))
        if decision is None or decision.ticket_id is None:
            return
        sim_counter.busy = True
        ticket_id = decision.ticket_id
        if self.rng.random() < 0.04:  # not in the waiting room: recall once, then mark missed
            self.schedule(self.now + MIN, lambda: self.submit(c.Recall(at=self.now, counter=cid, actor="sim")))
            self.schedule(self.now + 2 * MIN, lambda: self._missed(cid, ticket_id))
        else:
            walk = round(self.rng.uniform(0.3, 1.5) * MIN)
            self.schedule(self.now + walk, lambda: self._start(cid, ticket_id))

    def _missed(self, cid: CounterId, ticket_id: TicketId) -> None:
        self.submit(c.MarkMissed(at=self.now, counter=cid, actor="sim"))
        self.missed += 1
        self._free(cid)
        if self.rng.random() < 0.6:
            back = self.now + round(self.rng.uniform(5, 30) * MIN)
            self.schedule(back, lambda: self._requeue(ticket_id))

    def _requeue(self, ticket_id: TicketId) -> None:
        if self.submit(c.Requeue(at=self.now, ticket_id=ticket_id, actor="sim")) is not None:
            self._joined(ticket_id)

    def _start(self, cid: CounterId, ticket_id: TicketId) -> None:
        self.submit(c.StartService(at=self.now, counter=cid, actor="sim"))
        service = self.state.tickets[ticket_id].service
        duration = self.minutes(self.facility.services[service].service_min)
        self.schedule(self.now + duration, lambda: self._complete(cid, ticket_id))

    def _complete(self, cid: CounterId, ticket_id: TicketId) -> None:
        service = self.state.tickets[ticket_id].service
        nxt = self._route(service)
        if nxt is not None and nxt not in self.facility.services[service].next_stages:
            nxt = None
        self.submit(c.Complete(at=self.now, counter=cid, actor="sim", next_service=nxt))
        self.completed_visits += 1
        self._free(cid)
        if nxt is not None:
            self._joined(ticket_id)

    def _route(self, service: ServiceCode) -> ServiceCode | None:
        x, acc = self.rng.random(), 0.0
        for nxt, share in ROUTES.get(service, ((None, 1.0),)):
            acc += share
            if x < acc:
                return None if nxt is None else ServiceCode(nxt)
        return None

    def _free(self, cid: CounterId) -> None:
        self.counters[cid].busy = False
        self.schedule(self.now + round(self.rng.uniform(0.1, 0.8) * MIN), lambda: self._try_call(cid))

    # -- run -------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        for _ in range(self.patients):
            self._new_patient()
        self._open_counters()
        end = self.at(18, 0)
        while self._queue and self._queue[0][0] <= end:
            when, _, action = heapq.heappop(self._queue)
            self.now = when
            action()
        self._close_counters()
        return self.report()

    def _close_counters(self) -> None:
        """The day's work is done: staff close every counter that holds no ticket."""
        for cid, counter in self.state.counters.items():
            if counter.status is not CounterStatus.CLOSED and counter.ticket is None:
                self.submit(c.CloseCounter(at=self.now, counter=cid, actor="sim"))

    def report(self) -> dict[str, Any]:
        tickets = self.state.tickets.values()
        all_waits = [w for ws in self.waits.values() for w in ws]
        done = [t for t in tickets if t.status is TicketStatus.DONE and t.finished_at is not None]
        first = min((t.issued_at for t in tickets), default=self.now)
        last = max((t.finished_at or first for t in done), default=first)
        hours = max((last - first) / 3_600_000, 1e-9)
        return {
            "seed": self.seed,
            "tickets": len(self.state.tickets),
            "visits_served": self.completed_visits,
            "events": self.events,
            "mean_wait_min": {p.value: round(mean(ws), 1) for p, ws in self.waits.items() if ws},
            "calls_per_class": {p.value: len(ws) for p, ws in self.waits.items()},
            "max_wait_min": round(max(all_waits, default=0.0), 1),
            "throughput_per_hour": round(len(done) / hours, 1),
            "missed_calls": self.missed,
            "still_waiting": sum(1 for t in tickets if t.status is TicketStatus.WAITING),
            "rejected": dict(sorted(self.rejected.items())),
            "eta_mae_min": round(mean(self.eta_errors), 2) if self.eta_errors else None,
            "eta_range_hit_rate": round(mean(self.eta_hits), 3) if self.eta_hits else None,
            "eta_raw_range_hit_rate": round(mean(self.eta_raw_hits), 3) if self.eta_raw_hits else None,
            "eta_judged": len(self.eta_hits),
        }


def simulate(facility: Facility, seed: int, *, patients: int = 160) -> dict[str, Any]:
    """Simulate one day of ``facility`` with a seeded random source; returns the report."""
    return Simulation(facility=facility, seed=seed, patients=patients).run()
