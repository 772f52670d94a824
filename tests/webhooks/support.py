"""A real webhook receiver and a real Antre server, both under uvicorn on free ports, in the test's loop.

:class:`Receiver` is a small Starlette app that checks every request with
:func:`modules.webhooks.deliver.verify` (answering 401 when it fails), records each attempt, and
can be told to answer the next requests with 500 or 400. Tests wait on its condition
(:meth:`Receiver.wait_for`) under a timeout; nothing sleeps.

:func:`antre` runs the app over a SQLite log (so a second server over the same file is a
restart), the demo puskesmas with the webhooks module, a manual clock, and a retry back-off of
milliseconds. It captures what the lifespan yields, like ``tests/web/wsutil.serve``.
"""

from __future__ import annotations

import asyncio
import socket
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any, cast

import httpx2 as httpx
import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from modules.webhooks.deliver import ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from modules.webhooks.module import NAME, WebhooksModule, WebhooksState
from modules.webhooks.site import WebhooksWeb
from queue_engine.clock import ManualClock, SequentialIds
from queue_engine.config import demo_path, load_facility
from queue_engine.domain import commands as c
from queue_engine.domain.ids import CounterId, ServiceCode
from queue_engine.runtime import Result, Runtime
from web.app import create_app
from web.state import AppState

from ..web.conftest import PASSWORDS, START, fast_accounts, make_settings

SECRET = "whsec-test-0123456789abcdef0123456789abcdef"
SECRET_ENV = "ANTRE_WEBHOOK_SIMRS_SECRET"
#: how long a test waits for any one condition
WAIT_S = 10.0
#: the retry back-off in tests (the real one starts at one second)
FAST_BACKOFF = (0.01, 0.02, 0.05)


def _listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock


@asynccontextmanager
async def _uvicorn(app: Starlette, started: asyncio.Future[Any] | None = None) -> AsyncIterator[int]:
    """Serve ``app`` on a free port until the block ends; "ready" is the socket listening (or ``started``)."""
    sock = _listening_socket()
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_level="warning", timeout_graceful_shutdown=5))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        if started is not None:
            async with asyncio.timeout(WAIT_S):
                await asyncio.wait({task, started}, return_when=asyncio.FIRST_COMPLETED)
            if task.done():
                task.result()  # startup failed: raise its error
                raise RuntimeError("the server stopped during startup")
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        async with asyncio.timeout(WAIT_S):
            await task
        sock.close()


# --------------------------------------------------------------------------- the receiver


@dataclass(frozen=True, slots=True)
class Attempt:
    """One request the receiver got, and what it answered."""

    key: str
    timestamp: str
    signature: str
    user_agent: str
    raw: bytes
    valid: bool
    status: int

    @property
    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = orjson.loads(self.raw)
        return body

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class Receiver:
    """Verifies and records every delivery; answers the next requests as told (204 otherwise)."""

    def __init__(self, secret: str, now: Callable[[], float]) -> None:
        self.secret = secret
        self.now = now
        self.attempts: list[Attempt] = []
        self._answers: deque[int] = deque()
        #: while set, requests wait for it (``holding`` counts them) before they are answered
        self._gate: asyncio.Event | None = None
        self.holding = 0
        self._changed = asyncio.Condition()
        self.app = Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])
        self.url = ""

    def answer_next(self, count: int, status: int) -> None:
        """The next ``count`` valid requests get ``status``."""
        self._answers.extend([status] * count)

    def hold(self) -> asyncio.Event:
        """Keep the next requests waiting until the returned event is set."""
        self._gate = asyncio.Event()
        return self._gate

    @property
    def delivered(self) -> list[Attempt]:
        """The attempts answered 2xx, in arrival order."""
        return [a for a in self.attempts if a.ok]

    async def hook(self, request: Request) -> Response:
        raw = await request.body()
        if self._gate is not None:
            gate = self._gate
            async with self._changed:
                self.holding += 1
                self._changed.notify_all()
            await gate.wait()
            self._gate = None
        headers = request.headers
        timestamp = headers.get(TIMESTAMP_HEADER, "")
        signature = headers.get(SIGNATURE_HEADER, "")
        valid = verify(self.secret, timestamp, raw, signature, self.now())
        status = (self._answers.popleft() if self._answers else 204) if valid else 401
        attempt = Attempt(
            key=headers.get(ID_HEADER, ""),
            timestamp=timestamp,
            signature=signature,
            user_agent=headers.get("user-agent", ""),
            raw=raw,
            valid=valid,
            status=status,
        )
        async with self._changed:
            self.attempts.append(attempt)
            self._changed.notify_all()
        return Response(status_code=status)

    async def wait_for(self, predicate: Callable[[Receiver], bool], within: float = WAIT_S) -> None:
        """Until ``predicate(self)`` holds (checked after every request); fails the test after ``within`` s."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: predicate(self))

    async def wait_delivered(self, count: int) -> list[Attempt]:
        """Until ``count`` attempts were answered 2xx; those attempts."""
        await self.wait_for(lambda r: len(r.delivered) >= count)
        return self.delivered


@asynccontextmanager
async def receiving(clock: ManualClock, secret: str = SECRET) -> AsyncIterator[Receiver]:
    """A receiver whose clock is ``clock`` (the engine's: both stand for the wall clock)."""
    receiver = Receiver(secret, lambda: clock.now() / 1000)
    async with _uvicorn(receiver.app) as port:
        receiver.url = f"http://127.0.0.1:{port}/hook"
        yield receiver


# --------------------------------------------------------------------------- the Antre server


def fast_web(module: WebhooksModule) -> WebhooksWeb:
    """The web part with a back-off of milliseconds."""
    return WebhooksWeb(module, backoff_s=FAST_BACKOFF)


class FastWebhooksModule(WebhooksModule):
    web = "tests.webhooks.support:fast_web"


def subscriptions(url: str, events: Sequence[str] = ("ticket.called",), **extra: Any) -> list[dict[str, Any]]:
    return [{"id": "simrs", "url": url, "events": list(events), "secret_env": SECRET_ENV, **extra}]


@dataclass
class Antre:
    """A running server: the lifespan's state, its clock, and helpers for commands and the admin API."""

    state: AppState
    clock: ManualClock
    port: int
    http: httpx.AsyncClient

    @property
    def runtime(self) -> Runtime:
        return self.state["runtime"]

    @property
    def web(self) -> WebhooksWeb:
        part = next(p for p in self.state["web_modules"] if p.name == NAME)
        assert isinstance(part, WebhooksWeb)
        return part

    @property
    def webhooks(self) -> WebhooksState:
        webhooks: WebhooksState = self.runtime.state.modules[NAME]
        return webhooks

    def cursor(self, stream: str = "simrs") -> int:
        return self.webhooks.outbox.cursor(stream)

    async def submit(self, command: c.Command) -> Result:
        return await self.runtime.submit(command)

    async def open(self, counter: str = "loket-1") -> Result:
        return await self.submit(c.OpenCounter(at=self.clock.now(), counter=CounterId(counter), actor="petugas"))

    async def issue(self, service: str = "LOKET") -> Result:
        ids = self.runtime.ids
        return await self.submit(
            c.IssueTicket(
                at=self.clock.now(), ticket_id=ids.ticket_id(), token=ids.token(), service=ServiceCode(service)
            )
        )

    async def call(self, counter: str = "loket-1") -> int:
        """Call the next ticket (completing the current one); the ``ticket.called`` event's position."""
        self.clock.advance(1000)
        result = await self.submit(
            c.CallNext(at=self.clock.now(), counter=CounterId(counter), actor="petugas", complete_current=True)
        )
        assert result.events[-1].TYPE == "ticket.called"
        return result.position

    async def flushed(self, upto: int, stream: str = "simrs") -> None:
        """Until the worker recorded its progress through log position ``upto``."""
        worker = self.web.workers[stream]
        async with asyncio.timeout(WAIT_S):
            while self.cursor(stream) < upto:
                await worker.progressed.wait()

    async def login(self, username: str) -> dict[str, str]:
        """Log ``http`` in; the CSRF header its changes need."""
        response = await self.http.post(
            "/api/v1/auth/login", json={"username": username, "password": PASSWORDS[username]}
        )
        assert response.status_code == 200, response.text
        return {"X-CSRF-Token": response.json()["csrf"]}


@asynccontextmanager
async def antre(
    log_url: str,
    subs: list[dict[str, Any]],
    *,
    clock: ManualClock | None = None,
    id_prefix: str = "",
) -> AsyncIterator[Antre]:
    """The demo puskesmas with webhooks enabled, over ``log_url``, under uvicorn."""
    the_clock = clock or ManualClock(START)
    facility = replace(load_facility(demo_path()), modules=(FastWebhooksModule(subscriptions=subs),))
    app = create_app(
        make_settings(log_url=log_url),
        clock=the_clock,
        ids=SequentialIds(id_prefix),
        facility=facility,
        accounts=fast_accounts(),
    )
    started: asyncio.Future[AppState] = asyncio.get_running_loop().create_future()
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def capturing(app: Starlette) -> AsyncIterator[Any]:
        async with inner(app) as state:
            started.set_result(cast(AppState, state))
            yield state

    app.router.lifespan_context = capturing
    async with _uvicorn(app, started) as port, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        yield Antre(started.result(), the_clock, port, http)
