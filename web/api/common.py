"""What every API handler shares: the endpoint table row, body reading, submitting, lookups, auth steps.

Each resource module lists its :class:`Endpoint` rows; ``web.api.routes()`` turns them into
Starlette routes and ``web.api.openapi`` into the OpenAPI document, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from queue_engine.domain.commands import Command, Keyed
from queue_engine.domain.ids import TicketToken
from queue_engine.domain.state import Ticket
from queue_engine.runtime import Result

from ..auth import Principal, Role, check_csrf, require
from ..errors import ApiError
from ..metrics import metrics_for
from ..schemas import MAX_BODY, MAX_KEY, MIN_KEY, Body, parse_json
from ..state import AppState

ApiRequest = Request[AppState]
Handler = Callable[[ApiRequest], Awaitable[Response]]

#: OpenAPI security requirement names (see ``web.api.openapi``)
SESSION, DEVICE, METRICS_TOKEN = "session", "device", "metricsToken"


@dataclass(frozen=True, slots=True, kw_only=True)
class Endpoint:
    """One route of the API and what the OpenAPI document says about it."""

    method: str
    path: str
    handler: Handler
    name: str
    summary: str
    #: who may call it, in words (goes into the OpenAPI description)
    who: str
    #: security schemes that can authorise it; empty = anyone
    security: tuple[str, ...] = ()
    #: JSON schema of the request body, if it takes one
    body: dict[str, Any] | None = None
    #: the success status and the name of the response schema (None: no body)
    status: int = 200
    answer: str | None = None
    #: media types the success answer may come in (a module's file download: several)
    media: tuple[str, ...] = ("application/json",)
    #: the status of an idempotent retry's answer, when it differs (issuing: 200 with the first ticket)
    retried: int | None = None
    #: error codes it may answer with (``web.errors.MESSAGES`` keys)
    errors: tuple[str, ...] = ()


async def read_body(request: ApiRequest) -> Body:
    """The request's JSON object, at most :data:`~web.schemas.MAX_BODY` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise ApiError("invalid_body", field="body")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise ApiError("invalid_body", field="body")
        chunks.append(chunk)
    return parse_json(b"".join(chunks), request.headers.get("content-type"))


#: request header that makes a command safe to send again after a lost reply (see ``keyed``)
IDEMPOTENCY_HEADER = "Idempotency-Key"


def keyed(request: ApiRequest, command: Command) -> Command:
    """``command`` wrapped in :class:`~queue_engine.domain.commands.Keyed` when the request has an
    ``Idempotency-Key`` header: sent again with the same key, it is answered with the first outcome.

    A client that got no answer (a timeout, a dropped connection, a 503) cannot tell whether the
    command was written; with the key it can simply send it again. The key is scoped by command
    type, actor and ticket, so one client's key never answers another's command.
    """
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return command
    if not MIN_KEY <= len(key) <= MAX_KEY or not key.isascii() or not key.isprintable():
        raise ApiError("invalid_body", field=IDEMPOTENCY_HEADER)
    scope = (type(command).__name__, getattr(command, "actor", ""), getattr(command, "ticket_id", ""))
    return Keyed(key=":".join((*scope, key)), command=command)


async def submit(request: ApiRequest, command: Command) -> Result:
    """Run ``command`` on the runtime (timed and observed for the metrics); keyed if the request says so."""
    state = request.state
    return await metrics_for(state["registry"]).submit(state["runtime"], keyed(request, command))


def ticket_by_token(request: ApiRequest, token: str) -> Ticket:
    """The ticket a tracking token names; 404 ``ticket_not_found`` otherwise."""
    state = request.state["runtime"].state
    ticket_id = state.by_token.get(TicketToken(token))
    ticket = state.tickets.get(ticket_id) if ticket_id is not None else None
    if ticket is None:
        raise ApiError("ticket_not_found")
    return ticket


def staff(request: ApiRequest) -> Principal:
    """A staff or admin principal allowed to change state: 401/403 otherwise, then the CSRF check."""
    principal = require(request, request.state["accounts"], Role.STAFF, Role.ADMIN)
    check_csrf(request, principal, None)
    return principal


def client_address(request: ApiRequest) -> str:
    """The client's address (uvicorn's ``--proxy-headers`` puts the real one here behind a proxy)."""
    return request.client.host if request.client is not None else "unknown"
