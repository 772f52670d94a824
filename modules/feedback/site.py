"""Feedback's web part: the ticket holder rates the visit; the admin reads the aggregates.

* ``GET / PUT /api/v1/tickets/{token}/feedback``: whoever holds the ticket's token (the patient's
  phone page) sees or gives the visit's rating (1-5) and an optional comment, once the ticket is
  done; giving it again replaces the earlier answer. ``PUT`` is rate-limited per client address
  and per ticket;
* ``GET /api/v1/feedback?from=YYYY-MM-DD&to=YYYY-MM-DD``: an admin's report: count, mean and
  distribution per service and counter, per day, and the comments newest first — never a ticket
  id, a token or a time of day.

The phone page's card is ``web/templates/phone.html`` (section ``#fb``) with
``web/static/feedback.js`` and ``feedback.css``, inlined only when the module is enabled.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

from starlette.responses import Response

from queue_engine.domain.ids import CounterId, ServiceCode, TicketId
from queue_engine.domain.status import TicketStatus
from web.api.common import SESSION, ApiRequest, Endpoint, client_address, read_body, submit, ticket_by_token
from web.auth import Role, require
from web.errors import ApiError
from web.json import JSONResponse
from web.modules import WebPart
from web.ratelimit import SlidingWindow
from web.schemas import only

from .module import MAX_COMMENT, NAME, RATINGS, FeedbackModule, FeedbackState, Rate
from .report import Report, Tally, report

#: ratings given per minute from one client address (a puskesmas Wi-Fi is one address)
RATE_PER_ADDRESS = 30
#: ... and for one ticket (a rating corrected, not a counter flooded)
RATE_PER_TICKET = 5
#: the longest comment the API reads at all (the module keeps at most MAX_COMMENT after cleaning)
MAX_RAW_COMMENT = 4 * MAX_COMMENT
#: the default report: the last 30 days; the longest: 366 days
DEFAULT_DAYS = 30
MAX_DAYS = 366
#: comments in one report
REPORT_COMMENTS = 200


class FeedbackWeb(WebPart):
    name = NAME

    def __init__(self, module: FeedbackModule) -> None:
        self.module = module
        self.limiter = SlidingWindow()

    def endpoints(self) -> list[Endpoint]:
        path = "/api/v1/tickets/{token}/feedback"
        holder = "whoever holds the ticket's token"
        return [
            Endpoint(
                method="GET",
                path=path,
                handler=self.status,
                name="feedback_status",
                summary="Whether the visit is done and rated, and the holder's own rating and comment",
                who=holder,
                answer="FeedbackAnswer",
                errors=("ticket_not_found",),
            ),
            Endpoint(
                method="PUT",
                path=path,
                handler=self.rate,
                name="feedback_rate",
                summary="Rate the finished visit 1-5 with an optional comment (again: replaces the first answer)",
                who=f"{holder}; only once the ticket is done; rate-limited per client address and per ticket",
                body=RATE_BODY,
                answer="FeedbackAnswer",
                errors=(
                    "invalid_json",
                    "invalid_body",
                    "invalid_feedback",
                    "ticket_not_found",
                    "feedback_not_done",
                    "rate_limited",
                    "log_unavailable",
                ),
            ),
            Endpoint(
                method="GET",
                path="/api/v1/feedback",
                handler=self.report,
                name="feedback_report",
                summary="Patient ratings by service and counter, per day, and comments (no ticket, token or time)",
                who="an admin session",
                security=(SESSION,),
                answer="FeedbackReport",
                errors=("invalid_body", "unauthenticated", "forbidden"),
            ),
        ]

    def schemas(self) -> dict[str, Any]:
        return SCHEMAS

    def messages(self) -> dict[str, int]:
        return {"feedback_not_done": 409, "invalid_feedback": 422}

    # -- handlers -------------------------------------------------------------------------------

    def _state(self, request: ApiRequest) -> FeedbackState:
        state: FeedbackState = request.state["runtime"].state.modules[NAME]
        return state

    def _answer(self, request: ApiRequest, ticket_id: TicketId, done: bool) -> JSONResponse:
        answer = self._state(request).answers.get(ticket_id)
        return JSONResponse(
            {
                "done": done,
                "rated": answer is not None,
                "rating": None if answer is None else answer.rating,
                "comment": None if answer is None or answer.comment is None else answer.comment.text,
                "max_comment": MAX_COMMENT,
            }
        )

    async def status(self, request: ApiRequest) -> Response:
        ticket = ticket_by_token(request, request.path_params["token"])
        return self._answer(request, ticket.id, ticket.status is TicketStatus.DONE)

    def _limit(self, request: ApiRequest, ticket_id: TicketId) -> None:
        now = request.state["runtime"].now()
        keys = (
            (f"feedback:address:{client_address(request)}", RATE_PER_ADDRESS),
            (f"feedback:ticket:{ticket_id}", RATE_PER_TICKET),
        )
        waits = [w for key, limit in keys if (w := self.limiter.retry_after(key, now, limit)) is not None]
        if waits:
            raise ApiError("rate_limited", retry_after_s=math.ceil(max(waits) / 1000))
        for key, _ in keys:
            self.limiter.record(key, now)

    async def rate(self, request: ApiRequest) -> Response:
        ticket = ticket_by_token(request, request.path_params["token"])
        self._limit(request, ticket.id)
        data = await read_body(request)
        only(data, RATE_BODY["properties"])
        rating = data.get("rating")
        if not isinstance(rating, int) or isinstance(rating, bool):
            raise ApiError("invalid_body", field="rating")
        comment = data.get("comment")
        if comment is None:
            comment = ""
        if not isinstance(comment, str) or len(comment) > MAX_RAW_COMMENT:
            raise ApiError("invalid_body", field="comment")
        command = Rate(at=request.state["runtime"].now(), ticket_id=ticket.id, rating=rating, comment=comment)
        await submit(request, command)
        return self._answer(request, ticket.id, True)

    async def report(self, request: ApiRequest) -> Response:
        require(request, request.state["accounts"], Role.ADMIN)
        runtime = request.state["runtime"]
        today = date.fromisoformat(runtime.state.local_day(runtime.now()))
        last = _day(request, "to", today)
        first = _day(request, "from", last - timedelta(days=DEFAULT_DAYS - 1))
        if first > last or (last - first).days >= MAX_DAYS:
            raise ApiError("invalid_body", field="from")
        result = report(self._state(request), first.isoformat(), last.isoformat(), comments=REPORT_COMMENTS)
        return JSONResponse(report_json(request, result))


def _day(request: ApiRequest, name: str, default: date) -> date:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        if len(raw) != 10:  # YYYY-MM-DD only (fromisoformat also takes 20261126)
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise ApiError("invalid_body", field=name) from None


def _tally(tally: Tally) -> dict[str, Any]:
    mean = tally.mean
    return {
        "count": tally.count,
        "mean": None if mean is None else round(mean, 2),
        "distribution": {str(r): n for r, n in zip(RATINGS, tally.counts, strict=True)},
    }


def report_json(request: ApiRequest, result: Report) -> dict[str, Any]:
    """The report with service and counter names: aggregates and cleaned comments, nothing that names a ticket."""
    facility = request.state["facility"]

    def service_name(code: ServiceCode) -> str:
        service = facility.services.get(code)
        return service.name if service is not None else code

    def counter_name(cid: CounterId | None) -> str | None:
        counter = facility.counters.get(cid) if cid is not None else None
        return counter.name if counter is not None else cid

    return {
        "from": result.first,
        "to": result.last,
        "total": _tally(result.total),
        "services": [
            {
                "service": s.service,
                "name": service_name(s.service),
                **_tally(s.tally),
                "counters": [
                    {"counter": c.counter, "name": counter_name(c.counter), **_tally(c.tally)} for c in s.counters
                ],
            }
            for s in result.services
        ],
        "days": [{"day": d.day, **_tally(d.tally)} for d in result.days],
        "comments": [
            {
                "day": c.day,
                "service": c.service,
                "service_name": service_name(c.service),
                "counter": c.counter,
                "counter_name": counter_name(c.counter),
                "rating": c.rating,
                "text": c.text,
            }
            for c in result.comments
        ],
        "comments_total": result.comments_total,
    }


_S: dict[str, Any] = {"type": "string"}
_I: dict[str, Any] = {"type": "integer"}
_TALLY: dict[str, Any] = {
    "count": _I,
    "mean": {"type": ["number", "null"], "description": "mean rating, 2 decimals; null when nobody rated"},
    "distribution": {
        "type": "object",
        "description": "how many gave each rating, keys '1' to '5'",
        "additionalProperties": _I,
    },
}
RATE_BODY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["rating"],
    "properties": {
        "rating": {"type": "integer", "minimum": 1, "maximum": 5, "description": "1 very poor … 5 very good"},
        "comment": {
            "type": ["string", "null"],
            "maxLength": MAX_COMMENT,
            "description": "optional; no personal data. Stored cleaned: one line, numbers of 6+ digits and "
            "e-mail addresses replaced by […]",
        },
    },
}
SCHEMAS: dict[str, Any] = {
    "FeedbackAnswer": {
        "type": "object",
        "properties": {
            "done": {"type": "boolean", "description": "the visit is finished (only then can it be rated)"},
            "rated": {"type": "boolean"},
            "rating": {"type": ["integer", "null"]},
            "comment": {"type": ["string", "null"], "description": "the holder's own comment, as stored (cleaned)"},
            "max_comment": _I,
        },
    },
    "FeedbackReport": {
        "type": "object",
        "properties": {
            "from": {**_S, "format": "date"},
            "to": {**_S, "format": "date"},
            "total": {"type": "object", "properties": _TALLY},
            "services": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "service": _S,
                        "name": _S,
                        **_TALLY,
                        "counters": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {"counter": {"type": ["string", "null"]}, "name": _S, **_TALLY},
                            },
                        },
                    },
                },
            },
            "days": {"type": "array", "items": {"type": "object", "properties": {"day": _S, **_TALLY}}},
            "comments": {
                "type": "array",
                "description": "newest first; the visit's day, never its time, ticket or token",
                "items": {
                    "type": "object",
                    "properties": {
                        "day": _S,
                        "service": _S,
                        "service_name": _S,
                        "counter": {"type": ["string", "null"]},
                        "counter_name": {"type": ["string", "null"]},
                        "rating": _I,
                        "text": _S,
                    },
                },
            },
            "comments_total": _I,
        },
    },
}
