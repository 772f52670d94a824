"""``GET /api/v1/openapi.json``: the OpenAPI 3.1 document, built from the same endpoint table as the routes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from starlette.responses import Response

from ..errors import MESSAGES
from ..json import JSONResponse
from ..schemas import MAX_KEY, MIN_KEY
from .common import DEVICE, IDEMPOTENCY_HEADER, METRICS_TOKEN, SESSION, ApiRequest, Endpoint

_PARAM = re.compile(r"{(\w+)}")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"oneOf": [schema, {"type": "null"}]}


_STR, _INT, _BOOL = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
_STRS = {"type": "array", "items": _STR}


def _object(required: Sequence[str] | None = None, **properties: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "required": list(properties if required is None else required),
        "properties": properties,
    }


SCHEMAS: dict[str, Any] = {
    "Error": {
        **_object(("code", "message_id", "message_en"), code=_STR, message_id=_STR, message_en=_STR),
        "properties": {
            "code": {"type": "string", "enum": sorted(MESSAGES)},
            "message_id": {"type": "string", "description": "Bahasa Indonesia"},
            "message_en": {"type": "string", "description": "English"},
            "params": {"type": "object", "description": "details, e.g. the invalid field"},
        },
    },
    "Eta": _object(at=_INT, earliest=_INT, latest=_INT, text={"type": "string", "example": "09:40\u201309:55"}),
    "Ticket": _object(
        number={"type": "string", "example": "A012"},
        service=_STR,
        service_name=_STR,
        status={"type": "string", "enum": ["waiting", "called", "serving", "done", "missed", "cancelled"]},
        checked_in=_BOOL,
        people_ahead=_nullable(_INT),
        eta=_nullable(_ref("Eta")),
        counter=_nullable(_STR),
        counter_name=_nullable(_STR),
        issued_at=_INT,
        appointment_at=_nullable(_INT),
        position={**_INT, "description": "the event-log position this view reflects"},
    ),
    "IssuedTicket": {
        "allOf": [
            _ref("Ticket"),
            {
                **_object(("token", "tracking_url"), token=_STR, tracking_url={"type": "string", "example": "/t/…"}),
                "properties": {
                    "token": {"type": "string", "description": "the holder's only credential; keep it secret"},
                    "tracking_url": _STR,
                    "ticket_id": {"type": "string", "description": "staff only"},
                },
            },
        ]
    },
    "StaffTicket": {"allOf": [_ref("Ticket"), _object(ticket_id=_STR)]},
    "WaitingTicket": _object(
        ticket_id=_STR,
        number=_STR,
        service=_STR,
        priority=_STR,
        lane={"type": "string", "enum": ["emergency", "priority", "normal"]},
        channel=_STR,
        appointment_at=_nullable(_INT),
        checked_in=_BOOL,
        people_ahead=_nullable(_INT),
        waiting_since=_INT,
    ),
    "CounterView": _object(
        counter=_STR,
        name=_STR,
        status={"type": "string", "enum": ["open", "paused", "closed"]},
        pause_reason=_STR,
        current=_nullable(_object(ticket_id=_STR, number=_STR, status=_STR, service=_STR)),
        waiting={"type": "array", "items": _ref("WaitingTicket")},
        undo=_nullable(_object(action={"type": "string", "enum": ["call", "miss", "complete"]}, until=_INT)),
        position=_INT,
    ),
    "Call": _object(
        counter=_STR,
        counter_name=_STR,
        number=_STR,
        service=_STR,
        service_name=_STR,
        recall=_BOOL,
        speech={"type": "object", "description": "the Indonesian announcement: text and voice clips"},
        at=_INT,
    ),
    "Board": _object(
        facility=_STR,
        display=_nullable(_STR),
        display_name=_STR,
        now=_INT,
        counters={
            "type": "array",
            "items": _object(
                counter=_STR, name=_STR, status=_STR, number=_nullable(_STR), ticket_status=_nullable(_STR)
            ),
        },
        queues={
            "type": "array",
            "items": _object(service=_STR, name=_STR, waiting=_INT, next=_STRS),
        },
        position=_INT,
        calls={"type": "array", "items": _ref("Call")},
    ),
    "Facility": _object(
        id=_STR,
        name=_STR,
        timezone=_STR,
        services={
            "type": "array",
            "items": _object(
                code=_STR,
                name=_STR,
                prefix=_STR,
                hours={
                    "type": "object",
                    "additionalProperties": _STRS,
                    "description": 'weekday -> windows, e.g. {"mon": ["07:00-12:00"]}; empty = always open',
                },
                next_stages=_STRS,
            ),
        },
        counters={"type": "array", "items": _object(id=_STR, name=_STR, kind=_STR, services=_STRS)},
        displays={"type": "array", "items": _object(id=_STR, name=_STR, services=_STRS)},
        priorities=_STRS,
        policy=_object(priority_ratio={"type": "array", "items": _INT, "minItems": 2, "maxItems": 2}),
    ),
    "Me": _object(
        username=_STR,
        role={"type": "string", "enum": ["admin", "staff"]},
        counters=_STRS,
        kelurahan={**_STRS, "description": "the kelurahan whose e-Lampid applications the user handles"},
        name=_STR,
        csrf={"type": "string", "description": "send it back as X-CSRF-Token on every change"},
    ),
}

SECURITY_SCHEMES: dict[str, Any] = {
    SESSION: {
        "type": "apiKey",
        "in": "cookie",
        "name": "antre_session",
        "description": "staff/admin session from POST /api/v1/auth/login; changes need the X-CSRF-Token header",
    },
    DEVICE: {"type": "http", "scheme": "bearer", "description": "a kiosk or display device token (or ?token=)"},
    METRICS_TOKEN: {"type": "http", "scheme": "bearer", "description": "ANTRE_METRICS_TOKEN"},
}


def _responses(endpoint: Endpoint, statuses: dict[str, int]) -> dict[str, Any]:
    ok: dict[str, Any] = {"description": "OK"}
    if endpoint.answer == "metrics":
        ok["content"] = {"text/plain": {"schema": {"type": "string"}}}
    elif endpoint.answer is not None:
        ok["content"] = {media: {"schema": _ref(endpoint.answer)} for media in endpoint.media}
    responses: dict[str, Any] = {str(endpoint.status): ok}
    if endpoint.retried is not None:
        responses[str(endpoint.retried)] = {**ok, "description": "OK: an idempotent retry, answered as the first time"}
    by_status: dict[int, list[str]] = {}
    for code in endpoint.errors:
        by_status.setdefault(statuses[code] if code in statuses else MESSAGES[code][0], []).append(code)
    for status, codes in sorted(by_status.items()):
        responses[str(status)] = {
            "description": ", ".join(codes),
            "content": {"application/json": {"schema": _ref("Error")}},
        }
    return responses


#: every command endpoint takes it (see ``web.api.common.keyed``)
_IDEMPOTENCY_KEY = {
    "name": IDEMPOTENCY_HEADER,
    "in": "header",
    "required": False,
    "description": (
        "Makes the command safe to send again when its answer was lost: the same key gets the first "
        "outcome and changes nothing. A random string per intent (per button press), kept for retries."
    ),
    "schema": {"type": "string", "minLength": MIN_KEY, "maxLength": MAX_KEY},
}


def operation(endpoint: Endpoint, statuses: dict[str, int] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": endpoint.name,
        "summary": endpoint.summary,
        "description": f"Who: {endpoint.who}.",
        "responses": _responses(endpoint, statuses or {}),
    }
    params: list[dict[str, Any]] = [
        {"name": p, "in": "path", "required": True, "schema": _STR} for p in _PARAM.findall(endpoint.path)
    ]
    if endpoint.method == "POST" and not endpoint.path.startswith("/api/v1/auth/"):
        params.append(_IDEMPOTENCY_KEY)
    if params:
        op["parameters"] = params
    if endpoint.body is not None:
        required = bool(endpoint.body.get("required"))
        op["requestBody"] = {"required": required, "content": {"application/json": {"schema": endpoint.body}}}
    if endpoint.security:
        op["security"] = [{scheme: []} for scheme in endpoint.security]
    return op


def document(
    endpoints: Sequence[Endpoint], *, statuses: dict[str, int] | None = None, schemas: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``endpoints``; modules add error codes (``statuses``) and ``schemas``."""
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = operation(endpoint, statuses)
    all_schemas = {**SCHEMAS, **(schemas or {})}
    if statuses:
        codes = sorted({*MESSAGES, *statuses})
        error = all_schemas["Error"]
        all_schemas["Error"] = {
            **error,
            "properties": {**error["properties"], "code": {"type": "string", "enum": codes}},
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Antre API",
            "version": "1",
            "description": (
                "The queue engine's HTTP API. JSON bodies (Content-Type: application/json). Every error is "
                "{code, message_id, message_en}; 503 answers carry Retry-After. Live updates come over "
                "WebSockets (docs/protocol.md)."
            ),
        },
        "paths": paths,
        "components": {"schemas": all_schemas, "securitySchemes": SECURITY_SCHEMES},
    }


def endpoint(
    endpoints: Sequence[Endpoint], *, statuses: dict[str, int] | None = None, schemas: dict[str, Any] | None = None
) -> Endpoint:
    """The document's own row. ``endpoints`` is read at request time, so it may include this row."""
    cached: list[dict[str, Any]] = []

    async def openapi(request: ApiRequest) -> Response:
        if not cached:
            cached.append(document(endpoints, statuses=statuses, schemas=schemas))
        return JSONResponse(cached[0])

    return Endpoint(
        method="GET",
        path="/api/v1/openapi.json",
        handler=openapi,
        name="api_openapi",
        summary="This document",
        who="anyone",
    )
