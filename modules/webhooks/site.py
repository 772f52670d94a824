"""The webhooks' web part: one outbox worker per subscription, and the admin's two endpoints.

* ``GET /api/v1/webhooks`` (an admin session): every subscription with its URL, event patterns,
  worker state, cursor, sent count, recent deliveries and failures;
* ``POST /api/v1/webhooks/{id}/replay`` ``{"from": <log position>}`` (an admin session with
  ``X-CSRF-Token``): deliver again every event after that position (same delivery ids);
* in :meth:`WebhooksWeb.start`, a worker (:class:`~modules.outbox.worker.OutboxWorker`) per subscription whose
  secret is set, when the node sends (``ANTRE_OUTBOX=off`` on every node but one in a multi-node
  deployment: each worker would otherwise send everything once per node).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from functools import partial
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx2 as httpx
from starlette.responses import Response

from web.api.common import SESSION, ApiRequest, Endpoint, read_body, submit
from web.auth import Role, check_csrf, require
from web.errors import ApiError
from web.json import JSONResponse
from web.modules import WebPart
from web.schemas import only
from web.state import AppState

from ..outbox.progress import Outbox
from ..outbox.worker import BACKOFF_S, REPORT_PROPERTIES, OutboxWorker, outbox_enabled, report
from .deliver import WebhookDeriver, WebhookSender, new_client
from .module import NAME, OUTBOX, Subscription, WebhooksModule, WebhooksState

log = logging.getLogger("antre.webhooks")


def shown_url(url: str) -> str:
    """``url`` for the admin's screen: a query string (often a token) is not shown."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query="…" if parts.query else "", fragment=""))


class WebhooksWeb(WebPart):
    name = NAME

    def __init__(
        self,
        module: WebhooksModule,
        *,
        backoff_s: tuple[float, ...] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.module = module
        #: tests shorten the retry back-off
        self.backoff_s = backoff_s or BACKOFF_S
        #: where secrets and ANTRE_OUTBOX are read (``os.environ`` at start by default)
        self.environ = environ
        self.sending = False
        self.workers: dict[str, OutboxWorker] = {}
        self.client: httpx.AsyncClient | None = None

    # -- WebModule ----------------------------------------------------------------------------

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint(
                method="GET",
                path="/api/v1/webhooks",
                handler=self.subscriptions,
                name="webhooks_list",
                summary="Webhook subscriptions: worker state, cursor, sent count, recent deliveries, failures",
                who="an admin session",
                security=(SESSION,),
                answer="Webhooks",
                errors=("unauthenticated", "forbidden"),
            ),
            Endpoint(
                method="POST",
                path="/api/v1/webhooks/{id}/replay",
                handler=self.replay,
                name="webhooks_replay",
                summary="Deliver again every event after a log position (the same delivery ids)",
                who="an admin session with X-CSRF-Token",
                security=(SESSION,),
                body=REPLAY_BODY,
                answer="Webhook",
                errors=(
                    "invalid_json",
                    "invalid_body",
                    "invalid_command",
                    "not_found",
                    "unauthenticated",
                    "forbidden",
                    "csrf_failed",
                ),
            ),
        ]

    def schemas(self) -> dict[str, Any]:
        return SCHEMAS

    def messages(self) -> dict[str, int]:
        return {"not_found": 404, "invalid_command": 422}

    async def start(self, state: AppState) -> None:
        environ = os.environ if self.environ is None else self.environ
        if not outbox_enabled(environ):
            return
        self.sending = True
        runtime = state["runtime"]
        self.client = new_client()
        for sub in self.module.subscriptions:
            secret = environ.get(sub.secret_env, "")
            if not secret:
                log.error("webhooks %s: %s is not set; nothing is sent to it", sub.id, sub.secret_env)
                continue
            worker = OutboxWorker(
                runtime=runtime,
                module=NAME,
                stream=sub.id,
                types=OUTBOX,
                outbox=partial(self._outbox, state),
                deriver=partial(WebhookDeriver, sub),
                sender=WebhookSender(sub, secret, client=self.client, clock=runtime.clock),
                backoff_s=self.backoff_s,
            )
            self.workers[sub.id] = worker
            worker.start()

    async def close(self) -> None:
        for worker in self.workers.values():
            await worker.stop()  # records how far it got
        self.workers.clear()
        if self.client is not None:
            await self.client.aclose()
            self.client = None

    # -- views ----------------------------------------------------------------------------------

    @staticmethod
    def _webhooks(state: AppState) -> WebhooksState:
        webhooks: WebhooksState = state["runtime"].state.modules[NAME]
        return webhooks

    def _outbox(self, state: AppState) -> Outbox:
        return self._webhooks(state).outbox

    def _state_of(self, sub: Subscription) -> str:
        worker = self.workers.get(sub.id)
        if worker is not None:
            return worker.state
        return "no_secret" if self.sending else "off"

    def view(self, state: AppState, sub: Subscription) -> dict[str, Any]:
        """What the admin sees of one subscription (never its secret)."""
        progress = self._webhooks(state).outbox.streams.get(sub.id)
        return {
            "id": sub.id,
            "url": shown_url(sub.url),
            "events": list(sub.events),
            **report(self.workers.get(sub.id), progress),
            "state": self._state_of(sub),
        }

    # -- handlers -------------------------------------------------------------------------------

    async def subscriptions(self, request: ApiRequest) -> Response:
        require(request, request.state["accounts"], Role.ADMIN)
        return JSONResponse({"subscriptions": [self.view(request.state, s) for s in self.module.subscriptions]})

    async def replay(self, request: ApiRequest) -> Response:
        principal = require(request, request.state["accounts"], Role.ADMIN)
        check_csrf(request, principal, None)
        sub = self.module.by_id.get(request.path_params["id"])
        if sub is None:
            raise ApiError("not_found", field="id")
        data = await read_body(request)
        only(data, ("from",))
        position = data.get("from")
        if not isinstance(position, int) or isinstance(position, bool) or position < 0:
            raise ApiError("invalid_body", field="from")
        runtime = request.state["runtime"]
        await submit(request, OUTBOX.rewind(at=runtime.now(), stream=sub.id, to=position, actor=principal.name))
        return JSONResponse(self.view(request.state, sub))


_S: dict[str, Any] = {"type": "string"}
_I: dict[str, Any] = {"type": "integer"}
REPLAY_BODY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["from"],
    "properties": {
        "from": {
            "type": "integer",
            "minimum": 0,
            "description": "a log position at most the cursor; every event after it is delivered again",
        }
    },
}
SCHEMAS: dict[str, Any] = {
    "Webhook": {
        "type": "object",
        "properties": {
            "id": _S,
            "url": {"type": "string", "description": "the query string is not shown"},
            "events": {"type": "array", "items": _S},
            **REPORT_PROPERTIES,
            "state": {"type": "string", "enum": ["idle", "sending", "retrying", "no_secret", "off"]},
        },
    },
    "Webhooks": {
        "type": "object",
        "properties": {"subscriptions": {"type": "array", "items": {"$ref": "#/components/schemas/Webhook"}}},
    },
}
