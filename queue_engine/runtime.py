"""Async orchestration of one facility: serialise commands, decide, append, apply, publish.

Invariants:

* one sequencer task per facility handles commands in arrival order;
* commands queued together form a batch: each is decided against the state left by the one
  before it and applied at once (speculatively), then the whole batch is appended in one
  durable write (group commit). Only after that write returns are callers answered and
  deltas published, so nobody is told of a change that is not on disk;
* if the append fails, the state is rolled back to the last durable state (from the
  in-memory base snapshot plus the committed events since), and each caller in the batch
  gets :class:`LogUnavailable`; on :class:`LogConflict` (another node wrote first) the node
  catches up from the log and decides the batch again. A batch that only rejects is checked
  against the log's last position the same way: a rejection decided on a stale state is not
  an answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Callable
from dataclasses import dataclass

from . import codec
from .clock import Clock, IdSource, SystemClock, SystemIds
from .domain.commands import Command
from .domain.decide import decide
from .domain.deltas import Delta
from .domain.errors import DomainError
from .domain.events import Event
from .domain.evolve import apply
from .domain.ids import Millis, TicketId
from .domain.model import Facility
from .domain.state import FacilityState
from .log.base import EventLog, LogConflict, LogError, LogUnavailable, Snapshot

log = logging.getLogger("antre.runtime")

Listener = Callable[[list[tuple[int, Delta]]], None]


@dataclass(frozen=True, slots=True)
class Result:
    """A command's outcome: the ticket concerned, the log position after it, its events."""

    ticket_id: TicketId | None
    position: int
    events: tuple[Event, ...]


@dataclass(slots=True)
class _Pending:
    command: Command
    future: asyncio.Future[Result]
    events: list[Event]
    deltas: list[tuple[int, Delta]]
    ticket_id: TicketId | None = None
    error: DomainError | None = None
    #: the log position after this command's own events (decided speculatively)
    position: int = 0


class Runtime:
    """The engine for one facility over one event log."""

    def __init__(
        self,
        facility: Facility,
        log: EventLog,
        *,
        clock: Clock | None = None,
        ids: IdSource | None = None,
        snapshot_every: int = 10_000,
        max_batch: int = 512,
        max_conflict_retries: int = 5,
        tune_gc: bool = False,
        follow: bool = False,
    ) -> None:
        self.facility = facility
        self.log = log
        self.clock: Clock = clock or SystemClock()
        self.ids: IdSource = ids or SystemIds()
        self.snapshot_every = snapshot_every
        self.max_batch = max_batch
        self.max_conflict_retries = max_conflict_retries
        #: a server process sets this: see :func:`tune_gc` (process-wide, so off for libraries and tests)
        self.tune_gc = tune_gc
        #: follow the log's tail so writes by other nodes are applied and pushed here too
        self.follow = follow
        self.state = FacilityState(facility)
        self._base: tuple[int, bytes] = (0, codec.dumps(self.state.snapshot()))
        self._since_base: list[Event] = []
        #: commands, and ``None``: "the log has events from another node, catch up"
        self._queue: asyncio.Queue[_Pending | None] = asyncio.Queue()
        self._follower: asyncio.Task[None] | None = None
        self._wake_queued = False
        self._listeners: list[Listener] = []
        self._task: asyncio.Task[None] | None = None
        self._busy = False  # a batch is being decided or written
        self._stopping = False

    def now(self) -> Millis:
        return self.clock.now()

    async def start(self) -> None:
        """Rebuild the state from the newest snapshot plus the log tail, then take commands."""
        self.state = await load_state(self.facility, self.log)
        self._rebase()
        if self.tune_gc:
            tune_gc()
        if self.follow:
            self._follower = asyncio.create_task(self._follow(), name=f"antre-follower-{self.facility.id}")
        self._stopping = False
        self._task = asyncio.create_task(self._sequencer(), name=f"antre-sequencer-{self.facility.id}")

    async def close(self) -> None:
        """Stop taking commands. A batch being written is finished and answered; queued ones fail."""
        if self._task is not None:
            self._stopping = True
            if not self._busy:
                self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._follower is not None:
            self._follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follower
            self._follower = None
        while not self._queue.empty():
            pending = self._queue.get_nowait()
            if pending is None:
                continue
            if not pending.future.done():  # its caller may have been cancelled
                pending.future.set_exception(LogUnavailable("engine stopped"))

    async def __aenter__(self) -> Runtime:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with ``[(position, delta), …]`` after every durable batch."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    async def submit(self, command: Command) -> Result:
        """Run one command; returns once its events are durable.

        Raises:
            DomainError: the command was rejected; nothing changed.
            LogUnavailable: the log could not be written; nothing changed, retry later.
        """
        if self._task is None or self._task.done():
            raise LogUnavailable("engine is not running")
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending(command, future, [], []))
        return await future

    async def _sequencer(self) -> None:
        while not self._stopping:
            items = [await self._queue.get()]
            while len(items) < self.max_batch and not self._queue.empty():
                items.append(self._queue.get_nowait())
            batch = [p for p in items if p is not None]
            self._busy = True  # close() waits for this batch rather than cancel it mid-write
            try:
                if len(batch) < len(items):  # another node appended: take its events in first
                    self._wake_queued = False
                    with contextlib.suppress(LogError):  # unreachable: the batch will find out too
                        await self._catch_up()
                await self._run_batch(batch)
            except Exception as exc:  # never leave a caller hanging
                log.exception("batch failed")
                self._rollback()
                for p in batch:
                    if not p.future.done():
                        p.future.set_exception(LogUnavailable(f"engine error: {exc}"))
            finally:
                self._busy = False

    async def _run_batch(self, batch: list[_Pending]) -> None:
        for _attempt in range(self.max_conflict_retries + 1):
            start = self.state.position
            payloads = self._decide_all(batch)
            if not payloads:
                # A rejection decided on a stale state (another node wrote since) is a lost race too.
                if any(p.error is not None for p in batch) and await self._log_moved(start):
                    await self._catch_up()
                    continue
                break
            try:
                await self.log.append(self.facility.id, start, payloads)
                break
            except LogConflict:
                self._rollback()
                await self._catch_up()
            except LogError as exc:
                self._rollback()
                # From the first command with events on, outcomes were decided on a state that was
                # never written (a rejection or a no-op may depend on it): all of them fail.
                speculative = False
                for p in batch:
                    speculative = speculative or bool(p.events)
                    if speculative and not p.future.done():
                        p.future.set_exception(exc if isinstance(exc, LogUnavailable) else LogUnavailable(str(exc)))
                batch = [p for p in batch if not p.future.done()]
                payloads = []
                break
        else:
            raise LogUnavailable("log kept moving; gave up after retries")
        self._finish(batch)
        if len(self._since_base) >= self.snapshot_every:
            await self._save_snapshot()

    def _decide_all(self, batch: list[_Pending]) -> list[bytes]:
        payloads: list[bytes] = []
        for p in batch:
            p.events, p.deltas, p.error, p.ticket_id = [], [], None, None
            try:
                decision = decide(self.state, p.command)
            except DomainError as err:
                p.error = err
                continue
            p.ticket_id = decision.ticket_id
            p.events = decision.events
            for event in decision.events:
                position = self.state.position + 1
                p.deltas.extend((position, d) for d in apply(self.state, event))
                payloads.append(codec.encode_event(event))
            p.position = self.state.position
        return payloads

    def _finish(self, batch: list[_Pending]) -> None:
        published: list[tuple[int, Delta]] = []
        for p in batch:
            if p.error is None:
                # Durable whether or not its caller is still waiting (it may have been cancelled).
                self._since_base.extend(p.events)
                published.extend(p.deltas)
            if p.future.done():
                continue
            if p.error is not None:
                p.future.set_exception(p.error)
                continue
            p.future.set_result(Result(p.ticket_id, p.position, tuple(p.events)))
        self._publish(published)

    def _publish(self, published: list[tuple[int, Delta]]) -> None:
        if published:
            for listener in list(self._listeners):
                try:
                    listener(published)
                except Exception:
                    log.exception("listener failed")

    def _rollback(self) -> None:
        """Return to the last durable state: base snapshot + committed events since."""
        _position, payload = self._base
        state = FacilityState.from_snapshot(self.facility, codec.loads(payload))
        for event in self._since_base:
            apply(state, event)
        self.state = state

    async def _log_moved(self, position: int) -> bool:
        """Whether another writer appended after ``position`` (False when the log cannot tell)."""
        try:
            return await self.log.last_position(self.facility.id) != position
        except LogError:
            return False  # the log is down: answer from the in-memory state, as reads do

    async def _catch_up(self) -> None:
        """Apply what other writers appended since our position, and publish it like our own."""
        while True:
            records = await self.log.read(self.facility.id, after=self.state.position, limit=10_000)
            if not records:
                return
            published: list[tuple[int, Delta]] = []
            for record in records:
                event = codec.decode_event(record.payload)
                published.extend((record.position, d) for d in apply(self.state, event))
                self._since_base.append(event)
            self._publish(published)

    async def _follow(self) -> None:
        """Watch the log's tail; when another node appended, have the sequencer catch up.

        Only the sequencer changes the state, so this task never applies anything itself.
        """
        tail = getattr(self.log, "tail", None)
        if tail is None:
            return
        backoff = 0.1
        while True:
            try:
                async for record in tail(self.facility.id, after=self.state.position):
                    backoff = 0.1
                    if record.position > self.state.position and not self._wake_queued:
                        self._wake_queued = True
                        self._queue.put_nowait(None)
            except LogError:
                log.warning("log tail unavailable; retrying in %.1f s", backoff)
                await asyncio.sleep(backoff)  # a reconnect back-off, not a wait for an effect
                backoff = min(backoff * 2, 5.0)

    def _rebase(self) -> None:
        self._base = (self.state.position, codec.dumps(self.state.snapshot()))
        self._since_base = []

    async def _save_snapshot(self) -> None:
        self._rebase()
        position, payload = self._base
        try:
            await self.log.save_snapshot(self.facility.id, Snapshot(position, payload))
        except LogError:
            log.warning("snapshot at %d not saved; will try again later", position)


def tune_gc() -> None:
    """Garbage-collector settings for a process that holds a facility's state.

    The state is many small objects that live for the day and form no cycles; CPython's default
    thresholds make the cyclic collector rescan all of them every few hundred allocations, which
    cost a third of replay time and a good share of each command. Objects that exist now are
    frozen out of collection and young-generation collections run less often. Cycles are still
    collected. ``antre serve`` (``Runtime(tune_gc=True)``) and the benchmarks both run with it.
    """
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


async def load_state(facility: Facility, event_log: EventLog, *, chunk: int = 10_000) -> FacilityState:
    """Rebuild a facility's state: the newest snapshot, then every event after it.

    The cyclic garbage collector is paused while events are folded (they build long-lived,
    acyclic state) and restored afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return await _load_state(facility, event_log, chunk)
    finally:
        if was_enabled:
            gc.enable()


async def _load_state(facility: Facility, event_log: EventLog, chunk: int) -> FacilityState:
    snapshot = await event_log.load_snapshot(facility.id)
    if snapshot is None:
        state = FacilityState(facility)
    else:
        state = FacilityState.from_snapshot(facility, codec.loads(snapshot.payload))
    while True:
        records = await event_log.read(facility.id, after=state.position, limit=chunk)
        if not records:
            return state
        if records[0].position != state.position + 1 or records[-1].position != state.position + len(records):
            raise ValueError(f"log gap after position {state.position}")
        for event in codec.decode_events([r.payload for r in records]):
            apply(state, event)
