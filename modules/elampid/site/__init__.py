"""e-Lampid's web part (``ElampidModule.web``): its API, pages, live status and handover listener.

* API: :mod:`.api` (``/api/v1/lampid/…``, in the OpenAPI document);
* pages: ``/lampid`` (apply), ``/lampid/r/<receipt>`` (the applicant's live status, behind the
  PIN), ``/lampid/staff`` (the kelurahan's console), static files under ``/lampid/static``;
* push: ``/ws/lampid/<receipt>`` on the hub's ``module:elampid/<application id>`` topic, same
  protocol as a ticket's (snapshot, updates, heartbeats, resume with ``?after=``);
* listener: when the handover ticket of an application is completed at the counter, the
  application is marked handed over (a keyed command, so several nodes do it once);
* the kiosk's check-in accepts the receipt's QR (``/lampid/r/<receipt>``).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader
from markupsafe import Markup
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from queue_engine.domain.commands import Keyed
from queue_engine.domain.deltas import Delta, TicketChanged
from queue_engine.domain.ids import Millis, TicketId
from queue_engine.domain.status import TicketStatus
from queue_engine.runtime import Runtime
from web.auth import csrf_token
from web.hub import PushHub
from web.pages import TEMPLATES, TOKEN_HEADERS, inline_static, json_script, public_base, qr_svg, static_url
from web.state import AppState
from web.ws import FORBIDDEN, NOT_FOUND, UNAUTHENTICATED, Refused, Socket, same_origin, serve

from .. import module as m
from ..domain import ApplicationId, ApplicationState, ApplicationStatus, ReceiptNumber
from ..uploads import UploadStore
from . import access
from .api import Api
from .table import SCHEMAS, STATUSES
from .views import STATUS_WORDS, STEPS, application_json, fields_json, kinds_json

log = logging.getLogger("antre.elampid")

#: uploads not attached to any application are removed at start after this long
UNATTACHED_UPLOAD_S = 24 * 3600

HERE = Path(__file__).resolve().parent.parent
STATIC = HERE / "static"


@lru_cache(maxsize=32)
def _version(name: str) -> str:
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:10]


def lampid_static(name: str) -> str:
    return f"/lampid/static/{name}?v={_version(name)}"


class ElampidWeb:
    """Made once per app from the enabled :class:`~modules.elampid.module.ElampidModule`."""

    name = m.NAME

    def __init__(self, module: m.ElampidModule, *, pin_cost: int = 2**14) -> None:
        self.module = module
        #: scrypt cost of PIN hashes (tests lower it)
        self.pin_cost = pin_cost
        self._store: UploadStore | None = None
        self._state: AppState | None = None
        self._unsubscribe: Any = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.api = Api(self)
        self.templates = Jinja2Templates(
            env=Environment(
                loader=ChoiceLoader([FileSystemLoader(HERE / "templates"), FileSystemLoader(TEMPLATES)]),
                autoescape=True,
            )
        )
        self.templates.env.globals.update(
            static_url=static_url, inline_static=inline_static, lampid_static=lampid_static
        )

    # -- WebModule ------------------------------------------------------------------------------

    @property
    def store(self) -> UploadStore:
        if self._store is None:
            raise RuntimeError("e-Lampid's web part is not started")
        return self._store

    def endpoints(self) -> list[Any]:
        return self.api.endpoints()

    def schemas(self) -> dict[str, Any]:
        return SCHEMAS

    def messages(self) -> dict[str, int]:
        return STATUSES

    def check_in_paths(self) -> list[tuple[str, str]]:
        return [("/lampid/r/", "/api/v1/lampid/receipts/{code}/check-in")]

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/lampid", self.apply_page, name="lampid_apply"),
            Route("/lampid/r/{receipt}", self.status_page, name="lampid_status"),
            Route("/lampid/staff", self.staff_page, name="lampid_staff"),
            Mount(
                "/lampid/static",
                app=GZipMiddleware(StaticFiles(directory=STATIC), minimum_size=1024),
                name="lampid_static",
            ),
            WebSocketRoute("/ws/lampid/{receipt}", self.socket, name="ws-lampid"),
        ]

    async def start(self, state: AppState) -> None:
        self._state = state
        self._store = UploadStore(state["settings"].data_path / "uploads", max_bytes=self.module.max_upload_bytes)
        applications: ApplicationState = state["runtime"].state.modules[m.NAME]
        attached = {f.upload_id for r in applications.applications.values() for f in r.files}
        swept = self._store.sweep(attached, older_than_s=UNATTACHED_UPLOAD_S, now_s=time.time())
        if swept:
            log.info("removed %d uploads never attached to an application", swept)
        state["hub"].add_source(m.NAME, _Topics(state["runtime"]))
        self._unsubscribe = state["runtime"].subscribe(self._on_batch)
        # A completion whose hand-over was not written yet when the server stopped is carried out now.
        for ticket_id in list(state["runtime"].state.modules[m.NAME].tickets):
            self._hand_over_if_done(ticket_id)

    async def idle(self) -> None:
        """Wait until the listener's commands in flight are done (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- helpers ----------------------------------------------------------------------------------

    def base_url(self, request: Request[Any]) -> str:
        return public_base(request)

    def receipt_qr(self, url: str) -> Markup:
        return qr_svg(url, "QR tanda terima e-Lampid")

    def _render(self, request: Request[Any], name: str, **ctx: Any) -> Response:
        context = {"facility": request.state["facility"], **ctx}
        return self.templates.TemplateResponse(request, name, context, headers=TOKEN_HEADERS)

    # -- pages --------------------------------------------------------------------------------------

    async def apply_page(self, request: Request[AppState]) -> Response:
        boot = {
            "kelurahan": list(self.module.kelurahan),
            "kinds": kinds_json(),
            "fields": fields_json(),
            "max_upload_bytes": self.module.max_upload_bytes,
            "accept": "application/pdf,image/jpeg,image/png",
            "csrf": csrf_token(request),
        }
        return self._render(request, "elampid/apply.html", boot=json_script(boot))

    async def status_page(self, request: Request[AppState]) -> Response:
        receipt = request.path_params["receipt"]
        runtime = request.state["runtime"]
        state: ApplicationState = runtime.state.modules[m.NAME]
        application_id = state.receipts.get(ReceiptNumber(receipt))
        record = state.applications.get(application_id) if application_id is not None else None
        unlocked = record is not None and access.is_applicant(request, record)
        boot = {
            "receipt_number": receipt,
            "unlocked": unlocked,
            "application": application_json(record, runtime.state, runtime.now(), staff=False)
            if record is not None and unlocked
            else None,
            "csrf": csrf_token(request),
            "heartbeat_s": request.state["settings"].heartbeat_s,
            "status_words": STATUS_WORDS,
            "steps": [s.value for s in STEPS],
            "kinds": kinds_json(),
            "fields": fields_json(),
            "max_upload_bytes": self.module.max_upload_bytes,
        }
        qr = self.receipt_qr(f"{public_base(request)}/lampid/r/{receipt}")
        return self._render(request, "elampid/status.html", boot=json_script(boot), receipt_qr=qr)

    async def staff_page(self, request: Request[AppState]) -> Response:
        boot = {
            "kinds": kinds_json(),
            "fields": fields_json(),
            "status_words": STATUS_WORDS,
            "kelurahan": list(self.module.kelurahan),
        }
        return self._render(request, "elampid/staff.html", boot=json_script(boot))

    # -- push -----------------------------------------------------------------------------------------

    async def socket(self, ws: Socket) -> None:
        """The applicant's live status: the session that unlocked the application is the credential."""
        await serve(ws, self._topic)

    async def _topic(self, ws: Socket, hub: PushHub) -> str:
        state: ApplicationState = hub.runtime.state.modules[m.NAME]
        application_id = state.receipts.get(ReceiptNumber(ws.path_params["receipt"]))
        if application_id is None:
            raise Refused(NOT_FOUND, "unknown receipt")
        if not same_origin(ws, ws.state["settings"]):
            raise Refused(FORBIDDEN, "cross-origin")
        if not access.is_applicant(ws, state.applications[application_id]):
            raise Refused(UNAUTHENTICATED, "unlock with the PIN first")
        return f"module:{m.NAME}/{application_id}"

    # -- listener -------------------------------------------------------------------------------------

    def _on_batch(self, batch: list[tuple[int, Delta]]) -> None:
        """A handover ticket completed at the counter: the certificate was handed over."""
        for _, delta in batch:
            if isinstance(delta, TicketChanged):
                self._hand_over_if_done(delta.ticket_id)

    def _hand_over_if_done(self, ticket_id: TicketId) -> None:
        assert self._state is not None
        runtime = self._state["runtime"]
        state: ApplicationState = runtime.state.modules[m.NAME]
        application_id = state.tickets.get(ticket_id)
        if application_id is None:
            return
        ticket = runtime.state.tickets.get(ticket_id)
        done = ticket is not None and ticket.status is TicketStatus.DONE
        if done and state.applications[application_id].status is ApplicationStatus.SIAP_DIAMBIL:
            task = asyncio.get_running_loop().create_task(self._hand_over(runtime, application_id, ticket_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _hand_over(self, runtime: Runtime, application_id: ApplicationId, ticket_id: TicketId) -> None:
        command = m.HandOver(at=runtime.now(), application_id=application_id, actor=f"loket:{ticket_id}")
        try:
            await runtime.submit(Keyed(key=f"elampid:handed_over:{application_id}", command=command))
        except Exception:  # another node did it first, or the log is down: staff can still press "Serahkan"
            log.info("automatic hand-over of an application failed", exc_info=True)


class _Topics:
    """The hub's view of e-Lampid topics: one per application, shown to its applicant."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def _state(self) -> ApplicationState:
        state: ApplicationState = self.runtime.state.modules[m.NAME]
        return state

    def exists(self, ident: str) -> bool:
        return ApplicationId(ident) in self._state().applications

    def render(self, ident: str, now: Millis) -> dict[str, Any] | None:
        record = self._state().applications.get(ApplicationId(ident))
        return None if record is None else application_json(record, self.runtime.state, now, staff=False)

    def touched(self, ident: str, tickets: set[TicketId]) -> bool:
        record = self._state().applications.get(ApplicationId(ident))
        return record is not None and record.handover_ticket in tickets
