"""A local stand-in of BPJS Antrean Online (antreanrs and antreanfktp), for the bridge's tests.

It is built from the published request and response shapes (shared/reference/indonesia-context.md
§1.2-1.6, from the "Web Service Antrean - BPJS (Diakses oleh sistem RS)" catalog). It runs as a
Starlette app under uvicorn on a free port in a background thread, like
``tests/board/support.py``'s ``LiveServer``::

    with BpjsStandIn(clock_s=1795654800) as bpjs:
        httpx.post(f"{bpjs.rs_url}/antrean/add", json=..., headers=bpjs.headers_for())
        bpjs.fail_next(2, Fault.HTTP_500)
        assert [call.path for call in bpjs.accepted] == ["antrean/add"]

What it does as BPJS does: every answer is HTTP 200 with ``{"metadata": {"code", "message"}}``
(code 200 ok, 201 refused, 208 duplicate); ``antrean/add`` twice → 208 "Terdapat duplikasi Kode
Booking"; a task id sent again → 208 "TaskId=N sudah ada"; ``getlisttask`` answers with an
encrypted ``response``. Its own choices where the catalog says nothing (each marked *choice*
below): the wording of 201 messages, refusing unknown or mistyped fields by name, refusing task ids
out of order and task times going backwards (the catalog only asks the RS to check these), and the
FKTP rules. Injected faults (:meth:`BpjsStandIn.fail_next`) come before everything else.

Only write requests that BPJS accepted (code 200) go to :attr:`BpjsStandIn.accepted`; every request
that reached the app, faults included, goes to :attr:`BpjsStandIn.received`. One server can serve a
whole test module: :meth:`BpjsStandIn.reset` between tests forgets everything.
"""

from __future__ import annotations

import asyncio
import hmac
import re
import socket
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum
from types import TracebackType
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from modules.bpjs import crypto

CONS_ID = "12345"
SECRET = "rahasia-stand-in"
USER_KEY = "kunci-antreanrs"
FKTP_USER_KEY = "kunci-antreanfktp"
RS = "antreanrs"
FKTP = "antreanfktp"
#: how far x-timestamp may be from the stand-in's clock, in seconds
TOLERANCE_S = 300
WIB = timezone(timedelta(hours=7))

#: catalog task names (antrean/updatewaktu), as getlisttask returns them
TASK_NAMES = {
    1: "mulai waktu tunggu admisi",
    2: "akhir waktu tunggu admisi/mulai waktu layan admisi",
    3: "akhir waktu layan admisi/mulai waktu tunggu poli",
    4: "akhir waktu tunggu poli/mulai waktu layan poli",
    5: "akhir waktu layan poli/mulai waktu tunggu farmasi",
    6: "akhir waktu tunggu farmasi/mulai waktu layan farmasi membuat obat",
    7: "akhir waktu obat selesai dibuat",
    99: "tidak hadir/batal",
}
NOT_FOUND_OR_CANCELLED = "Antrean Tidak Ditemukan atau Sudah Dibatalkan"  # the catalog's Mobile JKN wording

# Field name -> type, per request (catalog names). Optional fields are listed apart.
Spec = dict[str, type]
RS_ADD: Spec = {
    **dict.fromkeys(("kodebooking", "jenispasien", "nomorkartu", "nik", "nohp", "kodepoli", "namapoli"), str),
    **dict.fromkeys(("norm", "tanggalperiksa", "namadokter", "jampraktek", "nomorreferensi", "nomorantrean"), str),
    **dict.fromkeys(("pasienbaru", "kodedokter", "jeniskunjungan", "angkaantrean", "estimasidilayani"), int),
    **dict.fromkeys(("sisakuotajkn", "kuotajkn", "sisakuotanonjkn", "kuotanonjkn"), int),
    "keterangan": str,
}
RS_UPDATEWAKTU: Spec = {"kodebooking": str, "taskid": int, "waktu": int, "jenisresep": str}
OPTIONAL = frozenset({"jenisresep"})  # may be left out (only an RS with the pharmacy queue sends it)
RS_BATAL: Spec = {"kodebooking": str, "keterangan": str}
RS_GETLISTTASK: Spec = {"kodebooking": str}
FKTP_ADD: Spec = {
    **dict.fromkeys(("nomorkartu", "nik", "nohp", "kodepoli", "namapoli", "norm", "tanggalperiksa"), str),
    **dict.fromkeys(("namadokter", "jampraktek", "nomorantrean", "keterangan"), str),
    "kodedokter": int,
    "angkaantrean": int,
}
FKTP_PANGGIL: Spec = {"tanggalperiksa": str, "kodepoli": str, "nomorkartu": str, "status": int, "waktu": int}
FKTP_BATAL: Spec = {"tanggalperiksa": str, "kodepoli": str, "nomorkartu": str, "alasan": str}

JENISRESEP = ("Tidak ada", "Racikan", "Non racikan")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_JAMPRAKTEK = re.compile(r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d")
_DIGITS = re.compile(r"\d+")


class Fault(StrEnum):
    """What an injected failure does to a request (see :meth:`BpjsStandIn.fail_next`)."""

    HTTP_500 = "http-500"  # answer HTTP 500 at once; nothing applied
    TIMEOUT = "timeout"  # hang (until released or hang_s); nothing applied: the request was lost
    TIMEOUT_AFTER_APPLY = "timeout-after-apply"  # apply the request, then hang: the answer was lost
    REFUSE = "refuse"  # answer HTTP 200 with the given metadata code (201) and message; nothing applied


@dataclass(frozen=True, slots=True)
class Call:
    """One request as the stand-in saw it, and what it answered."""

    service: str  # "antreanrs" or "antreanfktp"
    path: str  # e.g. "antrean/updatewaktu"
    body: Any  # the parsed JSON body (None if it was not JSON)
    headers: dict[str, str]  # x-cons-id, x-timestamp, x-signature, user_key as received
    code: int | None  # the metadata code answered; None for an injected HTTP 500 or a hang without apply
    message: str
    fault: Fault | None = None


@dataclass(slots=True)
class _Booking:
    """An antreanrs booking: the add request, its task times in arrival order, cancelled or not."""

    add: dict[str, Any]
    tasks: dict[int, int] = field(default_factory=dict)  # taskid -> waktu (ms)
    cancelled: bool = False


@dataclass(slots=True)
class _FktpEntry:
    """An antreanfktp queue entry, known by (tanggalperiksa, kodepoli, nomorkartu)."""

    add: dict[str, Any]
    calls: list[tuple[int, int]] = field(default_factory=list)  # (status, waktu)
    cancelled: bool = False


Answer = tuple[int, str, Any]  # (metadata code, message, response)
Handler = Callable[[dict[str, Any], str], Answer]


def _ok(response: Any = None) -> Answer:
    return 200, "Ok", response


def _field_error(body: dict[str, Any], spec: Spec) -> str | None:
    """A message naming the first unknown, missing or mistyped field, or None (*choice*: BPJS's wording is unknown)."""
    for name in body:
        if name not in spec:
            return f"Field {name} tidak dikenal"
    for name, kind in spec.items():
        if name not in body:
            if name not in OPTIONAL:
                return f"Field {name} tidak boleh kosong"
        elif isinstance(body[name], bool) or not isinstance(body[name], kind):
            return f"Field {name} harus {'angka' if kind is int else 'teks'}"
    return None


def _date_error(name: str, value: str) -> str | None:
    with suppress(ValueError):
        if _DATE.fullmatch(value) and date.fromisoformat(value):
            return None
    return f"Field {name} harus tanggal yyyy-mm-dd"


def _digits_error(name: str, value: str, length: int, *, may_be_empty: bool = False) -> str | None:
    if (may_be_empty and value == "") or (len(value) == length and _DIGITS.fullmatch(value)):
        return None
    return f"Field {name} harus {length} digit angka"


def _rs_add_error(body: dict[str, Any]) -> str | None:
    """Value rules of antrean/add on top of the types (*choice*: the catalog's ranges and formats)."""
    jkn = body["jenispasien"] == "JKN"
    numbers = ("angkaantrean", "estimasidilayani", "sisakuotajkn", "kuotajkn", "sisakuotanonjkn", "kuotanonjkn")
    checks = [
        None if body["kodebooking"] else "Field kodebooking tidak boleh kosong",
        None if body["jenispasien"] in ("JKN", "NON JKN") else "Field jenispasien harus JKN atau NON JKN",
        # cards are 13 digits (the catalog's example "00012345678" is a placeholder); empty for NON JKN
        _digits_error("nomorkartu", body["nomorkartu"], 13, may_be_empty=not jkn),
        _digits_error("nik", body["nik"], 16),  # every patient, JKN or not: the catalog gives no exception
        None if body["nomorreferensi"] or not jkn else "Field nomorreferensi tidak boleh kosong untuk JKN",
        None if body["pasienbaru"] in (0, 1) else "Field pasienbaru harus 0 atau 1",
        None if 1 <= body["jeniskunjungan"] <= 4 else "Field jeniskunjungan harus 1 sampai 4",
        _date_error("tanggalperiksa", body["tanggalperiksa"]),
        None if _JAMPRAKTEK.fullmatch(body["jampraktek"]) else "Field jampraktek harus HH:MM-HH:MM",
        *(f"Field {name} tidak boleh negatif" for name in numbers if body[name] < 0),
        None if body["sisakuotajkn"] <= body["kuotajkn"] else "Field sisakuotajkn melebihi kuotajkn",
        None if body["sisakuotanonjkn"] <= body["kuotanonjkn"] else "Field sisakuotanonjkn melebihi kuotanonjkn",
    ]
    return next((check for check in checks if check), None)


def _fktp_key(body: dict[str, Any]) -> tuple[str, str, str]:
    return body["tanggalperiksa"], body["kodepoli"], body["nomorkartu"]


def _wib(ms: int) -> str:
    """getlisttask's time format: "dd-mm-yyyy hh:mm:ss WIB"."""
    return datetime.fromtimestamp(ms / 1000, WIB).strftime("%d-%m-%Y %H:%M:%S WIB")


class BpjsStandIn:
    """The stand-in's state and app, and the uvicorn server that runs it in a background thread.

    Args:
        cons_id, secret, user_key: the credentials it accepts (``fktp_user_key`` for antreanfktp).
        base: a path prefix before ``/antreanrs`` and ``/antreanfktp`` (e.g. ``"/bpjs"``).
        clock_s: the stand-in's clock in Unix seconds (fixed until :meth:`set_clock`); None: the real clock.
        hang_s: the longest an injected hang lasts (:meth:`release` and :meth:`stop` end it sooner).
        metadata_key: ``"metadata"``, or ``"metaData"`` to answer as older services do.
    """

    def __init__(
        self,
        *,
        cons_id: str = CONS_ID,
        secret: str = SECRET,
        user_key: str = USER_KEY,
        fktp_user_key: str = FKTP_USER_KEY,
        base: str = "",
        clock_s: int | None = None,
        hang_s: float = 30.0,
        metadata_key: str = "metadata",
    ) -> None:
        self.cons_id, self.secret = cons_id, secret
        self.user_keys = {RS: user_key, FKTP: fktp_user_key}
        self.base = base.rstrip("/")
        self.hang_s = hang_s
        self.metadata_key = metadata_key
        self._clock_s = self._initial_clock_s = clock_s
        self._lock = threading.Condition()
        self._faults: deque[tuple[Fault, int, str]] = deque()
        self._received: list[Call] = []
        self._accepted: list[Call] = []
        self.bookings: dict[str, _Booking] = {}
        self.fktp: dict[tuple[str, str, str], _FktpEntry] = {}
        self.app = Starlette(routes=self._routes(), lifespan=self._lifespan)
        self.port = 0
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._release: asyncio.Event | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None

    # -- what tests use -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.base}"

    @property
    def rs_url(self) -> str:
        """Base URL of antreanrs (append ``/antrean/add`` …)."""
        return f"{self.url}/{RS}"

    @property
    def fktp_url(self) -> str:
        """Base URL of antreanfktp."""
        return f"{self.url}/{FKTP}"

    @property
    def received(self) -> list[Call]:
        """Every request that reached the app, in order (a copy)."""
        with self._lock:
            return list(self._received)

    @property
    def accepted(self) -> list[Call]:
        """Write requests answered with code 200, in order (a copy); reads (getlisttask) are not in it."""
        with self._lock:
            return list(self._accepted)

    def now_s(self) -> int:
        """The stand-in's clock, in Unix seconds."""
        return int(time.time()) if self._clock_s is None else self._clock_s

    def set_clock(self, unix_s: int | None) -> None:
        """Fix the stand-in's clock (Unix seconds), or return to the real clock with None."""
        self._clock_s = unix_s

    def headers_for(self, service: str = RS, timestamp: str | None = None) -> dict[str, str]:
        """Valid headers for ``service`` at ``timestamp`` (default: the stand-in's clock)."""
        stamp = str(self.now_s()) if timestamp is None else timestamp
        return crypto.headers(self.cons_id, self.secret, self.user_keys[service], stamp)

    def fail_next(self, n: int = 1, fault: Fault = Fault.HTTP_500, *, code: int = 201, message: str = "") -> None:
        """Make the next ``n`` requests (any path) fail with ``fault``; queued after faults already set.

        ``code`` and ``message`` are the metadata of :attr:`Fault.REFUSE` answers.
        """
        with self._lock:
            for _ in range(n):
                self._faults.append((fault, code, message or f"Gagal (disimulasikan, {fault})"))

    def release(self) -> None:
        """End every injected hang now (those requests then answer; their clients are long gone)."""
        if self._loop is not None and self._release is not None:
            self._loop.call_soon_threadsafe(self._release_hangs)

    def clear_faults(self) -> None:
        """Drop the faults not used yet (the service is back)."""
        with self._lock:
            self._faults.clear()

    def reset(self) -> None:
        """Forget every booking, request and pending fault, end hangs and reset the clock (a shared server)."""
        self.release()
        with self._lock:
            self._faults.clear()
            self._received.clear()
            self._accepted.clear()
            self.bookings.clear()
            self.fktp.clear()
            self._clock_s = self._initial_clock_s

    def wait_received(self, count: int, timeout: float = 5.0) -> list[Call]:
        """Block until ``count`` requests have reached the app; the calls so far.

        Raises:
            TimeoutError: fewer arrived within ``timeout`` seconds.
        """
        with self._lock:
            if not self._lock.wait_for(lambda: len(self._received) >= count, timeout):
                raise TimeoutError(f"{len(self._received)} of {count} requests reached the stand-in")
            return list(self._received)

    def tasks(self, kodebooking: str) -> dict[int, int]:
        """The task times (taskid → waktu ms) recorded for a booking, in arrival order."""
        with self._lock:
            return dict(self.bookings[kodebooking].tasks)

    # -- server -------------------------------------------------------------------------------------

    def start(self) -> BpjsStandIn:
        """Bind a free port, start uvicorn in a thread, and return once the app's lifespan has started."""
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, http="h11", ws="none", lifespan="on", log_level="warning", timeout_graceful_shutdown=2
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name=f"bpjs-standin-{self.port}", daemon=True)
        self._thread.start()
        if not self._ready.wait(20) or self._failure is not None:
            raise RuntimeError(f"the BPJS stand-in did not start: {self._failure!r}")
        return self

    def _run(self) -> None:
        assert self._server is not None and self._sock is not None
        try:
            asyncio.run(self._server.serve(sockets=[self._sock]))
        except BaseException as exc:  # reported to the test thread by start()
            self._failure = exc
            self._ready.set()
            raise

    def stop(self) -> None:
        """End hangs, stop uvicorn and wait for its thread."""
        self.release()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(20)
        if self._sock is not None:
            self._sock.close()

    def __enter__(self) -> BpjsStandIn:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    @asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self._loop = asyncio.get_running_loop()
        self._release = asyncio.Event()
        self._ready.set()
        yield

    def _release_hangs(self) -> None:
        assert self._release is not None
        self._release.set()
        self._release = asyncio.Event()  # later hangs wait again; those woken hold the old event

    async def _hang(self) -> None:
        assert self._release is not None
        with suppress(TimeoutError):
            await asyncio.wait_for(self._release.wait(), self.hang_s)

    # -- requests -----------------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        table: list[tuple[str, str, Spec, Handler]] = [
            (RS, "antrean/add", RS_ADD, self._rs_add),
            (RS, "antrean/updatewaktu", RS_UPDATEWAKTU, self._rs_updatewaktu),
            (RS, "antrean/batal", RS_BATAL, self._rs_batal),
            (RS, "antrean/getlisttask", RS_GETLISTTASK, self._rs_getlisttask),  # a read: never "accepted"
            (FKTP, "antrean/add", FKTP_ADD, self._fktp_add),
            (FKTP, "antrean/panggil", FKTP_PANGGIL, self._fktp_panggil),
            (FKTP, "antrean/batal", FKTP_BATAL, self._fktp_batal),
        ]
        return [
            Route(f"{self.base}/{service}/{path}", self._endpoint(service, path, spec, handler), methods=["POST"])
            for service, path, spec, handler in table
        ]

    def _endpoint(self, service: str, path: str, spec: Spec, handler: Handler) -> Callable[[Request], Any]:
        writes = spec is not RS_GETLISTTASK

        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            try:
                body = orjson.loads(raw)
            except orjson.JSONDecodeError:
                body = None
            names = ("x-cons-id", "x-timestamp", "x-signature", "user_key")
            sent = {name: request.headers[name] for name in names if name in request.headers}
            with self._lock:
                fault, code, message = self._faults.popleft() if self._faults else (None, 0, "")
            if fault in (Fault.HTTP_500, Fault.TIMEOUT):
                self._record(Call(service, path, body, sent, None, "", fault), accepted=False)
                if fault is Fault.TIMEOUT:
                    await self._hang()
                return Response("Internal Server Error", status_code=500, media_type="text/plain")
            response: Any = None
            if fault is not Fault.REFUSE:
                with self._lock:  # the state is read by the test thread
                    code, message, response = self._answer(service, sent, body, spec, handler)
            self._record(Call(service, path, body, sent, code, message, fault), accepted=writes and code == 200)
            if fault is Fault.TIMEOUT_AFTER_APPLY:
                await self._hang()
            envelope: dict[str, Any] = {self.metadata_key: {"code": code, "message": message}}
            if response is not None:
                envelope["response"] = response
            return Response(orjson.dumps(envelope), media_type="application/json")

        return endpoint

    def _record(self, call: Call, *, accepted: bool) -> None:
        with self._lock:
            self._received.append(call)
            if accepted:
                self._accepted.append(call)
            self._lock.notify_all()

    def _auth_error(self, service: str, sent: dict[str, str]) -> str | None:
        """Why the headers are refused, or None (*choice*: the messages; each names the header at fault)."""
        if sent.get("x-cons-id") != self.cons_id:
            return "x-cons-id tidak dikenal"
        if not hmac.compare_digest(sent.get("user_key", ""), self.user_keys[service]):
            return "user_key tidak valid untuk layanan ini"
        stamp = sent.get("x-timestamp", "")
        if not _DIGITS.fullmatch(stamp):
            return "x-timestamp harus detik Unix (UTC)"
        if abs(int(stamp) - self.now_s()) > TOLERANCE_S:
            return f"x-timestamp di luar toleransi {TOLERANCE_S} detik"
        expected = crypto.signature(self.cons_id, self.secret, stamp)
        if not hmac.compare_digest(sent.get("x-signature", ""), expected):
            return "x-signature tidak valid"
        return None

    def _answer(self, service: str, sent: dict[str, str], body: Any, spec: Spec, handler: Handler) -> Answer:
        """Headers, then field names and types, then the endpoint's own rules."""
        refused = self._auth_error(service, sent)
        if refused is not None:
            return 201, refused, None
        if not isinstance(body, dict):
            return 201, "Format request harus objek JSON", None
        problem = _field_error(body, spec)
        if problem:
            return 201, problem, None
        return handler(body, sent["x-timestamp"])

    # -- antreanrs ----------------------------------------------------------------------------------

    def _rs_add(self, body: dict[str, Any], timestamp: str) -> Answer:
        problem = _rs_add_error(body)
        if problem:
            return 201, problem, None
        if body["kodebooking"] in self.bookings:
            return 208, "Terdapat duplikasi Kode Booking", None
        self.bookings[body["kodebooking"]] = _Booking(add=body)
        return _ok()

    def _rs_updatewaktu(self, body: dict[str, Any], timestamp: str) -> Answer:
        taskid, waktu = body["taskid"], body["waktu"]
        if taskid not in TASK_NAMES:
            return 201, "Field taskid harus 1 sampai 7 atau 99", None
        if waktu <= 0:
            return 201, "Field waktu harus timestamp milidetik", None
        if body.get("jenisresep", JENISRESEP[0]) not in JENISRESEP:
            return 201, "Field jenisresep harus Tidak ada, Racikan atau Non racikan", None
        booking = self.bookings.get(body["kodebooking"])
        if booking is None:
            return 201, "Kode Booking tidak ditemukan", None
        if taskid in booking.tasks:
            return 208, f"TaskId={taskid} sudah ada", None
        if booking.cancelled:
            return 201, "Antrean sudah dibatalkan", None
        if booking.tasks:  # *choice*: BPJS may accept these; the catalog asks the RS to check them
            last = next(reversed(booking.tasks))
            if taskid < last:
                return 201, f"TaskId={taskid} tidak sesuai urutan: TaskId={last} sudah ada", None
            if waktu < booking.tasks[last]:
                return 201, f"Waktu TaskId={taskid} lebih awal dari waktu TaskId={last}", None
        booking.tasks[taskid] = waktu
        booking.cancelled = taskid == 99
        return _ok()

    def _rs_batal(self, body: dict[str, Any], timestamp: str) -> Answer:
        booking = self.bookings.get(body["kodebooking"])
        # *choice*: a repeated batal is refused (201), with the Mobile JKN catalog's wording
        if booking is None or booking.cancelled:
            return 201, NOT_FOUND_OR_CANCELLED, None
        booking.cancelled = True
        return _ok()

    def _rs_getlisttask(self, body: dict[str, Any], timestamp: str) -> Answer:
        """The task times sent for a booking, encrypted with the request's timestamp (as BPJS does)."""
        booking = self.bookings.get(body["kodebooking"])
        if booking is None:
            return 201, "Kode Booking tidak ditemukan", None
        received = _wib(self.now_s() * 1000)
        rows = [
            {"wakturs": _wib(waktu), "waktu": received, "taskname": TASK_NAMES[taskid], "taskid": taskid}
            | {"kodebooking": body["kodebooking"]}
            for taskid, waktu in booking.tasks.items()
        ]
        plaintext = orjson.dumps({"list": rows}).decode()
        return _ok(crypto.encrypt(self.cons_id, self.secret, timestamp, plaintext))

    # -- antreanfktp (*choice*: the catalog text for FKTP was not found; rules mirror antreanrs) ------

    def _fktp_add(self, body: dict[str, Any], timestamp: str) -> Answer:
        problem = (
            _digits_error("nomorkartu", body["nomorkartu"], 13)
            or _digits_error("nik", body["nik"], 16)
            or _date_error("tanggalperiksa", body["tanggalperiksa"])
            or (None if _JAMPRAKTEK.fullmatch(body["jampraktek"]) else "Field jampraktek harus HH:MM-HH:MM")
        )
        if problem:
            return 201, problem, None
        if _fktp_key(body) in self.fktp:
            return 208, "Terdapat duplikasi antrean peserta pada poli dan tanggal ini", None
        self.fktp[_fktp_key(body)] = _FktpEntry(add=body)
        return _ok()

    def _fktp_panggil(self, body: dict[str, Any], timestamp: str) -> Answer:
        """status 1 = hadir, 2 = tidak hadir; a patient may be called again, never back in time."""
        status, waktu = body["status"], body["waktu"]
        if status not in (1, 2):
            return 201, "Field status harus 1 (hadir) atau 2 (tidak hadir)", None
        if waktu <= 0:
            return 201, "Field waktu harus timestamp milidetik", None
        entry = self.fktp.get(_fktp_key(body))
        if entry is None or entry.cancelled:
            return 201, NOT_FOUND_OR_CANCELLED, None
        if (status, waktu) in entry.calls:
            return 208, "Status antrean sudah ada", None
        if entry.calls and waktu < entry.calls[-1][1]:
            return 201, "Waktu panggil lebih awal dari panggilan sebelumnya", None
        entry.calls.append((status, waktu))
        return _ok()

    def _fktp_batal(self, body: dict[str, Any], timestamp: str) -> Answer:
        entry = self.fktp.get(_fktp_key(body))
        if entry is None or entry.cancelled:
            return 201, NOT_FOUND_OR_CANCELLED, None
        entry.cancelled = True
        return _ok()
