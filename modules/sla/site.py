"""SLA's web part: the judge's timer, the supervisor's live page, the alerts' outbox.

* **The judge** (:class:`Judge`): after every batch that changes a queue, a counter or a ticket,
  and at the instant a duration threshold will be crossed (the rules compute it), it measures
  the rules on the live state and, only when an alert would open or clear, submits
  :class:`~.module.Check` (the module decides it again, authoritatively, in the sequencer). A
  periodic check every ``tick_s`` (30 s) is the safety net (another node's changes, a clock step).
* **The supervisor's page** ``/supervisor`` and its push ``/ws/sla`` (the hub's
  ``module:sla/supervisor`` topic, the protocol of ``docs/protocol.md``); ``GET /api/v1/sla``
  answers the same view. Admins, and staff named in the module's ``supervisors``.
* **Sending**: an outbox worker (stream ``sla``) tells each alert opened and cleared to the
  supervisors' phones (``ANTRE_SLA_PHONES``) through the notifier of :mod:`modules.notify`;
  ``GET /api/v1/sla/outbox`` is the admin's view of it. Webhook subscribers get the same alerts
  as ``sla.alert_opened`` / ``sla.alert_cleared`` from the webhooks module.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from queue_engine.domain.deltas import CounterChanged, Delta, QueueChanged, TicketChanged
from queue_engine.domain.errors import DomainError
from queue_engine.domain.ids import Millis, TicketId
from queue_engine.log.base import LogUnavailable
from queue_engine.runtime import Result, Runtime
from web.api.common import SESSION, ApiRequest, Endpoint
from web.auth import Principal, Role, authenticate
from web.errors import ApiError
from web.hub import PushHub
from web.json import JSONResponse
from web.modules import WebPart
from web.pages import TEMPLATES, TOKEN_HEADERS, inline_static, json_script, static_url
from web.state import AppState
from web.ws import FORBIDDEN, UNAUTHENTICATED, Refused, Socket, same_origin, serve

from ..notify.deliver import HttpGatewayNotifier, LogNotifier, Notifier
from ..notify.module import InvalidPhone, mask, normalise_phone
from ..outbox.worker import BACKOFF_S, REPORT_PROPERTIES, Message, OutboxWorker, Outcome, Status, outbox_enabled, report
from .messages import Notice, SlaDeriver
from .module import NAME, OUTBOX, STREAM, Check, SlaModule, SlaState, alert_changes
from .rules import next_due, readings
from .view import supervisor_json

log = logging.getLogger("antre.sla")

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
#: the one topic: the whole facility
TOPIC = "supervisor"
#: seconds between safety-net checks
TICK_S = 30.0
#: the shortest wait before judging again (a due instant just missed is judged this soon)
MIN_DELAY_S = 0.05


@lru_cache(maxsize=8)
def _version(name: str) -> str:
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:10]


def sla_static(name: str) -> str:
    return f"/sla/static/{name}?v={_version(name)}"


def parse_phones(raw: str) -> tuple[str, ...]:
    """Supervisors' numbers from ``ANTRE_SLA_PHONES`` (comma or semicolon separated), in E.164, without repeats.

    Raises:
        ValueError: naming the entry's place, never its value.
    """
    phones: list[str] = []
    for place, part in enumerate(re.split(r"[,;]", raw), 1):
        if not part.strip():
            continue
        try:
            phone = normalise_phone(part)
        except InvalidPhone:
            raise ValueError(f"sla: supervisors' phone {place} is not an Indonesian mobile number") from None
        if phone not in phones:
            phones.append(phone)
    return tuple(phones)


class AlertSender:
    """The outbox's sender: a notice through a :class:`~modules.notify.deliver.Notifier`, unless it is stale."""

    def __init__(self, notifier: Notifier, now: Callable[[], Millis], *, stale_ms: int) -> None:
        self.notifier = notifier
        self.now = now
        self.stale_ms = stale_ms

    async def send(self, message: Message) -> Outcome:
        notice: Notice = message.body["notice"]
        late = self.now() - message.at
        if late > self.stale_ms:
            return Outcome(Status.FAILED, f"stale: {late // 60_000} min after its alert")
        return await self.notifier.send(notice.phone, notice.text, key=message.key)


class Judge:
    """Submits a check whenever an alert would open or clear: after changes, at due instants, every ``tick_s``."""

    def __init__(self, runtime: Runtime, module: SlaModule, *, tick_s: float = TICK_S) -> None:
        self.runtime = runtime
        self.module = module
        self.tick_s = tick_s
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] | None = None

    def start(self) -> None:
        self._unsubscribe = self.runtime.subscribe(self._on_batch)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="sla-judge")

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _on_batch(self, batch: list[tuple[int, Delta]]) -> None:
        # Only the engine's changes: the judge's own alerts (and outbox progress) change no measure.
        if any(isinstance(d, QueueChanged | CounterChanged | TicketChanged) for _, d in batch):
            self._wake.set()

    def _sla(self) -> SlaState:
        sla: SlaState = self.runtime.state.modules[NAME]
        return sla

    async def judge(self) -> Result | None:
        """Judge every threshold now; submit a check only when an alert opens or clears."""
        at = self.runtime.now()
        if not alert_changes(self.runtime.state, self._sla(), self.module.rules, at):
            return None
        try:
            return await self.runtime.submit(Check(at=at))
        except (DomainError, LogUnavailable):
            log.warning("sla: the check at %d was not recorded; judged again soon", at, exc_info=True)
            return None

    def delay(self) -> float:
        """Seconds until the next due instant (at most ``tick_s``)."""
        at = self.runtime.now()
        found = readings(self.runtime.state, self.module.rules, at)
        due = next_due(found, set(self._sla().open))
        if due is None:
            return self.tick_s
        return min(self.tick_s, max(MIN_DELAY_S, (due - at) / 1000))

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            delay = self.tick_s
            try:
                await self.judge()
                delay = self.delay()
            except Exception:  # a bug must not stop the judging for good: log it, try again later
                log.exception("sla: judging failed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()


class SupervisorTopic:
    """The hub's ``module:sla/supervisor`` topic: the whole facility, re-rendered on every engine change."""

    follows_engine = True

    def __init__(self, runtime: Runtime, module: SlaModule) -> None:
        self.runtime = runtime
        self.module = module

    def exists(self, ident: str) -> bool:
        return ident == TOPIC

    def render(self, ident: str, now: Millis) -> dict[str, Any] | None:
        state = self.runtime.state
        return supervisor_json(state, state.modules[NAME], self.module.rules, now)

    def touched(self, ident: str, tickets: set[TicketId]) -> bool:
        return True


class SlaWeb(WebPart):
    """Made once per app from the enabled :class:`~.module.SlaModule`."""

    name = NAME

    def __init__(
        self,
        module: SlaModule,
        *,
        tick_s: float = TICK_S,
        backoff_s: tuple[float, ...] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.module = module
        self.tick_s = tick_s
        #: tests shorten the retry back-off
        self.backoff_s = backoff_s or BACKOFF_S
        self.environ = environ
        self.judge: Judge | None = None
        self.worker: OutboxWorker | None = None
        self.notifier: Notifier | None = None
        self.phones: tuple[str, ...] = ()
        self.templates = Jinja2Templates(
            env=Environment(
                loader=ChoiceLoader([FileSystemLoader(HERE / "templates"), FileSystemLoader(TEMPLATES)]),
                autoescape=True,
            )
        )
        self.templates.env.globals.update(static_url=static_url, inline_static=inline_static, sla_static=sla_static)

    # -- WebModule ------------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/supervisor", self.page, name="sla_supervisor"),
            WebSocketRoute("/ws/sla", self.socket, name="ws-sla"),
            Mount("/sla/static", app=StaticFiles(directory=STATIC), name="sla_static"),
        ]

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint(
                method="GET",
                path="/api/v1/sla",
                handler=self.overview,
                name="sla_overview",
                summary="The supervisor's overview: queues, counters, open and recent SLA alerts",
                who="an admin session, or a staff session named in the sla module's supervisors",
                security=(SESSION,),
                answer="SlaOverview",
                errors=("unauthenticated", "forbidden"),
            ),
            Endpoint(
                method="GET",
                path="/api/v1/sla/outbox",
                handler=self.outbox,
                name="sla_outbox",
                summary="SLA alert messages to supervisors: state, cursor, recent deliveries, failures",
                who="an admin session",
                security=(SESSION,),
                answer="SlaOutbox",
                errors=("unauthenticated", "forbidden"),
            ),
        ]

    def schemas(self) -> dict[str, Any]:
        return SCHEMAS

    async def start(self, state: AppState) -> None:
        self.module.rules.check(state["facility"])  # a threshold for an unknown service: a configuration error
        unknown = sorted(self.module.supervisors - set(state["accounts"].users))
        if unknown:
            log.warning("sla: supervisors %s are not users of this facility", unknown)
        runtime = state["runtime"]
        state["hub"].add_source(NAME, SupervisorTopic(runtime, self.module))
        environ = os.environ if self.environ is None else self.environ
        self.phones = parse_phones(environ.get(self.module.phones_env, ""))
        self.judge = Judge(runtime, self.module, tick_s=self.tick_s)
        self.judge.start()
        if outbox_enabled(environ):
            self._start_worker(runtime, environ)

    def _start_worker(self, runtime: Runtime, environ: Mapping[str, str]) -> None:
        module = self.module
        if not self.phones:
            log.info("sla: %s is empty; alerts are shown on /supervisor and sent to webhooks only", module.phones_env)
        if module.gateway_url:
            token = environ.get(module.token_env, "")
            if not token:
                log.warning("sla: %s is not set; posting to the gateway without a token", module.token_env)
            self.notifier = HttpGatewayNotifier(module.gateway_url, token, module.channel)
        else:
            self.notifier = LogNotifier(module.channel)
        phones = self.phones
        self.worker = OutboxWorker(
            runtime=runtime,
            module=NAME,
            stream=STREAM,
            types=OUTBOX,
            outbox=lambda: self._sla(runtime).outbox,
            deriver=lambda: SlaDeriver(phones),
            sender=AlertSender(self.notifier, runtime.now, stale_ms=module.stale_min * 60_000),
            backoff_s=self.backoff_s,
        )
        self.worker.start()

    async def close(self) -> None:
        if self.judge is not None:
            await self.judge.stop()
        if self.worker is not None:
            await self.worker.stop()
        if self.notifier is not None:
            await self.notifier.close()

    async def tick(self) -> Result | None:
        """Judge every threshold now (what the timer does; tests call it after moving the clock)."""
        if self.judge is None:
            raise RuntimeError("the sla web part is not started")
        return await self.judge.judge()

    # -- access -----------------------------------------------------------------------------------

    @staticmethod
    def _sla(runtime: Runtime) -> SlaState:
        sla: SlaState = runtime.state.modules[NAME]
        return sla

    def may_supervise(self, principal: Principal) -> bool:
        """Admins, and staff the module names in ``supervisors``."""
        return principal.role is Role.ADMIN or (
            principal.role is Role.STAFF and principal.name in self.module.supervisors
        )

    def _supervisor(self, conn: HTTPConnection[AppState]) -> Principal:
        principal = authenticate(conn, conn.state["accounts"])
        if principal is None:
            raise ApiError("unauthenticated")
        if not self.may_supervise(principal):
            raise ApiError("forbidden")
        return principal

    def view(self, runtime: Runtime) -> dict[str, Any]:
        return supervisor_json(runtime.state, self._sla(runtime), self.module.rules, runtime.now())

    # -- pages, push, API -------------------------------------------------------------------------

    async def page(self, request: Request[AppState]) -> Response:
        """``/supervisor``: the overview, live; a log-in form (401) or a refusal (403) otherwise."""
        runtime = request.state["runtime"]
        context: dict[str, Any] = {"facility": request.state["facility"]}
        try:
            principal = self._supervisor(request)
        except ApiError as refused:
            status = 401 if refused.code == "unauthenticated" else 403
            return self._render(request, {**context, "refused": status}, status)
        boot = {
            "view": self.view(runtime),
            "now": runtime.now(),
            "heartbeat_s": request.state["settings"].heartbeat_s,
            "timezone": runtime.facility.timezone,
            "user": principal.name,
        }
        context.update(refused=None, boot=json_script(boot), user=principal.name)
        return self._render(request, context, 200)

    def _render(self, request: Request[Any], context: dict[str, Any], status: int) -> Response:
        return self.templates.TemplateResponse(
            request, "sla/supervisor.html", context, status_code=status, headers=TOKEN_HEADERS
        )

    async def socket(self, ws: Socket) -> None:
        await serve(ws, self._topic)

    async def _topic(self, ws: Socket, hub: PushHub) -> str:
        principal = authenticate(ws, ws.state["accounts"])
        if principal is None:
            raise Refused(UNAUTHENTICATED, "unauthenticated")
        if principal.via_session and not same_origin(ws, ws.state["settings"]):
            raise Refused(FORBIDDEN, "cross-origin")
        if not self.may_supervise(principal):
            raise Refused(FORBIDDEN, "forbidden")
        return f"module:{NAME}/{TOPIC}"

    async def overview(self, request: ApiRequest) -> Response:
        self._supervisor(request)
        runtime = request.state["runtime"]
        shown = {**self.view(runtime), "rules": self.module.rules.shown(), "position": runtime.state.position}
        return JSONResponse(shown)

    async def outbox(self, request: ApiRequest) -> Response:
        principal = self._supervisor(request)
        if principal.role is not Role.ADMIN:
            raise ApiError("forbidden")
        runtime = request.state["runtime"]
        progress = self._sla(runtime).outbox.streams.get(STREAM)
        return JSONResponse(
            {
                "enabled": self.worker is not None,
                "notifier": "gateway" if self.module.gateway_url else "log",
                "channel": self.module.channel,
                "phones": [mask(p) for p in self.phones],
                **report(self.worker, progress),
            }
        )


_S: dict[str, Any] = {"type": "string"}
_I: dict[str, Any] = {"type": "integer"}
_N: dict[str, Any] = {"type": ["integer", "null"]}
_ALERT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {**_S, "description": "sla-<n>"},
        "kind": {"type": "string", "enum": ["queue_length", "longest_wait", "counter_paused"]},
        "subject": {**_S, "description": "a service code or a counter id"},
        "name": _S,
        "value": {**_I, "description": "the waiting count, or minutes, when it opened"},
        "threshold": _I,
        "since": {**_N, "description": "when the condition began (ms)"},
        "opened_at": _I,
        "cleared_at": _N,
        "cleared_value": _N,
    },
}
SCHEMAS: dict[str, Any] = {
    "SlaOverview": {
        "type": "object",
        "properties": {
            "facility": _S,
            "services": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "service": _S,
                        "name": _S,
                        "waiting": _I,
                        "not_checked_in": _I,
                        "longest_wait_min": _N,
                        "longest_since": _N,
                        "serving": {"type": "array", "items": {"type": "object"}},
                        "queue_max": _N,
                        "longest_wait_limit": _N,
                        "alerts": {"type": "array", "items": _S},
                    },
                },
            },
            "counters": {"type": "array", "items": {"type": "object"}},
            "alerts": {"type": "array", "items": _ALERT},
            "recent": {"type": "array", "items": _ALERT},
            "totals": {"type": "object"},
            "rules": {"type": "object"},
            "position": _I,
        },
    },
    "SlaOutbox": {
        "type": "object",
        "properties": {
            "enabled": {"type": "boolean"},
            "notifier": {"type": "string", "enum": ["gateway", "log"]},
            "channel": _S,
            "phones": {"type": "array", "items": _S, "description": "masked: only the last 3 digits show"},
            **REPORT_PROPERTIES,
        },
    },
}
