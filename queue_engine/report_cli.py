"""Reports from an event log: reading it for :mod:`queue_engine.reports`, and ``antre report``.

:func:`read_report` is what the command line and the web page share: it reads a facility's log in
chunks from the start (or from the snapshot, when a trimmed Redis log no longer holds the start),
and folds each chunk on a worker thread so a long log never stalls an event loop. It stops
reading once the log is past the window (plus the follow-up time of the report's definitions).

:func:`simulate_into_log` runs ``antre simulate`` for a day and appends the day's events to a log,
continuing whatever that log already holds, so simulated days can be reported.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from . import codec
from .domain.ids import Millis
from .domain.model import Facility
from .domain.state import FacilityState
from .log import DEFAULT_URL, EventLog, Record, open_log
from .reports import Report, ReportBuilder, Table, display, tables, to_csv, to_xlsx
from .runtime import load_state

#: records read (and folded on a worker thread) at a time
CHUNK = 5_000
#: events appended per transaction when writing a simulated day
APPEND_CHUNK = 2_000


def _fold(builder: ReportBuilder, records: list[Record]) -> None:
    events = codec.decode_events([r.payload for r in records])
    for record, event in zip(records, events, strict=True):
        builder.feed(record.position, event)
        if builder.done:
            return


async def read_report(
    facility: Facility,
    event_log: EventLog,
    first_day: date,
    last_day: date,
    *,
    now: Millis | None = None,
    chunk: int = CHUNK,
) -> Report:
    """The report of ``first_day`` to ``last_day`` from ``event_log``.

    Raises:
        ValueError: a bad window, or a gap in the log.
        LogError: the log cannot be read.
    """
    codec.register_modules(facility.modules)
    records = await event_log.read(facility.id, after=0, limit=chunk)
    state: FacilityState | None = None
    if records and records[0].position != 1:
        # The start was trimmed behind a snapshot (Redis ``retain``): start from the snapshot.
        snapshot = await event_log.load_snapshot(facility.id)
        if snapshot is None:
            raise ValueError(f"the log of {facility.id} starts at position {records[0].position} and has no snapshot")
        state = FacilityState.from_snapshot(facility, codec.loads(snapshot.payload))
        records = await event_log.read(facility.id, after=state.position, limit=chunk)
    builder = ReportBuilder(facility, first_day, last_day, state=state)
    position = builder.state.position
    while records and not builder.done:
        if records[0].position != position + 1 or records[-1].position != position + len(records):
            raise ValueError(f"log gap after position {position}")
        await asyncio.to_thread(_fold, builder, records)
        position = records[-1].position
        records = await event_log.read(facility.id, after=position, limit=chunk)
    return builder.report(now=now)


async def simulate_into_log(
    facility: Facility, seed: int, patients: int, log_url: str, day: date | None = None
) -> dict[str, Any]:
    """Simulate ``day`` (default: the simulation's own Thursday) into the log at ``log_url``.

    The day continues the log's state (so several days can be simulated into one log); ids carry
    the day so they never collide. Returns the simulation's report plus ``log_position``.
    """
    from .simulate import Simulation

    event_log = open_log(log_url)
    try:
        state = await load_state(facility, event_log)
        if day is None and state.position:
            raise ValueError("the log already holds events: choose the day to simulate with --date")
        if day is not None and state.today and day.isoformat() <= state.today:
            raise ValueError(f"the log already reaches {state.today}: simulate a later day")
        on_day: dict[str, Any] = {}
        if day is not None:
            on_day = {"day": (day.year, day.month, day.day), "id_prefix": f"{day:%Y%m%d}-"}
        sim = Simulation(facility=facility, seed=seed, patients=patients, start=state, **on_day)
        expected = state.position
        report = sim.run()
        batch: list[bytes] = []
        for events in sim.batches:
            batch.extend(codec.encode_event(e) for e in events)
            if len(batch) >= APPEND_CHUNK:
                expected = await event_log.append(facility.id, expected, batch)
                batch = []
        if batch:
            expected = await event_log.append(facility.id, expected, batch)
    finally:
        await event_log.close()
    return report | {"log_position": expected}


# -- the command ---------------------------------------------------------------------------


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def add_parser(
    sub: Any, common: Callable[[argparse.ArgumentParser], None], environ: dict[str, str]
) -> argparse.ArgumentParser:
    """Add ``antre report`` to the command's subparsers."""
    report = sub.add_parser("report", help="laporan antrean / queue report for a day or a range of days")
    common(report)
    report.add_argument("--date", type=_day, default=None, help="the (first) day, YYYY-MM-DD (default: today)")
    report.add_argument("--to", type=_day, default=None, help="the last day of a range, YYYY-MM-DD")
    report.add_argument("--log-url", default=environ.get("ANTRE_LOG_URL", DEFAULT_URL), help="event log URL")
    report.add_argument("--csv", type=Path, default=None, help="write the numbers as CSV to this file")
    report.add_argument("--xlsx", type=Path, default=None, help="write the numbers as an XLSX workbook to this file")
    assert isinstance(report, argparse.ArgumentParser)
    return report


def run(facility: Facility, args: argparse.Namespace) -> int:
    """``antre report``: print the summary, write the CSV / XLSX asked for."""
    first = args.date or datetime.now(ZoneInfo(facility.timezone)).date()
    last = args.to or first
    report = asyncio.run(_read(facility, args.log_url, first, last))
    print(render_text(report, facility))
    if args.csv is not None:
        args.csv.write_text(to_csv(report), encoding="utf-8", newline="")
        print(f"CSV: {args.csv}")
    if args.xlsx is not None:
        args.xlsx.write_bytes(to_xlsx(report, title=facility.name))
        print(f"XLSX: {args.xlsx}")
    return 0


async def _read(facility: Facility, log_url: str, first: date, last: date) -> Report:
    event_log = open_log(log_url)
    try:
        return await read_report(facility, event_log, first, last)
    finally:
        await event_log.close()


# -- the terminal summary ------------------------------------------------------------------


def _table_lines(table: Table) -> list[str]:
    columns = (*table.keys, *table.values)
    body = [
        [*keys, *(display(v, c.kind) for v, c in zip(values, table.values, strict=True))] for keys, values in table.rows
    ]
    if table.key == "per_hour":  # only the hours something happened in
        body = [row for row in body if row[1] != "0" or row[2] != "0"]
    heads = [[c.label_id for c in columns], [c.label_en for c in columns]]
    widths = [max(len(row[i]) for row in [*heads, *body]) for i in range(len(columns))]

    def line(row: list[str]) -> str:
        parts = [
            text.ljust(width) if i < len(table.keys) else text.rjust(width)
            for i, (text, width) in enumerate(zip(row, widths, strict=True))
        ]
        return "  " + "  ".join(parts).rstrip()

    out = [f"{table.title_id} / {table.title_en}", *(line(h) for h in heads)]
    out += [line(row) for row in body] or ["  (tidak ada / none)"]
    return out


def render_text(report: Report, facility: Facility) -> str:
    """The report as the terminal shows it: Bahasa Indonesia first, English after each slash."""
    period = report.first_day.isoformat()
    if report.last_day != report.first_day:
        period += f" s.d. / to {report.last_day.isoformat()}"
    lines = [
        f"Laporan antrean / Queue report — {facility.name} [{facility.id}]",
        f"Periode / Period: {period} ({facility.timezone})",
        f"Log: posisi / positions {report.first_position} - {report.last_position}",
        "",
    ]
    all_tables = tables(report)
    summary = all_tables[0]
    ((_, values),) = summary.rows
    width = max(len(f"{c.label_id} / {c.label_en}") for c in summary.values)
    lines.append(f"{summary.title_id} / {summary.title_en}")
    for column, value in zip(summary.values, values, strict=True):
        lines.append(f"  {f'{column.label_id} / {column.label_en}':<{width}}  {display(value, column.kind)}")
    for table in all_tables[1:]:
        lines += ["", *_table_lines(table)]
    return "\n".join(lines)
