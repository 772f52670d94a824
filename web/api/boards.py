"""``GET /api/v1/boards/{display_id}``: what a TV board shows, plus the calls now standing.

For that display's device token (``Authorization: Bearer`` or ``?token=``), staff and admins.
Numbers, counters and services only: no ticket ids, no tokens, no names.
"""

from __future__ import annotations

from starlette.responses import Response

from ..auth import Role, require
from ..errors import ApiError
from ..json import JSONResponse
from ..render import board_json, last_calls
from .common import DEVICE, SESSION, ApiRequest, Endpoint


async def get_board(request: ApiRequest) -> Response:
    display_id = request.path_params["display_id"]
    principal = require(request, request.state["accounts"], Role.DISPLAY, Role.STAFF, Role.ADMIN)
    if principal.role is Role.DISPLAY and principal.display != display_id:
        raise ApiError("forbidden")
    runtime = request.state["runtime"]
    display = next((d for d in runtime.state.facility.displays if d.id == display_id), None)
    if display is None:
        raise ApiError("not_found")
    state = runtime.state
    return JSONResponse({**board_json(state, display, runtime.now()), "calls": last_calls(state, display)})


def endpoints() -> list[Endpoint]:
    return [
        Endpoint(
            method="GET",
            path="/api/v1/boards/{display_id}",
            handler=get_board,
            name="api_board",
            summary="A board: counters with their current numbers, the next numbers per service, standing calls",
            who="that display's device token, staff or an admin",
            security=(DEVICE, SESSION),
            answer="Board",
            errors=("unauthenticated", "forbidden", "not_found"),
        )
    ]
