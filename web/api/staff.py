"""Staff actions on a ticket by id: requeue a missed ticket, cancel, transfer to another service.

A staff member may act on a ticket whose current service one of their own counters serves (the
same rule as ``Principal.may_operate`` for counters); an admin on any. Session + X-CSRF-Token.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from queue_engine.domain.ids import TicketId

from .. import schemas
from ..auth import Role
from ..errors import ApiError
from ..json import JSONResponse
from ..render import ticket_json
from .common import SESSION, ApiRequest, Endpoint, Handler, read_body, staff, submit

_TEXT = {"type": "string", "maxLength": schemas.MAX_TEXT}

#: action -> (summary, request body, the domain refusals it may meet)
ACTIONS: dict[str, tuple[str, dict[str, Any], tuple[str, ...]]] = {
    "requeue": (
        "Put a missed ticket back in line, a few places behind the head",
        {"type": "object", "additionalProperties": False, "properties": {}},
        ("invalid_transition",),
    ),
    "cancel": (
        "Cancel a ticket",
        {"type": "object", "additionalProperties": False, "properties": {"reason": _TEXT}},
        ("invalid_transition",),
    ),
    "transfer": (
        "Move a ticket to another service's queue (it gets that service's next number)",
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["to_service"],
            "properties": {"to_service": {"type": "string", "maxLength": schemas.MAX_ID}, "reason": _TEXT},
        },
        ("invalid_transition", "unknown_service", "same_service"),
    ),
}


def action_handler(action: str) -> Handler:
    async def ticket_action(request: ApiRequest) -> Response:
        principal = staff(request)
        runtime = request.state["runtime"]
        ticket = runtime.state.tickets.get(TicketId(request.path_params["ticket_id"]))
        if ticket is None:
            raise ApiError("ticket_not_found")
        serving = runtime.state.facility.counters_serving(ticket.service)
        if principal.role is not Role.ADMIN and not any(c.id in principal.counters for c in serving):
            raise ApiError("forbidden")
        data = await read_body(request)
        command = schemas.ticket_command(action, data, at=runtime.now(), ticket_id=ticket.id, actor=principal.name)
        await submit(request, command)
        after = runtime.state.tickets.get(ticket.id)  # the state may be a new object since (a rollback)
        if after is None:
            raise ApiError("ticket_not_found")
        return JSONResponse({"ticket_id": after.id, **ticket_json(runtime.state, after, runtime.now())})

    ticket_action.__name__ = ticket_action.__qualname__ = f"ticket_{action}"
    return ticket_action


def endpoints() -> list[Endpoint]:
    return [
        Endpoint(
            method="POST",
            path=f"/api/v1/staff/tickets/{{ticket_id}}/{action}",
            handler=action_handler(action),
            name=f"api_staff_ticket_{action}",
            summary=summary,
            who="staff of a counter serving the ticket's service, or an admin (session, X-CSRF-Token)",
            security=(SESSION,),
            body=body,
            answer="StaffTicket",
            errors=(
                "unauthenticated",
                "forbidden",
                "csrf_failed",
                "ticket_not_found",
                "invalid_json",
                "invalid_body",
                *refusals,
                "log_unavailable",
            ),
        )
        for action, (summary, body, refusals) in ACTIONS.items()
    ]
