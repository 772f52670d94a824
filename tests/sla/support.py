"""SLA tests' harness: the demo puskesmas with the sla module, a running server, and the engine's commands.

:func:`running` serves the app under uvicorn on a free port in the test's loop (as
``tests/webhooks/support.antre`` does), over a log URL (SQLite: a second server over the same file
is a restart), with a manual clock. The judge's timer is set to an hour, so time moves only when
a test advances the clock and calls :meth:`Sla.tick` (what the timer does); a check after each
engine change still runs, on the same clock, and decides the same thing.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any, cast

import httpx2 as httpx
import uvicorn
from starlette.applications import Starlette

from modules.sla.module import NAME, SlaModule, SlaState
from modules.sla.site import SlaWeb
from queue_engine.clock import ManualClock, SequentialIds
from queue_engine.config import demo_path, load_facility
from queue_engine.domain import commands as c
from queue_engine.domain.ids import CounterId, ServiceCode
from queue_engine.domain.model import Facility
from queue_engine.domain.modules import Module
from queue_engine.runtime import Result, Runtime
from web.app import create_app
from web.state import AppState

from ..web.conftest import PASSWORDS, START, fast_accounts, make_settings

#: the supervisors' phones as an operator writes them in ANTRE_SLA_PHONES
PHONES = "0812-1111-2222; +62 813 3333 4444"
PHONES_E164 = ("+6281211112222", "+6281333334444")
#: how long a test waits for any one condition
WAIT_S = 10.0
MINUTE = 60_000
#: a staff account named as a supervisor (another staff account, petugas-loket, is not)
SUPERVISOR = "petugas-poli"


def fast_web(module: SlaModule) -> SlaWeb:
    """The web part with a back-off of milliseconds and a timer that never fires within a test."""
    return SlaWeb(module, backoff_s=(0.01, 0.02), tick_s=3600.0)


def sla_module(**options: Any) -> SlaModule:
    """The module as the facility file would enable it; ``supervisors`` defaults to :data:`SUPERVISOR`."""
    options.setdefault("supervisors", [SUPERVISOR])
    module = SlaModule(**options)
    module.web = "tests.sla.support:fast_web"
    return module


def demo_with(*modules: Module) -> Facility:
    return replace(load_facility(demo_path()), modules=modules)


@dataclass
class Sla:
    """A running server: the lifespan's state, its clock, an HTTP client, and the engine's commands."""

    state: AppState
    clock: ManualClock
    port: int
    http: httpx.AsyncClient

    @property
    def runtime(self) -> Runtime:
        return self.state["runtime"]

    @property
    def web(self) -> SlaWeb:
        part = next(p for p in self.state["web_modules"] if p.name == NAME)
        assert isinstance(part, SlaWeb)
        return part

    @property
    def sla(self) -> SlaState:
        sla: SlaState = self.runtime.state.modules[NAME]
        return sla

    def open_alerts(self) -> list[tuple[str, str, str]]:
        return [(a.id, a.kind.value, a.subject) for a in self.sla.open.values()]

    async def submit(self, command: c.Command) -> Result:
        return await self.runtime.submit(command)

    async def issue(self, service: str = "LOKET", count: int = 1) -> None:
        ids = self.runtime.ids
        for _ in range(count):
            await self.submit(
                c.IssueTicket(
                    at=self.clock.now(), ticket_id=ids.ticket_id(), token=ids.token(), service=ServiceCode(service)
                )
            )

    async def open(self, counter: str = "loket-1") -> Result:
        return await self.submit(c.OpenCounter(at=self.clock.now(), counter=CounterId(counter), actor="petugas"))

    async def pause(self, counter: str = "loket-1", reason: str = "Istirahat") -> Result:
        return await self.submit(
            c.PauseCounter(at=self.clock.now(), counter=CounterId(counter), reason=reason, actor="petugas")
        )

    async def call(self, counter: str = "loket-1") -> Result:
        return await self.submit(
            c.CallNext(at=self.clock.now(), counter=CounterId(counter), actor="petugas", complete_current=True)
        )

    async def tick(self) -> Result | None:
        """Judge now, as the timer does."""
        return await self.web.tick()

    async def sent(self) -> None:
        """Until the alerts' worker delivered and recorded everything derived from the log so far."""
        worker = self.web.worker
        assert worker is not None
        async with asyncio.timeout(WAIT_S):
            await worker.until_idle(self.runtime.state.position)

    async def login(self, username: str) -> None:
        response = await self.http.post(
            "/api/v1/auth/login", json={"username": username, "password": PASSWORDS[username]}
        )
        assert response.status_code == 200, response.text


@asynccontextmanager
async def running(
    log_url: str, modules: Sequence[Module], *, clock: ManualClock | None = None, id_prefix: str = ""
) -> AsyncIterator[Sla]:
    """The demo puskesmas with ``modules`` over ``log_url``, under uvicorn on a free port."""
    the_clock = clock or ManualClock(START)
    app = create_app(
        make_settings(log_url=log_url),
        clock=the_clock,
        ids=SequentialIds(id_prefix),
        facility=demo_with(*modules),
        accounts=fast_accounts(),
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
    sock.listen(64)
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_level="warning", timeout_graceful_shutdown=5))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(WAIT_S):
            await asyncio.wait({task, started}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()  # startup failed: raise its error
            raise RuntimeError("the server stopped during startup")
        port = sock.getsockname()[1]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            yield Sla(cast(AppState, started.result()), the_clock, port, http)
    finally:
        server.should_exit = True
        async with asyncio.timeout(WAIT_S):
            await task
        sock.close()
