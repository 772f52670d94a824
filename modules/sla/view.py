"""The supervisor's overview: queues, counters and alerts, as the page, the API and the push topic show it.

Numbers, ticket numbers and the names of services and counters only: never a patient's name,
a token or a supervisor's phone. Durations are given twice: in whole minutes at the instant of
rendering, and as the instant they began (``*_since``, ms), from which the page keeps the minutes
current between pushes (a wait grows without any event).
"""

from __future__ import annotations

from typing import Any

from queue_engine.domain.ids import CounterId, Millis, ServiceCode
from queue_engine.domain.model import CounterStatus
from queue_engine.domain.state import FacilityState

from .messages import subject_name
from .module import Alert, SlaState
from .rules import MINUTE, AlertKind, Rules, oldest_wait

#: cleared alerts the overview lists, newest first
RECENT = 10


def _minutes(since: Millis | None, now: Millis) -> int | None:
    return None if since is None else max(0, now - since) // MINUTE


def alert_json(core: FacilityState, alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "kind": alert.kind.value,
        "subject": alert.subject,
        "name": subject_name(core, alert.kind, alert.subject),
        "value": alert.value,
        "threshold": alert.threshold,
        "since": alert.since,
        "opened_at": alert.opened_at,
        "cleared_at": alert.cleared_at,
        "cleared_value": alert.cleared_value,
    }


def _serving(core: FacilityState) -> dict[ServiceCode, list[dict[str, Any]]]:
    """Per service, the numbers now called to or served at a counter."""
    found: dict[ServiceCode, list[dict[str, Any]]] = {code: [] for code in core.facility.services}
    for counter_id, cs in core.counters.items():
        ticket = core.tickets.get(cs.ticket) if cs.ticket is not None else None
        if ticket is not None and ticket.service in found:
            found[ticket.service].append(
                {
                    "number": ticket.number,
                    "status": ticket.status.value,
                    "counter": counter_id,
                    "counter_name": core.facility.counters[counter_id].name,
                }
            )
    return found


def _services(core: FacilityState, sla: SlaState, rules: Rules, now: Millis) -> list[dict[str, Any]]:
    serving = _serving(core)
    shown = []
    for code, service in core.facility.services.items():
        queue_max, wait_min = rules.service(code)
        oldest = oldest_wait(core, code)
        waitlist = core.services[code].waitlist
        shown.append(
            {
                "service": code,
                "name": service.name,
                "waiting": waitlist.present_count(),
                "not_checked_in": len(waitlist) - waitlist.present_count(),
                "longest_wait_min": _minutes(oldest, now),
                "longest_since": oldest,
                "serving": serving[code],
                "queue_max": queue_max or None,
                "longest_wait_limit": wait_min or None,
                "alerts": [a.id for key, a in sla.open.items() if key in _service_keys(code)],
            }
        )
    return shown


def _service_keys(code: str) -> tuple[tuple[AlertKind, str], ...]:
    return ((AlertKind.QUEUE_LENGTH, code), (AlertKind.LONGEST_WAIT, code))


def _counters(core: FacilityState, sla: SlaState, rules: Rules, now: Millis) -> list[dict[str, Any]]:
    shown = []
    for counter_id, counter in core.facility.counters.items():
        cs = core.counters[CounterId(counter_id)]
        ticket = core.tickets.get(cs.ticket) if cs.ticket is not None else None
        since = cs.since or None
        alert = sla.open.get((AlertKind.COUNTER_PAUSED, counter_id))
        shown.append(
            {
                "counter": counter_id,
                "name": counter.name,
                "services": list(counter.services),
                "status": cs.status.value,
                "pause_reason": cs.pause_reason,
                "since": since,
                "minutes": _minutes(since, now),
                "number": ticket.number if ticket is not None else None,
                "paused_limit": rules.counter(counter_id) or None,
                "alert": alert.id if alert is not None else None,
            }
        )
    return shown


def supervisor_json(core: FacilityState, sla: SlaState, rules: Rules, now: Millis) -> dict[str, Any]:
    """Everything the supervisor's page shows (also ``GET /api/v1/sla`` and the ``/ws/sla`` topic)."""
    counters = _counters(core, sla, rules, now)
    statuses = [c["status"] for c in counters]
    return {
        "facility": core.facility.name,
        "services": _services(core, sla, rules, now),
        "counters": counters,
        "alerts": [alert_json(core, a) for a in sla.open.values()],
        "recent": [alert_json(core, a) for a in reversed(sla.history[-RECENT:])],
        "totals": {
            "waiting": sum(core.services[s].waitlist.present_count() for s in core.facility.services),
            "open": statuses.count(CounterStatus.OPEN.value),
            "paused": statuses.count(CounterStatus.PAUSED.value),
            "closed": statuses.count(CounterStatus.CLOSED.value),
            "alerts": len(sla.open),
        },
    }
