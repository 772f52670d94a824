"""A public screen shows numbers, counters and services: never a patient's name, NIK or ticket token."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from starlette.testclient import TestClient

from display_board.routes import STATIC, TEMPLATES
from tests.board.support import ISSUED, seeded_log
from web.app import create_app
from web.settings import Settings

#: words that would name personal data in a field, a variable or a label
PERSONAL = re.compile(
    r"\b(nik|nama|name_?patient|patient\w*|pasien\w*|phone|telepon|hp|birth\w*|lahir|tanggal_lahir|dob|alamat"
    r"|address|email|no_?rm|rekam_?medis|medical\w*|bpjs_?(no|number|nomor)|no_?kartu|ticket_id|tracking\w*)\b",
    re.I,
)

#: every key the page's embedded config may contain (board_json, its standing calls, call_json)
ALLOWED_KEYS = {
    # page settings
    "display", "token", "ws", "connect", "heartbeat_s", "timezone", "tz_name", "utc_offset_min",
    "running_text", "repeat", "static", "clips", "snapshot",
    # message
    "type", "position", "data",
    # board_json
    "facility", "display_name", "now", "counters", "queues", "calls",
    "counter", "name", "status", "number", "ticket_status", "service", "waiting", "next",
    # call_json (+ "at" in standing calls)
    "counter_name", "service_name", "recall", "speech", "text", "at",
}  # fmt: skip


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_page_sources_name_no_personal_data() -> None:
    """board.html, board.js and board.css neither read nor label any personal-data field."""
    for path in (TEMPLATES / "board.html", STATIC / "board.js", STATIC / "board.css"):
        found = [m.group(0) for m in PERSONAL.finditer(path.read_text(encoding="utf-8"))]
        assert found == [], f"{path.name}: {found}"


def test_the_rendered_board_carries_numbers_only() -> None:
    """On a busy morning the page's data has only the allowed keys and no ticket id or token."""
    log, clock = asyncio.run(seeded_log())
    app = create_app(Settings(log_url="memory://"), log=log, clock=clock)
    with TestClient(app) as client:
        html = client.get("/board/ruang-tunggu", params={"token": "papan-demo"}).text
    config = json.loads(re.search(r'type="application/json">(.*?)</script>', html, re.S).group(1))  # type: ignore[union-attr]
    assert _keys(config) <= ALLOWED_KEYS
    data = config["snapshot"]["data"]
    assert any(c["number"] for c in data["counters"])  # the morning is on the board
    assert data["calls"], "standing calls are shown"
    issued = sum(count for _, count in ISSUED)
    for n in range(1, issued + 1):  # SequentialIds("seed-"): ticket ids seed-tN, tokens seed-kN
        assert f'"seed-t{n}"' not in html
        assert f'"seed-k{n}"' not in html


def test_the_script_renders_text_only() -> None:
    """Data reaches the page through textContent, never innerHTML, so nothing sent can become markup."""
    script = (STATIC / "board.js").read_text(encoding="utf-8")
    assert "innerHTML" not in script
    assert "insertAdjacentHTML" not in script
    assert "document.write" not in script
    assert "eval(" not in script
