"""SLA thresholds and what the facility's state measures against them. Pure: numbers in, readings out.

Three rules, each judged per subject:

* ``queue_length`` (a service): the waiting count (present, checked-in tickets) is **over**
  ``queue_max``; a queue of exactly ``queue_max`` is within the limit;
* ``longest_wait`` (a service): the ticket waiting longest has waited ``longest_wait_min`` minutes
  **or more**. A ticket's wait starts when it joined the present queue as the engine records it
  (``Ticket.joined_at``: its arrival, its appointment slot, or the service's opening, whichever
  is later; a requeued or transferred ticket starts again);
* ``counter_paused`` (a counter): paused for ``counter_paused_min`` minutes **or more**, counted
  from the pause (``CounterState.since``).

Durations cross their threshold with time passing, without any event: :func:`readings` says, for
each one not yet breached, the instant it will be (``due``) if nothing else changes, so whoever
judges (the web part's timer) can judge exactly then.

A threshold of 0 turns a rule off. The top-level values apply to every service / counter; a
service's or counter's own table overrides them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from queue_engine.domain.ids import CounterId, Millis, ServiceCode
from queue_engine.domain.model import CounterStatus, Facility
from queue_engine.domain.state import FacilityState

MINUTE = 60_000
#: the largest values accepted (a day of minutes; a queue longer than any puskesmas has)
MAX_MINUTES = 24 * 60
MAX_QUEUE = 10_000

SERVICE_KEYS = ("queue_max", "longest_wait_min")
COUNTER_KEYS = ("counter_paused_min",)


class AlertKind(StrEnum):
    QUEUE_LENGTH = "queue_length"
    LONGEST_WAIT = "longest_wait"
    COUNTER_PAUSED = "counter_paused"


@dataclass(frozen=True, slots=True, kw_only=True)
class Reading:
    """One rule measured for one subject at one instant."""

    kind: AlertKind
    #: a service code or a counter id
    subject: str
    #: the waiting count, or whole minutes
    value: int
    threshold: int
    #: when the measured condition began (the longest wait's start, the pause); None for a count
    since: Millis | None
    breached: bool
    #: not breached yet: the instant it will be if nothing changes (None: it will not)
    due: Millis | None = None

    @property
    def key(self) -> tuple[AlertKind, str]:
        return (self.kind, self.subject)


# --------------------------------------------------------------------------- the configuration


def _limit(owner: str, name: str, value: object) -> int:
    high = MAX_QUEUE if name == "queue_max" else MAX_MINUTES
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
        raise ValueError(f"sla: {owner}{name} must be a whole number from 0 (off) to {high}")
    return value


def _table(kind: str, raw: object, keys: tuple[str, ...]) -> dict[str, dict[str, int]]:
    if not isinstance(raw, Mapping):
        raise ValueError(f"sla: {kind} must be a table of tables, e.g. [modules.{kind}.<id>]")
    tables: dict[str, dict[str, int]] = {}
    for name, values in raw.items():
        if not isinstance(name, str) or not isinstance(values, Mapping):
            raise ValueError(f"sla: {kind}.{name} must be a table of thresholds")
        unknown = sorted(set(values) - set(keys))
        if unknown:
            raise ValueError(f"sla: {kind}.{name}: unknown option(s) {unknown} (one of {', '.join(keys)})")
        tables[name] = {key: _limit(f"{kind}.{name}.", key, value) for key, value in values.items()}
    return tables


@dataclass(frozen=True, slots=True, kw_only=True)
class Rules:
    """The thresholds: defaults for every service and counter, and each one's overrides."""

    queue_max: int = 0
    longest_wait_min: int = 0
    counter_paused_min: int = 0
    services: Mapping[str, Mapping[str, int]]
    counters: Mapping[str, Mapping[str, int]]

    @classmethod
    def parse(
        cls,
        *,
        queue_max: object = 0,
        longest_wait_min: object = 0,
        counter_paused_min: object = 0,
        services: object = None,
        counters: object = None,
    ) -> Rules:
        """Validated rules from the facility file's values.

        Raises:
            ValueError: naming the option and what is wrong.
        """
        return cls(
            queue_max=_limit("", "queue_max", queue_max),
            longest_wait_min=_limit("", "longest_wait_min", longest_wait_min),
            counter_paused_min=_limit("", "counter_paused_min", counter_paused_min),
            services=_table("services", services or {}, SERVICE_KEYS),
            counters=_table("counters", counters or {}, COUNTER_KEYS),
        )

    def check(self, facility: Facility) -> None:
        """Every service and counter named exists in ``facility``.

        Raises:
            ValueError: naming the unknown ones.
        """
        services = sorted(set(self.services) - set(facility.services))
        counters = sorted(set(self.counters) - set(facility.counters))
        if services or counters:
            raise ValueError(f"sla: unknown service(s) {services} or counter(s) {counters} in the thresholds")

    def service(self, code: str) -> tuple[int, int]:
        """``(queue_max, longest_wait_min)`` of a service (0: off)."""
        own = self.services.get(code, {})
        return own.get("queue_max", self.queue_max), own.get("longest_wait_min", self.longest_wait_min)

    def counter(self, counter: str) -> int:
        """``counter_paused_min`` of a counter (0: off)."""
        return self.counters.get(counter, {}).get("counter_paused_min", self.counter_paused_min)

    def shown(self) -> dict[str, Any]:
        """The thresholds as the admin's view lists them."""
        return {
            "queue_max": self.queue_max,
            "longest_wait_min": self.longest_wait_min,
            "counter_paused_min": self.counter_paused_min,
            "services": {k: dict(v) for k, v in self.services.items()},
            "counters": {k: dict(v) for k, v in self.counters.items()},
        }


# --------------------------------------------------------------------------- measuring


def oldest_wait(core: FacilityState, code: ServiceCode) -> Millis | None:
    """When the present ticket of ``code`` waiting longest began to wait (None: nobody waits). O(waiting)."""
    oldest: Millis | None = None
    for lane in core.services[code].waitlist.present.values():
        for _key, ticket_id in lane:
            ticket = core.tickets[ticket_id]
            start = ticket.joined_at if ticket.joined_at is not None else ticket.issued_at
            if oldest is None or start < oldest:
                oldest = start
    return oldest


def _duration(kind: AlertKind, subject: str, since: Millis | None, threshold: int, at: Millis) -> Reading:
    if since is None:
        return Reading(kind=kind, subject=subject, value=0, threshold=threshold, since=None, breached=False)
    limit = since + threshold * MINUTE
    return Reading(
        kind=kind,
        subject=subject,
        value=max(0, at - since) // MINUTE,
        threshold=threshold,
        since=since,
        breached=at >= limit,
        due=None if at >= limit else limit,
    )


def readings(core: FacilityState, rules: Rules, at: Millis) -> list[Reading]:
    """Every watched rule measured at ``at``: services in the facility's order, then counters."""
    found: list[Reading] = []
    for code in core.facility.services:
        queue_max, wait_min = rules.service(code)
        if queue_max:
            waiting = core.services[code].waitlist.present_count()
            found.append(
                Reading(
                    kind=AlertKind.QUEUE_LENGTH,
                    subject=code,
                    value=waiting,
                    threshold=queue_max,
                    since=None,
                    breached=waiting > queue_max,
                )
            )
        if wait_min:
            found.append(_duration(AlertKind.LONGEST_WAIT, code, oldest_wait(core, code), wait_min, at))
    for counter_id in core.facility.counters:
        paused_min = rules.counter(counter_id)
        if paused_min:
            cs = core.counters[CounterId(counter_id)]
            # since == 0: paused before the engine kept the time (a snapshot of an older version): unknown
            since = cs.since if cs.status is CounterStatus.PAUSED and cs.since else None
            found.append(_duration(AlertKind.COUNTER_PAUSED, counter_id, since, paused_min, at))
    return found


def next_due(found: list[Reading], open_keys: set[tuple[AlertKind, str]]) -> Millis | None:
    """The earliest instant a rule not breached now (nor already alerted) will be, if nothing changes."""
    dues = [r.due for r in found if r.due is not None and r.key not in open_keys]
    return min(dues) if dues else None
