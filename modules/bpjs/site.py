"""The BPJS bridge's web part: the outbox worker to BPJS, the Mobile JKN endpoints, the admin's view.

* ``POST /api/v1/bpjs/visits``: the registration counter (or the SIMRS) links a ticket to the
  patient's BPJS identity (``LinkVisit``); Mobile JKN bookings are linked when they are made;
* ``GET /api/v1/bpjs/outbox``: the admin's view of the deliveries (state, cursor, recent, failures);
  ``POST /api/v1/bpjs/outbox/rewind``: send again from a log position;
* the endpoints Mobile JKN calls (:mod:`.mobilejkn`);
* the worker (:class:`~modules.outbox.worker.OutboxWorker`) that derives the BPJS messages from
  the log (:mod:`.tasks`) and sends them signed (:mod:`.client`), when the node sends
  (``ANTRE_OUTBOX=off`` on every node but one in a multi-node deployment).
"""

from __future__ import annotations

import os
from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute

from queue_engine.clock import Clock
from queue_engine.domain.ids import TicketId
from web.api.common import SESSION, ApiRequest, Endpoint, read_body, staff, submit
from web.auth import Role, require
from web.errors import ApiError
from web.json import JSONResponse
from web.modules import WebPart
from web.schemas import only
from web.state import AppState

from ..outbox.worker import BACKOFF_S, REPORT_PROPERTIES, OutboxWorker, outbox_enabled, report
from .client import BpjsClient, Credentials
from .module import NAME, OUTBOX, STREAM, BpjsModule, BpjsState, LinkVisit, Visit
from .tasks import TaskDeriver

#: the environment variables that hold the credentials (never the facility file)
ENV = {"cons_id": "ANTRE_BPJS_CONS_ID", "secret": "ANTRE_BPJS_SECRET", "user_key": "ANTRE_BPJS_USER_KEY"}


class BpjsWeb(WebPart):
    name = NAME

    def __init__(
        self,
        module: BpjsModule,
        *,
        backoff_s: tuple[float, ...] = BACKOFF_S,
        clock: Clock | None = None,
        send_timeout_s: float = 10.0,
    ) -> None:
        self.module = module
        self.worker: OutboxWorker | None = None
        self.client: BpjsClient | None = None
        #: tests shorten the retry back-off and the timeout, and sign with the wall clock
        self.backoff_s = backoff_s
        self.clock = clock
        self.send_timeout_s = send_timeout_s

    # -- WebModule ----------------------------------------------------------------------------

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint(
                method="POST",
                path="/api/v1/bpjs/visits",
                handler=self.link_visit,
                name="bpjs_link_visit",
                summary="Link a ticket to the patient's BPJS identity (reported to BPJS Antrean Online)",
                who="a staff or admin session with X-CSRF-Token",
                security=(SESSION,),
                body=VISIT_BODY,
                answer="BpjsVisit",
                errors=("invalid_json", "invalid_body", "invalid_visit", "unauthenticated", "forbidden", "csrf_failed"),
            ),
            Endpoint(
                method="GET",
                path="/api/v1/bpjs/outbox",
                handler=self.outbox,
                name="bpjs_outbox",
                summary="Deliveries to BPJS: state, cursor, recent deliveries, failures",
                who="an admin session",
                security=(SESSION,),
                answer="Outbox",
                errors=("unauthenticated", "forbidden"),
            ),
            Endpoint(
                method="POST",
                path="/api/v1/bpjs/outbox/rewind",
                handler=self.rewind,
                name="bpjs_outbox_rewind",
                summary="Send again everything after a log position",
                who="an admin session with X-CSRF-Token",
                security=(SESSION,),
                body=REWIND_BODY,
                answer="Outbox",
                errors=("invalid_json", "invalid_body", "invalid_command", "unauthenticated", "forbidden"),
            ),
        ]

    def schemas(self) -> dict[str, Any]:
        return SCHEMAS

    def messages(self) -> dict[str, int]:
        return {"invalid_visit": 422, "invalid_command": 422}

    def routes(self) -> list[BaseRoute]:
        from . import mobilejkn

        return mobilejkn.routes(self)

    async def start(self, state: AppState) -> None:
        self.state = state
        if not self.module.base_url or not outbox_enabled(os.environ):
            return
        credentials = Credentials.from_environ(os.environ, ENV)
        self.client = BpjsClient(
            self.module.base_url,
            credentials,
            clock=self.clock or state["runtime"].clock,
            timeout_s=self.send_timeout_s,
        )
        module = self.module
        runtime = state["runtime"]
        self.worker = OutboxWorker(
            runtime=runtime,
            module=NAME,
            stream=STREAM,
            types=OUTBOX,
            outbox=lambda: self._bpjs(state).outbox,
            deriver=lambda: TaskDeriver(module),
            sender=self.client,
            backoff_s=self.backoff_s,
            send_timeout_s=self.send_timeout_s + 1.0,
        )
        self.worker.start()

    async def close(self) -> None:
        if self.worker is not None:
            await self.worker.stop()
        if self.client is not None:
            await self.client.close()

    # -- handlers -------------------------------------------------------------------------------

    def _bpjs(self, state: AppState) -> BpjsState:
        bpjs: BpjsState = state["runtime"].state.modules[NAME]
        return bpjs

    async def link_visit(self, request: ApiRequest) -> Response:
        staff(request)
        data = await read_body(request)
        only(data, VISIT_BODY["properties"])
        fields: dict[str, Any] = {}
        for name, schema in VISIT_BODY["properties"].items():
            value = data.get(name)
            if value is None:
                if name in VISIT_BODY["required"]:
                    raise ApiError("invalid_body", field=name)
                continue
            if not isinstance(value, int if schema["type"] == "integer" else str) or isinstance(value, bool):
                raise ApiError("invalid_body", field=name)
            fields[name] = value
        visit = Visit(ticket_id=TicketId(fields.pop("ticket_id")), source="loket", **fields)
        await submit(request, LinkVisit(at=request.state["runtime"].now(), visit=visit))
        return JSONResponse({"ticket_id": visit.ticket_id, "kodebooking": visit.kodebooking}, status_code=201)

    def _outbox_json(self, request: ApiRequest) -> dict[str, Any]:
        progress = self._bpjs(request.state).outbox.streams.get(STREAM)
        return {"enabled": self.worker is not None, **report(self.worker, progress)}

    async def outbox(self, request: ApiRequest) -> Response:
        require(request, request.state["accounts"], Role.ADMIN)
        return JSONResponse(self._outbox_json(request))

    async def rewind(self, request: ApiRequest) -> Response:
        principal = staff(request)
        if principal.role is not Role.ADMIN:
            raise ApiError("forbidden")
        data = await read_body(request)
        only(data, ("to",))
        to = data.get("to")
        if not isinstance(to, int) or isinstance(to, bool) or to < 0:
            raise ApiError("invalid_body", field="to")
        runtime = request.state["runtime"]
        await submit(request, OUTBOX.rewind(at=runtime.now(), stream=STREAM, to=to, actor=principal.name))
        return JSONResponse(self._outbox_json(request))


_S: dict[str, Any] = {"type": "string"}
_I: dict[str, Any] = {"type": "integer"}
VISIT_BODY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["ticket_id", "kodebooking", "jenispasien", "nik"],
    "properties": {
        "ticket_id": _S,
        "kodebooking": _S,
        "jenispasien": {"type": "string", "enum": ["JKN", "NON JKN"]},
        "nik": _S,
        "nomorkartu": _S,
        "nohp": _S,
        "norm": _S,
        "pasienbaru": _I,
        "jeniskunjungan": _I,
        "nomorreferensi": _S,
    },
}
REWIND_BODY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["to"],
    "properties": {"to": {"type": "integer", "minimum": 0}},
}
SCHEMAS: dict[str, Any] = {
    "BpjsVisit": {"type": "object", "properties": {"ticket_id": _S, "kodebooking": _S}},
    "Outbox": {"type": "object", "properties": {"enabled": {"type": "boolean"}, **REPORT_PROPERTIES}},
}
