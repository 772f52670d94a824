"""Reading a stretch of a facility's past from its event log (the demand forecast's input).

The log has no index by time, but events are appended in time order, so the first position at
or after an instant is found by binary search over positions (one one-record read per step:
``O(log n)`` reads, about 20 for a year of a busy puskesmas), then the stretch is read in chunks.
Only the event types asked for are decoded (``ticket.*`` for the forecast: a module's events need
not even be known here), off the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from . import codec, demand
from .domain.events import Event
from .domain.ids import Millis
from .domain.model import Facility
from .log.base import EventLog

#: records read per round trip
CHUNK = 10_000


@dataclass(frozen=True, slots=True)
class Stretch:
    """The events of the types asked for with ``since <= at < until``, in log order.

    ``first_at`` is the time of the first record read: the last one before ``since`` when the log
    reaches back that far (so the caller knows the whole stretch is covered), else the log's first.
    None for an empty log.
    """

    events: list[Event]
    first_at: Millis | None


def _at(raw: Any) -> Millis:
    at: Millis = raw["d"]["at"]  # codec's stored form: {"t": type, "v": version, "d": {fields}}
    return at


async def position_before(log: EventLog, facility: str, at: Millis) -> int:
    """The largest ``after`` whose next record is the first at or after ``at`` (0: the log's start; the
    last position: nothing is that late)."""
    lo, hi = 0, await log.last_position(facility)
    while lo < hi:
        mid = (lo + hi) // 2
        records = await log.read(facility, after=mid, limit=1)
        if not records or _at(codec.loads(records[0].payload)) >= at:
            hi = mid
        else:
            lo = records[0].position  # every ``after`` below this position finds the same early record
    return lo


def _decode(payloads: list[bytes], types: Collection[str], since: Millis, until: Millis) -> tuple[list[Event], bool]:
    """The wanted events among ``payloads``, and whether one at or after ``until`` was reached."""
    out: list[Event] = []
    for raw in codec.loads(b"[" + b",".join(payloads) + b"]"):
        at = _at(raw)
        if at >= until:
            return out, True
        if at >= since and raw["t"] in types:
            out.append(codec.event_from_dict(raw))
    return out, False


async def read_stretch(
    log: EventLog, facility: str, *, since: Millis, until: Millis, types: Collection[str], chunk: int = CHUNK
) -> Stretch:
    """The events of ``types`` from ``since`` (included) to ``until`` (excluded), and when coverage starts.

    Raises:
        LogUnavailable: the store failed.
        CodecError: a stored event of a wanted type cannot be decoded.
    """
    after = await position_before(log, facility, since)
    start = max(after - 1, 0)  # one record before the stretch, to know the log covers its start
    events: list[Event] = []
    first_at: Millis | None = None
    while True:
        records = await log.read(facility, after=start, limit=chunk)
        if not records:
            break
        if first_at is None:
            first_at = _at(codec.loads(records[0].payload))
        found, done = await asyncio.to_thread(_decode, [r.payload for r in records], types, since, until)
        events.extend(found)
        start = records[-1].position
        if done or len(records) < chunk:
            break
    return Stretch(events=events, first_at=first_at)


def _midnight(day: date, tz: ZoneInfo) -> Millis:
    return int(datetime.combine(day, time(), tz).timestamp() * 1000)


async def forecast_from_log(
    log: EventLog,
    facility: Facility,
    day: date,
    *,
    today: date,
    weeks: int = demand.WEEKS,
    target_wait_min: float = demand.TARGET_WAIT_MIN,
) -> demand.Forecast:
    """:func:`queue_engine.demand.forecast` of ``day`` over the facility's log; ``today`` (local) is partial.

    Raises:
        LogUnavailable: the store failed.
        ValueError: bad ``weeks`` or ``target_wait_min``.
    """
    if weeks < 1 or not target_wait_min > 0:
        raise ValueError("weeks must be at least 1 and the target wait positive")
    tz = ZoneInfo(facility.timezone)
    end = min(day, today)
    start = demand.window_start(day, weeks)
    stretch = await read_stretch(
        log, facility.id, since=_midnight(start, tz), until=_midnight(end, tz), types=demand.EVENT_TYPES
    )
    covered = None if stretch.first_at is None else datetime.fromtimestamp(stretch.first_at / 1000, tz).date()
    return await asyncio.to_thread(
        demand.forecast,
        facility,
        stretch.events,
        day,
        weeks=weeks,
        complete_before=end,
        covered_from=covered,
        target_wait_min=target_wait_min,
    )
