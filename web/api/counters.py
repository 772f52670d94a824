"""Counters: the staff console's view of one counter and the actions on it.

Staff may operate only their own counters (``Principal.may_operate``), admins any; every action
is cookie-authenticated, so it must carry the session's CSRF token (``X-CSRF-Token``). The view
shows ticket ids and numbers, never tracking tokens.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from queue_engine.domain.commands import Command, Undo
from queue_engine.domain.ids import CounterId, Millis

from .. import schemas
from ..auth import Principal, Role, check_csrf, require
from ..errors import ApiError
from ..json import JSONResponse
from ..render import counter_json
from .common import SESSION, ApiRequest, Endpoint, Handler, read_body, submit
from .tickets import EMPTY_BODY


def undo_command(at: Millis, counter: CounterId, actor: str) -> Command:
    """The command that takes back the counter's last call, skip or completion."""
    return Undo(at=at, counter=counter, actor=actor)


def _operator(request: ApiRequest, counter: CounterId) -> Principal:
    """Staff of ``counter`` or an admin (401/403); 404 for an admin naming an unknown counter."""
    principal = require(request, request.state["accounts"], Role.STAFF, Role.ADMIN)
    if not principal.may_operate(counter):
        raise ApiError("forbidden")
    if counter not in request.state["facility"].counters:
        raise ApiError("unknown_counter", counter=counter)
    return principal


async def get_counter(request: ApiRequest) -> Response:
    """``GET /api/v1/counters/{counter_id}``."""
    counter = CounterId(request.path_params["counter_id"])
    _operator(request, counter)
    runtime = request.state["runtime"]
    return JSONResponse(counter_json(runtime.state, counter, runtime.now()))


def action_handler(action: str) -> Handler:
    async def counter_action(request: ApiRequest) -> Response:
        counter = CounterId(request.path_params["counter_id"])
        principal = _operator(request, counter)
        check_csrf(request, principal, None)
        data = await read_body(request)
        runtime = request.state["runtime"]
        at = runtime.now()
        if action == "undo":
            schemas.only(data)
            command = undo_command(at, counter, principal.name)
        else:
            command = schemas.counter_command(action, data, at=at, counter=counter, actor=principal.name)
        await submit(request, command)
        return JSONResponse(counter_json(runtime.state, counter, runtime.now()))

    counter_action.__name__ = counter_action.__qualname__ = f"counter_{action.replace('-', '_')}"
    return counter_action


def _body(required: tuple[str, ...] = (), **properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": list(required), "properties": properties}


_TEXT = {"type": "string", "maxLength": schemas.MAX_TEXT}
_ID = {"type": "string", "maxLength": schemas.MAX_ID}
_CURRENT = ("counter_idle", "invalid_transition")

#: action -> (summary, request body, the domain refusals it may meet)
ACTIONS: dict[str, tuple[str, dict[str, Any], tuple[str, ...]]] = {
    "open": ("Open the counter", EMPTY_BODY, ("invalid_counter_transition",)),
    "pause": (
        "Pause the counter, with a reason",
        _body(("reason",), reason=_TEXT),
        ("reason_required", "invalid_counter_transition"),
    ),
    "close": ("Close the counter (it must be free)", EMPTY_BODY, ("counter_busy", "invalid_counter_transition")),
    "call-next": (
        "Call the best waiting ticket across the counter's services (optionally completing the current one first)",
        _body(complete_current={"type": "boolean", "default": False}),
        ("counter_not_open", "counter_busy", "queue_empty", "invalid_transition"),
    ),
    "call": (
        "Call one ticket out of order; who and why are recorded",
        _body(("ticket_id", "reason"), ticket_id=_ID, reason=_TEXT),
        (
            "counter_not_open",
            "counter_busy",
            "reason_required",
            "ticket_not_found",
            "invalid_transition",
            "service_not_served",
        ),
    ),
    "recall": ("Call the current ticket again", EMPTY_BODY, _CURRENT),
    "start": ("Start serving the called ticket", EMPTY_BODY, _CURRENT),
    "complete": (
        "Complete the current ticket; with next_service the visit goes on to that stage",
        _body(next_service=_ID),
        (*_CURRENT, "unknown_service", "stage_not_allowed"),
    ),
    "skip": ("Mark the called ticket missed (no-show)", EMPTY_BODY, _CURRENT),
    "undo": (
        "Take back this counter's last call, skip or completion (within the undo window)",
        EMPTY_BODY,
        ("nothing_to_undo", "invalid_transition"),
    ),
}

_AUTH_ERRORS = ("unauthenticated", "forbidden", "unknown_counter")
_WHO = "staff of this counter or an admin (session)"


def endpoints() -> list[Endpoint]:
    rows = [
        Endpoint(
            method="GET",
            path="/api/v1/counters/{counter_id}",
            handler=get_counter,
            name="api_counter",
            summary="A counter: status, current ticket, waiting tickets in call order, what can be undone",
            who=_WHO,
            security=(SESSION,),
            answer="CounterView",
            errors=_AUTH_ERRORS,
        )
    ]
    for action, (summary, body, refusals) in ACTIONS.items():
        rows.append(
            Endpoint(
                method="POST",
                path=f"/api/v1/counters/{{counter_id}}/{action}",
                handler=action_handler(action),
                name=f"api_counter_{action.replace('-', '_')}",
                summary=summary,
                who=f"{_WHO}, with X-CSRF-Token",
                security=(SESSION,),
                body=body,
                answer="CounterView",
                errors=(*_AUTH_ERRORS, "csrf_failed", "invalid_json", "invalid_body", *refusals, "log_unavailable"),
            )
        )
    return rows
