"""The HTML pages: landing, kiosk and its print view, the phone page, remote booking, staff console.

Each page is rendered by a started app (lifespan run) on a memory log, at a fixed time when the
demo puskesmas is open. Tickets are set up straight on the runtime, so these tests do not depend
on the HTTP API (one test goes through it, as the kiosk does).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import orjson
import pytest
import segno
from starlette.testclient import TestClient

from queue_engine.clock import ManualClock
from queue_engine.domain.commands import CallNext, IssueTicket, OpenCounter
from queue_engine.domain.ids import CounterId, ServiceCode
from queue_engine.domain.model import Channel, Priority
from web.app import create_app
from web.pages import PRIORITIES, STATUS_WORDS, json_script
from web.settings import Settings

from .conftest import runtime_of, submit

#: Thursday 2026-11-26 08:00 Asia/Jakarta: every demo service is open
START = 1_795_654_800_000
PHONE_PAGE_LIMIT = 50_000


@pytest.fixture
def pages() -> Iterator[TestClient]:
    app = create_app(Settings(log_url="memory://", secret_key="pages-test-secret"), clock=ManualClock(START))
    with TestClient(app) as client:
        yield client


def run(client: TestClient, command: Any) -> Any:
    return submit(client, command)


def new_ticket(
    client: TestClient, service: str = "LOKET", channel: Channel = Channel.KIOSK, priority: Priority = Priority.UMUM
) -> tuple[str, str]:
    """(token, number) of a fresh ticket."""
    runtime = runtime_of(client)
    token = runtime.ids.token()
    result = run(
        client,
        IssueTicket(
            at=runtime.now(),
            ticket_id=runtime.ids.ticket_id(),
            token=token,
            service=ServiceCode(service),
            channel=channel,
            priority=priority,
        ),
    )
    return token, runtime.state.tickets[result.ticket_id].number


class Landmarks(HTMLParser):
    """Collects tags, ids, aria-live values and text from a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.ids: set[str] = set()
        self.live: list[str] = []
        self.attrs: list[dict[str, str | None]] = []
        self.lang: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append(tag)
        self.attrs.append(a)
        if a.get("id"):
            self.ids.add(str(a["id"]))
        if a.get("aria-live"):
            self.live.append(str(a["aria-live"]))
        if tag == "html":
            self.lang = a.get("lang")


def parse(html: str) -> Landmarks:
    parser = Landmarks()
    parser.feed(html)
    return parser


def assert_page(html: str) -> Landmarks:
    """A whole Indonesian-first HTML page with a main landmark and a title."""
    page = parse(html)
    assert page.lang == "id"
    assert "main" in page.tags
    assert "title" in page.tags
    assert 'name="viewport"' in html
    return page


# ---- landing -------------------------------------------------------------------------------------


def test_landing_links_every_entry_point(pages: TestClient) -> None:
    response = pages.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    page = assert_page(html)
    assert "nav" in page.tags and "header" in page.tags
    assert "Puskesmas Ketabang (demo)" in html
    hrefs = {a.get("href") for a in page.attrs}
    for href in ("/kiosk", "/staff", "/ambil", "/api/v1/openapi.json", "/board/ruang-tunggu", "/board/apotek-lab"):
        assert href in hrefs, href
    assert 'class="qr"' in html  # the poster QR for booking from a phone


# ---- kiosk ---------------------------------------------------------------------------------------


def test_kiosk_offers_services_and_patient_choices_but_not_emergency(pages: TestClient) -> None:
    response = pages.get("/kiosk")
    assert response.status_code == 200
    html = response.text
    page = assert_page(html)
    for code in ("LOKET", "UMUM", "GIGI", "KIA", "LAB", "APOTEK"):
        assert f'data-service="{code}"' in html
    offered = re.findall(r'data-priority="([a-z_]+)"', html)
    assert offered == [code for code, _, _ in PRIORITIES] == ["umum", "lansia", "ibu_hamil", "disabilitas", "balita"]
    assert "darurat" not in offered
    assert {"s-service", "s-priority", "s-checkin", "s-setup", "checkin-form", "checkin-code"} <= page.ids
    assert "<svg" in html  # icons next to the words
    assert "/static/kiosk.js" in html and "/static/kiosk.css" in html


def test_kiosk_script_uses_the_contract(pages: TestClient) -> None:
    """Bearer device token, idempotency key per intent, check-in endpoint, print view."""
    js = pages.get("/static/kiosk.js").text
    assert "'Authorization': 'Bearer '" in js
    assert "localStorage" in js
    assert "idempotency_key" in js
    assert "/api/v1/tickets" in js and "/check-in" in js
    assert "/kiosk/ticket/" in js


def test_closed_services_are_marked_at_the_kiosk() -> None:
    sunday = START + 3 * 86_400_000  # Sunday: the demo puskesmas has no hours
    app = create_app(Settings(log_url="memory://"), clock=ManualClock(sunday))
    with TestClient(app) as client:
        html = client.get("/kiosk").text
    assert html.count('aria-disabled="true"') == 6
    assert "Tutup" in html


# ---- kiosk ticket print view ---------------------------------------------------------------------


def test_print_view_has_the_qr_of_the_absolute_tracking_link(pages: TestClient) -> None:
    token, number = new_ticket(pages)
    new_ticket(pages)
    behind, _ = new_ticket(pages)
    response = pages.get(f"/kiosk/ticket/{behind}?print=1")
    assert response.status_code == 200
    html = response.text
    url = f"http://testserver/t/{behind}"
    assert url in html
    svg = re.search(r'<svg[^>]*class="qr"[^>]*>.*?</svg>', html, re.S)
    assert svg is not None
    expected = segno.make(url, error="m").svg_inline(border=2, omitsize=True)
    path = re.search(r' d="([^"]+)"', expected)
    assert path is not None and path.group(1) in svg.group(0)  # the QR encodes exactly that link
    assert "@page { size: 80mm" in html
    assert "window.print()" in html
    assert "Loket Pendaftaran" in html and "Puskesmas Ketabang (demo)" in html
    assert "2 orang" in html  # two people ahead
    assert "\u2013" in html  # the ETA range
    assert number not in html.replace(behind, "")  # the first ticket's number is not on this one
    assert token not in html


def test_print_view_58mm_and_public_url() -> None:
    settings = Settings(log_url="memory://", public_url="https://antre.example.id/")
    with TestClient(create_app(settings, clock=ManualClock(START))) as client:
        token, _ = new_ticket(client)
        html = client.get(f"/kiosk/ticket/{token}?paper=58").text
    assert f"https://antre.example.id/t/{token}" in html
    assert "@page { size: 58mm" in html
    assert "paper-58" in html


def test_print_view_of_an_unknown_token_is_404(pages: TestClient) -> None:
    response = pages.get("/kiosk/ticket/no-such-token")
    assert response.status_code == 404
    assert "Tiket tidak ditemukan" in response.text


def test_kiosk_flow_through_the_api(pages: TestClient) -> None:
    """What kiosk.js does: POST /api/v1/tickets with the device token, then open the print view."""
    body = {"service": "GIGI", "priority": "lansia", "idempotency_key": "3f2b9c1e-7d4a-4e5b-9a61-0c8d2f7e4b10"}
    issued = pages.post("/api/v1/tickets", json=body, headers={"Authorization": "Bearer kiosk-demo"})
    assert issued.status_code == 201, issued.text
    again = pages.post("/api/v1/tickets", json=body, headers={"Authorization": "Bearer kiosk-demo"})
    assert again.json()["token"] == issued.json()["token"]  # a double tap makes one ticket
    html = pages.get(f"/kiosk/ticket/{issued.json()['token']}?print=1").text
    assert issued.json()["number"] in html and "Poli Gigi" in html


# ---- phone page ----------------------------------------------------------------------------------


def test_phone_page_is_small_and_self_contained(pages: TestClient) -> None:
    for _ in range(5):
        new_ticket(pages)
    token, number = new_ticket(pages)
    response = pages.get(f"/t/{token}")
    assert response.status_code == 200
    assert len(response.content) < PHONE_PAGE_LIMIT, len(response.content)
    html = response.text
    page = assert_page(html)
    # one response: no stylesheet, script, font or image fetched
    assert not re.search(r'<link(?![^>]*href="data:)', html)  # the only link is an empty data: favicon
    assert "<img" not in html and "@import" not in html and "url(" not in html
    assert not re.search(r"<script[^>]+src=", html)
    assert number in html and "Loket Pendaftaran" in html
    assert "5 orang" in html
    assert "polite" in page.live and "assertive" in page.live
    assert {"conn", "num", "ahead", "eta", "cancel", "call"} <= page.ids
    assert "/ws/ticket/" in html and "after=" in html and "/api/v1/tickets/" in html and "/cancel" in html
    assert "15000" in html  # polls every 15 s while the socket is down
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_phone_page_for_a_remote_booking_shows_the_check_in_qr(pages: TestClient) -> None:
    token, _ = new_ticket(pages, channel=Channel.WEB)
    html = pages.get(f"/t/{token}").text
    assert "Belum check-in: tunjukkan QR ini di kiosk saat tiba" in html
    assert '<section id="checkin" class="card checkin" aria-labelledby="ci-title">' in html  # not hidden
    assert 'class="qr"' in html and token in html  # the QR, and the code to type if scanning fails
    assert len(html.encode()) < PHONE_PAGE_LIMIT


def test_phone_page_when_called_says_where_to_go(pages: TestClient) -> None:
    token, number = new_ticket(pages)
    assert number == "A001"
    runtime = runtime_of(pages)
    run(pages, OpenCounter(at=runtime.now(), counter=CounterId("loket-2")))
    run(pages, CallNext(at=runtime.now(), counter=CounterId("loket-2")))
    html = pages.get(f"/t/{token}").text
    call = re.search(r'<div id="call"[^>]*aria-live="assertive"[^>]*>(.*?)</div></div>', html, re.S)
    assert call is not None and "Silakan menuju Loket 2" in call.group(1)
    assert STATUS_WORDS["called"][0] in html


def test_phone_page_of_an_unknown_token_is_a_friendly_404(pages: TestClient) -> None:
    response = pages.get("/t/not-a-real-token")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Tiket tidak ditemukan" in response.text and "Ticket not found" in response.text
    assert 'href="/ambil"' in response.text


# ---- remote booking ------------------------------------------------------------------------------


def test_booking_page_posts_anonymously_then_goes_to_the_ticket(pages: TestClient) -> None:
    response = pages.get("/ambil")
    assert response.status_code == 200
    html = response.text
    page = assert_page(html)
    assert "form" in page.tags and "fieldset" in page.tags
    assert len(re.findall(r'name="service" value="', html)) == 6
    assert re.findall(r'name="priority" value="([a-z_]+)"', html) == [code for code, _, _ in PRIORITIES]
    js = pages.get("/static/ambil.js").text
    assert "/api/v1/tickets" in js and "tracking_url" in js and "Authorization" not in js


# ---- staff console -------------------------------------------------------------------------------


def test_staff_console_page(pages: TestClient) -> None:
    response = pages.get("/staff")
    assert response.status_code == 200
    html = response.text
    page = assert_page(html)
    assert {"login-form", "login-user", "login-pass", "v-console", "wait", "next-stage", "toast"} <= page.ids
    for key in "NRSCKU":
        assert f"<kbd>{key}</kbd>" in html and f'aria-keyshortcuts="{key}"' in html
    data = orjson.loads(re.search(r'<script type="application/json" id="facility">(.*?)</script>', html, re.S).group(1))  # type: ignore[union-attr]
    assert data["services"][0] == {
        "code": "LOKET",
        "name": "Loket Pendaftaran",
        "prefix": "A",
        "next_stages": ["UMUM", "GIGI", "KIA", "LAB"],
    }
    assert {c["id"] for c in data["counters"]} >= {"loket-1", "umum-1", "apotek"}


def test_staff_script_uses_the_contract(pages: TestClient) -> None:
    js = pages.get("/static/staff.js").text
    for piece in (
        "X-CSRF-Token",
        "/api/v1/auth/me",
        "/api/v1/auth/login",
        "/api/v1/auth/logout",
        "/api/v1/counters/",
        "/api/v1/staff/tickets/",
        "/ws/counter/",
        "'call-next'",
        "'recall'",
        "'start'",
        "'complete'",
        "'skip'",
        "'undo'",
        "'requeue'",
        "'transfer'",
        "'pause'",
        "'open'",
        "'close'",
        "message_id",
        "message_en",
    ):
        assert piece in js, piece


# ---- cross-cutting -------------------------------------------------------------------------------


def test_every_static_file_a_page_names_is_served(pages: TestClient) -> None:
    token, _ = new_ticket(pages)
    names: set[str] = set()
    for path in ("/", "/kiosk", "/ambil", "/staff", f"/kiosk/ticket/{token}", f"/t/{token}"):
        names |= set(re.findall(r"/static/([\w.-]+)\?v=", pages.get(path).text))
    assert names >= {"antre.css", "kiosk.css", "kiosk.js", "ticket.css", "ambil.js", "staff.css", "staff.js"}
    for name in names:
        assert pages.get(f"/static/{name}").status_code == 200, name


def test_no_page_shows_personal_data_or_other_tickets(pages: TestClient) -> None:
    """No page asks for or shows a name, NIK, phone or card number; a ticket page shows only its ticket."""
    mine, _ = new_ticket(pages, priority=Priority.LANSIA)
    other, other_number = new_ticket(pages, service="UMUM")
    runtime = runtime_of(pages)
    secrets = [other, *(u.password_hash for u in pages.app_state["accounts"].users.values())]
    secrets += [d.token_sha256 for d in pages.app_state["accounts"].devices]
    for path in ("/", "/kiosk", "/ambil", "/staff", f"/kiosk/ticket/{mine}", f"/t/{mine}"):
        html = pages.get(path).text
        for secret in secrets:
            assert secret not in html, (path, secret)
        assert other_number not in html, path
        assert not re.search(r'name="(nik|nama|name|phone|telepon|hp|no_bpjs|bpjs|alamat)"', html, re.I), path
        assert "NIK" not in html
        for ticket in runtime.state.tickets.values():
            assert ticket.id not in html, path  # internal ids are for staff API answers only


def test_json_script_cannot_close_its_script_element() -> None:
    assert "</script>" not in json_script({"name": "</script><script>alert(1)</script>"})
