"""Tickets: issue (kiosk, staff, anonymous remote booking), and what a token holder may do.

The tracking token is the patient's only credential: it is answered once, to whoever issued the
ticket (and again to an idempotent retry by the same caller), and never appears in any other view.
"""

from __future__ import annotations

import math
from typing import Any

from starlette.responses import Response

from queue_engine.domain.commands import Cancel, CheckIn
from queue_engine.domain.ids import TicketId
from queue_engine.domain.model import Channel, Priority
from queue_engine.domain.state import Ticket
from queue_engine.runtime import Runtime

from .. import schemas
from ..auth import Principal, Role, authenticate, bearer_token, check_csrf, require
from ..errors import ApiError
from ..json import JSONResponse
from ..ratelimit import SlidingWindow
from ..render import ticket_json
from .common import (
    DEVICE,
    SESSION,
    ApiRequest,
    Endpoint,
    Handler,
    client_address,
    read_body,
    submit,
    ticket_by_token,
)

TICKET_ERRORS = ("ticket_not_found", "invalid_transition", "log_unavailable")


def _ticket(runtime: Runtime, ticket_id: TicketId | None) -> Ticket:
    ticket = runtime.state.tickets.get(ticket_id) if ticket_id is not None else None
    if ticket is None:  # it was forgotten already (a day ended in between): nothing to show
        raise ApiError("ticket_not_found")
    return ticket


def _rendered(runtime: Runtime, ticket_id: TicketId | None) -> dict[str, Any]:
    return ticket_json(runtime.state, _ticket(runtime, ticket_id), runtime.now())


def _issuer(request: ApiRequest, principal: Principal | None, limiter: SlidingWindow) -> tuple[Channel, str]:
    """The channel a ticket comes in by, and the idempotency-key scope of its caller."""
    if principal is None and bearer_token(request) is not None:
        # A device token that matches no device: refuse, never fall back to an anonymous booking
        # (a misconfigured kiosk would otherwise hand out remote tickets that are not checked in).
        raise ApiError("unauthenticated")
    if principal is None:  # remote booking from a phone: rate-limited per client address
        address = client_address(request)
        rate = request.state["settings"].issue_rate_per_min
        wait = limiter.hit(f"issue:{address}", request.state["runtime"].now(), rate)
        if wait is not None:
            raise ApiError("rate_limited", retry_after_s=math.ceil(wait / 1000))
        # Keys of anonymous callers are scoped by address too: a weak key (a timestamp, say) chosen by
        # one phone must not fetch another phone's ticket and token.
        return Channel.WEB, f"web:{address}"
    if principal.role is Role.KIOSK:
        return Channel.KIOSK, f"kiosk:{principal.name}"
    if principal.role in (Role.STAFF, Role.ADMIN):
        check_csrf(request, principal, None)
        return Channel.STAFF, f"staff:{principal.name}"
    raise ApiError("forbidden")


def issue_handler(limiter: SlidingWindow) -> Handler:
    async def issue_ticket(request: ApiRequest) -> Response:
        """``POST /api/v1/tickets``: 201 with the token (200 for an idempotent retry)."""
        runtime = request.state["runtime"]
        principal = authenticate(request, request.state["accounts"])
        channel, scope = _issuer(request, principal, limiter)
        data = await read_body(request)
        command = schemas.issue_ticket(data, at=runtime.now(), ids=runtime.ids, channel=channel, key_scope=scope)
        if channel is Channel.WEB and command.priority is Priority.DARURAT:
            raise ApiError("forbidden", field="priority")  # an emergency is triaged in person, not self-booked
        result = await submit(request, command)
        ticket = _ticket(runtime, result.ticket_id)
        answer: dict[str, Any] = {
            "token": ticket.token,
            "tracking_url": f"/t/{ticket.token}",
            **ticket_json(runtime.state, ticket, runtime.now()),
        }
        if channel is Channel.STAFF:
            answer["ticket_id"] = ticket.id
        return JSONResponse(answer, status_code=201 if result.events else 200)

    return issue_ticket


async def get_ticket(request: ApiRequest) -> Response:
    """``GET /api/v1/tickets/{token}``: the holder's view of their ticket."""
    runtime = request.state["runtime"]
    ticket = ticket_by_token(request, request.path_params["token"])
    return JSONResponse(ticket_json(runtime.state, ticket, runtime.now()))


async def cancel_ticket(request: ApiRequest) -> Response:
    """``POST /api/v1/tickets/{token}/cancel``: the holder gives up their place."""
    runtime = request.state["runtime"]
    ticket = ticket_by_token(request, request.path_params["token"])
    schemas.only(await read_body(request))
    result = await submit(request, Cancel(at=runtime.now(), ticket_id=ticket.id, actor="patient"))
    return JSONResponse(_rendered(runtime, result.ticket_id))


async def check_in(request: ApiRequest) -> Response:
    """``POST /api/v1/tickets/{token}/check-in``: the kiosk (or staff) saw the holder arrive."""
    runtime = request.state["runtime"]
    principal = require(request, request.state["accounts"], Role.KIOSK, Role.STAFF, Role.ADMIN)
    check_csrf(request, principal, None)
    ticket = ticket_by_token(request, request.path_params["token"])
    schemas.only(await read_body(request))
    result = await submit(request, CheckIn(at=runtime.now(), ticket_id=ticket.id))
    return JSONResponse(_rendered(runtime, result.ticket_id))


ISSUE_BODY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["service"],
    "properties": {
        "service": {"type": "string", "maxLength": schemas.MAX_ID},
        "priority": {"type": "string", "enum": [p.value for p in Priority], "default": "umum"},
        "payer": {"type": "string", "enum": ["umum", "jkn"], "default": "umum"},
        "appointment_at": {"type": "integer", "minimum": 0, "description": "slot start, ms since the epoch"},
        "idempotency_key": {"type": "string", "minLength": schemas.MIN_KEY, "maxLength": schemas.MAX_KEY},
    },
}
EMPTY_BODY: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": {}}


def endpoints(limiter: SlidingWindow) -> list[Endpoint]:
    body_errors = ("invalid_json", "invalid_body")
    return [
        Endpoint(
            method="POST",
            path="/api/v1/tickets",
            handler=issue_handler(limiter),
            name="api_issue_ticket",
            summary="Take a number",
            who=(
                "a kiosk device (channel kiosk), a staff or admin session with X-CSRF-Token (channel staff; the "
                "answer also has ticket_id), or anyone (channel web: remote booking, rate-limited per client "
                "address, needs a check-in on arrival, no darurat)"
            ),
            security=(DEVICE, SESSION),
            body=ISSUE_BODY,
            status=201,
            retried=200,
            answer="IssuedTicket",
            errors=(
                *body_errors,
                "unknown_service",
                "quota_exhausted",
                "outside_opening_hours",
                "appointment_in_past",
                "duplicate_id",
                "rate_limited",
                "unauthenticated",
                "forbidden",
                "csrf_failed",
                "log_unavailable",
            ),
        ),
        Endpoint(
            method="GET",
            path="/api/v1/tickets/{token}",
            handler=get_ticket,
            name="api_ticket",
            summary="A ticket, as its holder sees it (position, ETA, counter)",
            who="whoever holds the ticket's token",
            answer="Ticket",
            errors=("ticket_not_found",),
        ),
        Endpoint(
            method="POST",
            path="/api/v1/tickets/{token}/cancel",
            handler=cancel_ticket,
            name="api_ticket_cancel",
            summary="Cancel one's own ticket",
            who="whoever holds the ticket's token",
            body=EMPTY_BODY,
            answer="Ticket",
            errors=(*body_errors, *TICKET_ERRORS),
        ),
        Endpoint(
            method="POST",
            path="/api/v1/tickets/{token}/check-in",
            handler=check_in,
            name="api_ticket_check_in",
            summary="Check a remote ticket in on arrival (the kiosk scans its QR code)",
            who="a kiosk device, or a staff or admin session with X-CSRF-Token",
            security=(DEVICE, SESSION),
            body=EMPTY_BODY,
            answer="Ticket",
            errors=(*body_errors, *TICKET_ERRORS, "checkin_not_allowed", "unauthenticated", "forbidden", "csrf_failed"),
        ),
    ]
