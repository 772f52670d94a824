"""Redis killed under load: SIGKILL mid-stream, restart, and the same Runtime carries on.

One ``Runtime`` (following the log) runs on a redis-server of the test's own (append-only file,
``appendfsync always``). Kiosk clients issue tickets, each with its own idempotency key, while two
staff press "next" (complete the current ticket and call the next one) on two LOKET counters.
Every command's outcome goes into a client-side ledger. Once enough tickets are acknowledged the
server is killed with SIGKILL, in one of two places:

* ``mid-load``: wherever the engine happens to be (in practice, before its next batch reaches Redis);
* ``write-unanswered``: just after Redis carried out (and fsynced) a batch, before the engine hears
  the answer, so the batch is in the log although its callers were refused.

Clients keep submitting during the outage and must be refused (:class:`LogUnavailable`) quickly.
Then the server is restarted from its directory and load continues on the same Runtime object until
more tickets are acknowledged: the engine recovers without a restart of its own.

What must hold afterwards, read back through a fresh ``RedisLog``:

* positions are 1..N without gaps, and every event decodes;
* each acknowledged command's events are at the positions its ``Result`` named;
* positions no ``Result`` covers are exactly the events of one append that failed (a batch the
  server wrote but could not answer): all of a batch or none of it;
* an unacknowledged ticket is in the log once, as the command that asked for it, or not at all;
  no idempotency key, ticket id or ticket number appears twice, and no ticket is called twice;
* the Runtime's state equals a fresh ``load_state`` of the log;
* retrying every unacknowledged ticket with its idempotency key (and new ids, as a new HTTP request
  would bring) succeeds, and gives back the stored ticket when there was one.

Waits are on events set by the clients (never on the clock); the whole run is under ``DEADLINE_S``.

A second test stops a following Runtime on Redis at every point of its follower's XREAD cycle:
close() must return promptly and leave no task running (it did not, on Python 3.11: see that test).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter as Tally
from collections.abc import Sequence
from dataclasses import dataclass, replace

import anyio
import pytest

from queue_engine import (
    CallNext,
    Command,
    CounterId,
    DomainError,
    IssueTicket,
    LogUnavailable,
    ManualClock,
    OpenCounter,
    Result,
    Runtime,
    SequentialIds,
    load_facility,
    load_state,
)
from queue_engine.codec import decode_event
from queue_engine.domain.errors import QueueEmpty
from queue_engine.domain.events import Event, TicketCalled, TicketIssued
from queue_engine.log.redis_streams import RedisLog
from tests.redis_server import RedisServer

from .support import LOKET, LOKET_1, LOKET_2, THURSDAY_0800

pytestmark = [pytest.mark.anyio, pytest.mark.redis]

#: concurrent kiosk clients issuing tickets
SUBMITTERS = 16
#: acknowledged tickets before the kill, and again after the restart
ACKS_BEFORE_KILL = 48
ACKS_AFTER_RESTART = 48
#: each kiosk client is refused this many times while Redis is down, then waits for the restart
OUTAGE_TRIES = 2
# The LOKET quota (250 a day) bounds what may be issued in all: at most ACKS_BEFORE_KILL + ACKS_AFTER_RESTART
# + 2 * SUBMITTERS acknowledged (each round may overshoot by one per client), plus the refused ones retried
# at the end, at most SUBMITTERS * OUTAGE_TRIES: 160.
CONNECT_TIMEOUT_S = 0.5
COMMAND_TIMEOUT_S = 1.0
#: the longest a refused command may take while Redis is down
FAIL_FAST_S = CONNECT_TIMEOUT_S + COMMAND_TIMEOUT_S
DEADLINE_S = 25
#: how long stopping the engine may take (cancelling its follower's XREAD is immediate when it works)
CLOSE_S = 5
#: close() is tried after 0..STOP_STEPS-1 Redis round trips past a command, STOP_ROUNDS times over
STOP_STEPS = 40
STOP_ROUNDS = 3


class CrashingRedisLog(RedisLog):
    """The real Redis log, noting every append that failed; it can also kill the server after a write.

    ``kill_after_next_write`` makes the next append that Redis carries out (fsynced, per the server's
    ``appendfsync always``) kill the server before the engine hears of it, and raise what a lost
    answer raises. That is SIGKILL between the fsync and the reply: the one case where an
    unacknowledged command is in the log, made certain rather than left to timing.
    """

    def __init__(self, url: str, server: RedisServer) -> None:
        super().__init__(url, connect_timeout_s=CONNECT_TIMEOUT_S, command_timeout_s=COMMAND_TIMEOUT_S)
        self.server = server
        self.kill_after_next_write = False
        self.killed = asyncio.Event()
        #: (expected position, payloads) of each failed append, in order
        self.failed: list[tuple[int, tuple[bytes, ...]]] = []

    async def append(self, facility: str, expected: int, payloads: Sequence[bytes]) -> int:
        try:
            position = await super().append(facility, expected, payloads)
        except LogUnavailable:
            self.failed.append((expected, tuple(payloads)))
            raise
        if self.kill_after_next_write:
            self.kill_after_next_write = False
            self.server.kill()
            self.killed.set()
            self.failed.append((expected, tuple(payloads)))
            raise LogUnavailable("redis: ConnectionError: killed after the write, before its answer")
        return position


@dataclass
class Outcome:
    """One command as its client saw it: acknowledged (``result``) or refused (``error``)."""

    command: Command
    #: phase when it was submitted: "before" the kill, during the "outage", "after" the restart
    phase: str
    seconds: float = 0.0
    result: Result | None = None
    error: LogUnavailable | DomainError | None = None


class Load:
    """Kiosk and staff clients on one Runtime, with the ledger and the events the test waits on."""

    def __init__(self, runtime: Runtime, clock: ManualClock) -> None:
        self.runtime = runtime
        self.clock = clock
        self.ids = SequentialIds("kiosk-")
        self.ledger: list[Outcome] = []
        self.issued = 0  # acknowledged tickets
        self.issued_after_restart = 0
        self.clients_waiting = 0  # kiosk clients refused OUTAGE_TRIES times during the outage
        self.kill_now = asyncio.Event()  # ACKS_BEFORE_KILL tickets acknowledged
        self.killed = asyncio.Event()
        self.outage_seen = asyncio.Event()  # every kiosk client was refused OUTAGE_TRIES times
        self.restarted = asyncio.Event()
        self.recovered = asyncio.Event()  # ACKS_AFTER_RESTART tickets acknowledged after the restart
        self.done = asyncio.Event()
        self.progress = asyncio.Condition()  # notified on every acknowledged ticket, and when done

    def phase(self) -> str:
        if self.restarted.is_set():
            return "after"
        return "outage" if self.killed.is_set() else "before"

    async def submit(self, command: Command) -> Outcome:
        outcome = Outcome(command, self.phase())
        started = time.monotonic()
        try:
            outcome.result = await self.runtime.submit(command)
        except (LogUnavailable, DomainError) as exc:  # anything else fails the test where it happens
            outcome.error = exc
        outcome.seconds = time.monotonic() - started
        self.ledger.append(outcome)
        return outcome

    def issue(self, key: str) -> IssueTicket:
        ticket_id, token = self.ids.ticket_id(), self.ids.token()
        return IssueTicket(at=self.clock.now(), ticket_id=ticket_id, token=token, service=LOKET, idempotency_key=key)

    async def kiosk(self, client: int) -> None:
        """Issue tickets until done; while Redis is down, be refused OUTAGE_TRIES times, then wait for it."""
        refused, n = 0, 0
        while not self.done.is_set():
            n += 1
            outcome = await self.submit(self.issue(f"kiosk-{client}-{n}"))
            if outcome.result is not None:
                await self._acknowledged(outcome)
            elif isinstance(outcome.error, LogUnavailable) and not self.restarted.is_set():
                refused += 1
                if refused == OUTAGE_TRIES:
                    self.clients_waiting += 1
                    if self.clients_waiting == SUBMITTERS:
                        self.outage_seen.set()
                    await self.restarted.wait()
            # a refusal after the restart, or a DomainError, is in the ledger; the checks report it

    async def _acknowledged(self, outcome: Outcome) -> None:
        self.issued += 1
        if self.issued >= ACKS_BEFORE_KILL:
            self.kill_now.set()
        if outcome.phase == "after":
            self.issued_after_restart += 1
            if self.issued_after_restart >= ACKS_AFTER_RESTART:
                self.recovered.set()
        async with self.progress:
            self.progress.notify_all()

    async def staff(self, counter: CounterId) -> None:
        """Press "next" (completing the current ticket) until done; on an empty queue wait for a new ticket."""
        refused = 0
        while not self.done.is_set():
            seen = self.issued
            command = CallNext(at=self.clock.now(), counter=counter, actor="petugas", complete_current=True)
            outcome = await self.submit(command)
            if isinstance(outcome.error, QueueEmpty):
                await self._new_ticket_since(seen)
            elif isinstance(outcome.error, LogUnavailable) and not self.restarted.is_set():
                refused += 1
                if refused == OUTAGE_TRIES:
                    await self.restarted.wait()

    async def _new_ticket_since(self, seen: int) -> None:
        async with self.progress:
            await self.progress.wait_for(lambda: self.issued > seen or self.done.is_set())

    async def stop(self) -> None:
        self.done.set()
        async with self.progress:
            self.progress.notify_all()

    def acknowledged(self) -> list[tuple[Outcome, Result]]:
        return [(o, o.result) for o in self.ledger if o.result is not None]

    def issues(self) -> dict[str, tuple[IssueTicket, Outcome]]:
        """Every ticket a kiosk asked for, by idempotency key (each key is asked for once)."""
        asked: dict[str, tuple[IssueTicket, Outcome]] = {}
        for outcome in self.ledger:
            if isinstance(outcome.command, IssueTicket):
                assert outcome.command.idempotency_key is not None
                asked[outcome.command.idempotency_key] = (outcome.command, outcome)
        return asked


async def run_load_through_a_crash(load: Load, log: CrashingRedisLog, kill: str) -> None:
    """Kiosks and staff run; Redis is killed after ACKS_BEFORE_KILL tickets, restarted once all kiosks were
    refused, and load goes on until ACKS_AFTER_RESTART more tickets are acknowledged."""
    async with asyncio.TaskGroup() as tasks:
        for client in range(SUBMITTERS):
            tasks.create_task(load.kiosk(client))
        for counter in (LOKET_1, LOKET_2):
            tasks.create_task(load.staff(counter))
        await load.kill_now.wait()
        if kill == "mid-load":
            log.server.kill()  # wherever the engine is; synchronous, so nothing is answered before `killed`
        else:
            log.kill_after_next_write = True
            await log.killed.wait()
        load.killed.set()
        await load.outage_seen.wait()
        await anyio.to_thread.run_sync(log.server.start)  # same port and directory: the AOF is loaded
        load.restarted.set()
        await load.recovered.wait()
        await load.stop()


def check_acknowledged_in_place(
    load: Load, events: list[Event], failed: list[tuple[int, tuple[bytes, ...]]], payloads: list[bytes]
) -> None:
    """Each Result's events are at its positions; what no Result covers is one failed append, whole."""
    covered: set[int] = set()
    for outcome, result in load.acknowledged():
        first = result.position - len(result.events)
        assert tuple(events[first : result.position]) == result.events, outcome.command
        covered.update(range(first + 1, result.position + 1))
    uncovered = [p for p in range(1, len(events) + 1) if p not in covered]
    runs: list[list[int]] = []
    for position in uncovered:
        if runs and runs[-1][-1] == position - 1:
            runs[-1].append(position)
        else:
            runs.append([position])
    for run in runs:
        written = tuple(payloads[p - 1] for p in run)
        candidates = [batch for expected, batch in failed if expected == run[0] - 1]
        # A failed append that the server did carry out must be there entirely, and nothing else may be.
        assert written in candidates, f"positions {run[0]}..{run[-1]} are no failed append, in full"


def check_tickets(load: Load, events: list[Event]) -> dict[str, TicketIssued]:
    """Keys, ids and numbers are unique; acknowledged tickets are there, refused ones whole or absent."""
    issued = [e for e in events if isinstance(e, TicketIssued)]
    by_key = {e.idempotency_key: e for e in issued if e.idempotency_key is not None}
    assert len(by_key) == len(issued), "a ticket without an idempotency key, or a key issued twice"
    assert len({e.ticket_id for e in issued}) == len(issued), "a ticket id issued twice"
    numbers = Tally((e.service, e.day, e.number) for e in issued)
    assert [n for n, times in numbers.items() if times > 1] == [], "a ticket number issued twice"
    asked = load.issues()
    assert set(by_key) <= set(asked), "a ticket in the log that no client asked for"
    for key, (command, outcome) in asked.items():
        event = by_key.get(key)
        if outcome.result is not None:
            assert event is not None, f"acknowledged ticket {key} lost"
            assert event.ticket_id == command.ticket_id == outcome.result.ticket_id
        elif event is not None:
            assert event.ticket_id == command.ticket_id, f"refused ticket {key} stored as another"
    called = Tally(e.ticket_id for e in events if isinstance(e, TicketCalled))
    assert [t for t, times in called.items() if times > 1] == [], "a ticket called twice"
    return by_key


async def retry_refused(load: Load, stored: dict[str, TicketIssued]) -> None:
    """Each refused ticket asked again (same key, new ids, as a new HTTP request): the stored one, or a new one."""
    for key, (command, outcome) in load.issues().items():
        if outcome.result is not None:
            continue
        retry = replace(command, ticket_id=load.ids.ticket_id(), token=load.ids.token())
        result = await load.runtime.submit(retry)
        if key in stored:
            assert (result.ticket_id, result.events) == (command.ticket_id, ()), f"{key} issued twice"
        else:
            assert result.ticket_id == retry.ticket_id and len(result.events) == 1


def check_the_ledger(load: Load) -> None:
    """Refusals came only from the outage, quickly, and only as LogUnavailable (or QueueEmpty for staff)."""
    for outcome in load.ledger:
        if isinstance(outcome.error, DomainError):
            assert isinstance(outcome.command, CallNext) and isinstance(outcome.error, QueueEmpty), outcome
    refused = [o for o in load.ledger if isinstance(o.error, LogUnavailable)]
    assert len(refused) >= SUBMITTERS * OUTAGE_TRIES  # the clients kept going while Redis was down
    assert [o for o in refused if o.phase == "after"] == [], "the engine refused commands after the restart"
    slowest = max(o.seconds for o in refused)
    assert slowest < FAIL_FAST_S, f"a refusal took {slowest:.2f} s"


async def check_the_log(load: Load, log: CrashingRedisLog, fresh: RedisLog, kill: str) -> None:
    """Read the log back through another client and check it against the ledger and the engine's state."""
    runtime = load.runtime
    facility = runtime.facility
    records = await fresh.read(facility.id)
    assert [r.position for r in records] == list(range(1, len(records) + 1))
    events = [decode_event(r.payload) for r in records]
    check_acknowledged_in_place(load, events, log.failed, [r.payload for r in records])
    stored = check_tickets(load, events)
    refused = {key for key, (_, outcome) in load.issues().items() if outcome.result is None}
    if kill == "write-unanswered":  # the batch Redis wrote but never answered: there, though not acknowledged
        assert refused & set(stored)
    assert runtime.state.position == len(records)
    assert runtime.state.snapshot() == (await load_state(facility, fresh)).snapshot()

    await retry_refused(load, stored)
    events = [decode_event(r.payload) for r in await fresh.read(facility.id)]
    keys = Tally(e.idempotency_key for e in events if isinstance(e, TicketIssued))
    assert set(keys) == set(load.issues()) and max(keys.values()) == 1, "every ticket, each once"
    assert runtime.state.snapshot() == (await load_state(facility, fresh)).snapshot()


@pytest.mark.parametrize("kill", ["mid-load", "write-unanswered"])
async def test_redis_killed_under_load_loses_no_acknowledged_command_and_the_engine_recovers(
    private_redis: RedisServer, kill: str
):
    """SIGKILL Redis under load, restart it: acknowledged commands all there, the rest whole or absent, same engine."""
    facility = load_facility()
    clock = ManualClock(THURSDAY_0800)
    log = CrashingRedisLog(private_redis.url, private_redis)
    fresh = RedisLog(private_redis.url)
    runtime = Runtime(facility, log, clock=clock, ids=SequentialIds("engine-"), follow=True)
    try:
        with anyio.fail_after(DEADLINE_S):
            await runtime.start()
            load = Load(runtime, clock)
            for counter in (LOKET_1, LOKET_2):
                opened = await load.submit(OpenCounter(at=clock.now(), counter=counter, actor="petugas"))
                assert opened.result is not None
            await run_load_through_a_crash(load, log, kill)
            check_the_ledger(load)
            await check_the_log(load, log, fresh, kill)
    finally:
        with anyio.move_on_after(CLOSE_S) as closing:
            await runtime.close()
        await fresh.close()
        await log.close()
    # close() must return: it used to hang here until the deadline in some runs, then swallow the deadline's
    # cancellation (see test_a_following_runtime_on_redis_stops_promptly), so only cancel_called can tell.
    assert not closing.cancel_called, f"Runtime.close() did not return within {CLOSE_S} s"


def engine_tasks() -> list[asyncio.Task[object]]:
    """The engine's own tasks (sequencer, follower: named ``antre-…``) still running in this loop."""
    return [task for task in asyncio.all_tasks() if task.get_name().startswith("antre-") and not task.done()]


async def test_a_following_runtime_on_redis_stops_promptly(redis_url: str, key_prefix: str):
    """close() stops a following Runtime on Redis promptly and leaves no task behind, wherever its follower is.

    After a command the follower takes the new entry and sends its next XREAD; close() comes after
    0, 1, 2… round trips to Redis on another connection (the follower moves on meanwhile), so it
    lands on each step of that cycle: before the entry arrives, while it is taken, while the next
    XREAD is sent, and while it blocks.

    The bug this guards against: redis-py sends through ``asyncio.wait_for`` when a socket timeout is
    set, and 3.11's ``wait_for`` drops a cancellation that arrives once the write is done; the one
    ``cancel()`` that ``Runtime.close()`` gave the follower was lost, and the follower carried on in
    XREAD after close() had returned. Fixed twice over: RedisLog bounds calls with ``asyncio.timeout``
    instead of socket timeouts, and close() cancels until the task is done (bounded).
    """
    facility = load_facility()
    clock = ManualClock(THURSDAY_0800)
    for cycle in range(STOP_ROUNDS * STOP_STEPS):
        steps = cycle % STOP_STEPS
        log = RedisLog(redis_url, prefix=f"{key_prefix}{cycle}:")
        runtime = Runtime(facility, log, clock=clock, ids=SequentialIds(), follow=True)
        try:
            with anyio.fail_after(CLOSE_S):
                await runtime.start()
                await runtime.submit(OpenCounter(at=clock.now(), counter=LOKET_1, actor="petugas"))
                for _ in range(steps):  # a round trip each: the follower moves on meanwhile
                    await log.last_position(facility.id)
        finally:
            with anyio.move_on_after(CLOSE_S) as closing:
                await runtime.close()
            left = [repr(task) for task in engine_tasks()]  # before log.close(), which may end them
            await log.close()
        assert not closing.cancel_called, f"after {steps} steps: Runtime.close() did not return within {CLOSE_S} s"
        assert left == [], f"after {steps} steps: still running after Runtime.close(): {left}"
