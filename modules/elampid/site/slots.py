"""The handover times offered to an applicant: a grid inside the handover service's opening hours."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from queue_engine.domain.ids import Millis
from queue_engine.domain.model import Window
from queue_engine.domain.state import FacilityState

#: when the handover service has no hours of its own (a demo open around the clock): office hours
OFFICE_HOURS: dict[int, tuple[Window, ...]] = {day: ((8 * 60, 15 * 60),) for day in range(5)}
#: the earliest slot is at least this far ahead (time to come to the office)
LEAD_MS = 30 * 60_000


def offered_slots(core: FacilityState, service: str, *, slot_minutes: int, days: int, now: Millis) -> list[Millis]:
    """Slot starts (ms) from ``now + LEAD_MS`` over the next ``days`` days (today included)."""
    svc = core.facility.services.get(service)  # type: ignore[call-overload]
    hours = svc.hours if svc is not None and svc.hours else OFFICE_HOURS
    tz = core.tz
    today = datetime.fromtimestamp(now / 1000, tz).date()
    out: list[Millis] = []
    for offset in range(days + 1):
        day = today + timedelta(days=offset)
        midnight = datetime.combine(day, time(), tz)
        for start, end in hours.get(day.weekday(), ()):
            minute = start
            while minute + slot_minutes <= end:
                at = Millis(int((midnight + timedelta(minutes=minute)).timestamp() * 1000))
                if at >= now + LEAD_MS:
                    out.append(at)
                minute += slot_minutes
    return out
