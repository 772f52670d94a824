"""The numbers behind the report's charts as tables, and those tables as CSV and XLSX.

One list of :class:`Table` feeds the terminal, the page's tables, the CSV and the workbook, so they
always agree. Minutes are rounded to 0.1, rates (0-1) to 0.001.

The CSV is *long*: one number per line, ``table,group,subgroup,metric,value``, where ``group`` and
``subgroup`` are the table's keys (service and class, service and channel, the hour, the counter;
empty when a table has fewer keys). Every spreadsheet can pivot it, and adding a figure never shifts
a column. The workbook has one sheet per table, wide, with bilingual headers.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from .figures import ALL, Distribution, Report
from .xlsx import Sheet, workbook

Number = int | float | None
Rows = tuple[tuple[tuple[str, ...], tuple[Number, ...]], ...]


@dataclass(frozen=True, slots=True)
class Column:
    """A column: its machine name (CSV), its headings, and whether it holds a count, minutes or a rate."""

    key: str
    label_id: str
    label_en: str
    kind: str = "count"  # "count" | "minutes" | "rate" | "text"


@dataclass(frozen=True, slots=True)
class Table:
    """One table: key columns (text) and value columns (numbers), and its rows."""

    key: str
    title_id: str
    title_en: str
    keys: tuple[Column, ...]
    values: tuple[Column, ...]
    rows: Rows


SERVICE = Column("service", "Layanan", "Service", "text")
CLASS = Column("class", "Kelas", "Class", "text")
CHANNEL = Column("channel", "Kanal", "Channel", "text")
HOUR = Column("hour", "Jam", "Hour", "text")
COUNTER = Column("counter", "Loket", "Counter", "text")
DISTRIBUTION = (
    Column("count", "Jumlah", "Count"),
    Column("median_min", "Median (menit)", "Median (min)", "minutes"),
    Column("p90_min", "P90 (menit)", "P90 (min)", "minutes"),
    Column("max_min", "Maks (menit)", "Max (min)", "minutes"),
)


def _minutes(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _rate(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _share(part: int, whole: int) -> float | None:
    return _rate(part / whole) if whole else None


def _distribution_rows(
    dists: dict[tuple[str, str], Distribution],
) -> tuple[tuple[tuple[str, ...], tuple[Number, ...]], ...]:
    return tuple(
        ((service, klass), (d.count, _minutes(d.median), _minutes(d.p90), _minutes(d.max)))
        for (service, klass), d in dists.items()
    )


def tables(report: Report) -> list[Table]:
    """The report as tables, in the order the page shows them."""
    overall = report.waiting.get((ALL, ALL), Distribution.of(()))
    summary = (
        (Column("tickets", "Tiket", "Tickets"), report.tickets),
        (Column("visits", "Kunjungan layanan", "Service visits"), sum(report.visits.values())),
        (Column("called", "Dipanggil", "Called"), report.called),
        (Column("completed", "Selesai dilayani", "Completed"), sum(s.completed for s in report.services)),
        (Column("median_wait_min", "Median tunggu (menit)", "Median wait (min)", "minutes"), _minutes(overall.median)),
        (Column("p90_wait_min", "P90 tunggu (menit)", "P90 wait (min)", "minutes"), _minutes(overall.p90)),
        (Column("no_shows", "Tidak hadir", "No-shows"), report.no_shows),
        (Column("no_show_rate", "Tingkat tidak hadir", "No-show rate", "rate"), _rate(report.no_show_rate)),
        (Column("eta_judged", "ETA dinilai", "ETAs judged"), report.eta_judged),
        (Column("eta_hit_rate", "Rentang ETA tepat", "ETA range held", "rate"), _rate(report.eta_hit_rate)),
        (Column("utilisation", "Pemakaian loket", "Counter utilisation", "rate"), _rate(report.utilisation)),
    )
    return [
        Table(
            "summary",
            "Ringkasan",
            "Summary",
            (),
            tuple(c for c, _ in summary),
            (((), tuple(v for _, v in summary)),),
        ),
        Table(
            "tickets_by_channel",
            "Tiket per kanal",
            "Tickets per channel",
            (CHANNEL,),
            (Column("tickets", "Tiket", "Tickets"),),
            tuple(((channel,), (n,)) for channel, n in report.tickets_by_channel.items()),
        ),
        Table(
            "visits",
            "Kunjungan per layanan dan kanal",
            "Visits per service and channel",
            (SERVICE, CHANNEL),
            (Column("visits", "Kunjungan", "Visits"),),
            tuple(((service, channel), (n,)) for (service, channel), n in report.visits.items()),
        ),
        Table(
            "waiting_time",
            "Waktu tunggu sampai dipanggil",
            "Waiting time until the first call",
            (SERVICE, CLASS),
            DISTRIBUTION,
            _distribution_rows(report.waiting),
        ),
        Table(
            "service_time",
            "Waktu layanan",
            "Service time",
            (SERVICE, CLASS),
            DISTRIBUTION,
            _distribution_rows(report.service_time),
        ),
        Table(
            "per_hour",
            "Kedatangan dan panggilan per jam",
            "Arrivals and calls per hour",
            (HOUR,),
            (Column("arrivals", "Kedatangan", "Arrivals"), Column("calls", "Panggilan", "Calls")),
            tuple(
                ((f"{hour:02d}",), (a, c))
                for hour, (a, c) in enumerate(zip(report.arrivals_per_hour, report.calls_per_hour, strict=True))
            ),
        ),
        Table(
            "services",
            "Hasil per layanan",
            "Outcomes per service",
            (SERVICE,),
            (
                Column("visits", "Kunjungan", "Visits"),
                Column("called", "Dipanggil", "Called"),
                Column("completed", "Selesai", "Completed"),
                Column("no_shows", "Tidak hadir", "No-shows"),
                Column("no_show_rate", "Tingkat tidak hadir", "No-show rate", "rate"),
                Column("cancelled", "Dibatalkan", "Cancelled"),
                Column("eta_judged", "ETA dinilai", "ETAs judged"),
                Column("eta_held", "ETA tepat", "ETA held"),
                Column("eta_hit_rate", "Rentang ETA tepat", "ETA range held", "rate"),
            ),
            tuple(
                (
                    (s.service,),
                    (
                        s.visits,
                        s.called,
                        s.completed,
                        s.no_shows,
                        _share(s.no_shows, s.called),
                        s.cancelled,
                        s.eta_judged,
                        s.eta_held,
                        _share(s.eta_held, s.eta_judged),
                    ),
                )
                for s in report.services
            ),
        ),
        Table(
            "counters",
            "Pemakaian loket",
            "Counter utilisation",
            (COUNTER,),
            (
                Column("open_min", "Buka (menit)", "Open (min)", "minutes"),
                Column("serving_min", "Melayani (menit)", "Serving (min)", "minutes"),
                Column("utilisation", "Pemakaian", "Utilisation", "rate"),
                Column("calls", "Panggilan", "Calls"),
                Column("completed", "Selesai", "Completed"),
            ),
            tuple(
                (
                    (c.counter,),
                    (_minutes(c.open_min), _minutes(c.serving_min), _rate(c.utilisation), c.calls, c.completed),
                )
                for c in report.counters
            ),
        ),
    ]


#: table -> its workbook sheet's (short) name
SHEET_NAMES = {
    "summary": "Ringkasan",
    "tickets_by_channel": "Kanal",
    "visits": "Kunjungan",
    "waiting_time": "Waktu tunggu",
    "service_time": "Waktu layanan",
    "per_hour": "Per jam",
    "services": "Per layanan",
    "counters": "Loket",
}


def display(value: Number, kind: str) -> str:
    """A number as the terminal and the page show it: rates as percentages, minutes to 0.1, "—" for none."""
    if value is None:
        return "—"
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "minutes":
        return f"{value:.1f}"
    return str(value)


def _text(value: Number) -> str:
    return "" if value is None else str(value)


def to_csv(report: Report) -> str:
    """The report's tables as long CSV (see the module docstring), with a header line."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(("table", "group", "subgroup", "metric", "value"))
    for table in tables(report):
        for keys, values in table.rows:
            group, subgroup = (*keys, "", "")[:2]
            for column, value in zip(table.values, values, strict=True):
                writer.writerow((table.key, group, subgroup, column.key, _text(value)))
    return out.getvalue()


def _heading(column: Column) -> str:
    return f"{column.label_id} / {column.label_en}"


def to_xlsx(report: Report, *, title: str = "") -> bytes:
    """The report's tables as an XLSX workbook, one sheet per table (the summary first, as two columns)."""
    sheets = []
    period = report.first_day.isoformat()
    if report.last_day != report.first_day:
        period += f" s.d. {report.last_day.isoformat()}"
    for table in tables(report):
        name = SHEET_NAMES.get(table.key, table.title_id)
        caption = [f"{table.title_id} / {table.title_en}", f"{title} {report.facility} {period}".strip()]
        if not table.keys:  # the summary: one row of figures, shown as label / value lines
            ((_, values),) = table.rows
            rows: list[list[str | Number]] = [["Ukuran / Measure", "Nilai / Value"]]
            rows += [[_heading(c), v] for c, v in zip(table.values, values, strict=True)]
            kinds = ["text", "mixed"]
            rates = {i + 1 for i, c in enumerate(table.values) if c.kind == "rate"}
            sheets.append(Sheet(name, caption, rows, kinds, percent_rows=frozenset(rates)))
            continue
        header = [_heading(c) for c in (*table.keys, *table.values)]
        body: list[list[str | Number]] = [[*keys, *values] for keys, values in table.rows]
        kinds = [c.kind for c in (*table.keys, *table.values)]
        sheets.append(Sheet(name, caption, [header, *body], kinds))
    return workbook(sheets)
