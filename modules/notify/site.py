"""Notifications' web part: the ticket holder's subscription, the outbox worker, the admin's view.

* ``GET / PUT / DELETE /api/v1/tickets/{token}/notify``: whoever holds the ticket's token (the
  patient's phone page) sees, sets or removes the number told about it; ``PUT`` is rate-limited
  per client address and per ticket. Answers show the number masked to its last 3 digits;
* ``GET /api/v1/notify/outbox``: the admin's view of the deliveries (state, cursor, recent
  deliveries with masked numbers, failures);
* the worker (:class:`~modules.outbox.worker.OutboxWorker`, stream ``notify``) that derives the
  messages from the log (:class:`~.deliver.NotifyDeriver`) and sends them through the gateway
  (:class:`~.deliver.HttpGatewayNotifier`) or only logs them (:class:`~.deliver.LogNotifier`),
  on the node that sends (``ANTRE_OUTBOX=off`` on every node but one).
"""

from __future__ import annotations

import logging
import math
import os
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from starlette.responses import Response

from queue_engine.domain.ids import Millis, TicketId
from web.api.common import SESSION, ApiRequest, Endpoint, client_address, read_body, submit, ticket_by_token
from web.auth import Role, require
from web.errors import ApiError
from web.json import JSONResponse
from web.modules import WebPart
from web.ratelimit import SlidingWindow
from web.schemas import only
from web.state import AppState

from ..outbox.worker import (
    BACKOFF_S,
    REPORT_PROPERTIES,
    Message,
    OutboxWorker,
    Outcome,
    Status,
    outbox_enabled,
    report,
)
from .deliver import HttpGatewayNotifier, LogNotifier, Notice, Notifier, NotifyDeriver
from .module import NAME, OUTBOX, STREAM, NotifyModule, NotifyState, Subscribe, Unsubscribe, mask

log = logging.getLogger("antre.notify")

#: subscription changes allowed per minute from one client address (a puskesmas Wi-Fi is one address)
RATE_PER_ADDRESS = 20
#: ... and for one ticket (a typo corrected, not a number tried after another)
RATE_PER_TICKET = 5
#: a message not delivered this long after its event is given up ("called" two hours late misleads)
STALE_MS = 30 * 60_000
#: masked recipients kept for the admin's list of recent deliveries
KEEP_RECIPIENTS = 500


class NoticeSender:
    """The outbox's sender: a message's notice through a :class:`~.deliver.Notifier`, unless it is stale."""

    def __init__(self, notifier: Notifier, now: Callable[[], Millis], *, stale_ms: int = STALE_MS) -> None:
        self.notifier = notifier
        self.now = now
        self.stale_ms = stale_ms
        #: message key -> the masked number it went to (for the admin)
        self.recipients: OrderedDict[str, str] = OrderedDict()

    async def send(self, message: Message) -> Outcome:
        notice: Notice = message.body["notice"]
        self.recipients[message.key] = mask(notice.phone)
        while len(self.recipients) > KEEP_RECIPIENTS:
            self.recipients.popitem(last=False)
        late = self.now() - message.at
        if late > self.stale_ms:
            return Outcome(Status.FAILED, f"stale: {late // 60_000} min after its event")
        return await self.notifier.send(notice.phone, notice.text, key=message.key)


class NotifyWeb(WebPart):
    name = NAME

    def __init__(
        self,
        module: NotifyModule,
        *,
        backoff_s: tuple[float, ...] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.module = module
        #: tests shorten the retry back-off
        self.backoff_s = backoff_s
        self.environ = os.environ if environ is None else environ
        self.worker: OutboxWorker | None = None
        self.sender: NoticeSender | None = None
        self.notifier: Notifier | None = None
        self.limiter = SlidingWindow()

    # -- WebModule ----------------------------------------------------------------------------

    def endpoints(self) -> list[Endpoint]:
        path = "/api/v1/tickets/{token}/notify"
        holder = "whoever holds the ticket's token"
        return [
            Endpoint(
                method="GET",
                path=path,
                handler=self.status,
                name="notify_status",
                summary="Whether the ticket's holder is told by WhatsApp / SMS, and on which number (masked)",
                who=holder,
                answer="NotifySubscription",
                errors=("ticket_not_found",),
            ),
            Endpoint(
                method="PUT",
                path=path,
                handler=self.subscribe,
                name="notify_subscribe",
                summary="Be told by WhatsApp / SMS when a few people are ahead and when the ticket is called",
                who=f"{holder}; rate-limited per client address and per ticket; only while the ticket waits",
                body=SUBSCRIBE_BODY,
                answer="NotifySubscription",
                errors=(
                    "invalid_json",
                    "invalid_body",
                    "invalid_phone",
                    "ticket_not_found",
                    "notify_not_waiting",
                    "rate_limited",
                    "log_unavailable",
                ),
            ),
            Endpoint(
                method="DELETE",
                path=path,
                handler=self.unsubscribe,
                name="notify_unsubscribe",
                summary="Stop the WhatsApp / SMS messages (the number is forgotten by the live state)",
                who=holder,
                answer="NotifySubscription",
                errors=("ticket_not_found", "log_unavailable"),
            ),
            Endpoint(
                method="GET",
                path="/api/v1/notify/outbox",
                handler=self.outbox,
                name="notify_outbox",
                summary="Notification deliveries: state, cursor, recent deliveries (numbers masked), failures",
                who="an admin session",
                security=(SESSION,),
                answer="NotifyOutbox",
                errors=("unauthenticated", "forbidden"),
            ),
        ]

    def schemas(self) -> dict[str, Any]:
        return SCHEMAS

    def messages(self) -> dict[str, int]:
        return {"invalid_phone": 422, "notify_not_waiting": 409}

    async def start(self, state: AppState) -> None:
        self.state = state
        if not outbox_enabled(self.environ):
            return
        module = self.module
        runtime = state["runtime"]
        notifier: Notifier
        if module.gateway_url:
            token = self.environ.get(module.token_env, "")
            if not token:
                log.warning("notify: %s is not set; posting to the gateway without a token", module.token_env)
            notifier = HttpGatewayNotifier(module.gateway_url, token, module.channel)
        else:
            notifier = LogNotifier(module.channel)
        self.notifier = notifier
        self.sender = NoticeSender(notifier, runtime.now)
        self.worker = OutboxWorker(
            runtime=runtime,
            module=NAME,
            stream=STREAM,
            types=OUTBOX,
            outbox=lambda: self._notify(state).outbox,
            deriver=lambda: NotifyDeriver(module),
            sender=self.sender,
            backoff_s=self.backoff_s or BACKOFF_S,
        )
        self.worker.start()

    async def close(self) -> None:
        if self.worker is not None:
            await self.worker.stop()
        if self.notifier is not None:
            await self.notifier.close()

    # -- handlers -------------------------------------------------------------------------------

    def _notify(self, state: AppState) -> NotifyState:
        notify: NotifyState = state["runtime"].state.modules[NAME]
        return notify

    def _answer(self, request: ApiRequest, ticket_id: TicketId) -> JSONResponse:
        subscription = self._notify(request.state).subscriptions.get(ticket_id)
        return JSONResponse(
            {
                "subscribed": subscription is not None,
                "phone": mask(subscription.phone) if subscription is not None else None,
                "ahead": list(self.module.ahead),
                "channel": self.module.channel,
            }
        )

    async def status(self, request: ApiRequest) -> Response:
        ticket = ticket_by_token(request, request.path_params["token"])
        return self._answer(request, ticket.id)

    def _limit(self, request: ApiRequest, ticket_id: TicketId) -> None:
        now = request.state["runtime"].now()
        keys = (
            (f"notify:address:{client_address(request)}", RATE_PER_ADDRESS),
            (f"notify:ticket:{ticket_id}", RATE_PER_TICKET),
        )
        waits = [w for key, limit in keys if (w := self.limiter.retry_after(key, now, limit)) is not None]
        if waits:
            raise ApiError("rate_limited", retry_after_s=math.ceil(max(waits) / 1000))
        for key, _ in keys:
            self.limiter.record(key, now)

    async def subscribe(self, request: ApiRequest) -> Response:
        ticket = ticket_by_token(request, request.path_params["token"])
        self._limit(request, ticket.id)
        data = await read_body(request)
        only(data, SUBSCRIBE_BODY["properties"])
        phone = data.get("phone")
        if not isinstance(phone, str):
            raise ApiError("invalid_body", field="phone")
        await submit(request, Subscribe(at=request.state["runtime"].now(), ticket_id=ticket.id, phone=phone))
        return self._answer(request, ticket.id)

    async def unsubscribe(self, request: ApiRequest) -> Response:
        ticket = ticket_by_token(request, request.path_params["token"])
        await submit(request, Unsubscribe(at=request.state["runtime"].now(), ticket_id=ticket.id))
        return self._answer(request, ticket.id)

    async def outbox(self, request: ApiRequest) -> Response:
        require(request, request.state["accounts"], Role.ADMIN)
        notify = self._notify(request.state)
        progress = notify.outbox.streams.get(STREAM)
        worker, sender = self.worker, self.sender
        recipients = sender.recipients if sender is not None else {}
        shown = report(worker, progress)
        return JSONResponse(
            {
                "enabled": worker is not None,
                "notifier": "gateway" if self.module.gateway_url else "log",
                "channel": self.module.channel,
                "ahead": list(self.module.ahead),
                "subscribed": len(notify.subscriptions),
                **shown,
                "recent": [{**d, "to": recipients.get(d["key"])} for d in shown["recent"]],
            }
        )


_S: dict[str, Any] = {"type": "string"}
_I: dict[str, Any] = {"type": "integer"}
SUBSCRIBE_BODY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["phone"],
    "properties": {
        "phone": {
            "type": "string",
            "maxLength": 32,
            "description": "an Indonesian mobile number: 08…, +628… or 628… (spaces and hyphens allowed)",
            "examples": ["0811-2233-4455"],
        }
    },
}
SCHEMAS: dict[str, Any] = {
    "NotifySubscription": {
        "type": "object",
        "properties": {
            "subscribed": {"type": "boolean"},
            "phone": {"type": ["string", "null"], "description": "masked: only the last 3 digits show"},
            "ahead": {"type": "array", "items": _I, "description": "people ahead that trigger a message"},
            "channel": {"type": "string", "enum": ["whatsapp", "sms"]},
        },
    },
    "NotifyOutbox": {
        "type": "object",
        "properties": {
            "enabled": {"type": "boolean"},
            "notifier": {"type": "string", "enum": ["gateway", "log"]},
            "channel": _S,
            "ahead": {"type": "array", "items": _I},
            "subscribed": _I,
            **REPORT_PROPERTIES,
        },
    },
}
