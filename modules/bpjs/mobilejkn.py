"""The web service Mobile JKN (BPJS Kesehatan) calls on the facility ("WS Antrean RS"), under
``/bpjs/mobilejkn/``, with BPJS's field names: ``GET token`` (``x-username``, ``x-password``; other
calls carry ``x-token`` and ``x-username``), ``POST statusantrean``, ``ambilantrean``,
``sisaantrean``, ``batalantrean``, ``checkin`` and ``pasienbaru``.

A booking is a real engine ticket (``IssueTicket``: channel ``bpjs``, payer ``jkn``, an appointment
at the start of the practice hours, the engine's JKN quota) linked to the patient's BPJS identity
(``LinkVisit``). Every answer is HTTP 200 with ``{"metadata": {"code", "message"}, "response"}``:
200 sukses, 201 gagal (the message says what is wrong), 202 pasien baru; never a 500.

Credentials come from the environment (``ANTRE_MOBILEJKN_USERNAME``,
``ANTRE_MOBILEJKN_PASSWORD_SHA256``: the password's hex SHA-256). NIK, card and phone numbers are
never logged nor echoed in a message; they reach the event log only in ``bpjs.visit_linked``.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from itsdangerous import BadSignature, TimestampSigner
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from queue_engine.clock import Clock
from queue_engine.domain.commands import Cancel, CheckIn, IssueTicket
from queue_engine.domain.errors import DomainError, OutsideOpeningHours, QuotaExhausted
from queue_engine.domain.forecast import people_ahead
from queue_engine.domain.ids import Millis, ServiceCode, TicketId
from queue_engine.domain.model import Channel, Payer
from queue_engine.domain.state import FacilityState, Ticket
from queue_engine.domain.status import TicketStatus
from queue_engine.log.base import LogError
from queue_engine.runtime import Runtime
from web.api.common import ApiRequest, client_address, read_body, submit
from web.errors import ApiError
from web.json import JSONResponse
from web.ratelimit import SlidingWindow
from web.render import ticket_json
from web.schemas import Body

from .module import NAME, BpjsModule, BpjsState, InvalidVisit, LinkVisit, Poli, Visit, check_visit
from .tasks import quota_fields  # the same counts BPJS is told in antrean/add

if TYPE_CHECKING:
    from .site import BpjsWeb

logger = logging.getLogger(__name__)

ENV_USERNAME = "ANTRE_MOBILEJKN_USERNAME"
ENV_PASSWORD_SHA256 = "ANTRE_MOBILEJKN_PASSWORD_SHA256"
PREFIX = "/bpjs/mobilejkn"
TOKEN_TTL_S = 3600
#: wrong credentials allowed per client address in TOKEN_LOCK_MS
TOKEN_TRIES, TOKEN_LOCK_MS = 10, 15 * 60_000
#: bookings are taken from today up to this many days ahead
BOOK_AHEAD_DAYS = 7
MINUTE = 60_000

SUKSES, GAGAL, PASIEN_BARU = 200, 201, 202
KETERANGAN = "Peserta harap 30 menit lebih awal guna pencatatan administrasi."
NOT_CONFIGURED = "Layanan Mobile JKN belum dikonfigurasi"
TOKEN_INVALID = "Token expired / tidak valid"
DUPLICATE = "Nomor antrean hanya dapat diambil 1 kali pada tanggal dan poli yang sama"
CALLED = {
    TicketStatus.MISSED: "Nomor antrean Anda sudah dipanggil, silakan lapor ke petugas",
    TicketStatus.CALLED: "Nomor antrean Anda sedang dipanggil",
    TicketStatus.SERVING: "Anda sedang dilayani",
}
BUSY = "Sistem antrean sedang sibuk, silakan coba beberapa saat lagi"

#: engine refusals in BPJS's words (a code not listed falls back to the error's own Indonesian text)
DOMAIN_MESSAGES = {
    "quota_exhausted": "Kuota poli pada tanggal tersebut sudah habis",
    "outside_opening_hours": "Poli tidak buka pada tanggal atau jam tersebut",
    "ticket_not_found": "Antrean tidak ditemukan",
    "invalid_transition": "Status antrean tidak mengizinkan tindakan ini (sudah dipanggil, dilayani atau dibatalkan)",
    "checkin_not_allowed": "Check-in hanya dapat dilakukan pada tanggal periksa",
    "unknown_service": "Poli belum dipetakan ke layanan antrean fasilitas, hubungi admin fasilitas",
    "invalid_visit": "Data kunjungan BPJS tidak valid",
}

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_HOURS = re.compile(r"(\d{2}):(\d{2})-(\d{2}):(\d{2})")
_PHONE = re.compile(r"\+?[0-9][0-9 -]{5,19}")
_HEX64 = re.compile(r"[0-9a-f]{64}")

Handler = Callable[[ApiRequest, Body], Awaitable[Response]]


def routes(part: BpjsWeb) -> list[BaseRoute]:
    """The Mobile JKN endpoints of the BPJS module's web part (credentials read now, once per app)."""
    return MobileJkn(part.module, os.environ).routes()


class Gagal(Exception):
    """A refusal answered the BPJS way: HTTP 200, ``metadata.code`` 201 (or 202) and a message."""

    def __init__(self, message: str, code: int = GAGAL) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def envelope(code: int, message: str, response: dict[str, Any] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"metadata": {"code": code, "message": message}}
    if response is not None:
        body["response"] = response
    return JSONResponse(body)


def ok(response: dict[str, Any]) -> JSONResponse:
    return envelope(SUKSES, "Ok", response)


def domain_message(exc: DomainError) -> str:
    message = DOMAIN_MESSAGES.get(exc.code, type(exc).message_id)
    fields = exc.params.get("fields")  # field names only (InvalidVisit), never their values
    return f"{message}: {', '.join(fields)}" if isinstance(fields, list) and fields else message


class ClockSigner(TimestampSigner):
    """A timestamp signer that reads the engine's clock (so tests can let a token expire)."""

    def __init__(self, secret: str, *, salt: str, clock: Clock) -> None:
        super().__init__(secret, salt=salt, digest_method=hashlib.sha256)
        self.clock = clock

    def get_timestamp(self) -> int:
        return self.clock.now() // 1000


class MobileJkn:
    """The handlers, with the module's poli mapping and the credentials."""

    def __init__(self, module: BpjsModule, environ: Mapping[str, str]) -> None:
        self.module = module
        self.username = environ.get(ENV_USERNAME, "").strip()
        digest = environ.get(ENV_PASSWORD_SHA256, "").strip().lower()
        if digest and not _HEX64.fullmatch(digest):
            logger.warning("%s is not a hex SHA-256: Mobile JKN stays off", ENV_PASSWORD_SHA256)
        self.password_sha256 = digest if _HEX64.fullmatch(digest) else ""
        #: failed token requests per client address (password guessing)
        self.failures = SlidingWindow(TOKEN_LOCK_MS)

    @property
    def configured(self) -> bool:
        return bool(self.username and self.password_sha256)

    def routes(self) -> list[BaseRoute]:
        def post(path: str, handler: Handler) -> Route:
            return Route(f"{PREFIX}/{path}", self._wrap(handler), methods=["POST"], name=f"mobilejkn_{path}")

        return [
            Route(f"{PREFIX}/token", self._wrap(self.token, auth=False), methods=["GET"], name="mobilejkn_token"),
            post("statusantrean", self.status),
            post("ambilantrean", self.take),
            post("sisaantrean", self.remaining),
            post("batalantrean", self.cancel),
            post("checkin", self.check_in),
            post("pasienbaru", self.new_patient),
        ]

    def _wrap(self, handler: Handler, *, auth: bool = True) -> Callable[[ApiRequest], Awaitable[Response]]:
        async def endpoint(request: ApiRequest) -> Response:
            try:
                if not self.configured:
                    raise Gagal(NOT_CONFIGURED)
                data: Body = {}
                if auth:
                    self._check_token(request)
                    data = await _read(request)
                return await handler(request, data)
            except Gagal as exc:
                return envelope(exc.code, exc.message)
            except DomainError as exc:
                return envelope(GAGAL, domain_message(exc))
            except LogError:
                return envelope(GAGAL, BUSY)
            except Exception as exc:  # BPJS must get its envelope, never a 500; no data in the log line
                logger.error("mobilejkn %s failed: %s", request.url.path, type(exc).__name__)
                return envelope(GAGAL, "Terjadi kesalahan pada sistem antrean fasilitas kesehatan")

        return endpoint

    def _signer(self, request: ApiRequest) -> ClockSigner:
        # The password's hash is in the salt: changing the password ends the tokens given out.
        salt = f"antre.mobilejkn.token:{self.password_sha256[:16]}"
        return ClockSigner(request.state["settings"].secret_key, salt=salt, clock=request.state["runtime"].clock)

    def _is_user(self, username: str) -> bool:
        return hmac.compare_digest(username.encode(), self.username.encode())

    async def token(self, request: ApiRequest, data: Body) -> Response:
        address, now = client_address(request), request.state["runtime"].now()
        if self.failures.retry_after(address, now, TOKEN_TRIES) is not None:
            raise Gagal("Terlalu banyak percobaan yang gagal, silakan coba lagi nanti")
        username = request.headers.get("x-username", "")
        password = request.headers.get("x-password", "")
        digest = hashlib.sha256(password.encode()).hexdigest()
        password_ok = hmac.compare_digest(digest.encode(), self.password_sha256.encode())
        if not (self._is_user(username) and password_ok):
            self.failures.record(address, now)
            raise Gagal("Username atau password tidak sesuai")
        token = self._signer(request).sign(self.username).decode()
        return envelope(SUKSES, "Ok", {"token": token})

    def _check_token(self, request: ApiRequest) -> None:
        try:
            value = self._signer(request).unsign(request.headers.get("x-token", ""), max_age=TOKEN_TTL_S)
        except BadSignature:  # (SignatureExpired is one)
            raise Gagal(TOKEN_INVALID) from None
        if not (self._is_user(value.decode()) and self._is_user(request.headers.get("x-username", ""))):
            raise Gagal(TOKEN_INVALID)

    async def status(self, request: ApiRequest, data: Body) -> Response:
        """A poli's queue on a date: totals, the number being called, the quotas left."""
        runtime = request.state["runtime"]
        state, now = runtime.state, runtime.now()
        code, poli = self._poli(data, state)
        iso = _visit_day(data, state, now).isoformat()
        total, left = queue_counts(state, code, iso)
        return ok(
            {
                "namapoli": poli.namapoli,
                "namadokter": poli.namadokter,
                "totalantrean": total,
                "sisaantrean": left,
                "antreanpanggil": now_calling(state, code) if iso == state.local_day(now) else "-",
                **quota_fields(state, code, iso),
                "keterangan": "",
            },
        )

    async def take(self, request: ApiRequest, data: Body) -> Response:
        """Book: validate, then a real engine ticket linked to the patient's BPJS identity."""
        runtime = request.state["runtime"]
        now = runtime.now()
        wanted = _visit(data)
        code, poli = self._poli(data, runtime.state)
        day = _visit_day(data, runtime.state, now)
        if not wanted.norm:
            raise Gagal("Pasien Baru", PASIEN_BARU)  # Mobile JKN calls pasienbaru, then books again
        iso = day.isoformat()
        check_visit(replace(wanted, kodebooking=iso), variant=self.module.variant)  # before a ticket exists
        key = _free_key(runtime.state, wanted.nomorkartu, iso, poli.kodepoli)
        booked = _ticket_of_key(runtime.state, key)
        if booked is not None:  # this card holds a number at this poli on that date: a retry, or refused
            had = _bpjs(runtime.state).visits.get(booked.id)
            same = had is None or had == replace(wanted, ticket_id=booked.id, kodebooking=had.kodebooking)
            if booked.stages[0] != code or not same:
                raise Gagal(DUPLICATE)
            if had is not None:  # a retry: the same answer, nothing written
                return self._booked(runtime, booked.id, had, poli)
        appointment = _appointment(runtime.state, poli, day, now)
        try:
            result = await submit(
                request,
                IssueTicket(
                    at=now,
                    ticket_id=runtime.ids.ticket_id(),
                    token=runtime.ids.token(),
                    service=code,
                    channel=Channel.BPJS,
                    payer=Payer.JKN,
                    appointment_at=appointment,
                    idempotency_key=key,
                ),
            )
        except QuotaExhausted as exc:
            kind = "JKN " if exc.params.get("payer") == Payer.JKN.value else ""
            raise Gagal(f"Kuota {kind}{poli.namapoli} tanggal {iso} sudah habis") from None
        except OutsideOpeningHours:
            raise Gagal(f"{poli.namapoli} tidak buka pada tanggal {iso} jam {poli.jampraktek}") from None
        ticket = runtime.state.tickets[TicketId(result.ticket_id or "")]  # an issue always names its ticket
        visit = replace(wanted, ticket_id=ticket.id, kodebooking=iso.replace("-", "") + ticket.number)
        try:  # another request for this card, date and poli may have won a race: then refused, not overwritten
            await submit(request, LinkVisit(at=runtime.now(), visit=visit, keep_existing=True))
        except InvalidVisit as exc:
            if exc.params.get("reason") == "linked":
                raise Gagal(DUPLICATE) from None
            raise
        return self._booked(runtime, ticket.id, visit, poli)

    def _booked(self, runtime: Runtime, ticket_id: TicketId, visit: Visit, poli: Poli) -> Response:
        state, now = runtime.state, runtime.now()
        ticket = state.tickets[ticket_id]
        return ok(
            {
                "nomorantrean": ticket.number,
                "angkaantrean": int("".join(ch for ch in ticket.number if ch.isdigit()) or 0),
                "kodebooking": visit.kodebooking,
                "norm": visit.norm,
                "namapoli": poli.namapoli,
                "namadokter": poli.namadokter,
                "estimasidilayani": self._estimate(state, ticket, now),
                **quota_fields(state, ticket.service, ticket.day),
                "keterangan": KETERANGAN,
            },
        )

    def _estimate(self, state: FacilityState, ticket: Ticket, now: Millis) -> int:
        """When the patient is expected to be served (ms): the engine's ETA for today's tickets."""
        if ticket.day == state.local_day(now):
            eta = ticket_json(state, ticket, now).get("eta")
            if eta is not None:
                return int(eta["at"])
        # A later day: the engine's position would count today's queue too, so count that day's.
        start = ticket.appointment_at if ticket.appointment_at is not None else ticket.issued_at
        return start + self.module.spm_min * MINUTE * ahead_of(state, ticket, now)

    async def remaining(self, request: ApiRequest, data: Body) -> Response:
        runtime = request.state["runtime"]
        state, now = runtime.state, runtime.now()
        ticket = _booking(state, _text(data, "kodebooking", max_len=32))
        if ticket.status is TicketStatus.CANCELLED:
            raise Gagal("Antrean dengan kode booking tersebut sudah dibatalkan")
        if ticket.status is TicketStatus.DONE:
            raise Gagal("Pasien sudah selesai dilayani")
        waiting = ticket.status is TicketStatus.WAITING
        left = ahead_of(state, ticket, now) + 1 if waiting else 0
        poli = self.module.poli.get(ticket.service)
        today = ticket.day == state.local_day(now)
        return ok(
            {
                "nomorantrean": ticket.number,
                "namapoli": poli.namapoli if poli else state.facility.services[ticket.service].name,
                "namadokter": poli.namadokter if poli else "",
                "sisaantrean": left,
                "antreanpanggil": now_calling(state, ticket.service) if today else "-",
                "waktutunggu": max(0, self.module.spm_min * 60 * (left - 1)),  # seconds, as the catalog says
                "keterangan": "" if waiting else CALLED.get(ticket.status, ""),
            },
        )

    async def cancel(self, request: ApiRequest, data: Body) -> Response:
        """Cancel while the ticket waits, not checked in, and its date has not passed."""
        runtime = request.state["runtime"]
        state, now = runtime.state, runtime.now()
        ticket = _booking(state, _text(data, "kodebooking", max_len=32))
        reason = _text(data, "keterangan", max_len=200, required=False)
        if ticket.status is TicketStatus.CANCELLED:
            raise Gagal("Antrean sudah dibatalkan sebelumnya")
        if ticket.day < state.local_day(now):
            raise Gagal("Tanggal periksa sudah lewat, antrean tidak dapat dibatalkan")
        if ticket.status is not TicketStatus.WAITING or ticket.checked_in:
            raise Gagal("Pasien sudah check-in atau sudah dilayani, antrean tidak dapat dibatalkan")
        await submit(request, Cancel(at=now, ticket_id=ticket.id, actor="mobilejkn", reason=reason or "Mobile JKN"))
        return envelope(SUKSES, "Ok")

    async def check_in(self, request: ApiRequest, data: Body) -> Response:
        """The patient arrived. The engine's clock dates it (``waktu`` is checked, not trusted)."""
        runtime = request.state["runtime"]
        state, now = runtime.state, runtime.now()
        ticket = _booking(state, _text(data, "kodebooking", max_len=32))
        _number(data, "waktu")
        if ticket.status is TicketStatus.CANCELLED:
            raise Gagal("Antrean sudah dibatalkan, tidak dapat check-in")
        if ticket.day != state.local_day(now):
            raise Gagal(f"Check-in hanya dapat dilakukan pada tanggal periksa ({ticket.day})")
        await submit(request, CheckIn(at=now, ticket_id=ticket.id))
        return envelope(SUKSES, "Ok")

    async def new_patient(self, request: ApiRequest, data: Body) -> Response:
        """A provisional medical-record number for a patient new to the facility.

        Validated and answered, never stored: the engine is a queue, not a medical-record system.
        The name, family card, birth date and address are NOT written to the event log (nor to any
        log line); the hospital's SIMRS owns patient records and completes this one at admisi. The
        number is random ("MJ" + 8 digits), so a retried call gets another; nothing refers to it
        until the booking that carries it.
        """
        runtime = request.state["runtime"]
        _digits(data, "nomorkartu", 13, "nomor kartu")
        _digits(data, "nik", 16, "NIK")
        _digits(data, "nomorkk", 16, "nomor KK")
        _text(data, "nama", max_len=100)
        if _text(data, "jeniskelamin", max_len=1).upper() not in ("L", "P"):
            raise Gagal("jeniskelamin tidak sesuai (L atau P)")
        born = _date(data, "tanggallahir")
        if born.isoformat() > runtime.state.local_day(runtime.now()):
            raise Gagal("tanggallahir tidak boleh melebihi hari ini")
        _phone(data)
        _text(data, "alamat", max_len=200)
        for name in ("kodeprop", "namaprop", "kodedati2", "namadati2", "kodekec", "namakec", "kodekel", "namakel"):
            _text(data, name, max_len=64)
        _text(data, "rw", max_len=5, required=False)
        _text(data, "rt", max_len=5, required=False)
        norm = f"MJ{secrets.randbelow(10**8):08d}"
        return envelope(SUKSES, "Harap datang ke admisi untuk melengkapi data rekam medis", {"norm": norm})

    def _poli(self, data: Body, state: FacilityState) -> tuple[ServiceCode, Poli]:
        """The engine service BPJS's ``kodepoli``, ``kodedokter`` and ``jampraktek`` name."""
        kodepoli = _text(data, "kodepoli", max_len=16)
        kodedokter = _number(data, "kodedokter")
        jampraktek = _text(data, "jampraktek", max_len=32)
        hours = _window(jampraktek, "jampraktek")
        at_poli = [(code, p) for code, p in self.module.poli.items() if p.kodepoli == kodepoli]
        if not at_poli:
            raise Gagal(f"Poli {kodepoli} tidak ditemukan")
        of_doctor = [(code, p) for code, p in at_poli if p.kodedokter == kodedokter]
        if not of_doctor:
            raise Gagal(f"Dokter {kodedokter} tidak praktek di poli {kodepoli}")
        for code, p in of_doctor:
            if _window(p.jampraktek, "jadwal poli") == hours:
                if code not in state.facility.services:  # a mapping of a service the facility file lacks
                    raise Gagal(DOMAIN_MESSAGES["unknown_service"])
                return code, p
        schedule = ", ".join(p.jampraktek for _, p in of_doctor)
        raise Gagal(f"jampraktek {jampraktek} tidak sesuai dengan jadwal dokter ({schedule})")


def _visit(data: Body) -> Visit:
    """The patient's part of a booking (ids filled in once the ticket exists)."""
    visit = Visit(
        ticket_id=TicketId(""),
        kodebooking="",
        jenispasien="JKN",
        nomorkartu=_digits(data, "nomorkartu", 13, "nomor kartu"),
        nik=_digits(data, "nik", 16, "NIK"),
        nohp=_phone(data),
        jeniskunjungan=_number(data, "jeniskunjungan"),
        nomorreferensi=_text(data, "nomorreferensi", max_len=40, required=False),
        norm=_text(data, "norm", max_len=32, required=False),
        source="mobilejkn",
    )
    if visit.jeniskunjungan not in (1, 2, 3, 4):
        raise Gagal("jeniskunjungan tidak sesuai (1 rujukan FKTP, 2 rujukan internal, 3 kontrol, 4 antar RS)")
    return visit


async def _read(request: ApiRequest) -> Body:
    """The JSON object (size-limited like every API body); unknown fields are ignored."""
    try:
        return await read_body(request)
    except ApiError:
        raise Gagal("Format permintaan tidak valid: kirim satu objek JSON (Content-Type: application/json)") from None


def _text(data: Body, name: str, *, max_len: int, required: bool = True) -> str:
    value = data.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise Gagal(f"{name} belum diisi")
        return ""
    if not isinstance(value, str):
        raise Gagal(f"Format {name} tidak sesuai")
    if len(value.strip()) > max_len:
        raise Gagal(f"{name} terlalu panjang (maksimal {max_len} karakter)")
    return value.strip()


def _digits(data: Body, name: str, n: int, label: str) -> str:
    value = _text(data, name, max_len=64)
    if len(value) != n or not (value.isascii() and value.isdigit()):
        raise Gagal(f"Format {label} ({name}) tidak sesuai, harus {n} digit angka")
    return value


def _number(data: Body, name: str) -> int:
    value = _text(data, name, max_len=16)
    if not (value.isascii() and value.isdigit()):
        raise Gagal(f"Format {name} tidak sesuai, harus angka")
    return int(value)


def _phone(data: Body) -> str:
    value = _text(data, "nohp", max_len=20)
    if not _PHONE.fullmatch(value):
        raise Gagal("Format nohp tidak sesuai")
    return value


def _date(data: Body, name: str) -> date:
    value = _text(data, name, max_len=10)
    if _DATE.fullmatch(value):
        with contextlib.suppress(ValueError):
            return date.fromisoformat(value)
    raise Gagal(f"Format {name} tidak sesuai, harus yyyy-mm-dd")


def _visit_day(data: Body, state: FacilityState, now: Millis) -> date:
    day = _date(data, "tanggalperiksa")
    today = date.fromisoformat(state.local_day(now))
    if day < today:
        raise Gagal("tanggalperiksa tidak berlaku mundur")
    if day > today + timedelta(days=BOOK_AHEAD_DAYS):
        raise Gagal(f"tanggalperiksa paling lambat {BOOK_AHEAD_DAYS} hari dari hari ini")
    return day


def _window(hours: str, name: str) -> tuple[int, int]:
    """``"HH:MM-HH:MM"`` (spaces allowed, as HFIS writes it) -> minutes since local midnight."""
    match = _HOURS.fullmatch("".join(hours.split()))
    if match is None:
        raise Gagal(f"Format {name} tidak sesuai, harus HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if m1 > 59 or m2 > 59 or not 0 <= start < end <= 24 * 60:
        raise Gagal(f"{name} tidak sesuai: {hours}")
    return start, end


def _appointment(state: FacilityState, poli: Poli, day: date, now: Millis) -> Millis:
    """The start of the practice hours on ``day`` (now, if they started already today)."""
    start, end = _window(poli.jampraktek, "jadwal poli")
    midnight = datetime.combine(day, time(), state.tz)
    if now >= int((midnight + timedelta(minutes=end)).timestamp() * 1000):
        raise Gagal(f"Pendaftaran ke {poli.namapoli} tanggal {day.isoformat()} sudah tutup (jam praktek berakhir)")
    return max(int((midnight + timedelta(minutes=start)).timestamp() * 1000), now)


def _bpjs(state: FacilityState) -> BpjsState:
    bpjs: BpjsState = state.modules[NAME]
    return bpjs


def _booking(state: FacilityState, kodebooking: str) -> Ticket:
    """The ticket a booking code names (a Mobile JKN booking, or a visit linked at the loket)."""
    ticket_id = _bpjs(state).bookings.get(kodebooking)
    ticket = state.tickets.get(ticket_id) if ticket_id is not None else None
    if ticket is None:  # unknown, or a finished day the engine forgot already
        raise Gagal("Antrean dengan kode booking tersebut tidak ditemukan")
    return ticket


def _key(nomorkartu: str, day: str, kodepoli: str, attempt: int) -> str:
    """The booking's idempotency key: one card, one date, one poli (again after each cancellation).

    A digest, not the card number: the key sits in the engine's own ticket event. It is not keyed
    with the secret key on purpose: a restart with another secret must still recognise a retry.
    """
    digest = hashlib.sha256(f"antre.mobilejkn|{nomorkartu}|{day}|{kodepoli}|{attempt}".encode()).hexdigest()
    return f"bpjs:mobilejkn:{digest[:40]}"


def _ticket_of_key(state: FacilityState, key: str) -> Ticket | None:
    ticket_id = state.idempotency.get(key)
    return state.tickets.get(ticket_id) if ticket_id is not None else None


def _free_key(state: FacilityState, nomorkartu: str, day: str, kodepoli: str) -> str:
    """The key of the card's live booking at this poli and date, or of its next one."""
    attempt = 0
    while True:
        key = _key(nomorkartu, day, kodepoli, attempt)
        ticket = _ticket_of_key(state, key)
        if ticket is None or ticket.status is not TicketStatus.CANCELLED:
            return key
        attempt += 1


_AT_COUNTER = (TicketStatus.CALLED, TicketStatus.SERVING)
_NOT_SERVED = (TicketStatus.WAITING, *_AT_COUNTER)


def queue_counts(state: FacilityState, code: ServiceCode, day: str) -> tuple[int, int]:
    """(totalantrean, sisaantrean): numbers given at this poli that day (not cancelled), and those not served."""
    total = left = 0
    for ticket in state.tickets.values():
        if ticket.day != day or ticket.status is TicketStatus.CANCELLED or code not in ticket.stages:
            continue
        total += 1
        if ticket.service == code and ticket.status in _NOT_SERVED:
            left += 1
    return total, left


def now_calling(state: FacilityState, code: ServiceCode) -> str:
    """The number most recently called at the service's counters and still there, or "-"."""
    there = (state.tickets.get(state.counters[c.id].ticket or TicketId("")) for c in state.serving[code])
    called = [t for t in there if t is not None and t.service == code and t.status in _AT_COUNTER]
    return max(called, key=lambda t: t.called_at or 0).number if called else "-"


def ahead_of(state: FacilityState, ticket: Ticket, now: Millis) -> int:
    """Calls expected before this waiting ticket's: the engine's position today, that day's queue later."""
    if ticket.status is not TicketStatus.WAITING:
        return 0
    if ticket.day == state.local_day(now):
        return people_ahead(state, ticket) or 0
    same_day = (t for t in state.tickets.values() if t.service == ticket.service and t.day == ticket.day)
    return sum(1 for t in same_day if t.status is TicketStatus.WAITING and (t.key, t.id) < (ticket.key, ticket.id))
