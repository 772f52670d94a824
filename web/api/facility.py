"""``GET /api/v1/facility``: the facility's public configuration (anyone; kiosks and pages start here)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from queue_engine.config import DAYS
from queue_engine.domain.model import Facility, Priority, Service

from ..json import JSONResponse
from .common import ApiRequest, Endpoint


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _hours(service: Service) -> dict[str, list[str]]:
    """``{"mon": ["07:00-12:00"], …}``; an empty mapping means always open."""
    return {
        DAYS[day]: [f"{_clock(start)}-{_clock(end)}" for start, end in windows]
        for day, windows in sorted(service.hours.items())
    }


def facility_json(facility: Facility) -> dict[str, Any]:
    return {
        "id": facility.id,
        "name": facility.name,
        "timezone": facility.timezone,
        "services": [
            {
                "code": s.code,
                "name": s.name,
                "prefix": s.prefix,
                "hours": _hours(s),
                "next_stages": list(s.next_stages),
            }
            for s in facility.services.values()
        ],
        "counters": [
            {"id": c.id, "name": c.name, "kind": c.kind, "services": list(c.services)}
            for c in facility.counters.values()
        ],
        "displays": [{"id": d.id, "name": d.name, "services": list(d.services)} for d in facility.displays],
        "priorities": [p.value for p in Priority],
        "policy": {"priority_ratio": list(facility.policy.priority_ratio)},
    }


async def get_facility(request: ApiRequest) -> Response:
    return JSONResponse(facility_json(request.state["facility"]))


def endpoints() -> list[Endpoint]:
    return [
        Endpoint(
            method="GET",
            path="/api/v1/facility",
            handler=get_facility,
            name="api_facility",
            summary="The facility: services, counters, displays, priority classes, ordering policy",
            who="anyone",
            answer="Facility",
        )
    ]
