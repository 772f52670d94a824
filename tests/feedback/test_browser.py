"""The rating card in real headless Chromium: it appears when the visit completes live, and a rating is sent.

A real server (uvicorn on a free port, memory log, the demo puskesmas with ``[[modules]] use =
"feedback"`` from a facility file) and the phone page of a kiosk ticket; staff commands go
straight to the server's runtime. Every wait is on a DOM condition; nothing sleeps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from queue_engine.config import demo_path
from queue_engine.domain import commands as c
from queue_engine.domain.ids import CounterId, ServiceCode
from tests.board.support import LiveServer
from tests.e2e.test_flow import new_page, pytestmark as browser_marks, screenshot, text
from web.settings import Settings

pytestmark = browser_marks


@pytest.fixture(scope="module")
def browser() -> Any:
    from playwright.sync_api import sync_playwright

    from tests.e2e.test_flow import ARGS, CHROMIUM

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def test_the_card_appears_when_the_visit_completes_and_a_rating_is_sent(browser: Any, tmp_path: Path) -> None:
    facility_file = tmp_path / "puskesmas.toml"
    facility_file.write_text(demo_path().read_text(encoding="utf-8") + '\n[[modules]]\nuse = "feedback"\n')
    server = LiveServer(Settings(log_url="memory://", facility_path=str(facility_file), heartbeat_s=1.0), seeded=False)
    with server:
        assert server.runtime is not None
        loket = CounterId("loket-1")
        now = server.clock.now
        server.submit(c.OpenCounter(at=now(), counter=loket))
        issued = server.submit(
            c.IssueTicket(
                at=now(),
                ticket_id=server.runtime.ids.ticket_id(),
                token=server.runtime.ids.token(),
                service=ServiceCode("LOKET"),
            )
        )
        assert issued.ticket_id is not None
        token = server.runtime.state.tickets[issued.ticket_id].token

        phone = new_page(browser, f"{server.url}/t/{token}", (390, 844), is_mobile=True, has_touch=True)
        phone.wait_for_selector("#conn:not(.off)")
        assert phone.is_hidden("#fb")  # still waiting: no card

        server.submit(c.CallNext(at=now(), counter=loket))
        server.submit(c.Complete(at=now(), counter=loket))
        phone.wait_for_selector("#st-id:text-is('Selesai')")
        phone.wait_for_selector("#fb:not([hidden])")
        assert text(phone, "#fb-title") == "Bagaimana pelayanan kami? How was our service?"
        assert phone.get_by_role("radio", name="Baik (4 dari 5 · Good, 4 of 5)").count() == 1

        phone.click("#fb-send")  # nothing chosen yet
        phone.wait_for_selector("#fb-err:has-text('Pilih salah satu nilai')")
        phone.click("label[for=fb-4]")
        assert phone.is_checked("#fb-4")
        phone.fill("#fb-comment", "Cepat dan ramah. HP 0812 3456 7890")
        assert text(phone, "#fb-count") == "34/500"
        screenshot(phone, "e2e-phone-feedback.png", full_page=True)
        phone.click("#fb-send")
        phone.wait_for_selector("#fb-thanks:not([hidden])")
        assert phone.is_hidden("#fb-form")
        assert "Nilai Anda: 4 dari 5 (Baik)" in text(phone, "#fb-given")
        assert phone.input_value("#fb-comment") == "Cepat dan ramah. HP […]"  # what was stored

        answer = server.runtime.state.modules["feedback"].answers[issued.ticket_id]
        assert (answer.service, answer.counter, answer.rating) == ("LOKET", "loket-1", 4)

        # a reload shows the thanks, not the form again; "change" opens the form with the answer in it
        phone.reload()
        phone.wait_for_selector("#fb-thanks:not([hidden])")
        phone.click("#fb-edit")
        assert phone.is_visible("#fb-form") and phone.is_checked("#fb-4")
        assert phone.errors == []
        phone.context.close()
