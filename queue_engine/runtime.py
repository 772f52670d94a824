"""Async orchestration of one facility: serialise commands, decide, append, apply, publish.

Invariants:

* one sequencer task per facility handles commands in arrival order;
* commands queued together form a batch: each is decided against the state left by the one
  before it (so all but the last are applied at once, speculatively), then the whole batch is
  appended in one durable write (group commit). Only after that write returns are the last
  command's events applied, callers answered and deltas published, so nobody is told of a
  change that is not on disk;
* if the append fails, speculation is rolled back to the last durable state (from the
  in-memory base snapshot plus the committed events since; a batch of one has nothing to roll
  back), and each caller in the batch gets :class:`LogUnavailable`;
* on :class:`LogConflict` another node wrote first: the node applies what it missed (the
  conflict carries those records; the follower hands over what it saw; only a gap costs a
  read) and decides the batch again, for up to ``conflict_timeout_s``. No back-off: each lost
  race is another node's win, so the facility always moves on. A batch that only rejects is
  checked against the log's last position the same way: a rejection decided on a stale state
  is not an answer;
* the follower (``follow=True``) tails the log and hands other nodes' records to the
  sequencer through the queue (a ``None`` wake item); only the sequencer changes the state.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import gc
import itertools
import logging
import time
from collections.abc import Callable, Iterable
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
from .log.base import EventLog, LogConflict, LogError, LogUnavailable, Record, Snapshot

log = logging.getLogger("antre.runtime")

Listener = Callable[[list[tuple[int, Delta]]], None]

#: records the follower hands to the sequencer before it stops collecting and lets it read the log
TAILED_MAX = 10_000
#: how long close() waits for the follower to stop after cancelling it
FOLLOWER_STOP_S = 2.0
#: a snapshot that took this long or more holds the next one back (see ``Runtime._snapshot_due``)
SNAPSHOT_SLOW_S = 0.01
#: ... so that snapshots take at most this share of the time
SNAPSHOT_MAX_SHARE = 0.02
#: after a lost race, batches are of one command for this long. Rolling back a speculative batch
#: rebuilds the state from the base snapshot (tens of ms on a busy day), which is time the other
#: node uses to win the next race too; a batch of one is applied only once durable, so losing it
#: costs nothing but applying the winner's records.
CONTENDED_S = 1.0


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
    #: the log position after this command's own events
    position: int = 0
    #: its events are applied to the state (speculatively, or once durable)
    settled: bool = False


class LogBehind(LogUnavailable):
    """The log ends before this node's state: it lost acknowledged events. Commands fail until an
    operator restores the log or restarts the node from it (which forgets what the log lost)."""

    def __init__(self, node: int, log_position: int) -> None:
        super().__init__(f"the log ends at {log_position}, before this node's state at {node}: it lost events")


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
        conflict_timeout_s: float = 5.0,
        tune_gc: bool = False,
        follow: bool = False,
    ) -> None:
        self.facility = facility
        self.log = log
        self.clock: Clock = clock or SystemClock()
        self.ids: IdSource = ids or SystemIds()
        self.snapshot_every = snapshot_every
        self.max_batch = max_batch
        #: how long a batch may keep losing races to other nodes before its callers get LogUnavailable
        self.conflict_timeout_s = conflict_timeout_s
        #: races lost to other nodes so far (each one caught up and decided again)
        self.conflicts = 0
        #: batches the sequencer finished, and the commands they carried (group commit: their ratio)
        self.batches = 0
        self.batched = 0
        #: a server process sets this: see :func:`tune_gc` (process-wide, so off for libraries and tests)
        self.tune_gc = tune_gc
        #: follow the log's tail so writes by other nodes are applied and pushed here too
        self.follow = follow
        self.state = FacilityState(facility)
        self._base: tuple[int, bytes] = (0, codec.dumps(self.state.snapshot()))
        #: how long the last snapshot took to encode, and when it was taken (time.monotonic())
        self._snapshot_s = 0.0
        self._snapshot_at = 0.0
        self._since_base: list[Event] = []
        #: commands, and ``None``: "the log has events from another node, catch up"
        self._queue: asyncio.Queue[_Pending | None] = asyncio.Queue()
        self._follower: asyncio.Task[None] | None = None
        self._wake_queued = False
        #: records the follower saw that the sequencer has not applied yet
        self._tailed: list[Record] = []
        #: the follower saw more than TAILED_MAX records: catching up must read the log
        self._tail_overflow = False
        #: while an append is in flight, the position it would end at (the follower ignores those)
        self._in_flight = 0
        #: the state holds events of the batch being decided that are not durable yet
        self._speculative = False
        #: commands taken out of a batch that lost a race; they go before the queue
        self._carry: collections.deque[_Pending] = collections.deque()
        #: until this loop time, batches are of one command (a race was lost recently)
        self._contended_until = 0.0
        self._listeners: list[Listener] = []
        self._task: asyncio.Task[None] | None = None
        self._busy = False  # a batch is being decided or written
        self._stopping = False
        #: set when close() begins: the batch being written is finished, nothing more is taken
        self.draining = asyncio.Event()

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
        self.draining.clear()
        self._task = asyncio.create_task(self._sequencer(), name=f"antre-sequencer-{self.facility.id}")

    async def close(self) -> None:
        """Stop taking commands. A batch being written is finished and answered; queued ones fail."""
        self.draining.set()
        if self._task is not None:
            self._stopping = True
            if not self._busy:
                self._task.cancel()
            # wait(), not await: the sequencer's CancelledError must not hide one aimed at our caller.
            await asyncio.wait({self._task})
            self._task = None
        if self._follower is not None:
            await _stop(self._follower, FOLLOWER_STOP_S)
            self._follower = None
        while self._carry or not self._queue.empty():
            pending = self._carry.popleft() if self._carry else self._queue.get_nowait()
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
        return await self.enqueue(command)

    def enqueue(self, command: Command) -> asyncio.Future[Result]:
        """Queue one command now, in this order; the future resolves as :meth:`submit` returns.

        Cancelling the future withdraws a command still in the queue (one being written is
        written all the same).

        Raises:
            LogUnavailable: the engine is not running.
        """
        if self._task is None or self._task.done():
            raise LogUnavailable("engine is not running")
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending(command, future, [], []))
        return future

    async def _sequencer(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopping:
            items = [self._carry.popleft() if self._carry else await self._queue.get()]
            # Racing other nodes, batches of one: a lost race then has no speculation to roll back.
            limit = 1 if loop.time() < self._contended_until else self.max_batch
            while (self._carry or not self._queue.empty()) and sum(p is not None for p in items) < limit:
                items.append(self._carry.popleft() if self._carry else self._queue.get_nowait())
            # A command whose caller withdrew it (cancelled its future) is dropped, not carried out.
            batch = [p for p in items if p is not None and not p.future.done()]
            self._busy = True  # close() waits for this batch rather than cancel it mid-write
            try:
                if len(batch) < len(items):  # another node appended: take its events in first
                    self._wake_queued = False
                    with contextlib.suppress(LogError):  # unreachable: the batch will find out too
                        await self._catch_up()
                await self._run_batch(batch)
            except LogUnavailable as exc:  # gave up (log kept moving, log behind): no speculation left
                log.error("batch refused: %s", exc)
                self._rollback()
                for p in batch:
                    if not p.future.done():
                        p.future.set_exception(exc)
                self._refuse_waiting(exc)  # the log is out of reach for those queued behind it too
            except Exception as exc:  # never leave a caller hanging
                log.exception("batch failed")
                self._rollback()
                for p in batch:
                    if not p.future.done():
                        p.future.set_exception(LogUnavailable(f"engine error: {exc}"))
            finally:
                self._busy = False

    def _refuse_waiting(self, exc: LogUnavailable) -> None:
        """Fail every command queued or carried (not yet tried) with ``exc``."""
        waiting = list(self._carry)
        self._carry.clear()
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item is None:
                self._wake_queued = False
            else:
                waiting.append(item)
        for p in waiting:
            if not p.future.done():
                p.future.set_exception(exc)

    async def _run_batch(self, batch: list[_Pending]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.conflict_timeout_s
        for attempt in itertools.count(1):
            start = self.state.position
            payloads = self._decide_all(batch)
            if not payloads:
                # A rejection decided on a stale state (another node wrote since) is a lost race too.
                last = await self._last_position() if any(p.error is not None for p in batch) else None
                if last is None or last == start:
                    break
                await self._catch_up(upto=last)
            else:
                self._in_flight = start + len(payloads)
                try:
                    await self.log.append(self.facility.id, start, payloads)
                    break
                except LogConflict as conflict:
                    if conflict.actual < start:
                        # The log lost events this node holds (Redis restarted without persistence,
                        # a failover to a replica that lagged): no retry can fix that.
                        raise LogBehind(start, conflict.actual) from None
                    self.conflicts += 1
                    self._contended_until = loop.time() + CONTENDED_S
                    if len(batch) > 1:  # go on with the first command alone; the rest wait their turn
                        self._carry.extendleft(reversed(batch[1:]))
                        del batch[1:]  # in place: the sequencer's error handler must not fail them
                    self._undo_speculation()
                    self._apply_records(conflict.records)
                    await self._catch_up(upto=conflict.actual)
                except LogError as exc:
                    self._undo_speculation()
                    self._fail_speculative(batch, exc)
                    batch = [p for p in batch if not p.future.done()]  # what remains only rejected
                    if isinstance(exc, LogUnavailable):
                        # Commands that queued up while this write hung would each wait for a write
                        # of their own: refuse them now, so no caller waits beyond one timeout.
                        self._refuse_waiting(exc)
                    break
                finally:
                    self._in_flight = 0
            # No back-off: a lost race means another node won, so the facility as a whole always moves
            # on, and a pause would only hand the next race to the winner too (measured: 98/2 splits).
            if loop.time() >= deadline:
                raise LogUnavailable(f"log kept moving; gave up after {attempt} attempts")
        self._settle(batch)
        self._finish(batch)
        if len(self._since_base) >= self.snapshot_every and self._snapshot_due():
            await self._save_snapshot()

    def _snapshot_due(self) -> bool:
        """Whether enough time passed since the last snapshot for its cost.

        Encoding a snapshot is proportional to the state (a day with tens of thousands of tickets
        takes 0.1-0.6 s, and stalls every command meanwhile), while ``snapshot_every`` counts
        events: at hundreds of commands a second a large state would be encoded every few
        seconds. So a snapshot that took ``d`` >= :data:`SNAPSHOT_SLOW_S` is followed by the next
        one no sooner than ``d / SNAPSHOT_MAX_SHARE`` later. Small states are never held back.
        """
        if self._snapshot_s < SNAPSHOT_SLOW_S:
            return True
        return time.monotonic() - self._snapshot_at >= self._snapshot_s / SNAPSHOT_MAX_SHARE

    def _fail_speculative(self, batch: list[_Pending], exc: LogError) -> None:
        """The append failed: from the first command with events on, every outcome fails.

        Those outcomes were decided on a state that was never written (a rejection or a no-op
        after them may depend on it). Commands before that one only rejected, on durable state.
        """
        error = exc if isinstance(exc, LogUnavailable) else LogUnavailable(str(exc))
        speculative = False
        for p in batch:
            speculative = speculative or bool(p.events)
            if speculative and not p.future.done():
                p.future.set_exception(error)

    def _decide_all(self, batch: list[_Pending]) -> list[bytes]:
        """Decide each command against the state its predecessors leave; return every event encoded.

        Events of all but the last command are applied at once (later commands depend on them):
        that is speculation, undone if the append fails. The last command's events are applied
        only once durable (:meth:`_settle`), so a batch of one — the usual case when nodes race —
        loses a race without anything to undo.
        """
        payloads: list[bytes] = []
        self._speculative = False
        last = len(batch) - 1
        for i, p in enumerate(batch):
            p.events, p.deltas, p.error, p.ticket_id, p.settled = [], [], None, None, False
            try:
                decision = decide(self.state, p.command)
            except DomainError as err:
                p.error = err
                continue
            p.ticket_id = decision.ticket_id
            p.events = decision.events
            payloads.extend(codec.encode_event(event) for event in decision.events)
            if i < last:
                self._apply_pending(p)
                self._speculative = self._speculative or bool(p.events)
        return payloads

    def _apply_pending(self, p: _Pending) -> None:
        for event in p.events:
            position = self.state.position + 1
            p.deltas.extend((position, d) for d in apply(self.state, event))
        p.position = self.state.position
        p.settled = True

    def _settle(self, batch: list[_Pending]) -> None:
        """Apply the events decided but not yet applied (the batch's last command), now durable."""
        for p in batch:
            if p.error is None and not p.settled:
                self._apply_pending(p)

    def _undo_speculation(self) -> None:
        if self._speculative:
            self._rollback()
            self._speculative = False

    def _finish(self, batch: list[_Pending]) -> None:
        published: list[tuple[int, Delta]] = []
        self.batches += 1
        self.batched += len(batch)
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

    async def _last_position(self) -> int | None:
        """The log's last position, or None when the log cannot tell."""
        try:
            return await self.log.last_position(self.facility.id)
        except LogError:
            return None  # the log is down: answer from the in-memory state, as reads do

    def _apply_records(self, records: Iterable[Record]) -> bool:
        """Apply other writers' records that follow on from our position; publish them like our own.

        Records we already hold are skipped. Returns False when a record further on than the
        next position shows a gap (the log must then be read).
        """
        published: list[tuple[int, Delta]] = []
        contiguous = True
        for record in records:
            if record.position <= self.state.position:
                continue
            if record.position != self.state.position + 1:
                contiguous = False
                break
            event = codec.decode_event(record.payload)
            published.extend((record.position, d) for d in apply(self.state, event))
            self._since_base.append(event)
        self._publish(published)
        return contiguous

    async def _catch_up(self, upto: int | None = None) -> None:
        """Take in what other writers appended: first what the follower saw, then, if that left a
        gap or stops short of ``upto``, what the log holds after our position."""
        tailed, self._tailed = self._tailed, []
        overflow, self._tail_overflow = self._tail_overflow, False
        if self._apply_records(tailed) and not overflow and (upto is None or self.state.position >= upto):
            return
        while True:
            records = await self.log.read(self.facility.id, after=self.state.position, limit=10_000)
            if not records:
                return
            self._apply_records(records)

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
                    # Not ours (an append in flight covers up to _in_flight) and not applied yet:
                    # hand it to the sequencer, which applies it without reading it again.
                    if record.position > max(self.state.position, self._in_flight):
                        if len(self._tailed) < TAILED_MAX:
                            self._tailed.append(record)
                        else:  # too many to hold: the sequencer reads the log instead
                            self._tail_overflow = True
                        if not self._wake_queued:
                            self._wake_queued = True
                            self._queue.put_nowait(None)
            except Exception as exc:  # the follower must outlive any failure of the log or its client
                if (task := asyncio.current_task()) is not None and task.cancelling():
                    # A client library may turn our cancellation into its own error: stop anyway.
                    raise asyncio.CancelledError from None
                if isinstance(exc, LogError):
                    log.warning("log tail unavailable; retrying in %.1f s", backoff)
                else:
                    log.exception("log tail failed; retrying in %.1f s", backoff)
                await asyncio.sleep(backoff)  # a reconnect back-off, not a wait for an effect
                backoff = min(backoff * 2, 5.0)

    def _rebase(self) -> None:
        started = time.monotonic()
        self._base = (self.state.position, codec.dumps(self.state.snapshot()))
        self._since_base = []
        self._snapshot_at = time.monotonic()
        self._snapshot_s = self._snapshot_at - started

    async def _save_snapshot(self) -> None:
        self._rebase()
        position, payload = self._base
        try:
            await self.log.save_snapshot(self.facility.id, Snapshot(position, payload))
        except LogError:
            log.warning("snapshot at %d not saved; will try again later", position)


async def _stop(task: asyncio.Task[None], within_s: float) -> None:
    """Cancel ``task`` until it is done, for at most ``within_s``.

    One cancel is not always enough: on Python 3.11, ``asyncio.wait_for`` (which redis-py wraps
    around each command when a socket timeout is set) drops a cancellation that arrives as the
    wrapped call completes, and the task goes on to its next blocking read.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not task.done() and loop.time() < deadline:
        task.cancel()
        await asyncio.wait({task}, timeout=0.05)
    if not task.done():
        log.warning("task %s did not stop within %.1f s", task.get_name(), within_s)


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
    codec.register_modules(facility.modules)
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
