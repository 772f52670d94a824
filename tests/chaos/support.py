"""Chaos-test support: a load of kiosks and desks, its ledger, and the audit of both (servers: ``nodes.py``).

* :class:`Load` runs kiosks (issue a ticket with an idempotency key) and desks (press "call next,
  completing the current one" with an ``Idempotency-Key``) against a node over the HTTP API. A
  command that got no answer (a 503, a reset connection) is sent again **with the same key** until
  it is answered, as the staff console does; while the test holds :attr:`Load.up` clear (a fault
  is on) a refused client waits for the test to say the fault is over instead of spinning.
* :class:`Ledger` is the client side's record: every acknowledged command, every refusal, how
  long it took and what ``Retry-After`` said. :func:`audit_log` holds it against the log read
  back from storage, :func:`audit_node` against what the node shows through its API; they return
  the counts each test prints and asserts on.

``benchmarks/loadgen.py`` (written alongside, with its own ``Ledger``) did not exist when these
tests were started. This is the small, test-only version of the same idea; the chaos tests also
need each refusal's time, ``Retry-After`` and the fault it fell in, which its ledger keeps per
command (last attempt) only. Merging the two is left for later.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter as Tally
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import httpx2
import orjson
from websockets.asyncio.client import connect

from queue_engine.clock import SequentialIds
from queue_engine.codec import decode_event
from queue_engine.domain.commands import OpenCounter
from queue_engine.domain.events import CommandRecorded, Event, TicketCalled, TicketIssued
from queue_engine.domain.ids import CounterId, TicketId, TicketToken
from queue_engine.domain.model import Facility
from queue_engine.domain.status import TicketStatus
from queue_engine.log import open_log
from queue_engine.runtime import Runtime, load_state
from tests.cluster.support import BOARD_TOKEN, DISPLAY, KIOSK_TOKEN, SERVICES

from .nodes import Node, client, log_in

#: the counters the desks operate (the facility file has these serving LOKET and UMUM)
COUNTERS = ("loket-1", "loket-2", "loket-3")


# -- the ledger ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Issued:
    key: str
    number: str
    token: str


@dataclass(frozen=True, slots=True)
class Called:
    key: str
    counter: str
    ticket_id: str
    number: str


@dataclass(frozen=True, slots=True)
class Failure:
    """A command that got no answer: a 5xx (``status``) or no HTTP answer at all (``status`` 0)."""

    what: str
    key: str
    #: what the test said was going on when the command was sent, and when it failed
    phase: str
    ended_in: str
    status: int
    seconds: float
    retry_after: str | None
    detail: str


@dataclass
class Ledger:
    """What the clients were told: acknowledged commands by key, and every failure on the way."""

    issued: dict[str, Issued] = field(default_factory=dict)
    called: dict[str, Called] = field(default_factory=dict)
    #: presses answered with no current ticket (the last one completed, nobody waiting)
    idle_presses: int = 0
    #: tickets whose answer was the first outcome sent again: a failed attempt had been carried out after all
    replayed: int = 0
    failures: list[Failure] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    #: the test's name for what is going on now ("load", "redis-down"…): failures carry it
    phase: str = "load"
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def acknowledged(self) -> int:
        return len(self.issued) + len(self.called) + self.idle_presses

    async def note(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    async def wait_for(self, predicate: Callable[[], bool], within: float, what: str) -> None:
        """Wait (on the ledger's own notifications) until ``predicate`` holds."""
        try:
            async with asyncio.timeout(within):
                async with self.changed:
                    await self.changed.wait_for(predicate)
        except TimeoutError:
            raise AssertionError(f"{what}: not within {within} s; {self.counts()}") from None

    async def acked_more(self, n: int, within: float, what: str) -> None:
        """Wait until ``n`` more commands are acknowledged than now."""
        target = self.acknowledged + n
        await self.wait_for(lambda: self.acknowledged >= target, within, what)

    def failed(self, phase: str) -> list[Failure]:
        """The failures of commands sent and refused during ``phase`` (not those that straddle two phases)."""
        return [f for f in self.failures if f.phase == f.ended_in == phase]

    def refused(self, keys: list[str], phase: str) -> bool:
        """Whether each of ``keys`` was refused at least once during ``phase``."""
        return set(keys) <= {f.key for f in self.failed(phase)}

    def counts(self) -> dict[str, Any]:
        by_status = Tally(f.status for f in self.failures)
        return {
            "acknowledged": self.acknowledged,
            "issued": len(self.issued),
            "called": len(self.called),
            "refused_503": by_status.get(503, 0),
            "no_answer": by_status.get(0, 0),
            "replayed": self.replayed,
        }


# -- the load -----------------------------------------------------------------------------------

#: a client that fails this many times in a row while the test says the system is up reports a problem
MAX_FAILURES_WHILE_UP = 20
#: tickets a test sends at once during a fault (see :meth:`Load.probe`)
PROBES = 8


@dataclass
class Load:
    """Kiosks and desks over HTTP against ``base_url``; every outcome goes into ``ledger``.

    ``up`` is the test's word that no fault is on. Kiosks keep at most ``backlog`` tickets waiting
    (waiting on the ledger, not on a timer), so a run's size follows its duration, not a guess.
    :meth:`probe` sends a burst of tickets at a moment the test chooses (during a fault: a known
    number of refusals to measure, whatever the kiosks and desks happen to be doing).
    """

    base_url: str
    ledger: Ledger
    kiosks: int = 4
    counters: tuple[str, ...] = COUNTERS
    backlog: int = 40
    up: asyncio.Event = field(default_factory=asyncio.Event)
    stopping: bool = False
    _kiosk_http: httpx2.AsyncClient | None = None
    _task: asyncio.Task[None] | None = None
    _probes: list[asyncio.Task[bool]] = field(default_factory=list)

    async def __aenter__(self) -> Load:
        self.up.set()
        self._kiosk_http = client(self.base_url, authorization=f"Bearer {KIOSK_TOKEN}")
        desks = []
        try:
            for counter in self.counters:
                http = client(self.base_url)
                desks.append((http, counter))
                await log_in(http)
                key = f"open-counter-{counter}"
                opened = await http.post(f"/api/v1/counters/{counter}/open", headers={"Idempotency-Key": key})
                assert opened.status_code == 200, opened.text
        except BaseException:
            for http in (self._kiosk_http, *(h for h, _ in desks)):
                await http.aclose()
            raise
        self._task = asyncio.create_task(self._run(self._kiosk_http, desks), name="chaos-load")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def stop(self, within: float = 30.0) -> None:
        """Let every client finish the command it is on (answered, or given up on), then end."""
        self.stopping = True
        self.up.set()
        await self.ledger.note()
        async with asyncio.timeout(within):
            if self._task is not None:
                await self._task
                self._task = None
            await asyncio.gather(*self._probes)

    def probe(self, count: int) -> list[str]:
        """Issue ``count`` tickets at once, each sent until answered like any other; their keys."""
        first = len(self._probes)
        keys = [f"kiosk-probe-{first + i:08d}" for i in range(count)]
        assert self._kiosk_http is not None
        self._probes += [asyncio.create_task(self._issue(self._kiosk_http, key, n)) for n, key in enumerate(keys)]
        return keys

    async def _run(self, kiosk: httpx2.AsyncClient, desks: list[tuple[httpx2.AsyncClient, str]]) -> None:
        try:
            async with asyncio.TaskGroup() as tg:
                for k in range(self.kiosks):
                    tg.create_task(self._kiosk(kiosk, f"k{k}"))
                for http, counter in desks:
                    tg.create_task(self._desk(http, counter))
        finally:
            await asyncio.gather(*self._probes, return_exceptions=True)
            for http in (kiosk, *(h for h, _ in desks)):
                await http.aclose()

    async def _answered(
        self, what: str, key: str, send: Callable[[], Awaitable[httpx2.Response]]
    ) -> httpx2.Response | None:
        """Send until answered (2xx/4xx); None when the run stops first or the system stays down while "up"."""
        failures_while_up = 0
        while True:
            phase, started = self.ledger.phase, time.monotonic()
            try:
                response = await send()
            except httpx2.TransportError as exc:
                status, retry_after, detail = 0, None, f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 500:
                    return response
                status, retry_after, detail = response.status_code, response.headers.get("retry-after"), response.text
            seconds = time.monotonic() - started
            failure = Failure(what, key, phase, self.ledger.phase, status, seconds, retry_after, detail[:200])
            self.ledger.failures.append(failure)
            await self.ledger.note()
            if self.stopping:
                return None
            if not self.up.is_set():
                await self.up.wait()  # the test ends the fault, then says so; the same key goes again
                continue
            failures_while_up += 1
            if failures_while_up >= MAX_FAILURES_WHILE_UP:
                self.ledger.problems.append(
                    f"{what} {key}: {failures_while_up} failures while up, last: {detail[:200]}"
                )
                return None

    async def _kiosk(self, http: httpx2.AsyncClient, name: str) -> None:
        ledger = self.ledger
        n = 0
        while not self.stopping:
            await ledger.wait_for(
                lambda: self.stopping or len(ledger.issued) - len(ledger.called) < self.backlog, 600, "backlog"
            )
            if self.stopping:
                return
            n += 1
            if not await self._issue(http, f"kiosk-{name}-{n:08d}", n):  # keys are 16 to 128 characters
                return

    async def _issue(self, http: httpx2.AsyncClient, key: str, n: int) -> bool:
        """One ticket, sent until answered; False when the client should stop."""
        body = {"service": SERVICES[n % len(SERVICES)], "idempotency_key": key}
        response = await self._answered("issue", key, partial(http.post, "/api/v1/tickets", json=body))
        if response is None:
            return False
        if response.status_code not in (200, 201):
            self.ledger.problems.append(f"issue {key}: {response.status_code} {response.text[:200]}")
            return False
        answer = response.json()
        self.ledger.issued[key] = Issued(key, answer["number"], answer["token"])
        if response.status_code == 200:  # the first outcome, sent again: an earlier attempt had been carried out
            self.ledger.replayed += 1
        await self.ledger.note()
        return True

    async def _desk(self, http: httpx2.AsyncClient, counter: str) -> None:
        ledger = self.ledger
        n = 0
        while not self.stopping:
            n += 1
            key = f"press-{counter}-{n:06d}"
            seen = len(ledger.issued)
            press = partial(
                http.post,
                f"/api/v1/counters/{counter}/call-next",
                json={"complete_current": True},
                headers={"Idempotency-Key": key},
            )
            response = await self._answered("call", key, press)
            if response is None:
                return
            body = response.json()
            if response.status_code == 200 and body["current"] is not None:
                current = body["current"]
                ledger.called[key] = Called(key, counter, current["ticket_id"], current["number"])
            elif response.status_code == 200:
                ledger.idle_presses += 1
            elif response.status_code != 409 or body.get("code") != "queue_empty":
                ledger.problems.append(f"call {key}: {response.status_code} {response.text[:200]}")
                return
            await ledger.note()
            if response.status_code == 409 or body["current"] is None:
                await ledger.wait_for(partial(self._new_ticket_since, seen), 600, "a new ticket")

    def _new_ticket_since(self, seen: int) -> bool:
        return self.stopping or len(self.ledger.issued) > seen


# -- the audit ----------------------------------------------------------------------------------


@dataclass
class Audit:
    """The ledger against the log and the node: counts for the summary line, and problems."""

    counts: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def line(self, test: str, seconds: float) -> str:
        fields = " ".join(f"{k}={v}" for k, v in self.counts.items())
        return f"[chaos] {test}: {fields} seconds={seconds:.1f}"


async def read_events(log_url: str, facility: str) -> list[Event]:
    """Every event of the facility, straight from storage (not through any node)."""
    log = open_log(log_url)
    try:
        records = await log.read(facility)
    finally:
        await log.close()
    assert [r.position for r in records] == list(range(1, len(records) + 1)), "the log has a gap"
    return [decode_event(r.payload) for r in records]


def _suffix(key: str | None) -> str:
    """A client's own key from the scoped key in the log (``kiosk:<device>:<key>``, ``CallNext:<actor>::<key>``)."""
    return "" if key is None else key.rsplit(":", 1)[-1]


def audit_log(ledger: Ledger, events: list[Event]) -> Audit:
    """Acknowledged commands all in the log, each once; no number issued twice; no ticket called twice."""
    result = Audit()
    issued = [e for e in events if isinstance(e, TicketIssued)]
    calls = [e for e in events if isinstance(e, TicketCalled)]
    by_key = {_suffix(e.idempotency_key): e for e in issued}
    numbers = Tally((e.service, e.day, e.number) for e in issued)
    keys = Tally(_suffix(e.idempotency_key) for e in issued)
    called = Tally(e.ticket_id for e in calls)
    recorded = Tally(_suffix(e.key) for e in events if isinstance(e, CommandRecorded))
    lost_issues = [
        k
        for k, i in ledger.issued.items()
        if (e := by_key.get(k)) is None or (e.number, e.token) != (i.number, i.token)
    ]
    log_calls = {(e.ticket_id, e.counter) for e in calls}
    lost_calls = [k for k, c in ledger.called.items() if (c.ticket_id, c.counter) not in log_calls]
    answered_calls = {(c.ticket_id, c.counter) for c in ledger.called.values()}
    result.counts = {
        **ledger.counts(),
        "lost": len(lost_issues) + len(lost_calls),
        "numbers_twice": sum(1 for n in numbers.values() if n > 1),
        "keys_twice": sum(1 for n in keys.values() if n > 1) + sum(1 for n in recorded.values() if n > 1),
        "called_twice": sum(1 for n in called.values() if n > 1),
        "unanswered_in_log": len(set(by_key) - set(ledger.issued)) + len(log_calls - answered_calls),
        "log_position": len(events),
    }
    if lost_issues or lost_calls:
        result.problems.append(f"acknowledged but not in the log: issues {lost_issues[:5]}, calls {lost_calls[:5]}")
    for name in ("numbers_twice", "keys_twice", "called_twice"):
        if result.counts[name]:
            result.problems.append(f"{name}: {result.counts[name]}")
    # Every client retried its command until it was answered, so nothing in the log lacks an answer.
    if result.counts["unanswered_in_log"]:
        result.problems.append(f"{result.counts['unanswered_in_log']} commands in the log never reached an answer")
    result.problems.extend(ledger.problems)
    return result


async def audit_node(node_url: str, ledger: Ledger, log_url: str, facility: Facility) -> list[str]:
    """The node is at the log's last position and shows every acknowledged ticket as the log has it.

    The log is folded by the engine's own ``load_state`` in this process: the node's answers must match it.
    """
    event_log = open_log(log_url)
    try:
        state = await load_state(facility, event_log)
    finally:
        await event_log.close()
    problems: list[str] = []
    async with client(node_url) as http:
        board = await http.get(f"/api/v1/boards/{DISPLAY}", headers={"authorization": f"Bearer {BOARD_TOKEN}"})
        if board.json()["position"] != state.position:
            problems.append(f"the node is at {board.json()['position']}, the log at {state.position}")
        limit = asyncio.Semaphore(16)

        async def one(issued: Issued) -> None:
            ticket_id = state.by_token.get(TicketToken(issued.token))
            ticket = None if ticket_id is None else state.tickets.get(ticket_id)
            async with limit:
                answer = await http.get(f"/api/v1/tickets/{issued.token}")
            shown = answer.json() if answer.status_code == 200 else {}
            expected = None if ticket is None else (ticket.number, ticket.status.value)
            if (
                (shown.get("number"), shown.get("status")) != expected
                or ticket is None
                or ticket.number != issued.number
            ):
                problems.append(
                    f"ticket {issued.key} ({issued.number}): node {answer.status_code} {shown}, log {expected}"
                )

        await asyncio.gather(*(one(i) for i in ledger.issued.values()))
        for key, call in ledger.called.items():
            ticket = state.tickets.get(TicketId(call.ticket_id))
            if ticket is None or ticket.status is TicketStatus.WAITING:
                problems.append(f"call {key}: ticket {call.number} is {ticket and ticket.status} in the log's state")
    return problems


async def follows(node: Node, log_url: str, facility: Facility, within: float = 15.0) -> float:
    """Another writer appends to the log; the seconds until the node pushes it to a board.

    Only the node's follower can bring it there (the node itself is idle), so this shows the
    follower survived whatever the test did to the node's Redis connections.
    """
    board = f"{node.ws_url}/ws/board/{DISPLAY}?token={BOARD_TOKEN}"
    async with connect(board, open_timeout=10, close_timeout=5, max_size=None) as ws:
        first = orjson.loads(await ws.recv())
        assert first["type"] == "snapshot", first
        writer = Runtime(facility, open_log(log_url), ids=SequentialIds("chaos-writer-"))
        async with writer:
            result = await writer.submit(OpenCounter(at=writer.now(), counter=CounterId("umum-1"), actor="other-node"))
        await writer.log.close()
        started = time.monotonic()
        try:
            async with asyncio.timeout(within):
                while orjson.loads(await ws.recv())["position"] < result.position:
                    pass
        except TimeoutError:
            raise AssertionError(f"the node did not follow the log to {result.position} within {within} s") from None
        return time.monotonic() - started
