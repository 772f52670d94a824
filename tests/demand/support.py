"""Synthetic past weeks with a known pattern, generated through the engine's own commands.

A small facility (``FACILITY_TOML``): registration ``A`` (six counters, 07:00-12:00 Monday to
Saturday) sends every visit on to poli ``B`` (six counters, 07:00-14:00); closed on Sunday. Each
day, patients arrive at ``A`` by the hour as :data:`PATTERN` says (evenly spread in the hour, or
as a Poisson process of that rate with a seeded random source); a free counter calls the next
ticket at once; a visit takes exactly 4 minutes at ``A`` and 8 at ``B`` from call to completion.
Every step is a command decided and applied by the pure core, so the events are the engine's.
"""

from __future__ import annotations

import heapq
import random
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from queue_engine import codec
from queue_engine.clock import SequentialIds
from queue_engine.config import load_facility, parse_facility
from queue_engine.domain import commands as c
from queue_engine.domain.decide import decide
from queue_engine.domain.events import Event
from queue_engine.domain.evolve import apply
from queue_engine.domain.ids import CounterId, Millis, ServiceCode
from queue_engine.domain.model import Facility
from queue_engine.domain.state import FacilityState
from queue_engine.log.base import EventLog
from tests.conftest import JAKARTA, MINUTE

FACILITY_TOML = """
[facility]
id = "pkm-forecast"
name = "Puskesmas Uji Perkiraan"
timezone = "Asia/Jakarta"

[[services]]
code = "A"
name = "Loket Pendaftaran"
prefix = "A"
service_min = 3
hours = { "mon-sat" = "07:00-12:00" }
next_stages = ["B"]

[[services]]
code = "B"
name = "Poli Umum"
prefix = "B"
service_min = 10
hours = { "mon-sat" = "07:00-14:00" }
""" + "".join(
    f'\n[[counters]]\nid = "{s.lower()}{n}"\nname = "{s} {n}"\nservices = ["{s}"]\n' for s in "AB" for n in range(1, 7)
)

#: arrivals at A per weekday (0 = Monday) and local hour
PATTERN: dict[int, dict[int, int]] = {
    0: {7: 20, 8: 30, 9: 15, 10: 10, 11: 5},
    1: {7: 12, 8: 18, 9: 10, 10: 6, 11: 4},
    2: {7: 12, 8: 18, 9: 10, 10: 6, 11: 4},
    3: {7: 12, 8: 18, 9: 10, 10: 6, 11: 4},
    4: {7: 10, 8: 14, 9: 8, 10: 4, 11: 2},
    5: {7: 6, 8: 8, 9: 4},
    6: {},
}
SERVICE_MS = {"A": 4 * MINUTE, "B": 8 * MINUTE}
#: Monday 2026-11-02: the first day of the synthetic history; the target Monday is 4 weeks later
FIRST_DAY = date(2026, 11, 2)
TARGET = date(2026, 11, 30)


def facility_file(directory: Path) -> Path:
    path = directory / "forecast.toml"
    path.write_text(FACILITY_TOML, encoding="utf-8")
    return path


def local(day: date, minute: float) -> Millis:
    return int(datetime(day.year, day.month, day.day, tzinfo=JAKARTA).timestamp() * 1000 + round(minute * MINUTE))


@dataclass
class History:
    """Days run one after the other through one state; ``events`` holds everything decided."""

    facility: Facility
    state: FacilityState = field(init=False)
    events: list[Event] = field(default_factory=list)
    ids: SequentialIds = field(default_factory=lambda: SequentialIds("syn-"))
    #: A arrivals actually generated, per (day, hour)
    arrivals: dict[tuple[date, int], int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.state = FacilityState(self.facility)
        self._queue: list[tuple[Millis, int, Callable[[], None]]] = []
        self._n = 0
        self.busy: dict[CounterId, bool] = {cid: False for cid in self.facility.counters}
        self.now: Millis = 0

    def run(self, cmd: c.Command) -> c.Command:
        for event in decide(self.state, cmd).events:
            apply(self.state, event)
            self.events.append(event)
        return cmd

    def _at(self, when: Millis, action: Callable[[], None]) -> None:
        self._n += 1
        heapq.heappush(self._queue, (when, self._n, action))

    def _try_call(self, cid: CounterId) -> None:
        if self.busy[cid]:
            return
        code = self.facility.counters[cid].services[0]
        if not self.state.services[code].waitlist.present_count():
            return
        decision = decide(self.state, c.CallNext(at=self.now, counter=cid))
        assert decision.ticket_id is not None
        for event in decision.events:
            apply(self.state, event)
            self.events.append(event)
        self.busy[cid] = True
        self._at(self.now + SERVICE_MS[code], lambda: self._complete(cid, code))

    def _complete(self, cid: CounterId, code: ServiceCode) -> None:
        self.run(c.Complete(at=self.now, counter=cid, next_service=ServiceCode("B") if code == "A" else None))
        self.busy[cid] = False
        for counter in self.facility.counters:  # the B queue may have grown; this counter is free
            self._try_call(counter)

    def _arrive(self) -> None:
        self.run(c.IssueTicket(at=self.now, ticket_id=self.ids.ticket_id(), token=self.ids.token(), service="A"))  # type: ignore[arg-type]
        for counter in self.facility.counters_serving(ServiceCode("A")):
            self._try_call(counter.id)

    def day(self, day: date, *, scale: float = 1.0, rng: random.Random | None = None) -> None:
        """One day of the pattern (times ``scale``): evenly spread arrivals, or Poisson ones with ``rng``."""
        if not self.events:
            self.now = local(day, 6 * 60)
            for cid in self.facility.counters:
                self.run(c.OpenCounter(at=self.now, counter=cid))
        for hour, count in PATTERN[day.weekday()].items():
            rate = count * scale
            if rng is None:
                n = round(rate)
                times = [hour * 60 + (i + 0.5) * 60 / n for i in range(n)]
            else:
                times, t = [], hour * 60 + rng.expovariate(rate / 60)
                while t < (hour + 1) * 60:
                    times.append(t)
                    t += rng.expovariate(rate / 60)
            self.arrivals[(day, hour)] = len(times)
            for minute in times:
                self._at(local(day, minute), self._arrive)
        while self._queue:
            self.now, _, action = heapq.heappop(self._queue)
            action()

    def days(self, first: date, count: int, **kwargs: object) -> History:
        for i in range(count):
            self.day(first + timedelta(days=i), **kwargs)  # type: ignore[arg-type]
        return self


def synthetic(directory: Path | None = None, **kwargs: object) -> History:
    """Four weeks of the pattern before :data:`TARGET` (``directory``: load the facility from its TOML there)."""
    if directory is None:
        facility = parse_facility(tomllib.loads(FACILITY_TOML))
    else:
        facility = load_facility(facility_file(directory))
    return History(facility).days(FIRST_DAY, 28, **kwargs)


async def write(log: EventLog, facility: Facility, events: list[Event]) -> None:
    """Append ``events`` to ``log`` in chunks, as the runtime would have."""
    position = await log.last_position(facility.id)
    for start in range(0, len(events), 5_000):
        chunk = [codec.encode_event(e) for e in events[start : start + 5_000]]
        position = await log.append(facility.id, position, chunk)
