"""Prometheus metrics against the app's own ``CollectorRegistry`` (never the global ``REGISTRY``).

Every app builds its registry in the lifespan (``AppState.registry``); :func:`metrics_for` creates
this module's instruments on it once and returns them (a weak map keyed by the registry, so tests
may build many apps in one process and a dropped app takes its metrics with it).

* ``antre_queue_length{service}``: present waiting tickets, computed from ``runtime.state`` at
  scrape time (a position is never stored, and neither is a length);
* ``antre_wait_seconds{service}``, ``antre_service_seconds{service}``: joined-the-queue to call,
  and call to completion, observed from the events each command produced;
* ``antre_calls_total{counter}``, ``antre_recalls_total{counter}``,
  ``antre_tickets_issued_total{service,channel}``;
* ``antre_ws_clients{kind}``: read from ``PushHub.clients_by_kind()`` at scrape time; the hub may
  also push a count through :func:`set_ws_clients`;
* ``antre_append_seconds{command}``: submit to durable answer (queueing, decide, append);
* ``antre_batches_total``, ``antre_batched_commands_total``: the sequencer's batches and the
  commands they carried (their ratio is the group commit's size), read from the runtime.

``GET /metrics`` is for an admin session or ``Authorization: Bearer <ANTRE_METRICS_TOKEN>``.
"""

from __future__ import annotations

import hmac
import time
import weakref
from collections.abc import Iterable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from queue_engine.domain.commands import Command
from queue_engine.domain.events import (
    ActionUndone,
    Event,
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
from queue_engine.domain.ids import Millis, TicketId
from queue_engine.domain.state import FacilityState
from queue_engine.runtime import Result, Runtime

from .auth import Role, bearer_token, require
from .state import AppState

DAY_MS = 24 * 3_600_000
#: tickets remembered between joining and call / call and completion, before old ones are swept
_TRACKED = 50_000


class _QueueLengths(Collector):
    """``antre_queue_length{service}``, ``antre_log_conflicts_total``, ``antre_batches_total`` and
    ``antre_batched_commands_total``, read from the runtime when scraped."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def _family(self) -> GaugeMetricFamily:
        return GaugeMetricFamily("antre_queue_length", "Present tickets waiting, per service.", labels=["service"])

    def _conflicts(self) -> CounterMetricFamily:
        return CounterMetricFamily(
            "antre_log_conflicts", "Appends lost to another node writing first (each decided again)."
        )

    def _batches(self) -> tuple[CounterMetricFamily, CounterMetricFamily]:
        return (
            CounterMetricFamily("antre_batches", "Batches of commands decided (and written together: group commit)."),
            CounterMetricFamily("antre_batched_commands", "Commands those batches carried."),
        )

    def describe(self) -> Iterable[Metric]:
        return [self._family(), self._conflicts(), *self._batches()]

    def collect(self) -> Iterable[Metric]:
        family = self._family()
        for code, service in self.runtime.state.services.items():
            family.add_metric([code], service.waitlist.present_count())
        conflicts = self._conflicts()
        conflicts.add_metric([], self.runtime.conflicts)
        batches, batched = self._batches()
        batches.add_metric([], self.runtime.batches)
        batched.add_metric([], self.runtime.batched)
        return [family, conflicts, batches, batched]


class Metrics:
    """The instruments of one app, registered on its registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        # Weak: the map in metrics_for() is keyed by the registry, and a value must not keep its key alive.
        self._registry = weakref.ref(registry)
        minutes = (60, 120, 300, 600, 900, 1200, 1800, 2700, 3600, 5400, 7200, 10800, 14400)
        self.wait = Histogram(
            "antre_wait_seconds",
            "Time from joining a service's queue to being called.",
            ["service"],
            buckets=minutes,
            registry=registry,
        )
        self.service_time = Histogram(
            "antre_service_seconds",
            "Time from a call to its completion (walking up included).",
            ["service"],
            buckets=(30, *minutes),
            registry=registry,
        )
        self.calls = Counter("antre_calls", "Tickets called, per counter.", ["counter"], registry=registry)
        self.recalls = Counter("antre_recalls", "Tickets called again, per counter.", ["counter"], registry=registry)
        self.issued = Counter(
            "antre_tickets_issued",
            "Tickets issued, per service and channel.",
            ["service", "channel"],
            registry=registry,
        )
        self.ws_clients = Gauge(
            "antre_ws_clients", "Connected WebSocket clients, by kind.", ["kind"], registry=registry
        )
        self.append = Histogram(
            "antre_append_seconds",
            "Time from submitting a command to its durable answer.",
            ["command"],
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=registry,
        )
        #: labelled children by (metric, label values): ``labels()`` takes a lock and validates on each call
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        self._runtime: Runtime | None = None
        #: ticket -> when it joined a present queue; ticket -> (called at, service)
        self._joined: dict[TicketId, Millis] = {}
        self._called: dict[TicketId, tuple[Millis, str]] = {}

    def child(self, metric: Counter | Histogram, *labels: str) -> Any:
        """``metric.labels(*labels)``, made once per label set."""
        key = (id(metric), labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    def attach(self, runtime: Runtime) -> None:
        """Register the scrape-time queue lengths of ``runtime`` (once)."""
        registry = self._registry()
        if self._runtime is None and registry is not None:
            self._runtime = runtime
            registry.register(_QueueLengths(runtime))

    async def submit(self, runtime: Runtime, command: Command) -> Result:
        """``runtime.submit(command)``, timed, with the events it caused observed."""
        self.attach(runtime)
        start = time.perf_counter()
        try:
            result = await runtime.submit(command)
        finally:
            self.child(self.append, type(command).__name__).observe(time.perf_counter() - start)
        self.observe(result.events, runtime.state)
        return result

    def observe(self, events: Iterable[Event], state: FacilityState) -> None:
        """Count calls and issues; observe waits and service times."""
        for e in events:
            match e:
                case TicketIssued():
                    self.child(self.issued, e.service, e.channel.value).inc()
                    if e.checked_in:
                        self._join(e.ticket_id, e.at)
                case TicketCheckedIn() | TicketRequeued() | TicketTransferred():
                    self._called.pop(e.ticket_id, None)
                    self._join(e.ticket_id, e.at)
                case TicketCalled():
                    self.child(self.calls, e.counter).inc()
                    ticket = state.tickets.get(e.ticket_id)
                    service = ticket.service if ticket is not None else ""
                    joined = self._joined.pop(e.ticket_id, None)
                    if joined is not None:
                        self.child(self.wait, service).observe(max(0, e.at - joined) / 1000)
                    self._called[e.ticket_id] = (e.at, service)
                case TicketRecalled():
                    self.child(self.recalls, e.counter).inc()
                case TicketCompleted():
                    called = self._called.pop(e.ticket_id, None)
                    if called is not None:
                        self.child(self.service_time, called[1]).observe(max(0, e.at - called[0]) / 1000)
                case TicketMissed() | TicketCancelled():
                    self._called.pop(e.ticket_id, None)
                    self._joined.pop(e.ticket_id, None)
                case ActionUndone() if e.action == "call":
                    self._called.pop(e.ticket_id, None)  # its wait was observed already; not twice
                case _:
                    pass

    def _join(self, ticket_id: TicketId, at: Millis) -> None:
        if len(self._joined) >= _TRACKED:
            self._joined = {t: j for t, j in self._joined.items() if j > at - DAY_MS}
            self._called = {t: v for t, v in self._called.items() if v[0] > at - DAY_MS}
        self._joined[ticket_id] = at


_BY_REGISTRY: weakref.WeakKeyDictionary[CollectorRegistry, Metrics] = weakref.WeakKeyDictionary()


def metrics_for(registry: CollectorRegistry) -> Metrics:
    """The instruments on ``registry``, created the first time."""
    metrics = _BY_REGISTRY.get(registry)
    if metrics is None:
        metrics = _BY_REGISTRY[registry] = Metrics(registry)
    return metrics


def set_ws_clients(registry: CollectorRegistry, kind: str, count: int) -> None:
    """For the push hub: how many WebSocket clients of ``kind`` (board, ticket, counter) are connected."""
    metrics_for(registry).ws_clients.labels(kind).set(count)


async def metrics_endpoint(request: Request[AppState]) -> Response:
    """``GET /metrics``: Prometheus text for an admin session or the metrics bearer token."""
    state = request.state
    expected = state["settings"].metrics_token
    given = bearer_token(request)
    if not (expected and given and hmac.compare_digest(expected.encode(), given.encode())):
        require(request, state["accounts"], Role.ADMIN)
    metrics = metrics_for(state["registry"])
    metrics.attach(state["runtime"])
    for kind, count in state["hub"].clients_by_kind().items():
        metrics.ws_clients.labels(kind).set(count)
    return Response(generate_latest(state["registry"]), media_type=CONTENT_TYPE_LATEST)
