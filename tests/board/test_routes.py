"""GET /board/{display_id}: who may open a board, what the page carries, its static files."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from typing import Any

import itsdangerous
import pytest
from starlette.testclient import TestClient

from web.app import create_app
from web.settings import Settings

SECRET = "board-test-secret"
BOARD = "/board/ruang-tunggu"


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app(Settings(log_url="memory://", secret_key=SECRET))) as client:
        yield client


def login_as(client: TestClient, username: str) -> None:
    """A session cookie as SessionMiddleware signs it (no dependency on the login API)."""
    payload = base64.b64encode(json.dumps({"user": username}).encode())
    client.cookies.set("antre_session", itsdangerous.TimestampSigner(SECRET).sign(payload).decode())


def page_config(html: str) -> dict[str, Any]:
    match = re.search(r'<script id="board-config" type="application/json">(.*?)</script>', html, re.S)
    assert match is not None
    config = json.loads(match.group(1))
    assert isinstance(config, dict)
    return config


def test_the_display_token_opens_its_board(client: TestClient) -> None:
    """The display device's token in ?token= opens the page; the page keeps it for the WebSocket."""
    response = client.get(BOARD, params={"token": "papan-demo"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    config = page_config(response.text)
    assert config["token"] == "papan-demo"
    assert config["ws"] == "/ws/board/ruang-tunggu"
    assert config["snapshot"]["type"] == "snapshot"
    assert config["snapshot"]["data"]["display"] == "ruang-tunggu"


def test_a_bearer_header_works_too(client: TestClient) -> None:
    """A device that can set headers may send the token as Authorization: Bearer."""
    response = client.get(BOARD, headers={"Authorization": "Bearer papan-demo"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({}, 401),
        ({"token": "wrong-token"}, 401),
        ({"token": "papan-apotek-demo"}, 403),  # another display's token
        ({"token": "kiosk-demo"}, 403),  # a kiosk is not a board
    ],
)
def test_other_credentials_are_refused(client: TestClient, params: dict[str, str], status: int) -> None:
    """No token, a wrong one, another display's or a kiosk's: a readable HTML refusal."""
    response = client.get(BOARD, params=params)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert "board-config" not in response.text
    assert "papan-demo" not in response.text


def test_unknown_display(client: TestClient) -> None:
    """A display the facility does not have is 404."""
    assert client.get("/board/nowhere", params={"token": "papan-demo"}).status_code == 404


@pytest.mark.parametrize("username", ["admin", "petugas-loket", "petugas-farmasi"])
def test_staff_and_admin_sessions_may_preview_any_board(client: TestClient, username: str) -> None:
    """A staff or admin session opens any board; no token is written into the page then."""
    login_as(client, username)
    for board in (BOARD, "/board/apotek-lab"):
        response = client.get(board)
        assert response.status_code == 200
        assert page_config(response.text)["token"] is None


def test_the_page_is_not_cached_not_framed_and_leaks_no_referrer(client: TestClient) -> None:
    """The page holds the device token: no-store, no Referer to anywhere, strict CSP."""
    headers = client.get(BOARD, params={"token": "papan-demo"}).headers
    assert headers["cache-control"] == "no-store"
    assert headers["referrer-policy"] == "no-referrer"
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp


def test_running_text_is_configurable_and_escaped(client: TestClient) -> None:
    """?running_text= replaces the default line; markup in it stays text."""
    evil = "Jadwal imunisasi Selasa</script><script>alert(1)</script>"
    response = client.get(BOARD, params={"token": "papan-demo", "running_text": evil})
    assert "<script>alert(1)" not in response.text
    assert page_config(response.text)["running_text"] == evil
    default = page_config(client.get(BOARD, params={"token": "papan-demo"}).text)["running_text"]
    assert default.startswith("Selamat datang di Puskesmas Ketabang")


@pytest.mark.parametrize(("raw", "repeat"), [("2", 2), ("9", 3), ("0", 1), ("x", 1)])
def test_repeat_is_clamped(client: TestClient, raw: str, repeat: int) -> None:
    """?repeat= says each call 1..3 times; nonsense falls back to once."""
    response = client.get(BOARD, params={"token": "papan-demo", "repeat": raw})
    assert page_config(response.text)["repeat"] == repeat


def test_connect_zero_turns_the_socket_off(client: TestClient) -> None:
    """?connect=0 is for previews and browser tests fed through antreBoard.handle()."""
    assert page_config(client.get(BOARD, params={"token": "papan-demo", "connect": "0"}).text)["connect"] is False
    assert page_config(client.get(BOARD, params={"token": "papan-demo"}).text)["connect"] is True


def test_the_page_lists_its_clips(client: TestClient) -> None:
    """The page knows which clips exist, so a call with a missing word falls back at once."""
    config = page_config(client.get(BOARD, params={"token": "papan-demo"}).text)
    assert {"nomor", "antrean", "silakan", "menuju", "loket", "dua", "belas"} <= set(config["clips"])
    assert config["static"] == "/board/static"
    assert config["timezone"] == "Asia/Jakarta"
    assert config["tz_name"] == "WIB"
    assert config["utc_offset_min"] == 420


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/board/static/board.js", "javascript"),
        ("/board/static/board.css", "text/css"),
        ("/board/static/chime.mp3", "audio/mpeg"),
        ("/board/static/silence.mp3", "audio/mpeg"),
        ("/board/static/voice/dua.mp3", "audio/mpeg"),
    ],
)
def test_static_files_need_no_token(client: TestClient, path: str, kind: str) -> None:
    """Script, styles and sounds are public and offline-cacheable: no patient data in them."""
    response = client.get(path)
    assert response.status_code == 200
    assert kind in response.headers["content-type"]


def test_no_path_escapes_the_static_folder(client: TestClient) -> None:
    """../ does not reach the source files."""
    assert client.get("/board/static/../routes.py").status_code == 404
    assert client.get("/board/static/%2e%2e/routes.py").status_code == 404
