"""``/reports`` (HTML), ``/reports.csv`` and ``/reports.xlsx``: admins only, the day's figures, downloads."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from queue_engine.reports import day_report, to_csv
from tests.web.conftest import KIOSK, api_client, login

from .support import DAY, demo, filled_log, simulated

QUERY = f"?from={DAY.isoformat()}&to={DAY.isoformat()}"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def client() -> Iterator[TestClient]:
    with api_client(log=filled_log(1)) as client:
        yield client


def test_the_page_asks_for_an_admin(client: TestClient) -> None:
    """No session: 401 and a log-in form; staff or a kiosk device: 403; no figures either way."""
    anonymous = client.get("/reports" + QUERY)
    assert anonymous.status_code == 401
    assert 'id="login-form"' in anonymous.text and "Masuk admin" in anonymous.text
    assert "c-hourly" not in anonymous.text
    assert anonymous.headers["cache-control"] == "private, no-store"
    kiosk = client.get("/reports" + QUERY, headers=KIOSK)
    assert kiosk.status_code == 403 and "Khusus admin" in kiosk.text
    login(client, "petugas-loket")
    staff = client.get("/reports" + QUERY)
    assert staff.status_code == 403 and "petugas-loket" in staff.text and "c-hourly" not in staff.text


@pytest.mark.parametrize("path", ["/reports.csv", "/reports.xlsx"])
def test_downloads_ask_for_an_admin(client: TestClient, path: str) -> None:
    """The downloads answer the API's JSON errors: 401 without a session, 403 for staff."""
    response = client.get(path + QUERY)
    assert response.status_code == 401 and response.json()["code"] == "unauthenticated"
    login(client, "petugas-poli")
    response = client.get(path + QUERY)
    assert response.status_code == 403 and response.json()["code"] == "forbidden"


def test_an_admin_sees_the_day_in_charts_and_tables(client: TestClient) -> None:
    """Bahasa Indonesia first; every chart an accessible SVG; the figures as the report computes them."""
    login(client, "admin")
    page = client.get("/reports" + QUERY)
    assert page.status_code == 200
    html = page.text
    assert '<h1>Laporan antrean<span class="en">Queue report</span></h1>' in html
    assert "Kamis, 26 Nov 2026" in html
    for chart in ("c-hourly", "c-visits", "c-waiting", "c-service", "c-outcomes", "c-eta", "c-counters"):
        svg = re.search(rf'<svg class="chart" id="{chart}"[^>]*>', html)
        assert svg is not None and 'role="img"' in svg.group(0) and f'aria-labelledby="{chart}-t"' in svg.group(0)
        assert f'<title id="{chart}-t">' in html
    report = day_report(demo(), simulated(1)[1], DAY)
    cards = re.findall(r'<strong class="stat-value">([^<]+)</strong>', html)
    assert cards[0] == str(report.tickets)
    assert cards[4] == f"{(report.eta_hit_rate or 0) * 100:.1f}%"
    assert f'href="/reports.csv?from={DAY}&amp;to={DAY}"' in html
    assert "Loket Pendaftaran" in html and "Ruang Poli Umum 1" in html  # names, not codes
    assert "cdn" not in html.lower() and "<script" not in html  # no script at all once logged in


def test_an_admin_downloads_csv_and_xlsx(client: TestClient) -> None:
    """Attachments named after the facility and days; the CSV is the report's; the XLSX a workbook."""
    login(client, "admin")
    report = day_report(demo(), simulated(1)[1], DAY)
    got = client.get("/reports.csv" + QUERY)
    assert got.status_code == 200
    assert got.headers["content-type"] == "text/csv; charset=utf-8"
    assert got.headers["content-disposition"] == 'attachment; filename="laporan-antrean-pkm-demo-2026-11-26.csv"'
    assert got.text == to_csv(report)
    book = client.get("/reports.xlsx" + QUERY)
    assert book.status_code == 200 and book.headers["content-type"] == XLSX
    assert book.headers["content-disposition"].endswith('-2026-11-26.xlsx"')
    assert zipfile.ZipFile(io.BytesIO(book.content)).testzip() is None
    openpyxl = pytest.importorskip("openpyxl")
    assert openpyxl.load_workbook(io.BytesIO(book.content))["Ringkasan"]["B5"].value == report.tickets
    ranged = client.get("/reports.csv?from=2026-11-25&to=2026-11-26")
    assert ranged.headers["content-disposition"].endswith('-2026-11-25_2026-11-26.csv"')


def test_today_is_the_default_and_bad_periods_are_refused(client: TestClient) -> None:
    """No dates: today on the app's clock (Thursday 2026-11-26). A bad or backwards period: 422."""
    login(client, "admin")
    assert client.get("/reports").text.count("Kamis, 26 Nov 2026") >= 1
    assert client.get("/reports.csv").text == client.get("/reports.csv" + QUERY).text
    for query in ("?from=26-11-2026", "?from=2026-11-27&to=2026-11-26", "?from=2024-01-01&to=2026-01-01"):
        page = client.get("/reports" + query)
        assert page.status_code == 422 and 'class="notice err"' in page.text
        assert client.get("/reports.csv" + query).status_code == 422
