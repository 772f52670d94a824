"""The reports page (admins only): ``GET /reports``, ``/reports.csv`` and ``/reports.xlsx``.

``?from=YYYY-MM-DD&to=YYYY-MM-DD`` chooses the local days (default: today). The figures come from
:mod:`queue_engine.reports` over the facility's event log (read by
:func:`queue_engine.report_cli.read_report`, folded on a worker thread), drawn as server-rendered
SVG charts with the numbers in tables beside them, Bahasa Indonesia first. Without an admin
session the page answers 401 with a log-in form (403 for another role); the downloads answer the
API's JSON errors.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from queue_engine.domain.ids import CounterId, ServiceCode
from queue_engine.domain.model import Facility
from queue_engine.report_cli import read_report
from queue_engine.reports import ALL, MAX_DAYS, Report, Table, display, tables, to_csv, to_xlsx
from queue_engine.reports.export import DISTRIBUTION

from . import charts
from .auth import Role, authenticate, require
from .errors import ApiError
from .pages import DAYS_ID, MONTHS_ID, PRIORITY_LABELS, TEMPLATES, static_url
from .state import AppState

ReportRequest = Request[AppState]

#: channel -> (Indonesian, English, colour)
CHANNELS: dict[str, tuple[str, str, str]] = {
    "kiosk": ("Kios", "Kiosk", charts.BLUE),
    "web": ("Ponsel / web", "Phone / web", charts.ORANGE),
    "staff": ("Petugas", "Staff", charts.GREEN),
    "bpjs": ("Mobile JKN", "Mobile JKN", charts.PURPLE),
    "module": ("Modul", "Module", charts.SKY),
}
#: the band the ETA range should hold in (a range that always holds is too wide to help)
ETA_TARGET = (0.7, 0.9)
NO_STORE = {"Cache-Control": "private, no-store"}


class BadPeriod(ValueError):
    """The ``from`` / ``to`` parameters do not name a valid window."""


def period(request: ReportRequest) -> tuple[date, date]:
    """The window the query asks for (default: today, local to the facility).

    Raises:
        BadPeriod: a malformed date, ``to`` before ``from``, or more than ``MAX_DAYS`` days.
    """
    params = request.query_params
    try:
        first = date.fromisoformat(params["from"]) if params.get("from") else _today(request)
        last = date.fromisoformat(params["to"]) if params.get("to") else first
    except ValueError:
        raise BadPeriod("Tanggal tidak valid (YYYY-MM-DD).", "Not a valid date (YYYY-MM-DD).") from None
    if last < first:
        raise BadPeriod("Tanggal akhir sebelum tanggal awal.", "The end date is before the start date.")
    if (last - first).days >= MAX_DAYS:
        raise BadPeriod(f"Paling lama {MAX_DAYS} hari.", f"At most {MAX_DAYS} days.")
    return first, last


def _today(request: ReportRequest) -> date:
    runtime = request.state["runtime"]
    return datetime.fromtimestamp(runtime.now() / 1000, runtime.state.tz).date()


async def build(request: ReportRequest, first: date, last: date) -> Report:
    runtime = request.state["runtime"]
    return await read_report(request.state["facility"], runtime.log, first, last, now=runtime.now())


def filename(report: Report, ext: str) -> str:
    days = report.first_day.isoformat()
    if report.last_day != report.first_day:
        days += f"_{report.last_day.isoformat()}"
    return f"laporan-antrean-{report.facility}-{days}.{ext}"


# -- labels ---------------------------------------------------------------------------------


class Labels:
    """Codes to the names people read (Indonesian; English where a second line fits)."""

    def __init__(self, facility: Facility) -> None:
        self.facility = facility

    def service(self, code: str) -> str:
        if code == ALL:
            return "Semua layanan"
        service = self.facility.services.get(ServiceCode(code))
        return service.name if service is not None else code

    def klass(self, code: str) -> str:
        return "Semua kelas" if code == ALL else PRIORITY_LABELS.get(code, (code, code))[0]

    def channel(self, code: str) -> str:
        return CHANNELS.get(code, (code, code, ""))[0]

    def counter(self, cid: str) -> str:
        counter = self.facility.counters.get(CounterId(cid))
        return counter.name if counter is not None else cid

    def key(self, column: str, value: str) -> str:
        match column:
            case "service":
                return self.service(value)
            case "class":
                return self.klass(value)
            case "channel":
                return self.channel(value)
            case "counter":
                return self.counter(value)
            case "hour":
                return f"{value}:00"
            case _:
                return value


def html_table(table: Table, labels: Labels, keep: tuple[str, ...] | None = None, rows: Any = None) -> dict[str, Any]:
    """A table for the template: bilingual headings, labelled keys, formatted numbers."""
    wanted = [i for i, c in enumerate(table.values) if keep is None or c.key in keep]
    heads = [(c.label_id, c.label_en, "key") for c in table.keys] + [
        (table.values[i].label_id, table.values[i].label_en, "num") for i in wanted
    ]
    body = []
    for keys, values in table.rows if rows is None else rows:
        cells = [labels.key(c.key, k) for c, k in zip(table.keys, keys, strict=True)]
        cells += [display(values[i], table.values[i].kind) for i in wanted]
        body.append(cells)
    return {"title_id": table.title_id, "title_en": table.title_en, "heads": heads, "rows": body}


# -- the page's blocks ----------------------------------------------------------------------


def _hours(report: Report) -> list[int]:
    active = [h for h in range(24) if report.arrivals_per_hour[h] or report.calls_per_hour[h]]
    if not active:
        return list(range(7, 15))
    return list(range(min(active), max(active) + 1))


def _spreads(report: Report, which: str, labels: Labels) -> tuple[list[charts.Spread], dict[str, Any]]:
    """The chart's rows (per service, then per class, all others together) and the table beside it."""
    dists = report.waiting if which == "waiting" else report.service_time
    by_service = [(labels.service(s), dists[(s, c)]) for s, c in dists if c == ALL and s != ALL]
    by_class = [(labels.klass(c), dists[(s, c)]) for s, c in dists if s == ALL]
    rows = [charts.Spread("Per layanan · per service", group=True)]
    rows += [charts.Spread(label, d.median, d.p90, d.max, d.count) for label, d in by_service]
    rows.append(charts.Spread("Per kelas · per class", group=True))
    rows += [charts.Spread(label, d.median, d.p90, d.max, d.count) for label, d in by_class]
    heads = [("Layanan / kelas", "Service / class", "key")] + [(c.label_id, c.label_en, "num") for c in DISTRIBUTION]
    body = [
        [label, str(d.count), *(display(v, "minutes") for v in (d.median, d.p90, d.max))]
        for label, d in (*by_service, *by_class)
    ]
    table = {"title_id": "", "title_en": "", "heads": heads, "rows": body}
    return rows, table


def blocks(report: Report, facility: Facility) -> list[dict[str, Any]]:
    """Each section of the page: a chart, the table beside it, maybe a detail table."""
    labels = Labels(facility)
    by_key = {t.key: t for t in tables(report)}
    hours = _hours(report)
    out: list[dict[str, Any]] = []

    hourly = charts.grouped_bars(
        "c-hourly",
        "Kedatangan dan panggilan per jam",
        "Jumlah pasien yang datang dan jumlah panggilan di setiap jam; angka ada di tabel.",
        [f"{h:02d}" for h in hours],
        [
            charts.Series("Kedatangan / arrivals", charts.BLUE, [report.arrivals_per_hour[h] for h in hours]),
            charts.Series("Panggilan / calls", charts.ORANGE, [report.calls_per_hour[h] for h in hours]),
        ],
    )
    per_hour = by_key["per_hour"]
    out.append(_block("hourly", per_hour, hourly, html_table(per_hour, labels, rows=[per_hour.rows[h] for h in hours])))

    channels = [c for c in CHANNELS if any(ch == c for _, ch in report.visits)]
    channels += sorted({ch for _, ch in report.visits} - set(channels))
    services = [code for code in facility.services if any(s == code for s, _ in report.visits)]
    rows = [(labels.service(s), [float(report.visits.get((s, c), 0)) for c in channels]) for s in services]
    visits = charts.stacked_bars(
        "c-visits",
        "Kunjungan per layanan dan kanal",
        "Jumlah kunjungan setiap layanan, dibagi menurut asal tiket (kios, ponsel, petugas).",
        rows,
        [(labels.channel(c), CHANNELS.get(c, ("", "", charts.MUTED))[2]) for c in channels],
    )
    pivot = {
        "title_id": "Kunjungan per layanan dan kanal",
        "title_en": "Visits per service and channel",
        "heads": [("Layanan", "Service", "key")]
        + [(labels.channel(c), CHANNELS.get(c, (c, c, ""))[1], "num") for c in channels]
        + [("Jumlah", "Total", "num")],
        "rows": [[label, *(f"{v:.0f}" for v in values), f"{sum(values):.0f}"] for label, values in rows],
    }
    out.append(_block("visits", by_key["visits"], visits, pivot))

    for which, table_key, desc in (
        ("waiting", "waiting_time", "Waktu dari masuk antrean sampai panggilan pertama"),
        ("service", "service_time", "Waktu dari mulai dilayani (atau dipanggil) sampai selesai"),
    ):
        spreads, shown = _spreads(report, which, labels)
        table = by_key[table_key]
        shown |= {"title_id": table.title_id, "title_en": table.title_en}
        chart = charts.spread_bars(
            f"c-{which}", table.title_id, f"{desc}: median, persentil 90 dan maksimum, dalam menit.", spreads
        )
        out.append(_block(which, table, chart, shown, detail=html_table(table, labels)))

    outcomes = by_key["services"]
    stacked = charts.stacked_bars(
        "c-outcomes",
        "Hasil kunjungan per layanan",
        "Kunjungan yang selesai dilayani, tidak hadir, dan lainnya (batal, masih menunggu, dipindah).",
        [
            (
                labels.service(s.service),
                [float(s.completed), float(s.no_shows), float(s.visits - s.completed - s.no_shows)],
            )
            for s in report.services
            if s.visits
        ],
        [
            ("Selesai / done", charts.GREEN),
            ("Tidak hadir / no-show", charts.VERMILLION),
            ("Lainnya / other", "#9aa5b1"),
        ],
    )
    keep = ("visits", "called", "completed", "no_shows", "no_show_rate", "cancelled")
    out.append(_block("outcomes", outcomes, stacked, html_table(outcomes, labels, keep)))

    eta = charts.meters(
        "c-eta",
        "Rentang ETA yang tepat per layanan",
        "Bagian panggilan yang jatuh di dalam rentang perkiraan yang ditunjukkan saat pasien masuk antrean; "
        "sasaran 70-90%.",
        [
            (
                labels.service(s.service),
                s.eta_held / s.eta_judged if s.eta_judged else None,
                f"{s.eta_held}/{s.eta_judged}",
            )
            for s in report.services
            if s.eta_judged
        ],
        color=charts.BLUE,
        band=ETA_TARGET,
        band_label="sasaran / target 70-90%",
    )
    eta_table = html_table(outcomes, labels, ("eta_judged", "eta_held", "eta_hit_rate"))
    out.append(_block("eta", outcomes, eta, eta_table, title=("Ketepatan ETA", "ETA accuracy")))

    counters = by_key["counters"]
    use = charts.meters(
        "c-counters",
        "Pemakaian loket",
        "Bagian waktu buka setiap loket yang dipakai melayani pasien.",
        [
            (labels.counter(c.counter), c.utilisation, display(c.utilisation, "rate") if c.open_min else "tutup")
            for c in report.counters
        ],
    )
    out.append(_block("counters", counters, use, html_table(counters, labels)))
    return out


def _block(
    key: str,
    table: Table,
    chart: Any,
    shown: dict[str, Any],
    *,
    detail: dict[str, Any] | None = None,
    title: tuple[str, str] | None = None,
) -> dict[str, Any]:
    title_id, title_en = title or (table.title_id, table.title_en)
    return {"key": key, "title_id": title_id, "title_en": title_en, "chart": chart, "table": shown, "detail": detail}


def cards(report: Report) -> list[dict[str, str]]:
    """The headline figures."""
    overall = report.waiting.get((ALL, ALL))
    served = sum(s.completed for s in report.services)
    return [
        {
            "id": "Tiket",
            "en": "Tickets",
            "value": str(report.tickets),
            "note": f"{sum(report.visits.values())} kunjungan / visits",
        },
        {
            "id": "Selesai dilayani",
            "en": "Visits completed",
            "value": str(served),
            "note": f"{report.called} dipanggil / called",
        },
        {
            "id": "Median tunggu",
            "en": "Median wait",
            "value": display(overall.median if overall else None, "minutes") + " mnt",
            "note": f"p90 {display(overall.p90 if overall else None, 'minutes')} mnt",
        },
        {
            "id": "Tidak hadir",
            "en": "No-shows",
            "value": display(report.no_show_rate, "rate"),
            "note": f"{report.no_shows} dari / of {report.called}",
        },
        {
            "id": "Rentang ETA tepat",
            "en": "ETA range held",
            "value": display(report.eta_hit_rate, "rate"),
            "note": "sasaran / target 70-90%",
        },
        {
            "id": "Pemakaian loket",
            "en": "Counter utilisation",
            "value": display(report.utilisation, "rate"),
            "note": "waktu melayani / waktu buka",
        },
    ]


DAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def period_text(first: date, last: date) -> tuple[str, str]:
    """``Kamis, 26 Nov 2026`` (one day) or ``20 Nov 2026 - 26 Nov 2026 (7 hari)``, and in English."""

    def day(d: date) -> str:
        return f"{d.day} {MONTHS_ID[d.month - 1]} {d.year}"

    if first == last:
        return f"{DAYS_ID[first.weekday()]}, {day(first)}", f"{DAYS_EN[first.weekday()]}, {first.isoformat()}"
    n = (last - first).days + 1
    return f"{day(first)} s.d. {day(last)} ({n} hari)", f"{first.isoformat()} to {last.isoformat()} ({n} days)"


def quick_ranges(today: date) -> list[tuple[str, str, str]]:
    """(Indonesian, English, query) for the usual windows."""

    def q(first: date, last: date) -> str:
        return urlencode({"from": first.isoformat(), "to": last.isoformat()})

    return [
        ("Hari ini", "Today", q(today, today)),
        ("Kemarin", "Yesterday", q(today - timedelta(days=1), today - timedelta(days=1))),
        ("7 hari", "7 days", q(today - timedelta(days=6), today)),
        ("30 hari", "30 days", q(today - timedelta(days=29), today)),
    ]


# -- endpoints ------------------------------------------------------------------------------


class ReportPages:
    def __init__(self) -> None:
        self.templates = Jinja2Templates(directory=TEMPLATES)
        self.templates.env.globals.update(static_url=static_url)

    def render(self, request: Request[Any], name: str, status: int = 200, **ctx: Any) -> Response:
        context = {"facility": request.state["facility"], **ctx}
        return self.templates.TemplateResponse(request, name, context, status_code=status, headers=NO_STORE)

    async def page(self, request: ReportRequest) -> Response:
        principal = authenticate(request, request.state["accounts"])
        if principal is None:
            return self.render(request, "reports_login.html", status=401, forbidden=False)
        if principal.role is not Role.ADMIN:
            return self.render(request, "reports_login.html", status=403, forbidden=True, user=principal.name)
        today = _today(request)
        base: dict[str, Any] = {"user": principal.name, "quick": quick_ranges(today)}
        try:
            first, last = period(request)
        except BadPeriod as exc:
            base["period_id"], base["period_en"] = period_text(today, today)
            return self.render(
                request, "reports.html", status=422, error=exc.args, first=today, last=today, report=None, **base
            )
        report = await build(request, first, last)
        base["period_id"], base["period_en"] = period_text(first, last)
        query = urlencode({"from": first.isoformat(), "to": last.isoformat()})
        return self.render(
            request,
            "reports.html",
            report=report,
            first=first,
            last=last,
            query=query,
            cards=cards(report),
            blocks=blocks(report, request.state["facility"]),
            error=None,
            **base,
        )

    async def _download(self, request: ReportRequest) -> Report:
        require(request, request.state["accounts"], Role.ADMIN)
        try:
            first, last = period(request)
        except BadPeriod:
            raise ApiError("invalid_body", field="from") from None
        return await build(request, first, last)

    async def csv(self, request: ReportRequest) -> Response:
        report = await self._download(request)
        headers = {"Content-Disposition": f'attachment; filename="{filename(report, "csv")}"', **NO_STORE}
        return Response(to_csv(report), media_type="text/csv; charset=utf-8", headers=headers)

    async def xlsx(self, request: ReportRequest) -> Response:
        report = await self._download(request)
        headers = {"Content-Disposition": f'attachment; filename="{filename(report, "xlsx")}"', **NO_STORE}
        body = to_xlsx(report, title=request.state["facility"].name)
        return Response(
            body, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", headers=headers
        )


def routes() -> list[BaseRoute]:
    """``/reports``, ``/reports.csv``, ``/reports.xlsx``."""
    pages = ReportPages()
    return [
        Route("/reports", pages.page, name="reports"),
        Route("/reports.csv", pages.csv, name="reports_csv"),
        Route("/reports.xlsx", pages.xlsx, name="reports_xlsx"),
    ]
