"""Request bodies -> command objects. Shapes and types only: every business rule lives in the core.

A body is a JSON object (``Content-Type: application/json``; an empty body counts as ``{}``).
Anything else is refused before a command exists, so a bad request can change nothing:

* not JSON, or JSON sent under another content type -> ``ApiError("invalid_json")`` (400). The
  content-type rule matters: a cross-site ``<form>`` can only send ``text/plain``, and a cross-site
  ``fetch`` with ``application/json`` needs a CORS preflight this API never grants;
* a field of the wrong type, a missing required field, an unknown enum value or an unknown field
  -> ``ApiError("invalid_body", field=name)`` (422).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any, TypeVar

import orjson

from queue_engine.clock import IdSource
from queue_engine.domain import commands as c
from queue_engine.domain.ids import CounterId, Millis, ServiceCode, TicketId
from queue_engine.domain.model import Channel, Payer, Priority

from .errors import ApiError

#: bytes accepted in a request body
MAX_BODY = 16 * 1024
#: characters in a free-text field (reasons)
MAX_TEXT = 200
#: characters in an identifier (service code, ticket id, username)
MAX_ID = 64
#: an idempotency key is long enough not to be guessed (it answers with the ticket's token)
MIN_KEY, MAX_KEY = 16, 128
#: the largest ms timestamp accepted (year 9999): beyond it datetime cannot render the value
MAX_MILLIS = 253_402_300_799_999

E = TypeVar("E", bound=StrEnum)
Body = dict[str, Any]


def parse_json(raw: bytes, content_type: str | None) -> Body:
    """The JSON object in ``raw``; ``{}`` for an empty body.

    Raises:
        ApiError: ``invalid_json`` (not JSON, or not sent as JSON), ``invalid_body`` (not an object).
    """
    if not raw.strip():
        return {}
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
        raise ApiError("invalid_json", field="content-type")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ApiError("invalid_json") from None
    if not isinstance(data, dict):
        raise ApiError("invalid_body", field="body")
    return data


def only(data: Body, allowed: Iterable[str] = ()) -> None:
    """Refuse any field not in ``allowed`` (a typo must not be silently ignored)."""
    for name in data:
        if name not in allowed:
            raise ApiError("invalid_body", field=name)


def text(data: Body, name: str, *, required: bool = False, max_len: int = MAX_TEXT, min_len: int = 0) -> str | None:
    """A string field (``null`` counts as absent)."""
    value = data.get(name)
    if value is None:
        if required:
            raise ApiError("invalid_body", field=name)
        return None
    if not isinstance(value, str) or not min_len <= len(value) <= max_len:
        raise ApiError("invalid_body", field=name)
    return value


def required_text(data: Body, name: str, *, max_len: int = MAX_TEXT) -> str:
    value = text(data, name, required=True, max_len=max_len)
    assert value is not None
    return value


def flag(data: Body, name: str, default: bool = False) -> bool:
    """A JSON boolean (not 0/1, not "true")."""
    value = data.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ApiError("invalid_body", field=name)
    return value


def millis(data: Body, name: str) -> Millis | None:
    """A non-negative integer timestamp in ms since the epoch (a JSON integer, not a bool)."""
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_MILLIS:
        raise ApiError("invalid_body", field=name)
    return value


def choice(data: Body, name: str, enum: type[E], default: E) -> E:
    """One of an enum's values."""
    value = data.get(name)
    if value is None:
        return default
    if not isinstance(value, str):
        raise ApiError("invalid_body", field=name)
    try:
        return enum(value)
    except ValueError:
        raise ApiError("invalid_body", field=name) from None


# -- commands ------------------------------------------------------------------------------------


def issue_ticket(data: Body, *, at: Millis, ids: IdSource, channel: Channel, key_scope: str) -> c.IssueTicket:
    """``{service, priority?, payer?, appointment_at?, idempotency_key?}``.

    ``key_scope`` namespaces the idempotency key by caller (``kiosk:kiosk-1``, ``staff:admin``,
    ``web:<address>``): a retry with the same key returns the same ticket, *with its token*, so one
    caller's key must never reach another caller's ticket.
    """
    only(data, ("service", "priority", "payer", "appointment_at", "idempotency_key"))
    service = ServiceCode(required_text(data, "service", max_len=MAX_ID))
    priority = choice(data, "priority", Priority, Priority.UMUM)
    payer = choice(data, "payer", Payer, Payer.UMUM)
    appointment_at = millis(data, "appointment_at")
    key = text(data, "idempotency_key", min_len=MIN_KEY, max_len=MAX_KEY)
    return c.IssueTicket(
        at=at,
        ticket_id=ids.ticket_id(),
        token=ids.token(),
        service=service,
        priority=priority,
        channel=channel,
        payer=payer,
        appointment_at=appointment_at,
        idempotency_key=None if key is None else f"{key_scope}:{key}",
    )


def counter_command(action: str, data: Body, *, at: Millis, counter: CounterId, actor: str) -> c.Command:
    """The command behind ``POST /api/v1/counters/{counter}/{action}`` (all but ``undo``)."""
    match action:
        case "open":
            only(data)
            return c.OpenCounter(at=at, counter=counter, actor=actor)
        case "pause":
            only(data, ("reason",))
            return c.PauseCounter(at=at, counter=counter, actor=actor, reason=required_text(data, "reason"))
        case "close":
            only(data)
            return c.CloseCounter(at=at, counter=counter, actor=actor)
        case "call-next":
            only(data, ("complete_current",))
            return c.CallNext(at=at, counter=counter, actor=actor, complete_current=flag(data, "complete_current"))
        case "call":
            only(data, ("ticket_id", "reason"))
            ticket_id = TicketId(required_text(data, "ticket_id", max_len=MAX_ID))
            return c.CallTicket(
                at=at, counter=counter, actor=actor, ticket_id=ticket_id, reason=required_text(data, "reason")
            )
        case "recall":
            only(data)
            return c.Recall(at=at, counter=counter, actor=actor)
        case "start":
            only(data)
            return c.StartService(at=at, counter=counter, actor=actor)
        case "complete":
            only(data, ("next_service",))
            nxt = text(data, "next_service", max_len=MAX_ID)
            to = None if nxt is None else ServiceCode(nxt)
            return c.Complete(at=at, counter=counter, actor=actor, next_service=to)
        case "skip":
            only(data)
            return c.MarkMissed(at=at, counter=counter, actor=actor)
    raise ValueError(f"unknown counter action {action!r}")


def ticket_command(action: str, data: Body, *, at: Millis, ticket_id: TicketId, actor: str) -> c.Command:
    """The command behind ``POST /api/v1/staff/tickets/{ticket_id}/{action}``."""
    match action:
        case "requeue":
            only(data)
            return c.Requeue(at=at, ticket_id=ticket_id, actor=actor)
        case "cancel":
            only(data, ("reason",))
            return c.Cancel(at=at, ticket_id=ticket_id, actor=actor, reason=text(data, "reason") or "")
        case "transfer":
            only(data, ("to_service", "reason"))
            to = ServiceCode(required_text(data, "to_service", max_len=MAX_ID))
            return c.Transfer(at=at, ticket_id=ticket_id, to_service=to, actor=actor, reason=text(data, "reason") or "")
    raise ValueError(f"unknown ticket action {action!r}")


def credentials(data: Body) -> tuple[str, str]:
    """``{username, password}``."""
    only(data, ("username", "password"))
    return required_text(data, "username", max_len=MAX_ID), required_text(data, "password", max_len=256)
