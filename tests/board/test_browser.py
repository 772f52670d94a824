"""The board page in headless Chromium: calls spoken once and in turn, blocked sound, offline, layout.

Messages are fed through ``window.antreBoard.handle`` (the page's single entry for messages) on a
page opened with ``?connect=0``, or come over the real WebSocket from a real server.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from display_board.announce import announcement
from queue_engine.domain import commands as c
from queue_engine.domain.ids import CounterId
from tests.board.support import LiveServer
from web.settings import Settings

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(importlib.util.find_spec("playwright") is None, reason="playwright is not installed"),
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="chromium is not installed"),
]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TOKEN = "papan-demo"


def call(position: int, number: str, counter: str, counter_name: str, *, recall: bool = False) -> dict[str, Any]:
    """A call message as the hub sends it."""
    return {
        "type": "call",
        "position": position,
        "data": {
            "counter": counter,
            "counter_name": counter_name,
            "number": number,
            "service": "LOKET",
            "service_name": "Loket Pendaftaran",
            "recall": recall,
            "speech": announcement(number, counter_name),
        },
    }


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with LiveServer(Settings(log_url="memory://", heartbeat_s=0.5)) as live:
        yield live


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


def _browser(playwright: Any, autoplay: str) -> Iterator[Any]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[*ARGS, f"--autoplay-policy={autoplay}"])
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def browser(playwright: Any) -> Iterator[Any]:
    """Sound allowed, as on a TV stick started with --autoplay-policy=no-user-gesture-required."""
    yield from _browser(playwright, "no-user-gesture-required")


@pytest.fixture(scope="module")
def strict_browser(playwright: Any) -> Iterator[Any]:
    """Sound blocked until someone taps the page (the default on most browsers)."""
    yield from _browser(playwright, "document-user-activation-required")


def open_board(browser: Any, server: LiveServer, query: str = "", size: tuple[int, int] = (1920, 1080)) -> Any:
    # bypass_csp: wait_for_function evaluates strings, which the page's CSP (rightly) forbids
    page = browser.new_page(viewport={"width": size[0], "height": size[1]}, bypass_csp=True)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server.url}/board/ruang-tunggu?token={TOKEN}{query}")
    page.wait_for_function("window.antreBoard && window.antreBoard.state.board !== null")
    page.errors = errors
    return page


def hook(page: Any, expr: str) -> Any:
    return page.evaluate(f"() => window.antreBoard.{expr}")


def test_a_call_is_shown_queued_and_spoken_once(browser: Any, server: LiveServer) -> None:
    """The call fills the large panel and flashes; it is queued once, even when resent on a resume."""
    page = open_board(browser, server, "&connect=0")
    message = call(500, "A012", "loket-2", "Loket 2")
    page.evaluate("m => window.antreBoard.handle(m)", message)
    page.evaluate("m => window.antreBoard.handle(m)", message)  # the same call again (a resume)
    page.evaluate("m => window.antreBoard.handle(m)", call(499, "A011", "loket-1", "Loket 1"))  # older: ignored
    assert [a["number"] for a in hook(page, "announced")] == ["A012"]
    assert page.inner_text("#now-number") == "A012"
    assert page.inner_text("#now-counter") == "Loket 2"
    assert "flash" in page.get_attribute("#now-card", "class")
    page.wait_for_function("window.antreBoard.played.length >= 3")
    assert hook(page, "played")[:3] == ["chime", "nomor", "antrean"]
    assert page.errors == []
    page.close()


@pytest.mark.slow
def test_calls_take_turns_and_never_overlap(browser: Any, server: LiveServer) -> None:
    """Two calls at once: chime and clips of the first, then chime and clips of the second."""
    page = open_board(browser, server, "&connect=0")
    first, second = call(600, "A001", "apotek", "Apotek"), call(601, "F002", "apotek", "Apotek")
    page.evaluate("ms => ms.forEach(m => window.antreBoard.handle(m))", [first, second])
    assert [q["number"] for q in hook(page, "audioQueue")] == ["A001", "F002"]
    page.wait_for_function("window.antreBoard.spoken.length === 2", timeout=40_000)
    expected = ["chime", *first["data"]["speech"]["clips"], "chime", *second["data"]["speech"]["clips"]]
    assert hook(page, "played") == expected
    assert hook(page, "audioQueue") == []
    page.close()


def test_blocked_sound_shows_a_one_tap_button(strict_browser: Any, server: LiveServer) -> None:
    """When the browser blocks sound, the page says so; one tap enables it and the call is spoken."""
    page = open_board(strict_browser, server, "&connect=0")
    page.wait_for_selector("#sound-overlay:not([hidden])")
    assert "Aktifkan suara / Enable sound" in page.inner_text("#sound-button")
    page.evaluate("m => window.antreBoard.handle(m)", call(700, "A020", "loket-1", "Loket 1"))
    assert hook(page, "soundBlocked") is True
    assert [q["number"] for q in hook(page, "audioQueue")] == ["A020"]  # kept for after the tap
    page.click("#sound-button")
    page.wait_for_selector("#sound-overlay", state="hidden")
    assert page.evaluate("() => localStorage.getItem('antre.sound')") == "on"
    page.wait_for_function("window.antreBoard.played.includes('nomor')")
    assert hook(page, "soundBlocked") is False
    page.reload()  # enablement is remembered: the card now explains how to make it stick
    page.wait_for_selector("#sound-overlay:not([hidden])")
    assert page.is_visible("#sound-hint")
    assert "--autoplay-policy=no-user-gesture-required" in page.inner_text("#sound-hint")
    page.close()


def test_missing_heartbeats_show_offline_and_keep_the_last_state(browser: Any, server: LiveServer) -> None:
    """No message for three heartbeats: the OFFLINE badge with the last update time, content kept."""
    page = open_board(browser, server, "&connect=0")  # heartbeat_s=0.5: offline after 1.5 s (+3 s grace)
    page.wait_for_selector("#offline:not([hidden])", timeout=10_000)
    badge = " ".join(page.inner_text("#offline").split())
    assert re.fullmatch(r"OFFLINE — terakhir diperbarui \d\d:\d\d", badge), badge
    assert hook(page, "online") is False
    assert page.locator("#counters li").count() == 6
    page.evaluate("() => window.antreBoard.handle({type: 'heartbeat', position: 1, at: Date.now()})")
    page.wait_for_selector("#offline", state="hidden")
    page.close()


def test_a_real_call_arrives_over_the_websocket(browser: Any, server: LiveServer) -> None:
    """Staff call the next ticket; the hub pushes the call and the page queues it for speech."""
    page = open_board(browser, server)
    page.wait_for_function("window.antreBoard.online === true")
    result = server.submit(c.CallNext(at=server.clock.now(), counter=CounterId("loket-2"), complete_current=True))
    assert server.runtime is not None and result.ticket_id is not None
    number = server.runtime.state.tickets[result.ticket_id].number
    page.wait_for_function("n => window.antreBoard.announced.some(a => a.number === n)", arg=number)
    assert page.inner_text("#now-number") == number
    assert page.inner_text("#now-counter") == "Loket 2"
    row = page.locator("#counters li", has_text="Loket 2")
    assert number in row.inner_text()
    page.wait_for_function("window.antreBoard.played.includes('menuju')", timeout=20_000)
    page.close()


def test_the_board_survives_a_server_restart(browser: Any) -> None:
    """The server goes away: OFFLINE badge, last state kept; it comes back: the page reconnects by itself."""
    settings = Settings(log_url="memory://", heartbeat_s=0.5)
    first = LiveServer(settings).start()
    port = first.port
    page = open_board(browser, first)
    page.wait_for_function("window.antreBoard.online === true")
    before = page.inner_text("#counters")
    first.stop()
    page.wait_for_selector("#offline:not([hidden])", timeout=10_000)
    assert page.inner_text("#counters") == before
    with LiveServer(settings, seeded=False, port=port):  # a new, empty log: positions start again
        page.wait_for_function("window.antreBoard.online === true", timeout=30_000)
        page.wait_for_selector("#offline", state="hidden")
        assert "—" in page.inner_text("#counters")  # the fresh snapshot replaced the old state
    page.close()


@pytest.mark.parametrize("size", [(1920, 1080), (1280, 720)])
def test_the_board_fits_the_screen(browser: Any, server: LiveServer, size: tuple[int, int]) -> None:
    """Full HD and HD: nothing scrolls, every counter row and queue row is on screen."""
    page = open_board(browser, server, "&connect=0", size)
    assert page.evaluate("() => document.documentElement.scrollHeight") <= size[1]
    assert page.evaluate("() => document.documentElement.scrollWidth") <= size[0]
    for selector in ("#counters li", "#queues li", "#now-number", "#now-counter", ".ticker", ".clock"):
        for box in (page.locator(selector).nth(i).bounding_box() for i in range(page.locator(selector).count())):
            assert box is not None
            assert box["y"] >= 0 and box["y"] + box["height"] <= size[1] + 0.5, selector
    page.close()
