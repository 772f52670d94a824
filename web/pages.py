"""HTML pages: landing, kiosk and its ticket print view, the patient's phone page, remote booking, staff console.

Pages are rendered on the server (Jinja2) from the same renderings the API uses
(:func:`web.render.ticket_json`); after that the browser talks to the server only through the HTTP
API and WebSockets of ``docs/web-plan.md``. Numbers, services and counters only: no page shows a
patient's name, NIK or BPJS number. Bahasa Indonesia first, English second and smaller.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
import segno
from markupsafe import Markup
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from queue_engine.domain.ids import TicketToken
from queue_engine.domain.model import Facility, Service
from queue_engine.domain.state import FacilityState, Ticket
from queue_engine.runtime import Runtime

from .json import JSONResponse
from .render import hhmm, ticket_json
from .state import AppState

PageRequest = Request[AppState]

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

#: Priority classes a patient may choose at the kiosk or on the phone: (code, Indonesian, English).
#: ``darurat`` (emergency) is staff-only and therefore not offered here.
PRIORITIES: tuple[tuple[str, str, str], ...] = (
    ("umum", "Umum", "General"),
    ("lansia", "Lansia (60+)", "Elderly (60+)"),
    ("ibu_hamil", "Ibu hamil", "Pregnant"),
    ("disabilitas", "Disabilitas", "Disability"),
    ("balita", "Balita", "Child under 5"),
)
#: Every class, for staff badges.
PRIORITY_LABELS: dict[str, tuple[str, str]] = {
    "darurat": ("Darurat", "Emergency"),
    **{code: (label_id, label_en) for code, label_id, label_en in PRIORITIES},
}

#: Ticket status in words for the phone page (shared with its script): title and detail, each in
#: Indonesian and English; ``{counter}`` is the counter's name. "remote" = waiting, not checked in.
STATUS_WORDS: dict[str, tuple[str, str, str, str]] = {
    "waiting": (
        "Menunggu dipanggil",
        "Waiting to be called",
        "Silakan tunggu di ruang tunggu.",
        "Please wait in the waiting room.",
    ),
    "remote": (
        "Belum check-in",
        "Not checked in yet",
        "Tempat Anda sudah tercatat. Saat tiba, check-in di kiosk dengan QR di bawah.",
        "Your place is saved. When you arrive, check in at the kiosk with the QR below.",
    ),
    "called": ("Dipanggil", "Called", "Silakan menuju {counter}", "Please go to {counter}"),
    "serving": ("Sedang dilayani", "Being served", "Di {counter}", "At {counter}"),
    "done": ("Selesai", "Finished", "Terima kasih atas kunjungan Anda.", "Thank you for your visit."),
    "missed": (
        "Terlewat",
        "Missed",
        "Nomor Anda sudah dipanggil. Silakan lapor ke petugas loket.",
        "Your number was called. Please tell the staff at the desk.",
    ),
    "cancelled": ("Dibatalkan", "Cancelled", "Nomor antrean ini sudah dibatalkan.", "This ticket has been cancelled."),
}


DAYS_ID = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
MONTHS_ID = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")

#: Service icon by keyword in its code or name (first match wins); see templates/_icons.html.
_SERVICE_ICONS = (
    ("gigi", "tooth"),
    ("kia", "mother"),
    ("ibu", "mother"),
    ("anak", "mother"),
    ("lab", "flask"),
    ("apotek", "pill"),
    ("farmasi", "pill"),
    ("obat", "pill"),
    ("loket", "clipboard"),
    ("daftar", "clipboard"),
    ("umum", "stethoscope"),
    ("poli", "stethoscope"),
)

TOKEN_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
}


def service_icon(service: Service) -> str:
    text = f"{service.code} {service.name}".lower()
    return next((icon for word, icon in _SERVICE_ICONS if word in text), "cross")


def _minutes(m: int) -> str:
    return f"{m // 60:02d}:{m % 60:02d}"


def hours_today(service: Service, state: FacilityState, now: int) -> tuple[str, bool]:
    """Today's opening hours as text (``07:00-12:00`` with an en dash), and whether the service is open now."""
    weekday, minute = state.local_clock(now)
    if not service.hours:
        return "Buka", True
    windows = service.hours.get(weekday, ())
    if not windows:
        return "Tutup hari ini", False
    text = ", ".join(f"{_minutes(a)}\u2013{_minutes(b)}" for a, b in windows)
    return text, service.is_open(weekday, minute)


def local_date(at: int, state: FacilityState) -> str:
    """``Kamis, 26 Nov 2026``."""
    dt = datetime.fromtimestamp(at / 1000, state.tz)
    return f"{DAYS_ID[dt.weekday()]}, {dt.day} {MONTHS_ID[dt.month - 1]} {dt.year}"


def json_script(data: Any) -> Markup:
    """JSON safe to place inside ``<script type="application/json">``."""
    text = orjson.dumps(data).decode()
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def qr_svg(url: str, title: str) -> Markup:
    """A QR code of ``url`` as inline SVG that scales with CSS (no fixed size)."""
    svg = segno.make(url, error="m").svg_inline(border=2, omitsize=True, svgclass="qr", title=title)
    return Markup(svg)  # segno escapes the title; the rest is generated


@lru_cache(maxsize=32)
def _read_static(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


def inline_static(name: str) -> Markup:
    """The text of a static file, for pages that must arrive in one small response."""
    return Markup(_read_static(name))  # our own files


@lru_cache(maxsize=64)
def _version(name: str) -> str:
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:10]


def static_url(name: str) -> str:
    """``/static/<name>?v=<content hash>`` so long-running kiosks pick up new files."""
    return f"/static/{name}?v={_version(name)}"


def public_base(request: PageRequest) -> str:
    settings = request.state["settings"]
    return (settings.public_url or str(request.base_url)).rstrip("/")


def facility_data(facility: Facility) -> dict[str, Any]:
    """What the staff console needs to label things (the same facts as GET /api/v1/facility)."""
    return {
        "name": facility.name,
        "timezone": facility.timezone,
        "services": [
            {"code": s.code, "name": s.name, "prefix": s.prefix, "next_stages": list(s.next_stages)}
            for s in facility.services.values()
        ],
        "counters": [
            {"id": c.id, "name": c.name, "kind": c.kind, "services": list(c.services)}
            for c in facility.counters.values()
        ],
        "priorities": {code: list(labels) for code, labels in PRIORITY_LABELS.items()},
        "ratio": list(facility.policy.priority_ratio),
        "checkin_grace_min": facility.policy.checkin_grace_min,
    }


def find_ticket(runtime: Runtime, token: str) -> Ticket | None:
    state = runtime.state
    ticket_id = state.by_token.get(TicketToken(token))
    return state.tickets.get(ticket_id) if ticket_id is not None else None


def services_now(runtime: Runtime) -> list[dict[str, Any]]:
    """The services with today's hours, for the kiosk, booking and landing pages."""
    now = runtime.now()
    out = []
    for s in runtime.state.facility.services.values():
        hours, is_open = hours_today(s, runtime.state, now)
        out.append({"code": s.code, "name": s.name, "icon": service_icon(s), "hours": hours, "open": is_open})
    return out


def ticket_context(request: PageRequest, ticket: Ticket) -> dict[str, Any]:
    """What the print view and the phone page show of a ticket (its holder's view, plus the link)."""
    runtime = request.state["runtime"]
    state = runtime.state
    now = runtime.now()
    return {
        "t": ticket_json(state, ticket, now),
        "token": ticket.token,
        "tracking_url": f"{public_base(request)}/t/{ticket.token}",
        "issued_date": local_date(ticket.issued_at, state),
        "issued_time": hhmm(ticket.issued_at, state.tz),
        "updated_time": hhmm(now, state.tz),
        "appointment_time": hhmm(ticket.appointment_at, state.tz) if ticket.appointment_at else None,
    }


class Pages:
    """The page endpoints over one template environment (made per app, not at import time)."""

    def __init__(self) -> None:
        self.templates = Jinja2Templates(directory=TEMPLATES)
        self.templates.env.globals.update(static_url=static_url, inline_static=inline_static)

    def render(
        self, request: Request[Any], name: str, *, status: int = 200, headers: dict[str, str] | None = None, **ctx: Any
    ) -> Response:
        context = {"facility": request.state["facility"], **ctx}
        return self.templates.TemplateResponse(request, name, context, status_code=status, headers=headers)

    def not_found(self, request: PageRequest) -> Response:
        return self.render(request, "not_found.html", status=404, headers=TOKEN_HEADERS)

    async def landing(self, request: PageRequest) -> Response:
        runtime = request.state["runtime"]
        booking_url = f"{public_base(request)}/ambil"
        return self.render(
            request,
            "landing.html",
            services=services_now(runtime),
            today=local_date(runtime.now(), runtime.state),
            booking_qr=qr_svg(booking_url, "QR: ambil nomor dari ponsel"),
            booking_url=booking_url,
        )

    async def kiosk(self, request: PageRequest) -> Response:
        checkins = [list(pair) for part in request.state["web_modules"] for pair in part.check_in_paths()]
        return self.render(
            request,
            "kiosk.html",
            services=services_now(request.state["runtime"]),
            priorities=PRIORITIES,
            module_checkins=json_script(checkins),
        )

    async def booking(self, request: PageRequest) -> Response:
        return self.render(
            request, "ambil.html", services=services_now(request.state["runtime"]), priorities=PRIORITIES
        )

    async def staff(self, request: PageRequest) -> Response:
        data = {**facility_data(request.state["facility"]), "heartbeat_s": request.state["settings"].heartbeat_s}
        return self.render(request, "staff.html", data=json_script(data))

    async def kiosk_ticket(self, request: PageRequest) -> Response:
        """``/kiosk/ticket/<token>``: a ticket-sized print view; ``?print=1`` prints and returns to the kiosk."""
        ticket = find_ticket(request.state["runtime"], request.path_params["token"])
        if ticket is None:
            return self.not_found(request)
        ctx = ticket_context(request, ticket)
        return self.render(
            request,
            "kiosk_ticket.html",
            headers=TOKEN_HEADERS,
            qr=qr_svg(ctx["tracking_url"], "QR: pantau antrean di ponsel"),
            paper="58" if request.query_params.get("paper") == "58" else "80",
            auto_print=request.query_params.get("print") == "1",
            **ctx,
        )

    async def phone(self, request: PageRequest) -> Response:
        """``/t/<token>``: the holder's live page, one small response."""
        runtime = request.state["runtime"]
        ticket = find_ticket(runtime, request.path_params["token"])
        if ticket is None:
            return self.not_found(request)
        ctx = ticket_context(request, ticket)
        notify = runtime.state.facility.module("notify")  # text messages, when the facility enables them
        feedback_on = runtime.state.facility.module("feedback") is not None  # the rating card once it is done
        channel = str(getattr(notify, "channel", "whatsapp"))
        boot = {
            "token": ticket.token,
            "ticket": ctx["t"],
            "words": STATUS_WORDS,
            "heartbeat_s": request.state["settings"].heartbeat_s,
            "timezone": runtime.state.facility.timezone,
            "notify": None if notify is None else {"channel": channel},
        }
        return self.render(
            request,
            "phone.html",
            headers=TOKEN_HEADERS,
            qr=qr_svg(ctx["tracking_url"], "QR check-in"),
            words=STATUS_WORDS,
            boot=json_script(boot),
            notify_on=notify is not None,
            notify_via="WhatsApp" if channel == "whatsapp" else "SMS",
            feedback_on=feedback_on,
            **ctx,
        )


async def healthz(request: PageRequest) -> Response:
    """``GET /healthz``: 200 ``{"status": "ok", "position": N}`` while the app serves (container health checks).

    It reads only the in-memory state: a log outage (Redis down) does not fail it, since the node
    goes on answering reads and recovers by itself; restarting it would not help.
    """
    position = request.state["runtime"].state.position
    return JSONResponse({"status": "ok", "position": position}, headers={"Cache-Control": "no-store"})


def routes() -> list[BaseRoute]:
    """The page routes, ``/healthz`` and ``/static``."""
    pages = Pages()
    return [
        Route("/healthz", healthz, name="healthz"),
        Route("/", pages.landing, name="landing"),
        Route("/kiosk", pages.kiosk, name="kiosk"),
        Route("/kiosk/ticket/{token}", pages.kiosk_ticket, name="kiosk_ticket"),
        Route("/t/{token}", pages.phone, name="phone"),
        Route("/ambil", pages.booking, name="booking"),
        Route("/staff", pages.staff, name="staff"),
        Mount("/static", app=GZipMiddleware(StaticFiles(directory=STATIC), minimum_size=1024), name="static"),
    ]
