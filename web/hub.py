"""PushHub: fans the engine's changes out to WebSocket subscribers, one topic at a time.

Theory of operation (``docs/protocol.md`` is the client's side of it):

* A **topic** is what one connection watches: ``board:<display id>``, ``ticket:<ticket id>`` or
  ``counter:<counter id>``. It exists while it has subscribers and for ``linger_s`` after the last
  one leaves, so that a client that reconnects soon can resume instead of starting over.
* The runtime calls :meth:`PushHub._on_batch` synchronously after every durable batch, so the
  state the hub renders from is exactly the durable state of that batch. The hub works out which
  topics the batch's deltas touch, renders each of them **once**, encodes each message **once**
  (orjson), appends it to the topic's bounded history and offers the same string to every
  subscriber's bounded queue. It never awaits: no client can slow the engine or another client.
* **Positions**: a message carries the log position of the batch that produced it; heartbeats and
  pongs carry the hub's position. Everything about positions up to P is queued before anything
  labelled above P, so "heartbeat P" tells a client it has every message up to P.
* **History**: ``topic.history`` holds every message with a position above ``topic.floor``: the
  last 512 of a board, console or module topic, the last 4 of a ticket's (one topic per phone). A
  client resuming ``after=N`` with ``floor <= N <= position`` gets exactly the messages after N,
  then a heartbeat; otherwise it gets a fresh snapshot.
* **Slow clients**: a batch's messages go onto a queue all or nothing. A queue without room means
  the client is dropped (close code 4008) and resumes from the last position it saw.
* **Snapshots** are rendered only when the engine's state is the durable state the hub last saw
  (the runtime applies a batch before writing it; a snapshot of that would show what may never
  be written): :meth:`subscribe` waits for the batch in flight to be published first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from enum import StrEnum
from typing import Any, Protocol, assert_never

import orjson

from queue_engine.domain.deltas import (
    Announced,
    CounterChanged,
    Delta,
    ModuleChanged,
    QueueChanged,
    Recorded,
    TicketChanged,
)
from queue_engine.domain.ids import CounterId, Millis, ServiceCode, TicketId, TicketToken
from queue_engine.domain.model import Display
from queue_engine.domain.status import TicketStatus
from queue_engine.runtime import Runtime

from .render import board_json, call_json, counter_json, last_calls, ticket_json
from .settings import Settings

log = logging.getLogger("antre.hub")

#: close codes the hub asks a connection to close with
SLOW_CLIENT = 4008
GONE = 4004
SERVICE_RESTART = 1012
INTERNAL_ERROR = 1011

#: how long :meth:`PushHub.subscribe` waits for a batch in flight before rendering anyway
SETTLE_TIMEOUT_S = 5.0
_SETTLE_RECHECK_S = 0.05


class Kind(StrEnum):
    """What a topic shows."""

    BOARD = "board"
    TICKET = "ticket"
    COUNTER = "counter"
    #: a module's own topic: ``module:<module name>/<ident>`` (see :class:`TopicSource`)
    MODULE = "module"


class TopicSource(Protocol):
    """A module's live views (``web.modules``): what its topics show, and when they change.

    A source with a true ``follows_engine`` attribute (optional) is re-rendered after every batch
    that changes a queue, a counter or a ticket (a supervisor's overview of the whole facility).
    """

    def exists(self, ident: str) -> bool:
        """Whether ``ident`` names something this module shows."""
        ...

    def render(self, ident: str, now: Millis) -> dict[str, Any] | None:
        """Its full content now (None: gone)."""
        ...

    def touched(self, ident: str, tickets: set[TicketId]) -> bool:
        """Whether a change of one of these engine ``tickets`` changes what ``ident`` shows."""
        ...


class UnknownTopic(LookupError):
    """The topic names no display, ticket or counter of this facility."""


class Subscriber:
    """One connection's end of a topic: its first messages, a bounded queue of live ones, a close request.

    The first messages (a snapshot, or a replay from the topic's history) are strings the history
    already holds, so they sit in an unbounded backlog that is sent before the live queue; the bound
    (``settings.client_queue``) is on what arrives while the client is connected.

    Kept small on purpose (there is one per connected phone): two lists (a deque costs 760 bytes
    however short) and, only while the connection waits for a message, one future; no
    :class:`asyncio.Queue` or :class:`asyncio.Event`. Taking from the front of a list is O(n), with n
    at most the queue's bound.
    """

    __slots__ = ("_waiter", "backlog", "close_code", "kind", "maxsize", "on_close", "queue", "topic")

    def __init__(self, topic: str, kind: Kind, maxsize: int) -> None:
        self.topic = topic
        self.kind = kind
        self.maxsize = maxsize
        self.backlog: list[str] = []
        #: live messages, at most :attr:`maxsize`
        self.queue: list[str] = []
        #: the code the hub wants the connection closed with (None: keep it open)
        self.close_code: int | None = None
        #: called once when the hub asks for the connection to be closed (``web.ws`` sets it)
        self.on_close: Callable[[], None] | None = None
        self._waiter: asyncio.Future[None] | None = None

    @property
    def closed(self) -> bool:
        """Whether the hub asked for the connection to be closed (with :attr:`close_code`)."""
        return self.close_code is not None

    async def get(self) -> str:
        """The next message to send, as JSON text (waits for one)."""
        while not (self.backlog or self.queue):
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self.backlog.pop(0) if self.backlog else self.queue.pop(0)

    def _offer(self, messages: list[str]) -> bool:
        """Queue all of ``messages`` or none of them; False when they do not fit."""
        if self.maxsize - len(self.queue) < len(messages):
            return False
        self.queue.extend(messages)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
        return True

    def _close(self, code: int) -> None:
        if self.close_code is None:
            self.close_code = code
            if self.on_close is not None:
                self.on_close()


class _Topic:
    __slots__ = ("floor", "history", "ident", "idle_since", "keep", "key", "kind", "last", "subscribers")

    def __init__(self, key: str, kind: Kind, ident: str, floor: int, history: int) -> None:
        self.key = key
        self.kind = kind
        self.ident = ident
        #: every message with a position above ``floor`` is in ``history``
        self.floor = floor
        #: at most ``keep`` (position, message); a list: a deque costs 760 bytes even for the 4 of a ticket
        self.history: list[tuple[int, str]] = []
        self.keep = history
        self.subscribers: set[Subscriber] = set()
        self.idle_since: float | None = None
        #: a module topic's last content sent: it is re-rendered on every change of its module and sent only
        #: when it differs (other topics keep none: one rendered view per connected phone adds up)
        self.last: dict[str, Any] | None = None

    def record(self, position: int, messages: list[str]) -> None:
        for message in messages:
            if len(self.history) >= self.keep:
                self.floor = self.history.pop(0)[0]
            self.history.append((position, message))

    def since(self, after: int) -> list[str]:
        return [message for position, message in self.history if position > after]


def encode(kind: str, position: int, **fields: Any) -> str:
    """One protocol message as JSON text (orjson, decoded once and shared by every subscriber)."""
    return orjson.dumps({"type": kind, "position": position, **fields}).decode()


class PushHub:
    """Topic -> subscribers; bounded per-client queues; resume from a log position.

    Args:
        runtime: the engine whose batches are pushed.
        settings: ``client_queue`` (messages buffered per client) is read from here.
        history: messages kept per topic for resuming clients.
        ticket_history: the same for a ticket's topic. Every ticket message is the whole view and
            none is an announcement, so a longer replay is worth no more than a snapshot; with one
            topic per connected phone, 512 messages each would be most of the server's memory.
        linger_s: how long a topic without subscribers keeps recording history.
    """

    def __init__(
        self,
        runtime: Runtime,
        settings: Settings,
        *,
        history: int = 512,
        ticket_history: int = 4,
        linger_s: float = 120.0,
    ) -> None:
        self.runtime = runtime
        self.settings = settings
        self.history = history
        self.ticket_history = ticket_history
        self.linger_s = linger_s
        #: the position of the last batch published (the durable state the hub has seen)
        self.position = 0
        #: clients dropped because their queue was full
        self.drops = 0
        self._topics: dict[str, _Topic] = {}
        self._unsubscribe: Callable[[], None] | None = None
        self._published = asyncio.Event()
        #: module name -> its topics (``web.modules`` registers them before the app serves)
        self._sources: dict[str, TopicSource] = {}
        facility = runtime.facility
        self._displays: dict[str, Display] = {d.id: d for d in facility.displays}
        #: display id -> (services shown, counters shown), as ``board_view`` chooses them
        self._board_scope: dict[str, tuple[frozenset[ServiceCode], frozenset[CounterId]]] = {}
        for display in facility.displays:
            shown = frozenset(display.services or facility.services)
            counters = frozenset(c.id for c in facility.counters.values() if shown.intersection(c.services))
            self._board_scope[display.id] = (shown, counters)

    def add_source(self, module: str, source: TopicSource) -> None:
        """Serve ``module:<module>/<ident>`` topics from ``source``."""
        self._sources[module] = source

    async def start(self) -> None:
        """Start listening to the runtime (it must be started already)."""
        self.position = self.runtime.state.position
        self._unsubscribe = self.runtime.subscribe(self._on_batch)

    async def close(self) -> None:
        """Stop listening; every connection is asked to close with 1012 (service restart)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for topic in self._topics.values():
            for sub in topic.subscribers:
                sub._close(SERVICE_RESTART)
        self._topics.clear()

    def clients_by_kind(self) -> dict[str, int]:
        """Connected subscribers per topic kind (for metrics)."""
        counts = dict.fromkeys(Kind, 0)
        for topic in self._topics.values():
            counts[topic.kind] += len(topic.subscribers)
        return {kind.value: n for kind, n in counts.items()}

    # -- subscribing ------------------------------------------------------------------------

    async def ticket_id(self, token: str) -> TicketId | None:
        """The ticket a tracking token belongs to, once any batch in flight is settled."""
        await self._settled()
        return self.runtime.state.by_token.get(TicketToken(token))

    async def subscribe(self, topic: str, *, after: int | None = None) -> Subscriber:
        """Subscribe to ``topic``; its first messages are already queued.

        Without ``after``, or when the topic's history does not reach back to it, the first message
        is a snapshot. Otherwise the queue holds every message after position ``after``, then a
        heartbeat with the current position.

        Raises:
            UnknownTopic: no such display, ticket or counter.
        """
        kind, ident = self._parse(topic)
        await self._settled()
        # From here on nothing awaits: no batch can be published in between.
        self._sweep()
        entry = self._topics.get(topic)
        if entry is None:
            if not self._exists(kind, ident):
                raise UnknownTopic(topic)
            kept = self.ticket_history if kind is Kind.TICKET else self.history
            entry = _Topic(topic, kind, ident, floor=self.position, history=kept)
            self._topics[topic] = entry
        sub = Subscriber(topic, kind, self.settings.client_queue)
        replay = self._replay(entry, after)
        if replay is not None:
            sub.backlog.extend(replay)
            sub.backlog.append(self._beat("heartbeat"))
        else:
            data = self._render(entry, self.runtime.now())
            if data is None:
                self._retire(entry, GONE)
                raise UnknownTopic(topic)
            if kind is Kind.MODULE:
                entry.last = data
            sub.backlog.append(encode("snapshot", self.position, data=data))
        entry.subscribers.add(sub)
        entry.idle_since = None
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        """Forget a subscriber (idempotent); its topic lingers for resuming clients."""
        entry = self._topics.get(sub.topic)
        if entry is not None and sub in entry.subscribers:
            entry.subscribers.discard(sub)
            if not entry.subscribers:
                entry.idle_since = asyncio.get_running_loop().time()

    @contextlib.asynccontextmanager
    async def subscription(self, topic: str, *, after: int | None = None) -> AsyncIterator[Subscriber]:
        """:meth:`subscribe` as an async context manager that unsubscribes on exit."""
        sub = await self.subscribe(topic, after=after)
        try:
            yield sub
        finally:
            self.unsubscribe(sub)

    def heartbeat(self, sub: Subscriber) -> None:
        """Queue a heartbeat with the current position (a full queue drops the client)."""
        self._deliver(sub, [self._beat("heartbeat")])

    def pong(self, sub: Subscriber) -> None:
        """Answer a client's ping, in order with everything queued before it."""
        self._deliver(sub, [self._beat("pong")])

    # -- publishing -------------------------------------------------------------------------

    def _on_batch(self, batch: list[tuple[int, Delta]]) -> None:
        """Runtime listener: render what the batch changed, once per topic, and fan it out."""
        position = self.runtime.state.position
        # Every event yields a delta: a position without one is an event the hub was not told of (the
        # runtime caught up on another writer's events): then every topic is rendered again.
        complete = len({p for p, _ in batch}) == position - self.position
        self.position = position
        try:
            if self._topics:
                self._publish(position, batch, complete)
        finally:
            self._published.set()
            self._published = asyncio.Event()
        self._sweep()

    def _publish(self, position: int, batch: list[tuple[int, Delta]], complete: bool) -> None:
        """Render each changed topic once, add boards' calls, record and deliver."""
        changed = self._changed(batch) if complete else set(self._topics)
        now = self.runtime.now()
        facility = self.runtime.facility
        calls = [
            (d.service, encode("call", position, data=call_json(facility, d)))
            for _, d in batch
            if isinstance(d, Announced)
        ]
        for entry in list(self._topics.values()):
            messages: list[str] = []
            if entry.key in changed:
                try:
                    data = self._render(entry, now)
                except Exception:
                    # A bug rendering one topic must not cost the other topics their update.
                    log.exception("rendering %s at %d failed", entry.key, position)
                    self._retire(entry, INTERNAL_ERROR)
                    continue
                if data is None:
                    self._retire(entry, GONE)
                    continue
                if entry.kind is not Kind.MODULE:
                    messages.append(encode("update", position, data=data))
                elif data != entry.last:
                    entry.last = data
                    messages.append(encode("update", position, data=data))
            if entry.kind is Kind.BOARD and calls:
                shown = self._board_scope[entry.ident][0]
                messages.extend(text for service, text in calls if service in shown)
            if messages:
                entry.record(position, messages)
                for sub in list(entry.subscribers):
                    self._deliver(sub, messages)

    def _changed(self, batch: list[tuple[int, Delta]]) -> set[str]:
        """The keys of the topics that the batch's deltas touch."""
        services: set[ServiceCode] = set()
        counters: set[CounterId] = set()
        tickets: set[TicketId] = set()
        modules: set[str] = set()
        for _, delta in batch:
            match delta:
                case QueueChanged():
                    services.add(delta.service)
                case CounterChanged():
                    counters.add(delta.counter)
                case TicketChanged():
                    tickets.add(delta.ticket_id)
                case Announced():
                    pass  # a call message, not a re-render
                case Recorded():
                    pass  # nothing any view shows
                case ModuleChanged():
                    modules.add(delta.module)
                case _:
                    assert_never(delta)
        # A counter's change (a call, a completion, opening) moves the ETA of everyone waiting for it.
        counter_config = self.runtime.facility.counters
        eta_services = services.union(*(counter_config[c].services for c in counters))
        engine = bool(services or counters or tickets)
        return {
            entry.key
            for entry in self._topics.values()
            if self._touched(entry, services, counters, tickets, eta_services)
            or (entry.kind is Kind.MODULE and self._module_touched(entry.ident, modules, tickets, engine))
        }

    def _module_touched(self, topic: str, modules: set[str], tickets: set[TicketId], engine: bool) -> bool:
        module, _, ident = topic.partition("/")
        source = self._sources[module]
        if module in modules or (engine and getattr(source, "follows_engine", False)):
            return True
        return bool(tickets) and source.touched(ident, tickets)

    def _touched(
        self,
        entry: _Topic,
        services: set[ServiceCode],
        counters: set[CounterId],
        tickets: set[TicketId],
        eta_services: set[ServiceCode],
    ) -> bool:
        match entry.kind:
            case Kind.BOARD:
                shown, on_board = self._board_scope[entry.ident]
                return not shown.isdisjoint(services) or not on_board.isdisjoint(counters)
            case Kind.COUNTER:
                served = self.runtime.facility.counters[CounterId(entry.ident)].services
                return entry.ident in counters or not services.isdisjoint(served)
            case Kind.TICKET:
                if entry.ident in tickets:
                    return True
                ticket = self.runtime.state.tickets.get(TicketId(entry.ident))
                return ticket is not None and ticket.status is TicketStatus.WAITING and ticket.service in eta_services
            case Kind.MODULE:
                return False  # see _module_touched
            case _:
                assert_never(entry.kind)

    def _deliver(self, sub: Subscriber, messages: list[str]) -> None:
        if sub.close_code is not None:
            return
        if not sub._offer(messages):
            self.drops += 1
            log.info("dropped a slow %s client (queue of %d full)", sub.kind.value, sub.maxsize)
            self.unsubscribe(sub)
            sub._close(SLOW_CLIENT)

    # -- helpers ----------------------------------------------------------------------------

    def _parse(self, topic: str) -> tuple[Kind, str]:
        kind, sep, ident = topic.partition(":")
        if not sep or not ident or kind not in Kind.__members__.values():
            raise UnknownTopic(topic)
        return Kind(kind), ident

    def _exists(self, kind: Kind, ident: str) -> bool:
        match kind:
            case Kind.BOARD:
                return ident in self._displays
            case Kind.TICKET:
                return TicketId(ident) in self.runtime.state.tickets
            case Kind.COUNTER:
                return CounterId(ident) in self.runtime.facility.counters
            case Kind.MODULE:
                module, _, rest = ident.partition("/")
                source = self._sources.get(module)
                return source is not None and source.exists(rest)
            case _:
                assert_never(kind)

    def _render(self, entry: _Topic, now: Millis) -> dict[str, Any] | None:
        """The topic's full content now (what the HTTP API answers), or None when its ticket is gone."""
        state = self.runtime.state
        match entry.kind:
            case Kind.BOARD:
                display = self._displays[entry.ident]
                return {**board_json(state, display, now), "calls": last_calls(state, display)}
            case Kind.TICKET:
                ticket = state.tickets.get(TicketId(entry.ident))
                return None if ticket is None else ticket_json(state, ticket, now)
            case Kind.COUNTER:
                return counter_json(state, CounterId(entry.ident), now)
            case Kind.MODULE:
                module, _, ident = entry.ident.partition("/")
                return self._sources[module].render(ident, now)
            case _:
                assert_never(entry.kind)

    def _replay(self, entry: _Topic, after: int | None) -> list[str] | None:
        """The messages after ``after``, or None when the history does not cover it."""
        if after is None or after > self.position or after < entry.floor:
            return None
        return entry.since(after)

    def _beat(self, kind: str) -> str:
        return encode(kind, self.position, at=self.runtime.now())

    def _retire(self, entry: _Topic, code: int) -> None:
        """Forget a topic that cannot be rendered (its ticket is gone, or a bug): close its subscribers."""
        for sub in entry.subscribers:
            sub._close(code)
        del self._topics[entry.key]

    def _sweep(self) -> None:
        """Forget topics nobody has watched for ``linger_s``."""
        cutoff = asyncio.get_running_loop().time() - self.linger_s
        stale = [key for key, t in self._topics.items() if t.idle_since is not None and t.idle_since <= cutoff]
        for key in stale:
            del self._topics[key]

    async def _settled(self) -> None:
        """Wait until the engine's state is the durable state last published.

        The runtime applies a batch before its write returns; a snapshot taken in between would
        show what may never be written, under a position its own update would repeat. A write that
        fails is rolled back without a publish, hence the periodic re-check.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_TIMEOUT_S
        while self.runtime.state.position != self.position:
            if loop.time() >= deadline:
                log.warning(
                    "engine at %d, pushed up to %d: rendering anyway", self.runtime.state.position, self.position
                )
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_SETTLE_RECHECK_S):
                    await self._published.wait()
