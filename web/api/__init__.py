"""The versioned HTTP API (``/api/v1``) and ``/metrics``: thin handlers that parse, submit a command, render.

One table of :class:`~web.api.common.Endpoint` rows (one module per resource) gives both the routes
and the OpenAPI document. Per-app objects (the rate limiter) are made here, since ``routes()`` runs
once per ``create_app``; nothing lives at module level.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from starlette.routing import BaseRoute, Route

from ..metrics import metrics_endpoint
from ..ratelimit import SlidingWindow
from . import auth, boards, counters, facility, forecast, openapi, staff, tickets
from .common import METRICS_TOKEN, SESSION, Endpoint

if TYPE_CHECKING:
    from ..modules import WebModule

METRICS = Endpoint(
    method="GET",
    path="/metrics",
    handler=metrics_endpoint,
    name="metrics",
    summary="Prometheus metrics (text exposition format)",
    who="an admin session, or Authorization: Bearer <ANTRE_METRICS_TOKEN>",
    security=(SESSION, METRICS_TOKEN),
    answer="metrics",
    errors=("unauthenticated", "forbidden"),
)


def endpoints(web_modules: Sequence[WebModule] = ()) -> list[Endpoint]:
    """Every endpoint of one app, the modules' too (the rate limiter is shared by issuing and logging in)."""
    limiter = SlidingWindow()
    rows = [
        *facility.endpoints(),
        *tickets.endpoints(limiter),
        *counters.endpoints(),
        *staff.endpoints(),
        *boards.endpoints(),
        *auth.endpoints(limiter),
        METRICS,
        *forecast.endpoints(),
        *(row for part in web_modules for row in part.endpoints()),
    ]
    statuses = {code: status for part in web_modules for code, status in part.messages().items()}
    schemas = {**forecast.SCHEMAS, **{name: schema for part in web_modules for name, schema in part.schemas().items()}}
    rows.append(openapi.endpoint(rows, statuses=statuses, schemas=schemas))
    return rows


def routes(web_modules: Sequence[WebModule] = ()) -> list[BaseRoute]:
    return [Route(e.path, e.handler, methods=[e.method], name=e.name) for e in endpoints(web_modules)]
