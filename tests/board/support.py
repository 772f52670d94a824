"""A busy morning at the demo puskesmas, and a real server showing it, for board tests and screenshots.

``seeded_log()`` returns a memory log holding a plausible mid-morning: counters open, paused and
closed, tickets waiting in every service, and some called and being served. :class:`LiveServer`
runs the app over it with uvicorn on a free port in a thread, for a real browser to open::

    python -c "from tests.board.support import LiveServer; LiveServer(port=8000).run_forever()"
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any

import uvicorn
from starlette.applications import Starlette

from queue_engine.clock import ManualClock, SequentialIds
from queue_engine.config import demo_path, load_facility
from queue_engine.domain import commands as c
from queue_engine.domain.ids import CounterId, ServiceCode
from queue_engine.log import EventLog, open_log
from queue_engine.runtime import Result, Runtime
from tests.conftest import MINUTE, local_ms
from web.app import create_app
from web.settings import Settings

#: Thursday 2026-11-26 09:40 WIB: every demo service is open.
MORNING = local_ms(2026, 11, 26, 9, 40)

#: (service, tickets issued) in issue order
ISSUED = (("LOKET", 16), ("UMUM", 9), ("GIGI", 4), ("KIA", 5), ("LAB", 3), ("APOTEK", 6))
#: counter -> calls made there (the last one is its current ticket)
CALLS = {"loket-1": 6, "loket-2": 5, "umum-1": 3, "kia": 1, "lab": 1, "apotek": 2}


async def seed(runtime: Runtime, clock: ManualClock) -> None:
    """Open counters, issue tickets and call some of them (one command at a time)."""
    ids = runtime.ids
    for counter in runtime.facility.counters:
        await runtime.submit(c.OpenCounter(at=clock.now(), counter=counter))
    for service, count in ISSUED:
        for _ in range(count):
            clock.advance(MINUTE // 4)
            await runtime.submit(
                c.IssueTicket(
                    at=clock.now(), ticket_id=ids.ticket_id(), token=ids.token(), service=ServiceCode(service)
                )
            )
    for name, calls in CALLS.items():
        cid = CounterId(name)
        for i in range(calls):
            clock.advance(MINUTE // 3)
            await runtime.submit(c.CallNext(at=clock.now(), counter=cid, complete_current=i > 0))
            if name in ("loket-1", "umum-1") and i == calls - 1:
                await runtime.submit(c.StartService(at=clock.now(), counter=cid))
    await runtime.submit(c.PauseCounter(at=clock.now(), counter=CounterId("gigi"), reason="istirahat"))
    await runtime.submit(c.CloseCounter(at=clock.now(), counter=CounterId("umum-2")))


async def seeded_log() -> tuple[EventLog, ManualClock]:
    """A memory log with the morning in it, and the clock just after it."""
    log = open_log("memory://")
    clock = ManualClock(MORNING - 30 * MINUTE)
    runtime = Runtime(load_facility(demo_path()), log, clock=clock, ids=SequentialIds("seed-"))
    async with runtime:
        await seed(runtime, clock)
    return log, clock


class LiveServer:
    """The app on uvicorn in a background thread, over the seeded morning (or an empty day).

    The seeded morning lives in memory; without it the app opens ``settings.log_url`` itself (so a
    server started again over the same SQLite file, on the same ``port``, continues that log). The
    clock is a :class:`ManualClock` at :data:`MORNING` (inside every demo service's hours).

    The listening socket is bound before uvicorn starts, so the URL is known and connections wait
    in the backlog; "ready" is the lifespan having started. :meth:`submit` runs a command on the
    server's own event loop, as staff would through the API.
    """

    def __init__(self, settings: Settings | None = None, *, seeded: bool = True, port: int = 0) -> None:
        self.settings = settings or Settings(log_url="memory://")
        self.seeded = seeded
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(64)
        self.port: int = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.clock = ManualClock(MORNING)
        self.runtime: Runtime | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: uvicorn.Server | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self._failure: BaseException | None = None

    async def _main(self) -> None:
        try:
            self._loop = asyncio.get_running_loop()
            log: EventLog | None = None  # None: the app opens (and closes) settings.log_url itself
            if self.seeded:
                log, self.clock = await seeded_log()
            app = create_app(self.settings, log=log, clock=self.clock)
            self._capture(app)
            config = uvicorn.Config(app, log_level="warning", ws="websockets-sansio", timeout_graceful_shutdown=2)
            self._server = uvicorn.Server(config)
            await self._server.serve(sockets=[self.sock])
        except BaseException as exc:  # reported to the test thread by start()
            self._failure = exc
            self._ready.set()
            raise

    def _capture(self, app: Starlette) -> None:
        inner = app.router.lifespan_context

        @asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[Any]:
            async with inner(app) as state:
                assert state is not None
                self.runtime = state["runtime"]
                self._ready.set()
                yield state

        app.router.lifespan_context = lifespan

    def start(self) -> LiveServer:
        self._thread.start()
        if not self._ready.wait(20) or self._failure is not None:
            raise RuntimeError(f"the server did not start: {self._failure!r}")
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        self._thread.join(20)
        self.sock.close()

    def submit(self, command: c.Command) -> Result:
        """Run ``command`` on the server's runtime and wait for its answer."""
        assert self.runtime is not None and self._loop is not None
        return asyncio.run_coroutine_threadsafe(self.runtime.submit(command), self._loop).result(10)

    def run_forever(self) -> None:
        self.start()
        print(f"board: {self.url}/board/ruang-tunggu?token=papan-demo", flush=True)
        self._thread.join()

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()
