"""The outbox worker: derive messages from the facility's log, deliver them in order, record progress.

A worker owns one stream. It folds its own copy of the facility state from the log (so a message is
derived from exactly the state its event produced, whenever the worker runs), asks its
:class:`Deriver` for the messages of each event, and hands each to its :class:`Sender` in log
order: a transient failure is retried with back-off (the stream waits: order matters to the
receivers), a permanent one is recorded as a :class:`~modules.outbox.progress.Failure`.
Progress is written to the log as the module's ``outbox_advanced`` event every ``flush_every``
messages or ``flush_s`` seconds, and when the worker catches up or stops; after a restart it
derives again from the start (its deriver needs the history) and sends only what comes after the
recorded cursor. Messages between the last record and a crash are sent again: receivers dedupe
them by :attr:`Message.key` (BPJS answers 208, webhook receivers see the same delivery id).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from queue_engine import codec
from queue_engine.domain.evolve import apply
from queue_engine.domain.ids import Millis
from queue_engine.domain.state import FacilityState
from queue_engine.runtime import Runtime

from .message import Deriver, Message, Outcome, Sender, Status
from .progress import Failure, Outbox, OutboxTypes, StreamProgress

__all__ = [
    "BACKOFF_S",
    "REPORT_PROPERTIES",
    "Deriver",
    "Message",
    "OutboxWorker",
    "Outcome",
    "Sender",
    "Status",
    "outbox_enabled",
    "report",
]

log = logging.getLogger("antre.outbox")

#: seconds between tries of a message that failed for a passing reason (the last one repeats)
BACKOFF_S = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


def outbox_enabled(environ: Mapping[str, str]) -> bool:
    """Whether this node sends (``ANTRE_OUTBOX=off`` on all nodes but one of a multi-node deployment)."""
    return environ.get("ANTRE_OUTBOX", "on").lower() not in ("0", "off", "false", "no")


@dataclass(slots=True)
class Delivery:
    """What the admin sees of a recent delivery."""

    key: str
    kind: str
    at: Millis
    status: str = "pending"
    attempts: int = 0
    last_error: str = ""
    position: int = 0


@dataclass(slots=True)
class _Pending:
    upto: int = 0
    sent: int = 0
    failed: list[Failure] = field(default_factory=list)
    since: float | None = None


class OutboxWorker:
    """Delivers one stream of a module's outbox. Start :meth:`run` as a task; :meth:`stop` flushes."""

    def __init__(
        self,
        *,
        runtime: Runtime,
        module: str,
        stream: str,
        types: OutboxTypes,
        outbox: Callable[[], Outbox],
        deriver: Callable[[], Deriver],
        sender: Sender,
        backoff_s: tuple[float, ...] = BACKOFF_S,
        send_timeout_s: float = 15.0,
        flush_every: int = 50,
        flush_s: float = 1.0,
        keep: int = 200,
    ) -> None:
        self.runtime = runtime
        self.module = module
        self.stream = stream
        self.types = types
        self._outbox = outbox
        self._new_deriver = deriver
        self.sender = sender
        self.backoff_s = backoff_s
        self.send_timeout_s = send_timeout_s
        self.flush_every = flush_every
        self.flush_s = flush_s
        #: the latest deliveries, newest last (for the admin)
        self.recent: deque[Delivery] = deque(maxlen=keep)
        #: "idle", "sending" or "retrying"
        self.state = "idle"
        #: set whenever progress is written (tests and the admin wait on it)
        self.progressed = asyncio.Event()
        self._pending = _Pending()
        self._generation = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        #: the last log position folded
        self.position = 0
        self._changed = asyncio.Event()

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self.run(), name=f"outbox:{self.stream}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._flush(force=True, quiet=True)

    async def until_idle(self, position: int) -> None:
        """Return once everything up to ``position`` is delivered and recorded, and nothing is in flight."""
        while not (self.state == "idle" and self.position >= position and self._pending.since is None):
            await self._changed.wait()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def run(self) -> None:
        unsubscribe = self.runtime.subscribe(lambda batch: self._wake.set())
        try:
            rewound_at = 0
            while True:
                rewound_at = await self._pass(rewound_at)
        finally:
            unsubscribe()

    # -- the loop ---------------------------------------------------------------------------------

    async def _pass(self, rewound_at: int) -> int:
        """Fold the log from the start and deliver after the cursor, until a new rewind: its position.

        A pass begun because of a rewind at ``rewound_at`` first waits until the engine has applied
        it (the cursor it then reads is the rewound one); rewinds at or before the position the
        cursor was read at are already in it.
        """
        facility = self.runtime.facility
        await self._applied(rewound_at)
        state = FacilityState(facility)
        deriver = self._new_deriver()
        outbox = self._outbox()
        cursor, generation = outbox.cursor(self.stream), outbox.generation(self.stream)
        read_at = self.runtime.state.position
        self._generation = generation
        self._pending = _Pending(upto=cursor)
        position = 0
        while True:
            records = await self.runtime.log.read(facility.id, after=position, limit=500)
            if not records:
                await self._flush(force=True)
                self.state = "idle"
                self._notify()
                self._wake.clear()
                if self.runtime.state.position > position:
                    continue  # written while we flushed
                try:
                    async with asyncio.timeout(5.0):  # also catches up with other nodes' appends
                        await self._wake.wait()
                except TimeoutError:
                    pass
                continue
            for record in records:
                event = codec.decode_event(record.payload)
                apply(state, event)
                position = self.position = record.position
                if isinstance(event, self.types.rewound) and event.stream == self.stream and position > read_at:
                    self._pending = _Pending()  # all of it lies after the rewind point: it is sent again
                    return position
                messages = deriver.derive(position, event, state)
                if position <= cursor:
                    continue
                for message in messages:
                    await self._deliver(message, position)
                self._pending.upto = position
                await self._flush()

    async def _applied(self, position: int) -> None:
        """Wait until the engine's state includes ``position`` (another node's append may be ahead of it)."""
        while self.runtime.state.position < position:
            self._wake.clear()
            if self.runtime.state.position >= position:
                return
            try:
                async with asyncio.timeout(1.0):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def _deliver(self, message: Message, position: int) -> None:
        delivery = Delivery(key=message.key, kind=message.kind, at=message.at, position=position)
        self.recent.append(delivery)
        self.state = "sending"
        while True:
            delivery.attempts += 1
            try:
                async with asyncio.timeout(self.send_timeout_s):
                    outcome = await self.sender.send(message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the network, a timeout, a bug in the receiver: try again later
                outcome = Outcome(Status.RETRY, f"{type(exc).__name__}: {exc}"[:200])
            if outcome.status is Status.SENT:
                delivery.status = "sent"
                self._pending.sent += 1
                break
            if outcome.status is Status.FAILED:
                delivery.status = "failed"
                delivery.last_error = outcome.reason
                self._pending.failed.append(
                    Failure(key=message.key, kind=message.kind, reason=outcome.reason[:200], at=message.at)
                )
                break
            delivery.status = "retrying"
            delivery.last_error = outcome.reason
            self.state = "retrying"
            await self._flush()  # what was delivered before stays delivered
            delay = self.backoff_s[min(delivery.attempts - 1, len(self.backoff_s) - 1)]
            log.info("%s: %s not delivered (%s); again in %.0f s", self.stream, message.kind, outcome.reason, delay)
            await asyncio.sleep(delay)
        if self._pending.since is None:
            self._pending.since = time.monotonic()

    async def _flush(self, *, force: bool = False, quiet: bool = False) -> None:
        """Write the progress when enough is pending (or ``force``); a failed write is tried again later."""
        pending = self._pending
        done = pending.sent + len(pending.failed)
        if pending.since is None or done == 0:
            return
        due = force or done >= self.flush_every or time.monotonic() - pending.since >= self.flush_s
        if not due:
            return
        command = self.types.advance(
            at=self.runtime.now(),
            stream=self.stream,
            upto=pending.upto,
            sent=pending.sent,
            failed=pending.failed,
            generation=self._generation,
        )
        try:
            await self.runtime.submit(command)
        except Exception:
            if not quiet:
                log.warning("%s: progress not recorded yet (the log is unavailable)", self.stream, exc_info=True)
            return
        self._pending = _Pending(upto=pending.upto)
        self.progressed.set()
        self.progressed = asyncio.Event()
        self._notify()


def report(worker: OutboxWorker | None, progress: StreamProgress | None) -> dict[str, Any]:
    """The admin's view of one stream: this node's worker, the progress in the log, the latest deliveries."""
    return {
        "state": worker.state if worker is not None else "off",
        "cursor": progress.cursor if progress is not None else 0,
        "sent": progress.sent if progress is not None else 0,
        "failures": [
            {"key": f.key, "kind": f.kind, "reason": f.reason, "at": f.at}
            for f in (progress.failures if progress is not None else ())
        ],
        "recent": [
            {
                "key": d.key,
                "kind": d.kind,
                "status": d.status,
                "attempts": d.attempts,
                "last_error": d.last_error,
                "position": d.position,
            }
            for d in (worker.recent if worker is not None else ())
        ],
    }


_S: dict[str, Any] = {"type": "string"}
_I: dict[str, Any] = {"type": "integer"}
#: the OpenAPI properties of :func:`report` (modules add their own around them)
REPORT_PROPERTIES: dict[str, Any] = {
    "state": {"type": "string", "enum": ["idle", "sending", "retrying", "off"]},
    "cursor": {**_I, "description": "every delivery of the events up to this log position is done"},
    "sent": _I,
    "failures": {
        "type": "array",
        "description": "deliveries given up on",
        "items": {"type": "object", "properties": {"key": _S, "kind": _S, "reason": _S, "at": _I}},
    },
    "recent": {
        "type": "array",
        "description": "this node's latest deliveries, oldest first",
        "items": {
            "type": "object",
            "properties": {"key": _S, "kind": _S, "status": _S, "attempts": _I, "last_error": _S, "position": _I},
        },
    },
}
