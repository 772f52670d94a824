"""The reports page in real headless Chromium over a simulated day in a SQLite log.

The admin logs in through the page's own form, reads the charts and tables, changes the period,
and the downloads answer. Every wait is on a DOM condition or a navigation; nothing sleeps.
``ANTRE_SCREENSHOTS=1`` saves ``docs/screenshots/reports.png`` (desktop, full page) and
``reports-mobile.png`` (a phone's first screens).
"""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from queue_engine.report_cli import simulate_into_log
from tests.board.support import LiveServer
from tests.e2e.test_flow import ARGS, CHROMIUM, new_page, screenshot, text
from web.settings import Settings

from .support import DAY, demo

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(importlib.util.find_spec("playwright") is None, reason="playwright is not installed"),
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="chromium is not installed"),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A real server over a SQLite log holding two simulated days (Thursday and Friday)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('reports') / 'sim.db'}"
    # On a thread of its own: Playwright's sync API keeps an event loop running on this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, simulate_into_log(demo(), 1, 160, url, DAY)).result()
        pool.submit(asyncio.run, simulate_into_log(demo(), 2, 140, url, DAY.replace(day=27))).result()
    live = LiveServer(Settings(log_url=url), seeded=False).start()
    yield live
    live.stop()


def _log_in(page: Any) -> None:
    page.wait_for_selector("#login-form")
    page.fill("#login-user", "admin")
    page.fill("#login-pass", "admin-demo")
    with page.expect_navigation():
        page.click("#login-form button[type=submit]")
    page.wait_for_selector("#c-hourly")


def test_an_admin_logs_in_and_reads_the_day(browser: Any, server: LiveServer) -> None:
    """Log in on the page itself; the day's charts, tables and downloads are there, with no script errors."""
    page = new_page(browser, f"{server.url}/reports?from={DAY.isoformat()}", (1366, 900))
    assert "Masuk admin" in text(page, "h1")
    page.fill("#login-user", "admin")
    page.fill("#login-pass", "salah")
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#login-error:not([hidden])")
    assert "salah" in text(page, "#login-error")  # "Nama pengguna atau kata sandi salah."
    _log_in(page)

    assert text(page, "h1").startswith("Laporan antrean")
    assert "Kamis, 26 Nov 2026" in text(page, ".period")
    for chart in ("c-hourly", "c-visits", "c-waiting", "c-service", "c-outcomes", "c-eta", "c-counters"):
        svg = page.locator(f"svg#{chart}")
        assert svg.get_attribute("role") == "img"
        name = svg.locator("title").first.text_content()
        assert name and page.get_by_role("img", name=name, exact=True).count() == 1  # an accessible name
        box = svg.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 80
    assert page.locator("#c-hourly rect").count() > 10  # bars drawn
    assert page.locator(".cards .stat").count() == 6
    tickets = page.locator(".cards .stat").first.locator(".stat-value").inner_text()
    assert tickets == "154"
    assert page.locator("#counters table.data tbody tr").count() == len(demo().counters)
    assert page.errors == []
    screenshot(page, "reports.png", full_page=True)

    csv = page.evaluate("() => fetch(document.getElementById('dl-csv').href).then(r => r.text())")
    assert csv.startswith("table,group,subgroup,metric,value")
    assert "summary,,,tickets,154" in csv
    kind = page.evaluate(
        "() => fetch(document.getElementById('dl-xlsx').href).then(r => r.headers.get('content-type'))"
    )
    assert kind == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_the_period_form_shows_a_range_and_fits_a_phone(browser: Any, server: LiveServer) -> None:
    """On a phone: choose Thursday to Friday with the form; the charts fit the screen's width."""
    page = new_page(browser, f"{server.url}/reports", (390, 844), device_scale_factor=2, is_mobile=True)
    _log_in(page)
    page.fill("input[name=from]", DAY.isoformat())
    page.fill("input[name=to]", DAY.replace(day=27).isoformat())
    with page.expect_navigation():
        page.click(".period-form button[type=submit]")
    page.wait_for_selector("#c-hourly")
    assert "(2 hari)" in text(page, ".period")
    tickets = int(page.locator(".cards .stat").first.locator(".stat-value").inner_text())
    assert tickets > 154  # both days
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390  # nothing overflows sideways
    chart = page.locator("svg#c-waiting").bounding_box()
    assert chart is not None and chart["width"] <= 390
    assert page.errors == []
    page.locator(".cards").scroll_into_view_if_needed()
    page.evaluate("() => window.scrollTo(0, document.querySelector('.cards').offsetTop - 12)")
    screenshot(page, "reports-mobile.png")
