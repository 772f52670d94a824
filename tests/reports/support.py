"""A simulated puskesmas day as log records, for the report tests.

The day is ``antre simulate``'s (the demo puskesmas, Thursday 2026-11-26): every event the real
engine decided, in order, numbered as the log numbers them. The records are what a log holds, so
the report under test and the independent figures in the tests read the very same events.
"""

from __future__ import annotations

import asyncio
from datetime import date
from functools import cache

from queue_engine import codec
from queue_engine.config import load_facility
from queue_engine.domain.events import Event
from queue_engine.domain.model import Facility
from queue_engine.log import EventLog, open_log
from queue_engine.simulate import Simulation

DAY = date(2026, 11, 26)


@cache
def demo() -> Facility:
    return load_facility()


@cache
def simulated(seed: int = 1) -> tuple[Simulation, tuple[tuple[int, Event], ...]]:
    """The finished simulation of ``seed`` and its events as (position, event) records."""
    sim = Simulation(facility=demo(), seed=seed)
    sim.run()
    events = [event for batch in sim.batches for event in batch]
    return sim, tuple(enumerate(events, start=1))


def filled_log(seed: int = 1) -> EventLog:
    """A memory log holding the simulated day of ``seed`` (encoded, as the runtime writes it)."""
    log = open_log("memory://")
    _, records = simulated(seed)
    payloads = [codec.encode_event(event) for _, event in records]
    asyncio.run(log.append(demo().id, 0, payloads))
    return log
