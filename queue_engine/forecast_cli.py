"""``antre forecast``: a day's demand forecast from a facility's log, as a table (or JSON).

``antre forecast --date 2026-12-07 --log-url sqlite:///antre.db`` prints, per service, the expected
arrivals of each hour, their 10-90 % range and the counters that keep the median wait under the
target (see :mod:`queue_engine.demand` for the method). Exit status 0 with a forecast, 1 when the
log holds too little history, 2 for a configuration or log error (as every ``antre`` command).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import orjson

from .clock import SystemClock
from .demand import DAYS_EN, DAYS_ID, TARGET_WAIT_MIN, WEEKS, Forecast, Status, forecast_dict
from .domain.model import Facility
from .history import forecast_from_log
from .log import DEFAULT_URL, open_log


def _day(text: str) -> date:
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def add_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    common: Callable[[argparse.ArgumentParser], None],
    environ: dict[str, str],
) -> None:
    """The ``forecast`` subcommand and its options."""
    p = sub.add_parser("forecast", help="expected arrivals per hour and counters needed on a day, from the log")
    common(p)
    p.add_argument("--date", type=_day, default=None, help="the day to forecast, YYYY-MM-DD (default: tomorrow)")
    p.add_argument("--log-url", default=environ.get("ANTRE_LOG_URL", DEFAULT_URL), help="event log URL")
    p.add_argument("--weeks", type=int, default=WEEKS, help=f"weeks of history (default {WEEKS})")
    p.add_argument(
        "--wait", type=float, default=TARGET_WAIT_MIN, help=f"target median wait, minutes (default {TARGET_WAIT_MIN:g})"
    )
    p.add_argument("--today", type=_day, default=None, help="treat this day as today (default: the system clock)")
    p.add_argument("--json", action="store_true", help="print the forecast as JSON only")


def run(facility: Facility, args: argparse.Namespace) -> int:
    """Carry out ``antre forecast`` with parsed ``args``."""
    today = args.today or datetime.fromtimestamp(SystemClock().now() / 1000, ZoneInfo(facility.timezone)).date()
    day = args.date or today + timedelta(days=1)
    result = asyncio.run(_forecast(facility, args.log_url, day, today, args.weeks, args.wait))
    if args.json:
        print(orjson.dumps(forecast_dict(result, facility)).decode())
    else:
        print(render(result, facility))
    return 0 if result.status is Status.OK else 1


async def _forecast(facility: Facility, log_url: str, day: date, today: date, weeks: int, wait: float) -> Forecast:
    event_log = open_log(log_url)
    try:
        return await forecast_from_log(event_log, facility, day, today=today, weeks=weeks, target_wait_min=wait)
    finally:
        await event_log.close()


def _header(result: Forecast, facility: Facility) -> list[str]:
    wd = result.weekday
    return [
        f"Perkiraan kunjungan / demand forecast — {facility.name}",
        f"{DAYS_ID[wd]} / {DAYS_EN[wd]} {result.day.isoformat()} · riwayat / history: {result.weeks} minggu / weeks, "
        f"{result.same_weekdays} hari {DAYS_ID[wd]} tercatat / {DAYS_EN[wd]}s in the log · "
        f"target median tunggu / wait ≤ {result.target_wait_min:g} min",
    ]


DASH = "\u2013"  # an en dash, as ranges and clock spans are written


def _row(*cells: object) -> str:
    first, *rest = (str(c) for c in cells)
    return f"{first:<13}" + "".join(f" {c:>9}" for c in rest)


def render(result: Forecast, facility: Facility) -> str:
    """The forecast as a plain-text table, Indonesian first."""
    lines = _header(result, facility)
    message_id, message_en = result.message()
    if message_id:
        lines += ["", message_id, message_en]
    for s in result.services:
        service = facility.services.get(s.service)
        name = service.name if service is not None else s.service
        lines += [
            "",
            f"{name} [{s.service}] — {s.service_min:.1f} min/pasien ({s.service_min_source}, {s.completed} selesai / "
            f"done) · tren / trend x{s.trend:.2f} · total {s.expected_total:.1f}",
        ]
        if not s.hours:
            lines.append("  tutup / closed")
            continue
        lines.append("  " + _row("jam / hour", "perkiraan", "rentang", "loket", "P(tunggu)", "median"))
        lines.append("  " + _row("", "expected", "range", "ctrs", "P(wait)", "wait"))
        for h in s.hours:
            span = f"{h.hour:02d}:00{DASH}{(h.hour + 1) % 24:02d}:00"
            wait = f"{h.median_wait_min:.1f} m"
            lines.append(
                "  " + _row(span, f"{h.expected:.1f}", f"{h.low}{DASH}{h.high}", h.counters, f"{h.p_wait:.0%}", wait)
            )
    return "\n".join(lines)
