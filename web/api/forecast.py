"""``GET /api/v1/forecast?date=YYYY-MM-DD``: expected arrivals per hour and service, and counters to open (admin).

The method is :mod:`queue_engine.demand` (weighted same-weekday means, a damped trend, a count
range, M/M/c sizing); the past is read from the log by :func:`queue_engine.history.forecast_from_log`
(a binary search to the window's start, then only the ticket events, decoded off the event loop).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from starlette.responses import Response

from queue_engine.demand import TARGET_WAIT_MIN, WEEKS, forecast_dict
from queue_engine.history import forecast_from_log

from ..auth import Role, require
from ..errors import ApiError
from ..json import JSONResponse
from .common import SESSION, ApiRequest, Endpoint

#: the most weeks of history one request may read, and the target waits it may ask for (minutes)
MAX_WEEKS = 12
WAIT_RANGE = (1, 240)


def _int(request: ApiRequest, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise ApiError("invalid_body", field=name)
    return int(raw)


def _date(request: ApiRequest, default: date) -> date:
    raw = request.query_params.get("date")
    if raw is None or raw == "":
        return default
    try:
        if len(raw) != 10:  # YYYY-MM-DD only
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise ApiError("invalid_body", field="date") from None


async def get_forecast(request: ApiRequest) -> Response:
    require(request, request.state["accounts"], Role.ADMIN)
    runtime = request.state["runtime"]
    today = date.fromisoformat(runtime.state.local_day(runtime.now()))
    day = _date(request, today + timedelta(days=1))
    weeks = _int(request, "weeks", WEEKS, 1, MAX_WEEKS)
    wait = _int(request, "wait", int(TARGET_WAIT_MIN), *WAIT_RANGE)
    facility = request.state["facility"]
    result = await forecast_from_log(runtime.log, facility, day, today=today, weeks=weeks, target_wait_min=wait)
    return JSONResponse(forecast_dict(result, facility))


def endpoints() -> list[Endpoint]:
    return [
        Endpoint(
            method="GET",
            path="/api/v1/forecast",
            handler=get_forecast,
            name="api_forecast",
            summary="Demand forecast: expected arrivals per hour and service for a day (default tomorrow), "
            "their 10-90 % range, and the counters that keep the median wait under the target",
            who="an admin session; query: date=YYYY-MM-DD, weeks=1-12 (default 4), wait=minutes (default 15)",
            security=(SESSION,),
            answer="Forecast",
            errors=("invalid_body", "unauthenticated", "forbidden", "log_unavailable"),
        )
    ]


_S: dict[str, Any] = {"type": "string"}
_I: dict[str, Any] = {"type": "integer"}
_N: dict[str, Any] = {"type": "number"}
SCHEMAS: dict[str, Any] = {
    "Forecast": {
        "type": "object",
        "properties": {
            "date": {**_S, "format": "date"},
            "weekday": {**_I, "description": "0 Monday … 6 Sunday"},
            "weeks": _I,
            "target_wait_min": _N,
            "status": {"type": "string", "enum": ["ok", "not_enough_data"]},
            "message_id": {**_S, "description": "why there is no forecast, or a warning; empty when none"},
            "message_en": _S,
            "same_weekdays": {**_I, "description": "same-weekday days in the window the log covers"},
            "open_same_weekdays": {**_I, "description": "... of which had arrivals"},
            "services": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "service": _S,
                        "name": _S,
                        "service_min": {**_N, "description": "mean call-to-completion minutes used"},
                        "service_min_source": {"type": "string", "enum": ["observed", "configured"]},
                        "completed": _I,
                        "trend": {**_N, "description": "the recent level factor applied (1 = as usual)"},
                        "closed": {"type": "boolean"},
                        "expected_total": _N,
                        "peak_counters": _I,
                        "hours": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "hour": _I,
                                    "from": _S,
                                    "to": _S,
                                    "expected": _N,
                                    "low": {**_I, "description": "10th percentile"},
                                    "high": {**_I, "description": "90th percentile"},
                                    "counters": {**_I, "description": "fewest counters with a median wait <= target"},
                                    "p_wait": {**_N, "description": "share who wait at all with that many (Erlang C)"},
                                    "median_wait_min": {"type": ["number", "null"]},
                                },
                            },
                        },
                    },
                },
            },
        },
    }
}
