"""WebSocket endpoints: authenticate, subscribe to one topic, then pump messages until either side stops.

``/ws/board/{display_id}``, ``/ws/ticket/{token}`` and ``/ws/counter/{counter_id}``; ``?after=N``
resumes from log position N (``docs/protocol.md``). A connection is always accepted, then refused
with a close code before any data (4400 bad request, 4401 no credential, 4403 not allowed, 4004
unknown): a browser sees close codes, never the HTTP status of a refused handshake.

Each connection costs one extra task and one timer: the connection's own task sends (hub queue ->
socket), a receiver task answers pings and notices the client leaving, and a timer queues the
heartbeats. The first to stop ends the others; so does the hub's request to close (a slow client,
a shutdown). Tens of thousands of phones may be connected at once, hence no task per duty.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import orjson
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from .auth import Principal, Role, authenticate
from .hub import PushHub, Subscriber, UnknownTopic
from .settings import Settings
from .state import AppState

log = logging.getLogger("antre.ws")

BAD_REQUEST = 4400
UNAUTHENTICATED = 4401
FORBIDDEN = 4403
NOT_FOUND = 4004
UNSUPPORTED_DATA = 1003
INTERNAL_ERROR = 1011

#: how long closing may wait for a client that does not read (its socket buffers are full)
CLOSE_TIMEOUT_S = 10.0


class Refused(Exception):
    """The connection is refused with a close code before any data."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class _Stop(Exception):
    """Raised by the receiver to end its connection; the connection is closed with ``code``."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


Socket = WebSocket[AppState]

#: what a route does before subscribing: check the credential and name the topic (or raise Refused)
Resolver = Callable[[Socket, PushHub], Awaitable[str]]


def routes() -> list[BaseRoute]:
    """The push endpoints, for ``web.app``."""
    return [
        WebSocketRoute("/ws/board/{display_id}", board_socket, name="ws-board"),
        WebSocketRoute("/ws/ticket/{token}", ticket_socket, name="ws-ticket"),
        WebSocketRoute("/ws/counter/{counter_id}", counter_socket, name="ws-counter"),
    ]


async def board_socket(ws: Socket) -> None:
    """A TV board: its display's device token (``?token=``), or a staff or admin session."""
    await serve(ws, _board_topic)


async def ticket_socket(ws: Socket) -> None:
    """A patient's phone: the ticket's tracking token in the path is the credential."""
    await serve(ws, _ticket_topic)


async def counter_socket(ws: Socket) -> None:
    """A staff console: a session of staff allowed to operate the counter, or of an admin."""
    await serve(ws, _counter_topic)


async def _board_topic(ws: Socket, hub: PushHub) -> str:
    display = ws.path_params["display_id"]
    principal = _principal(ws)
    staff = principal.role in (Role.STAFF, Role.ADMIN)
    own_display = principal.role is Role.DISPLAY and principal.display == display
    if not (staff or own_display):
        raise Refused(FORBIDDEN, "forbidden")
    return f"board:{display}"


async def _ticket_topic(ws: Socket, hub: PushHub) -> str:
    ticket_id = await hub.ticket_id(ws.path_params["token"])
    if ticket_id is None:
        raise Refused(NOT_FOUND, "unknown ticket")
    return f"ticket:{ticket_id}"


async def _counter_topic(ws: Socket, hub: PushHub) -> str:
    counter = ws.path_params["counter_id"]
    principal = _principal(ws)
    if counter not in hub.runtime.facility.counters:
        raise Refused(NOT_FOUND, "unknown counter")
    if not principal.may_operate(counter):
        raise Refused(FORBIDDEN, "forbidden")
    return f"counter:{counter}"


def _principal(ws: Socket) -> Principal:
    principal = authenticate(ws, ws.state["accounts"])
    if principal is None:
        raise Refused(UNAUTHENTICATED, "unauthenticated")
    if principal.via_session and not same_origin(ws, ws.state["settings"]):
        # A session cookie rides along with any page's WebSocket: refuse other sites' pages.
        raise Refused(FORBIDDEN, "cross-origin")
    return principal


def same_origin(ws: Socket, settings: Settings) -> bool:
    origin = ws.headers.get("origin")
    if origin is None:
        return True  # not a browser
    netloc = urlsplit(origin).netloc
    allowed = {ws.headers.get("host", "")}
    if settings.public_url:
        allowed.add(urlsplit(settings.public_url).netloc)
    return netloc in allowed


def _after(ws: Socket) -> int | None:
    raw = ws.query_params.get("after")
    if raw is None or raw == "":
        return None
    try:
        after = int(raw)
    except ValueError:
        raise Refused(BAD_REQUEST, "after must be a log position") from None
    if after < 0:
        raise Refused(BAD_REQUEST, "after must be a log position")
    return after


async def serve(ws: Socket, resolve: Resolver) -> None:
    """Accept, resolve the topic (or refuse with a close code), then pump it: for every push route, modules' too."""
    await ws.accept()
    hub = ws.state["hub"]
    try:
        after = _after(ws)
        topic = await resolve(ws, hub)
        sub = await hub.subscribe(topic, after=after)
    except Refused as refusal:
        await _close(ws, refusal.code, refusal.reason)
        return
    except UnknownTopic:
        await _close(ws, NOT_FOUND, "not found")
        return
    try:
        code = await _pump(ws, hub, sub)
    except Exception:
        log.exception("push connection for %s failed", topic)
        code = INTERNAL_ERROR
    finally:
        hub.unsubscribe(sub)
    if code is not None:
        await _close(ws, code)


async def _pump(ws: Socket, hub: PushHub, sub: Subscriber) -> int | None:
    """Send the subscriber's messages until one side stops; the close code to send (None: the client left).

    The connection's own task is the sender. Beside it run one receiver task and a heartbeat timer.
    The hub closing the subscriber, the receiver stopping and the timer failing all interrupt the
    sender the same way: by cancelling it (:class:`_Interrupt`), which also frees it from a send that
    waits on a client that stopped reading.
    """
    interrupt = _Interrupt()
    receiver = asyncio.create_task(_receive(ws, hub, sub), name=f"receive {sub.topic}")
    receiver.add_done_callback(interrupt)
    sub.on_close = interrupt
    beat = _Heartbeat(hub, sub, ws.state["settings"].heartbeat_s, interrupt)
    left = False
    stopped: BaseException | None = None
    try:
        await _send(ws, sub, interrupt)
    except WebSocketDisconnect:
        left = True
    finally:
        interrupt.disarm()
        beat.cancel()
        sub.on_close = None
        receiver.remove_done_callback(interrupt)
        receiver.cancel()  # nothing if it ended already
        await asyncio.wait([receiver])
        if not receiver.cancelled():
            stopped = receiver.exception()  # retrieved here, whatever happens next
    if left or isinstance(stopped, WebSocketDisconnect):
        return None
    if beat.error is not None:
        raise beat.error
    if isinstance(stopped, _Stop):
        return stopped.code
    if stopped is not None:
        raise stopped
    return sub.close_code


class _Interrupt:
    """Cancels the connection's sender task, once, and lets :func:`_send` tell that from any other cancellation."""

    __slots__ = ("armed", "requested", "task")

    def __init__(self) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.task = task
        self.armed = True
        self.requested = False

    def __call__(self, *_: object) -> None:
        if self.armed and not self.requested:
            self.requested = True
            self.task.cancel()

    def disarm(self) -> None:
        self.armed = False

    def absorb(self) -> bool:
        """In the sender, on CancelledError: True when it was this interrupt alone (then carry on to close)."""
        return self.requested and self.task.uncancel() == 0


class _Heartbeat:
    """Queues a heartbeat every ``interval`` seconds: a timer, not a task (one fewer per connection)."""

    __slots__ = ("error", "handle", "hub", "interrupt", "interval", "sub")

    def __init__(self, hub: PushHub, sub: Subscriber, interval: float, interrupt: _Interrupt) -> None:
        self.hub, self.sub, self.interval, self.interrupt = hub, sub, interval, interrupt
        self.error: Exception | None = None
        self.handle = asyncio.get_running_loop().call_later(interval, self._beat)

    def _beat(self) -> None:
        try:
            self.hub.heartbeat(self.sub)
        except Exception as exc:  # a bug: the connection ends with 1011 and it is logged, as for its tasks
            self.error = exc
            self.interrupt()
            return
        self.handle = asyncio.get_running_loop().call_later(self.interval, self._beat)

    def cancel(self) -> None:
        self.handle.cancel()


async def _send(ws: Socket, sub: Subscriber, interrupt: _Interrupt) -> None:
    try:
        while True:
            await ws.send_text(await sub.get())
    except asyncio.CancelledError:
        if not interrupt.absorb():
            raise


async def _receive(ws: Socket, hub: PushHub, sub: Subscriber) -> None:
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
        text = message.get("text")
        if text is None:
            raise _Stop(UNSUPPORTED_DATA)  # the protocol is JSON text only
        try:
            kind = orjson.loads(text).get("type")
        except (ValueError, AttributeError):
            kind = None
        if kind == "ping":
            hub.pong(sub)
        else:
            log.debug("ignored a client message on %s: %.80r", sub.topic, text)


async def _close(ws: Socket, code: int, reason: str = "") -> None:
    """Close unless the client is gone; a client that never reads gets ``CLOSE_TIMEOUT_S``."""
    if ws.application_state is not WebSocketState.CONNECTED or ws.client_state is WebSocketState.DISCONNECTED:
        return
    try:
        async with asyncio.timeout(CLOSE_TIMEOUT_S):
            await ws.close(code, reason)
    except WebSocketDisconnect:
        pass
    except TimeoutError:
        log.info("gave up closing a client that does not read (code %d)", code)
