"""One patient's morning through real headless Chromium against a real server over a SQLite log.

Kiosk -> ticket print view -> phone page -> staff console -> TV board, then the server restarts
under the board. Every wait is on a DOM condition; nothing sleeps. ``ANTRE_SCREENSHOTS=1`` also
saves screenshots to ``docs/screenshots/e2e-*.png`` (not in CI).

The server is :class:`tests.board.support.LiveServer` without the seeded morning: the app opens
``sqlite:///<tmp>/e2e.db`` itself and runs on a manual clock at Thursday 09:40 WIB, inside the demo
services' hours, so the kiosk issues tickets whatever the time CI runs at.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from display_board.announce import announcement
from tests.board.support import LiveServer
from web.settings import Settings

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--autoplay-policy=no-user-gesture-required",
]
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(importlib.util.find_spec("playwright") is None, reason="playwright is not installed"),
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="chromium is not installed"),
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
#: how long a staff action may take to reach the board
CALL_BUDGET_S = 1.0


def new_page(browser: Any, url: str, size: tuple[int, int] = (1280, 800), **options: Any) -> Any:
    """A page in its own context (own cookies and storage), like a separate device."""
    # bypass_csp: wait_for_function evaluates strings, which the board's CSP (rightly) forbids
    context = browser.new_context(viewport={"width": size[0], "height": size[1]}, bypass_csp=True, **options)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    page.goto(url)
    return page


def screenshot(page: Any, name: str, *, full_page: bool = False) -> None:
    if os.environ.get("ANTRE_SCREENSHOTS") == "1":
        page.screenshot(path=str(SCREENSHOTS / name), full_page=full_page)


def text(page: Any, selector: str) -> str:
    return " ".join(page.inner_text(selector).split())


def board_shows(board: Any, number: str, timeout: float) -> list[dict[str, Any]]:
    """Wait until the large panel shows ``number``; return the audio queue as it was at that moment.

    The page draws a call and queues its announcement in the same task, so reading the queue in the
    same poll cannot miss an announcement that has already started playing.
    """
    shown = board.wait_for_function(
        """n => document.getElementById('now-number').textContent === n
            && JSON.parse(JSON.stringify(window.antreBoard.audioQueue))""",
        arg=number,
        timeout=timeout,
    )
    queue: list[dict[str, Any]] = shown.json_value()
    return queue


def issue_at_kiosk(kiosk: Any, base: str) -> tuple[str, str]:
    """Tap Loket Pendaftaran, then Umum; return the printed number and the tracking link."""
    kiosk.goto(f"{base}/kiosk")
    kiosk.click(".svc[data-service='LOKET']")
    kiosk.wait_for_selector("#s-priority:not([hidden])")
    assert text(kiosk, "#chosen-name") == "Loket Pendaftaran"
    kiosk.click(".pri[data-priority='umum']")
    kiosk.wait_for_url(re.compile(r"/kiosk/ticket/[^/?]+\?print=1$"))
    kiosk.wait_for_selector(".t-qr svg.qr")
    number = text(kiosk, ".t-number")
    assert text(kiosk, ".take-number") == number
    assert text(kiosk, ".t-service") == "Loket Pendaftaran"
    link = text(kiosk, ".t-url")
    assert kiosk.locator(".t-qr svg.qr path").count() >= 1
    return number, link


def staff_call_next(staff: Any) -> float:
    """Press N on the console (nothing focused); return time.monotonic() just before the key press."""
    staff.evaluate("() => document.activeElement && document.activeElement.blur()")
    started = time.monotonic()
    staff.keyboard.press("n")
    return started


def test_a_kiosk_ticket_is_called_live_everywhere_and_survives_a_restart(
    browser: Any, servers: list[LiveServer], tmp_path: Path
) -> None:
    """Kiosk ticket -> phone page -> staff call: board and phone update live, and the board outlives a restart."""
    settings = Settings(log_url=f"sqlite:///{tmp_path}/e2e.db", heartbeat_s=1.0)
    first = LiveServer(settings, seeded=False).start()
    servers.append(first)
    base = first.url

    # 4 (before the call). The waiting-room board, open and online before anything happens.
    board = new_page(browser, f"{base}/board/ruang-tunggu?token=papan-demo", (1920, 1080))
    board.wait_for_function("window.antreBoard && window.antreBoard.online === true")
    assert text(board, "#now-number") == "—"

    # 1. Kiosk: Loket Pendaftaran, Umum -> the print view with the number and a QR code.
    kiosk = new_page(browser, f"{base}/kiosk?token=kiosk-demo", (1080, 1920))
    number, link = issue_at_kiosk(kiosk, base)
    assert number == "A001"
    assert link.startswith(f"{base}/t/")
    assert kiosk.is_visible(".t-qr svg.qr")

    # 2. Phone page from the ticket's link: number, people ahead, waiting; live over its WebSocket.
    phone = new_page(browser, link, (390, 844), is_mobile=True, has_touch=True)
    assert text(phone, "#num") == number
    assert text(phone, "#svc") == "Loket Pendaftaran"
    assert text(phone, "#st-id") == "Menunggu dipanggil"
    assert text(phone, "#ahead") == "0 orang"
    assert text(phone, "#call") == ""
    phone.wait_for_selector("#conn:not(.off)")
    phone.evaluate("() => { window.notReloaded = true; }")
    # the board already lists it as next in line
    board.wait_for_function(
        "n => [...document.querySelectorAll('#queues .chip')].some(c => c.textContent === n)", arg=number
    )

    # 3. Staff: log in, choose Loket 1, open it if it is closed, and see the ticket waiting.
    staff = new_page(browser, f"{base}/staff", (1366, 768))
    staff.wait_for_selector("#v-login:not([hidden])")
    staff.fill("#login-user", "petugas-loket")
    staff.fill("#login-pass", "petugas-demo")
    staff.click("#login-form button[type=submit]")
    staff.wait_for_selector("#v-pick:not([hidden])")
    staff.click("#pick-grid button:has-text('Loket 1')")
    staff.wait_for_selector("#v-console:not([hidden])")
    staff.wait_for_selector("#c-status:is(.open, .paused, .closed)")  # the counter's state has loaded
    if staff.is_enabled("#a-open"):
        staff.click("#a-open")
    staff.wait_for_selector("#c-status.open")
    staff.wait_for_selector(f"#wait .w-num:text-is('{number}')")
    staff.wait_for_selector("#a-next:not([disabled])")

    # 4. The call reaches the board within a second, shown large and queued for chime and voice.
    started = staff_call_next(staff)
    queued = board_shows(board, number, timeout=CALL_BUDGET_S * 1000)
    elapsed = time.monotonic() - started
    assert elapsed < CALL_BUDGET_S, f"the board showed the call {elapsed:.3f} s after the key press"
    assert text(board, "#now-counter") == "Loket 1"
    assert [a["number"] for a in board.evaluate("() => window.antreBoard.announced")] == [number]
    assert [(q["number"], q["clips"]) for q in queued] == [(number, announcement(number, "Loket 1")["clips"])]
    assert queued[0]["clips"][:4] == ["nomor", "antrean", "a", "satu"]
    board.wait_for_function("window.antreBoard.played.includes('chime')")
    staff.wait_for_selector(f"#cur-num:text-is('{number}')")

    # 5. The phone page turns to "called" by itself.
    phone.wait_for_selector("#call .banner.call")
    assert text(phone, "#call strong") == "Silakan menuju Loket 1"
    assert text(phone, "#st-id") == "Dipanggil"
    assert phone.evaluate("() => window.notReloaded") is True
    screenshot(board, "e2e-board.png")
    screenshot(phone, "e2e-phone-called.png")
    if os.environ.get("ANTRE_SCREENSHOTS") == "1":  # the undo countdown on the server's (manual) clock
        staff.wait_for_function("/\\(([01]:\\d\\d|2:00)\\)/.test(document.getElementById('undo-info').textContent)")
    screenshot(staff, "e2e-staff.png")

    # 6. Restart: offline badge, the number stays on screen; the same port and SQLite file bring it back.
    board.evaluate(
        """() => {
            const el = document.getElementById('now-number');
            window.nowNumbers = [];
            new MutationObserver(() => window.nowNumbers.push(el.textContent))
                .observe(el, {childList: true, characterData: true, subtree: true});
        }"""
    )
    first.stop()
    board.wait_for_selector("#offline:not([hidden])", timeout=10_000)
    assert board.evaluate("() => window.antreBoard.online") is False
    assert text(board, "#now-number") == number
    assert text(board, "#now-counter") == "Loket 1"
    second = LiveServer(settings, seeded=False, port=first.port).start()
    servers.append(second)
    board.wait_for_function("window.antreBoard.online === true", timeout=30_000)
    board.wait_for_selector("#offline", state="hidden")
    assert text(board, "#now-number") == number
    assert set(board.evaluate("() => window.nowNumbers")) <= {number}  # never blank in between

    # ... and a call made after the restart appears (numbering went on in the same log: A002).
    next_number, _ = issue_at_kiosk(kiosk, base)
    assert next_number == "A002"
    staff.wait_for_selector(f"#wait .w-num:text-is('{next_number}')", timeout=30_000)
    staff_call_next(staff)
    board_shows(board, next_number, timeout=5_000)
    assert [a["number"] for a in board.evaluate("() => window.antreBoard.announced")] == [number, next_number]
    assert text(board, "#now-counter") == "Loket 1"
    phone.wait_for_selector("#st-id:text-is('Selesai')", timeout=30_000)  # A001 was completed by that call

    for page in (board, kiosk, phone, staff):
        assert page.errors == [], page.url
        page.context.close()
