"""Staff and admin sessions: log in, who am I, log out.

Logging in replaces the whole session (a fresh CSRF token included), so nothing set before the
login survives it. Failed logins are rate-limited per client address; a wrong username costs the
same scrypt time as a wrong password (``Accounts.login``).
"""

from __future__ import annotations

import math
from typing import Any

from starlette.responses import Response

from .. import schemas
from ..auth import Principal, authenticate, check_csrf, csrf_token
from ..errors import ApiError
from ..json import JSONResponse
from ..ratelimit import SlidingWindow
from .common import SESSION, ApiRequest, Endpoint, Handler, client_address, read_body

#: failed logins allowed per client address per minute
FAILED_LOGINS_PER_MIN = 10


def _me(request: ApiRequest, username: str) -> dict[str, Any]:
    user = request.state["accounts"].users[username]
    return {
        "username": user.username,
        "role": user.role.value,
        "counters": sorted(user.counters),
        "kelurahan": sorted(user.kelurahan),
        "name": user.name,
        "csrf": csrf_token(request),
    }


def _session_user(request: ApiRequest) -> Principal:
    principal = authenticate(request, request.state["accounts"])
    if principal is None or not principal.via_session:
        raise ApiError("unauthenticated")
    return principal


def login_handler(limiter: SlidingWindow) -> Handler:
    async def login(request: ApiRequest) -> Response:
        """``POST /api/v1/auth/login``."""
        username, password = schemas.credentials(await read_body(request))
        key = f"login:{client_address(request)}"
        now = request.state["runtime"].now()
        wait = limiter.retry_after(key, now, FAILED_LOGINS_PER_MIN)
        if wait is not None:
            raise ApiError("rate_limited", retry_after_s=math.ceil(wait / 1000))
        user = request.state["accounts"].login(username, password)
        if user is None:
            limiter.record(key, now)
            raise ApiError("bad_credentials")
        request.session.clear()
        request.session["user"] = user.username
        return JSONResponse(_me(request, user.username))

    return login


async def me(request: ApiRequest) -> Response:
    """``GET /api/v1/auth/me``: the session's user and its CSRF token."""
    return JSONResponse(_me(request, _session_user(request).name))


async def logout(request: ApiRequest) -> Response:
    """``POST /api/v1/auth/logout``: ends the session (204)."""
    check_csrf(request, _session_user(request), None)
    request.session.clear()
    return Response(status_code=204)


_ME_ERRORS = ("unauthenticated",)


def endpoints(limiter: SlidingWindow) -> list[Endpoint]:
    return [
        Endpoint(
            method="POST",
            path="/api/v1/auth/login",
            handler=login_handler(limiter),
            name="api_login",
            summary="Log in (staff, admin): sets the session cookie and answers a fresh CSRF token",
            who="anyone",
            body={
                "type": "object",
                "additionalProperties": False,
                "required": ["username", "password"],
                "properties": {
                    "username": {"type": "string", "maxLength": schemas.MAX_ID},
                    "password": {"type": "string", "maxLength": 256},
                },
            },
            answer="Me",
            errors=("invalid_json", "invalid_body", "bad_credentials", "rate_limited"),
        ),
        Endpoint(
            method="POST",
            path="/api/v1/auth/logout",
            handler=logout,
            name="api_logout",
            summary="Log out",
            who="a session, with X-CSRF-Token",
            security=(SESSION,),
            status=204,
            errors=(*_ME_ERRORS, "csrf_failed"),
        ),
        Endpoint(
            method="GET",
            path="/api/v1/auth/me",
            handler=me,
            name="api_me",
            summary="The logged-in user, their counters and the session's CSRF token",
            who="a session",
            security=(SESSION,),
            answer="Me",
            errors=_ME_ERRORS,
        ),
    ]
