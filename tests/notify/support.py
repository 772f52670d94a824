"""A real WhatsApp / SMS gateway stand-in, facilities with notifications, and an app around them.

:class:`Gateway` is a tiny Starlette app under uvicorn on a free port, in a thread of its own (as
``tests.board.support.LiveServer`` runs the Antre app): it records every request and answers
with the statuses a test scripts (then 200). Tests wait for what it received with
:meth:`Gateway.wait_for`, a condition with a timeout; nothing sleeps.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from modules.notify.deliver import NotifyDeriver
from modules.notify.module import NotifyModule
from modules.notify.site import NotifyWeb
from modules.outbox.message import Message
from queue_engine.clock import ManualClock, SequentialIds
from queue_engine.config import demo_path, load_facility
from queue_engine.domain.events import Event
from queue_engine.domain.evolve import apply
from queue_engine.domain.model import Facility
from queue_engine.domain.state import FacilityState
from queue_engine.log.base import EventLog
from queue_engine.log.memory import MemoryLog
from web.app import create_app
from web.state import AppState

from ..web.conftest import START, fast_accounts, make_settings

#: the number every test subscribes with, as a patient types it, and the forms it must never appear in
PHONE = "0812-3456-7890"
PHONE_FORMS = ("081234567890", "6281234567890", "+6281234567890", "81234567890", "0812-3456-7890", "0812 3456 7890")
GATEWAY_TOKEN = "gateway-secret-for-tests"
#: how long a test waits for the gateway before it fails
WAIT_S = 10.0


@dataclass(frozen=True, slots=True)
class Received:
    """One request the gateway got, and the status it answered."""

    body: dict[str, Any]
    authorization: str
    status: int


class Gateway:
    """Records ``POST /send``; answers the scripted statuses first (``fail(503, 503)``), then :attr:`default`."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._script: deque[int] = deque()
        #: the answer once the script is used up
        self.default = 200
        self._changed = threading.Condition()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/send"
        app = Starlette(routes=[Route("/send", self._send, methods=["POST"])])
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self._thread = threading.Thread(target=lambda: asyncio.run(self._server.serve([self.sock])), daemon=True)

    async def _send(self, request: Request) -> Response:
        body = await request.json()
        with self._changed:
            status = self._script.popleft() if self._script else self.default
            self.requests.append(Received(body, request.headers.get("authorization", ""), status))
            self._changed.notify_all()
        return JSONResponse({"ok": status == 200}, status_code=status)

    def fail(self, *statuses: int) -> None:
        """Answer the next requests with these statuses."""
        with self._changed:
            self._script.extend(statuses)

    def answer(self, status: int) -> None:
        """Answer every request after the script with ``status``."""
        with self._changed:
            self.default = status

    @property
    def delivered(self) -> list[dict[str, Any]]:
        """The bodies answered with a 2xx, in order."""
        with self._changed:
            return [r.body for r in self.requests if 200 <= r.status < 300]

    def wait_for(self, condition: Callable[[list[Received]], bool], within: float = WAIT_S) -> list[Received]:
        """Block until ``condition(requests)`` holds; fail the test after ``within`` seconds."""
        with self._changed:
            if not self._changed.wait_for(lambda: condition(self.requests), within):
                raise AssertionError(f"the gateway did not get what was expected: {self.requests}")
            return list(self.requests)

    def wait_delivered(self, count: int, within: float = WAIT_S) -> list[dict[str, Any]]:
        self.wait_for(lambda requests: sum(200 <= r.status < 300 for r in requests) >= count, within)
        return self.delivered

    def start(self) -> Gateway:
        self._thread.start()
        return self  # the socket listens already: requests wait in its backlog until uvicorn serves

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self.sock.close()


@contextmanager
def gateway() -> Iterator[Gateway]:
    server = Gateway().start()
    try:
        yield server
    finally:
        server.stop()


# --------------------------------------------------------------------------- facilities and the app


def fast_web(module: NotifyModule) -> NotifyWeb:
    """The web part with a back-off of 10 ms, so retries take no time (``module.web`` names it)."""
    return NotifyWeb(module, backoff_s=(0.01,))


def notify_module(**options: Any) -> NotifyModule:
    module = NotifyModule(**options)
    module.web = "tests.notify.support:fast_web"
    return module


def demo_with_notify(**options: Any) -> Facility:
    """The demo puskesmas with notifications enabled (``options`` as in the facility file)."""
    return replace(load_facility(demo_path()), modules=(notify_module(**options),))


@contextmanager
def notify_client(
    facility: Facility, *, log: EventLog | None = None, clock: ManualClock | None = None
) -> Iterator[TestClient]:
    """A started app (its outbox worker running on the app's loop) behind a TestClient."""
    app = create_app(
        make_settings(),
        log=log or MemoryLog(),
        clock=clock or ManualClock(START),
        ids=SequentialIds(),
        facility=facility,
        accounts=fast_accounts(),
    )
    with TestClient(app) as client:
        yield client


def web_part(client: TestClient) -> NotifyWeb:
    state: AppState = client.app_state  # type: ignore[assignment]
    part = next(p for p in state["web_modules"] if p.name == "notify")
    assert isinstance(part, NotifyWeb)
    return part


# --------------------------------------------------------------------------- the deriver as the worker runs it


def derive_all(facility: Facility, events: Iterable[Event], deriver: NotifyDeriver | None = None) -> list[Message]:
    """Fold ``events`` from an empty state and derive after each (positions from 1), as the worker does."""
    module = facility.module("notify")
    assert isinstance(module, NotifyModule)
    deriver = deriver or NotifyDeriver(module)
    state = FacilityState(facility)
    messages: list[Message] = []
    for position, event in enumerate(events, 1):
        apply(state, event)
        messages.extend(deriver.derive(position, event, state))
    return messages
