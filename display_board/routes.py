"""The TV board page: ``GET /board/{display_id}`` and its static files (``/board/static/…``).

Who may open a board: the display device whose token (``?token=…``, or ``Authorization: Bearer``)
belongs to that display, or a logged-in staff member or admin (to preview it). The page embeds
the board's current content, so it shows the state at once, then follows
``/ws/board/{display_id}?token=…&after=<position>`` for changes and calls.

Query parameters: ``token``; ``running_text`` (the marquee; a Bahasa Indonesia welcome line by
default); ``repeat`` (say each call twice with ``2``; 1 by default); ``connect=0`` opens no
WebSocket (previews and browser tests feed messages through ``window.antreBoard.handle``).
"""

from __future__ import annotations

import html
from datetime import datetime
from pathlib import Path
from string import Template
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from queue_engine.domain.model import Display, Facility
from web.auth import Principal, Role, authenticate
from web.errors import error_body
from web.render import board_json, last_calls
from web.state import AppState

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"
STATIC_URL = "/board/static"
MAX_RUNNING_TEXT = 500

#: The page loads only its own files, talks only to its own server, and cannot be framed.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
    "connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Cache-Control": "no-store",  # the page carries the device token
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": CSP,
}


def default_running_text(facility_name: str) -> str:
    """The marquee when none is configured."""
    return (
        f"Selamat datang di {facility_name}. Mohon menunggu, nomor antrean Anda akan dipanggil dan tampil "
        "di layar ini. Siapkan kartu identitas dan kartu BPJS Kesehatan Anda. Utamakan lansia, ibu hamil, "
        "penyandang disabilitas dan pasien dengan anak kecil. Jagalah kebersihan ruang tunggu."
    )


def _allowed(principal: Principal | None, display_id: str) -> str | None:
    """``None`` if ``principal`` may see this board, else the error code."""
    if principal is None:
        return "unauthenticated"
    if principal.role in (Role.ADMIN, Role.STAFF):
        return None
    if principal.role is Role.DISPLAY and principal.display == display_id:
        return None
    return "forbidden"


def _error_page(code: str) -> Response:
    status, body = error_body(code)
    page = Template((TEMPLATES / "error.html").read_text(encoding="utf-8")).substitute(
        message_id=html.escape(body["message_id"]),
        message_en=html.escape(body["message_en"]),
        static=STATIC_URL,
    )
    return HTMLResponse(page, status_code=status, headers=HEADERS)


def _script_json(value: Any) -> str:
    """JSON safe inside ``<script type="application/json">`` (no ``</script>``, no HTML)."""
    text = orjson.dumps(value).decode()
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _int_param(request: Request[AppState], name: str, default: int, low: int, high: int) -> int:
    try:
        value = int(request.query_params.get(name, default))
    except ValueError:
        return default
    return max(low, min(high, value))


def clip_names() -> list[str]:
    """The voice clips on disk (``static/voice/<word>.mp3``)."""
    return sorted(p.stem for p in (STATIC / "voice").glob("*.mp3"))


def find_display(facility: Facility, display_id: str) -> Display | None:
    return next((d for d in facility.displays if d.id == display_id), None)


def page_config(request: Request[AppState], display: Display, token: str | None) -> dict[str, Any]:
    """Everything board.js needs, including the board's current content as a first snapshot."""
    app = request.state
    facility, runtime = app["facility"], app["runtime"]
    now = runtime.now()
    local = datetime.fromtimestamp(now / 1000, runtime.state.tz)
    offset = local.utcoffset()
    running = request.query_params.get("running_text", "").strip()[:MAX_RUNNING_TEXT]
    return {
        "display": display.id,
        "token": token,
        "ws": f"/ws/board/{display.id}",
        "connect": request.query_params.get("connect") != "0",
        "heartbeat_s": app["settings"].heartbeat_s,
        "timezone": facility.timezone,
        "tz_name": local.tzname() or "",
        "utc_offset_min": int(offset.total_seconds() // 60) if offset else 0,
        "running_text": running or default_running_text(facility.name),
        "repeat": _int_param(request, "repeat", 1, 1, 3),
        "static": STATIC_URL,
        "clips": clip_names(),
        "snapshot": {
            "type": "snapshot",
            "position": runtime.state.position,
            "data": {**board_json(runtime.state, display, now), "calls": last_calls(runtime.state, display)},
        },
    }


async def board_page(request: Request[AppState]) -> Response:
    """The full-screen board of one display."""
    display_id = request.path_params["display_id"]
    facility = request.state["facility"]
    display = find_display(facility, display_id)
    if display is None:
        return _error_page("not_found")
    principal = authenticate(request, request.state["accounts"])
    refusal = _allowed(principal, display_id)
    if refusal is not None:
        return _error_page(refusal)
    assert principal is not None
    # only a display device's own token goes into the page; staff use their session cookie
    token = request.query_params.get("token") if principal.role is Role.DISPLAY else None
    config = page_config(request, display, token)
    page = Template((TEMPLATES / "board.html").read_text(encoding="utf-8")).substitute(
        title=html.escape(f"{display.name} · {facility.name}"),
        facility=html.escape(facility.name),
        display_name=html.escape(display.name),
        static=STATIC_URL,
        config=_script_json(config),
    )
    return HTMLResponse(page, headers=HEADERS)


def routes() -> list[BaseRoute]:
    """The board page and its static files (script, styles, chime, voice clips)."""
    return [
        Mount(STATIC_URL, app=StaticFiles(directory=STATIC), name="board-static"),
        Route("/board/{display_id}", board_page, methods=["GET"], name="board"),
    ]
