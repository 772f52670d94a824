"""A real uvicorn server on a free port for the WebSocket tests, and small client helpers.

``serve()`` builds the app over a memory log, a manual clock and sequential ids, and captures
what the lifespan yields (the runtime, the hub) by wrapping the app's lifespan: no test-only
route, no HTTP API needed. The listening socket is bound and listening before uvicorn starts, so
"ready" is simply the lifespan having started; nothing polls and nothing sleeps.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

import itsdangerous
import orjson
import uvicorn
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from queue_engine.clock import ManualClock, SequentialIds
from queue_engine.domain import commands as c
from queue_engine.domain.ids import CounterId, Millis, ServiceCode
from queue_engine.domain.model import Facility
from queue_engine.log.memory import MemoryLog
from queue_engine.runtime import Result, Runtime
from web.app import create_app
from web.auth import Accounts
from web.hub import PushHub
from web.settings import Settings
from web.state import AppState

#: Thursday 26 November 2026, 08:00 in Jakarta: every demo service is open.
THURSDAY_0800: Millis = 1795654800000
SECRET = "ws-test-secret"
#: demo device tokens (queue_engine/demo/puskesmas.toml)
BOARD_TOKEN = "papan-demo"  # display ruang-tunggu: LOKET, UMUM, GIGI, KIA
APOTEK_BOARD_TOKEN = "papan-apotek-demo"  # display apotek-lab: LAB, APOTEK
KIOSK_TOKEN = "kiosk-demo"
#: how long a test waits for one message before it fails
WAIT_S = 5.0


def settings(**overrides: Any) -> Settings:
    """Test settings: a fixed secret (so tests can sign session cookies), no heartbeat unless asked."""
    values: dict[str, Any] = {"secret_key": SECRET, "heartbeat_s": 3600.0, "log_url": "memory://"}
    values.update(overrides)
    return Settings(**values)


@dataclass
class Served:
    """A running server: its address, the lifespan's state, and command helpers."""

    app: Starlette
    server: uvicorn.Server
    port: int
    state: AppState
    clock: ManualClock

    @property
    def runtime(self) -> Runtime:
        return self.state["runtime"]

    @property
    def hub(self) -> PushHub:
        return self.state["hub"]

    def url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    async def submit(self, command: c.Command) -> Result:
        return await self.runtime.submit(command)

    async def issue(self, service: str = "LOKET") -> Result:
        ids = self.runtime.ids
        ticket_id = ids.ticket_id()
        return await self.submit(
            c.IssueTicket(at=self.clock.now(), ticket_id=ticket_id, token=ids.token(), service=ServiceCode(service))
        )

    async def open(self, counter: str = "loket-1") -> Result:
        return await self.submit(c.OpenCounter(at=self.clock.now(), counter=CounterId(counter), actor="petugas"))

    async def pause(self, counter: str = "loket-1") -> Result:
        cmd = c.PauseCounter(at=self.clock.now(), counter=CounterId(counter), reason="istirahat", actor="petugas")
        return await self.submit(cmd)

    async def call_next(self, counter: str = "loket-1") -> Result:
        return await self.submit(c.CallNext(at=self.clock.now(), counter=CounterId(counter), actor="petugas"))

    def token_of(self, result: Result) -> str:
        assert result.ticket_id is not None
        return self.runtime.state.tickets[result.ticket_id].token


@asynccontextmanager
async def serve(
    config: Settings | None = None, *, facility: Facility | None = None, accounts: Accounts | None = None
) -> AsyncIterator[Served]:
    """Run the app under uvicorn on a free port until the block ends (the demo puskesmas by default)."""
    clock = ManualClock(THURSDAY_0800)
    app = create_app(
        config or settings(), log=MemoryLog(), clock=clock, ids=SequentialIds(), facility=facility, accounts=accounts
    )
    started: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def capturing(app: Starlette) -> AsyncIterator[Any]:
        async with inner(app) as state:
            started.set_result(cast(AppState, state))
            yield state

    app.router.lifespan_context = capturing
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            ws="websockets-sansio",
            lifespan="on",
            log_level="warning",
            timeout_graceful_shutdown=5,
        )
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(10):
            await asyncio.wait({task, started}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()  # startup failed: raise its error
            raise RuntimeError("the server stopped during startup")
        yield Served(app, server, sock.getsockname()[1], started.result(), clock)
    finally:
        server.should_exit = True
        async with asyncio.timeout(10):
            await task
        sock.close()


def session_cookie(username: str, secret: str = SECRET) -> str:
    """A ``Cookie`` header value for a signed Starlette session of ``username`` (as login sets it)."""
    return signed_session({"user": username}, secret)


def signed_session(data: dict[str, Any], secret: str = SECRET) -> str:
    """A ``Cookie`` header value for a signed Starlette session holding ``data``."""
    encoded = base64.b64encode(json.dumps(data).encode())
    return "antre_session=" + itsdangerous.TimestampSigner(secret).sign(encoded).decode()


@asynccontextmanager
async def connect_ws(served: Served, path: str, **kwargs: Any) -> AsyncIterator[ClientConnection]:
    """A websockets client, closed on exit."""
    async with connect(served.url(path), open_timeout=WAIT_S, close_timeout=WAIT_S, **kwargs) as ws:
        yield ws


async def receive(ws: ClientConnection, within: float = WAIT_S) -> dict[str, Any]:
    """The next message, decoded; fails the test if none arrives in time."""
    async with asyncio.timeout(within):
        raw = await ws.recv()
    assert isinstance(raw, str), "messages are JSON text frames"
    message: dict[str, Any] = orjson.loads(raw)
    return message


async def receive_until(ws: ClientConnection, kind: str, within: float = WAIT_S) -> list[dict[str, Any]]:
    """Every message up to and including the first of type ``kind``."""
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(within):
        while not seen or seen[-1]["type"] != kind:
            seen.append(await receive(ws, within))
    return seen


async def close_code(ws: ClientConnection, within: float = WAIT_S) -> int | None:
    """The code the server closed with, reading (and dropping) whatever came before it."""
    async with asyncio.timeout(within):
        try:
            while True:
                await ws.recv()
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd is not None else None


async def refusal(served: Served, path: str, **kwargs: Any) -> tuple[int | None, list[Any]]:
    """Connect and read until the server closes: (its close code, the messages before it)."""
    messages: list[Any] = []
    code: int | None = None
    async with connect_ws(served, path, **kwargs) as ws:
        try:
            async with asyncio.timeout(WAIT_S):
                while True:
                    messages.append(await ws.recv())
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd is not None else None
    return code, messages


@asynccontextmanager
async def stalled_client(served: Served, path: str, **kwargs: Any) -> AsyncIterator[ClientConnection]:
    """A client that does not read: a tiny receive window, a one-frame buffer and no compression
    (which would shrink the JSON tenfold), so the server's writes back up as soon as the test stops
    calling ``recv()``. The server's socket still buffers a few MB on loopback."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: it sets the window
    sock.setblocking(False)
    try:
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", served.port))
    except BaseException:
        sock.close()
        raise
    async with connect_ws(served, path, sock=sock, max_queue=1, compression=None, **kwargs) as ws:
        yield ws
