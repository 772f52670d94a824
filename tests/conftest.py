"""Shared fixtures and helpers: a small facility builder, a fixed start time, ``run()``, a ``Desk``, and Redis.

Redis comes two ways: ``redis_url`` / ``key_prefix`` (the shared test server, keys of the test's
own) and ``private_redis`` (a redis-server of the test's own, for tests that kill or restart it).

Helpers are plain functions and classes (imported as ``from tests.conftest import ...``) so that
Hypothesis tests, which cannot take function-scoped fixtures, use exactly the same builders.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import uuid
import warnings
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from queue_engine.domain import commands as c
from queue_engine.domain.decide import Decision, decide
from queue_engine.domain.deltas import Delta
from queue_engine.domain.events import Event
from queue_engine.domain.evolve import apply
from queue_engine.domain.ids import CounterId, FacilityId, Millis, ServiceCode, TicketId, TicketToken
from queue_engine.domain.model import Channel, Counter, Facility, Payer, Policy, Priority, Service, Window
from queue_engine.domain.state import FacilityState, Ticket
from tests.redis_server import RedisServer, free_port

# When a Hypothesis test fails, Hypothesis writes a patch with the failing example using libcst, whose
# import raises a DeprecationWarning (mypy_extensions.TypedDict). Under filterwarnings = error that
# turns the failure report into an INTERNALERROR, so libcst is imported once here with it ignored.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    with contextlib.suppress(ImportError):
        importlib.import_module("libcst")

JAKARTA = ZoneInfo("Asia/Jakarta")
SECOND = 1_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR


def local_ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> Millis:
    """Epoch milliseconds of a wall-clock time in Asia/Jakarta (UTC+7, no DST)."""
    return int(datetime(year, month, day, hour, minute, second, tzinfo=JAKARTA).timestamp() * 1000)


#: Thursday 2026-11-26 08:00 WIB (01:00 UTC): the fixed start of every scenario.
START: Millis = local_ms(2026, 11, 26, 8, 0)
#: The first instant of Friday 2026-11-27, local time.
NEXT_MIDNIGHT: Millis = local_ms(2026, 11, 27)


def every_day(*windows: Window) -> dict[int, tuple[Window, ...]]:
    """Opening hours: the same windows (minutes since local midnight) on every weekday."""
    return {weekday: tuple(windows) for weekday in range(7)}


def service(code: str, *, prefix: str | None = None, **kwargs) -> Service:
    """A service named after its code; its prefix is the code's first letter unless given."""
    return Service(code=ServiceCode(code), name=f"Layanan {code}", prefix=prefix or code[0], **kwargs)


def make_facility(
    *services: Service,
    counters: dict[str, tuple[str, ...]] | None = None,
    policy: Policy | None = None,
    facility_id: str = "pkm-test",
) -> Facility:
    """A facility with the given services (default: one service ``A``) and counters.

    ``counters`` maps a counter id to the codes it serves; by default one counter ``L1``
    serves every service. Services have no opening hours unless the caller gives some.
    """
    svcs = services or (service("A"),)
    if counters is None:
        counters = {"L1": tuple(s.code for s in svcs)}
    return Facility(
        id=FacilityId(facility_id),
        name="Puskesmas Uji",
        services={s.code: s for s in svcs},
        counters={
            CounterId(cid): Counter(id=CounterId(cid), name=f"Loket {cid}", services=tuple(map(ServiceCode, codes)))
            for cid, codes in counters.items()
        },
        policy=policy or Policy(),
    )


def run(state: FacilityState, cmd: c.Command) -> Decision:
    """Decide ``cmd`` and apply each of its events to ``state``; return the decision."""
    decision = decide(state, cmd)
    for event in decision.events:
        apply(state, event)
    return decision


def replay(facility: Facility, events: Iterable[Event]) -> FacilityState:
    """Fold events into a fresh state."""
    state = FacilityState(facility)
    for event in events:
        apply(state, event)
    return state


class Desk:
    """A facility under test: its state, an explicit clock, fresh ids and every event so far.

    Methods are thin wrappers around commands so tests read like the staff's actions.
    """

    def __init__(self, facility: Facility, *, now: Millis = START, open_counters: bool = True) -> None:
        self.facility = facility
        self.state = FacilityState(facility)
        self.now = now
        self.events: list[Event] = []
        self.deltas: list[Delta] = []
        self._n = 0
        if open_counters:
            for cid in facility.counters:
                self.run(c.OpenCounter(at=self.now, counter=CounterId(cid)))

    # -- plumbing ---------------------------------------------------------------------------

    def run(self, cmd: c.Command) -> Decision:
        """Decide and apply ``cmd``, recording its events and deltas."""
        decision = decide(self.state, cmd)
        for event in decision.events:
            self.deltas.extend(apply(self.state, event))
            self.events.append(event)
        return decision

    def advance(self, ms: Millis) -> Millis:
        self.now += ms
        return self.now

    def ticket(self, ticket_id: TicketId | None) -> Ticket:
        assert ticket_id is not None
        return self.state.tickets[ticket_id]

    def fresh_ids(self) -> tuple[TicketId, TicketToken]:
        self._n += 1
        return TicketId(f"t{self._n}"), TicketToken(f"secret-token-{self._n:04d}")

    # -- commands ---------------------------------------------------------------------------

    def issue_cmd(
        self,
        service: str = "A",
        *,
        priority: Priority = Priority.UMUM,
        channel: Channel = Channel.KIOSK,
        payer: Payer = Payer.UMUM,
        appointment_at: Millis | None = None,
        idempotency_key: str | None = None,
    ) -> c.IssueTicket:
        ticket_id, token = self.fresh_ids()
        return c.IssueTicket(
            at=self.now,
            ticket_id=ticket_id,
            token=token,
            service=ServiceCode(service),
            priority=priority,
            channel=channel,
            payer=payer,
            appointment_at=appointment_at,
            idempotency_key=idempotency_key,
        )

    def issue(self, service: str = "A", **kwargs) -> Ticket:
        """Issue a ticket now and return it."""
        return self.ticket(self.run(self.issue_cmd(service, **kwargs)).ticket_id)

    def call_next(self, counter: str = "L1", **kwargs) -> Ticket | None:
        """Press "next" at a counter; the ticket called, if any."""
        decision = self.run(c.CallNext(at=self.now, counter=CounterId(counter), actor="petugas", **kwargs))
        return None if decision.ticket_id is None else self.ticket(decision.ticket_id)

    def call_all(self, counter: str = "L1") -> list[str]:
        """Call and complete every present waiting ticket at one counter; the numbers in call order."""
        order: list[str] = []
        while True:
            cs = self.state.counters[CounterId(counter)]
            if cs.ticket is not None:
                self.run(c.Complete(at=self.now, counter=CounterId(counter)))
            if not any(self.state.services[code].waitlist.present_count() for code in self.served(counter)):
                return order
            called = self.call_next(counter)
            assert called is not None
            order.append(called.number)

    def served(self, counter: str) -> tuple[ServiceCode, ...]:
        return self.facility.counters[CounterId(counter)].services

    def complete(self, counter: str = "L1", next_service: str | None = None) -> Decision:
        nxt = None if next_service is None else ServiceCode(next_service)
        return self.run(c.Complete(at=self.now, counter=CounterId(counter), next_service=nxt))

    def start(self, counter: str = "L1") -> Decision:
        return self.run(c.StartService(at=self.now, counter=CounterId(counter)))

    def miss(self, counter: str = "L1") -> Decision:
        return self.run(c.MarkMissed(at=self.now, counter=CounterId(counter)))

    def check_in(self, ticket: Ticket) -> Decision:
        return self.run(c.CheckIn(at=self.now, ticket_id=ticket.id))

    def cancel(self, ticket: Ticket) -> Decision:
        return self.run(c.Cancel(at=self.now, ticket_id=ticket.id, actor="petugas", reason="pulang"))


@pytest.fixture
def facility() -> Facility:
    """Service A (next stage B), service B; counter L1 serves A, L2 serves B."""
    return make_facility(
        service("A", next_stages=(ServiceCode("B"),)),
        service("B"),
        counters={"L1": ("A",), "L2": ("B",)},
    )


@pytest.fixture
def desk(facility: Facility) -> Desk:
    """The default facility at :data:`START`, every counter open."""
    return Desk(facility)


#: The Redis the tests use (a shared server: tests write only under their own key prefix).
REDIS_URL = os.environ.get("ANTRE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _redis_client(url: str) -> redis.Redis:
    """A short-timeout, no-retry client for fixtures (not the code under test)."""
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2, retry=Retry(NoBackoff(), 0))


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The test Redis, checked once: a failure in CI (``CI`` set), a skip on a developer's machine."""
    try:
        with contextlib.closing(_redis_client(REDIS_URL)) as client:
            client.ping()
    except redis.RedisError as exc:
        reason = f"no Redis at {REDIS_URL} ({exc}); set ANTRE_TEST_REDIS_URL or start redis-server"
        if os.environ.get("CI"):
            pytest.fail(f"Redis is required in CI: {reason}")
        pytest.skip(reason)
    return REDIS_URL


@pytest.fixture
def key_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own; afterwards its keys, and only its keys, are deleted (never FLUSHALL)."""
    prefix = f"antre-test-{uuid.uuid4()}:"
    yield prefix
    with contextlib.closing(_redis_client(redis_url)) as client:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.unlink(*keys)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A running redis-server of this test's own (AOF, fsync always, free port); killed at the end.

    Without ``redis-server`` on the PATH: a failure in CI (``CI`` set), a skip elsewhere.
    """
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is required in CI")
        pytest.skip("redis-server is not installed")
    server = RedisServer(binary, tmp_path / "redis", free_port())
    server.start()
    try:
        yield server
    finally:
        server.kill()
