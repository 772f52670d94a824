"""The one place that turns errors into HTTP responses: JSON ``{code, message_id, message_en}``.

Handlers never build error JSON themselves; they raise :class:`ApiError` (bad input, auth, rate
limits) or let :class:`~queue_engine.domain.errors.DomainError` and
:class:`~queue_engine.log.base.LogUnavailable` propagate.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from queue_engine.domain.errors import DomainError
from queue_engine.log.base import LogError, LogUnavailable

from .json import JSONResponse

#: code -> (HTTP status, Bahasa Indonesia, English)
# fmt: off
MESSAGES: dict[str, tuple[int, str, str]] = {
    "unknown_service": (404, "Layanan tidak dikenal.", "Unknown service."),
    "unknown_counter": (404, "Loket tidak dikenal.", "Unknown counter."),
    "ticket_not_found": (404, "Tiket tidak ditemukan.", "Ticket not found."),
    "not_found": (404, "Tidak ditemukan.", "Not found."),
    "invalid_transition": (
        409,
        "Status tiket tidak mengizinkan tindakan ini.",
        "The ticket's status does not allow this.",
    ),
    "invalid_counter_transition": (
        409,
        "Status loket tidak mengizinkan tindakan ini.",
        "The counter's status does not allow this.",
    ),
    "counter_not_open": (409, "Loket belum dibuka.", "The counter is not open."),
    "counter_busy": (409, "Loket masih melayani tiket lain.", "The counter is still serving another ticket."),
    "counter_idle": (409, "Loket tidak sedang memanggil tiket.", "The counter has no current ticket."),
    "module_not_enabled": (404, "Layanan ini tidak aktif di fasilitas ini.", "This service is not enabled at this facility."),
    "queue_empty": (409, "Tidak ada antrean yang menunggu.", "Nobody is waiting."),
    "quota_exhausted": (409, "Kuota layanan hari ini sudah habis.", "Today's quota for this service is used up."),
    "outside_opening_hours": (409, "Layanan sedang tutup.", "The service is closed at this time."),
    "service_not_served": (
        409,
        "Loket ini tidak melayani layanan tersebut.",
        "This counter does not serve that service.",
    ),
    "stage_not_allowed": (409, "Tahap berikutnya tidak diizinkan.", "That next stage is not allowed."),
    "checkin_not_allowed": (409, "Check-in tidak dapat dilakukan sekarang.", "This ticket cannot be checked in now."),
    "duplicate_id": (409, "ID sudah dipakai.", "That id is already in use."),
    "nothing_to_undo": (409, "Tidak ada tindakan yang bisa dibatalkan.", "There is nothing to undo."),
    "reason_required": (422, "Alasan wajib diisi.", "A reason is required."),
    "same_service": (422, "Tiket sudah berada di layanan itu.", "The ticket is already in that service."),
    "appointment_in_past": (422, "Jadwal kunjungan sudah lewat.", "The appointment time has passed."),
    "invalid_command": (422, "Isi perintah tidak valid.", "The command is not valid."),
    "invalid_body": (422, "Data yang dikirim tidak valid.", "The request body is not valid."),
    "invalid_json": (400, "Data bukan JSON yang valid.", "The request body is not valid JSON."),
    "unauthenticated": (401, "Silakan masuk terlebih dahulu.", "Please log in first."),
    "bad_credentials": (401, "Nama pengguna atau kata sandi salah.", "Wrong username or password."),
    "forbidden": (403, "Anda tidak berhak melakukan ini.", "You are not allowed to do this."),
    "csrf_failed": (403, "Formulir kedaluwarsa, muat ulang halaman.", "The form expired; reload the page."),
    "rate_limited": (
        429,
        "Terlalu banyak permintaan, coba lagi sebentar lagi.",
        "Too many requests; try again shortly.",
    ),
    "log_unavailable": (503, "Sistem sedang sibuk, coba lagi sebentar.", "The system is busy; try again shortly."),
    "log_error": (503, "Sistem sedang sibuk, coba lagi sebentar.", "The system is busy; try again shortly."),
    "http_error": (400, "Permintaan tidak dapat diproses.", "The request cannot be processed."),
}
# fmt: on


class ApiError(Exception):
    """A refusal by the web layer itself: ``code`` must be a key of :data:`MESSAGES`."""

    def __init__(self, code: str, *, status: int | None = None, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.status = status
        self.params = params


def _param(value: Any) -> bool:
    """Scalars, lists of scalars (field names), flat string maps (field -> reason code)."""
    if isinstance(value, str | int | float | bool) or value is None:
        return True
    if isinstance(value, list | tuple):
        return all(isinstance(v, str | int) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
    return False


def error_body(code: str, params: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    status, message_id, message_en = MESSAGES.get(code, (400, "Permintaan ditolak.", "Request refused."))
    body: dict[str, Any] = {"code": code, "message_id": message_id, "message_en": message_en}
    if params:
        body["params"] = {k: v for k, v in params.items() if _param(v)}
    return status, body


#: where the app keeps its modules' error statuses (``request.app.state``)
MODULE_STATUSES = "module_error_statuses"


async def _domain(request: Request, exc: Exception) -> Response:
    """The core's errors by :data:`MESSAGES`; a module's errors carry their own texts, the module its status."""
    assert isinstance(exc, DomainError)
    status, body = error_body(exc.code, exc.params)
    if not type(exc).__module__.startswith("queue_engine."):
        statuses: dict[str, int] = getattr(request.app.state, MODULE_STATUSES, {})
        status = statuses.get(exc.code, status if exc.code in MESSAGES else 422)
        body["message_id"], body["message_en"] = exc.message_id, exc.message_en
    retry = exc.params.get("retry_after_s")
    headers = {"Retry-After": str(retry)} if isinstance(retry, int) else None
    return JSONResponse(body, status_code=status, headers=headers)


async def _api(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    status, body = error_body(exc.code, exc.params)
    retry = exc.params.get("retry_after_s")
    headers = {"Retry-After": str(retry)} if isinstance(retry, int) else None
    return JSONResponse(body, status_code=exc.status or status, headers=headers)


async def _log(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LogError)
    retry = str(getattr(exc, "retry_after_s", LogUnavailable.retry_after_s))
    status, body = error_body("log_unavailable")
    return JSONResponse(body, status_code=status, headers={"Retry-After": retry})


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 401: "unauthenticated", 403: "forbidden", 405: "http_error"}.get(
        exc.status_code, "http_error"
    )
    _, body = error_body(code)
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


EXCEPTION_HANDLERS = {DomainError: _domain, ApiError: _api, LogError: _log, HTTPException: _http}
