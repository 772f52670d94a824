"""What BPJS is told, derived from the engine's events with their real times (pure).

A visit is one engine ticket; it moves registration → poli → pharmacy as the ticket is completed
to its next stage. BPJS (antreanrs) wants, per booking and in this order:

=========  ======================================================  =========================
task id    moment (catalog wording, abridged)                      engine event
=========  ======================================================  =========================
1          waiting for registration starts                         issued at the kiosk / checked in at registration
2          registration service starts                             first call at the registration counter
3          registration done, waiting for the poli                 registration completed (or checked in at the poli)
4          the poli calls the patient                              first call at the poli
5          poli done, waiting for the pharmacy                     poli completed
6          the pharmacy starts                                     first call at the pharmacy
7          medicine ready                                          pharmacy completed
99         no-show or cancelled                                    cancelled; or missed / never called when the day ends
=========  ======================================================  =========================

``antrean/add`` goes first, once the visit has reached a mapped poli and its BPJS identity is
linked (:class:`~modules.bpjs.module.VisitLinked`); the times collected before are then sent in
order. Task ids only go up: a recall or a second call sends nothing. The puskesmas variant
(antreanfktp) sends ``antrean/add`` at the poli, ``antrean/panggil`` with status 1 (hadir: the
poli served the patient, with the time of the call) or 2 (tidak hadir: still missed when the day
ends), and ``antrean/batal`` when the ticket is cancelled.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from queue_engine.domain.events import (
    Event,
    TicketCalled,
    TicketCancelled,
    TicketCheckedIn,
    TicketCompleted,
    TicketIssued,
    TicketMissed,
    TicketTransferred,
)
from queue_engine.domain.forecast import people_ahead
from queue_engine.domain.ids import Millis, ServiceCode, TicketId
from queue_engine.domain.model import Payer
from queue_engine.domain.state import FacilityState

from ..outbox.message import Message
from .module import NAME, BpjsModule, BpjsState, Poli, Visit

REGISTRATION, POLI, PHARMACY, OTHER = "registration", "poli", "pharmacy", "other"
#: task id when a stage's ticket is first called, and when it is completed
CALLED = {REGISTRATION: 2, POLI: 4, PHARMACY: 6}
DONE = {REGISTRATION: 3, POLI: 5, PHARMACY: 7}
NO_SHOW = 99
KETERANGAN = "Peserta harap 30 menit lebih awal guna pencatatan administrasi."
#: the fields of antreanfktp's antrean/add
FKTP_ADD_FIELDS = (
    "nomorkartu",
    "nik",
    "nohp",
    "kodepoli",
    "namapoli",
    "norm",
    "tanggalperiksa",
    "kodedokter",
    "namadokter",
    "jampraktek",
    "nomorantrean",
    "angkaantrean",
    "keterangan",
)


@dataclass(slots=True)
class _Visit:
    stage: str
    service: ServiceCode
    #: task id -> when it happened (collected before the booking can be added, and after)
    times: dict[int, Millis] = field(default_factory=dict)
    called_at: set[str] = field(default_factory=set)
    poli: ServiceCode | None = None
    added: bool = False
    last_sent: int = 0
    missed: bool = False
    missed_at: int = 0
    closed: bool = False


class TaskDeriver:
    """Folds the engine's events into BPJS messages (see the module docstring)."""

    def __init__(self, module: BpjsModule) -> None:
        self.module = module
        self.visits: dict[TicketId, _Visit] = {}
        self.day = ""

    def _stage(self, service: ServiceCode) -> str:
        m = self.module
        if service in m.registration:
            return REGISTRATION
        if service in m.poli:
            return POLI
        if service in m.pharmacy:
            return PHARMACY
        return OTHER

    def derive(self, position: int, event: Event, state: FacilityState) -> list[Message]:
        out: list[Message] = []
        day = state.today
        if self.day and day != self.day:
            out += self._end_of_day(position, event.at, state)
        self.day = day
        ticket_id = getattr(event, "ticket_id", None)
        if isinstance(event, TicketIssued):
            self.visits[event.ticket_id] = _Visit(self._stage(event.service), event.service)
        visit = self.visits.get(ticket_id) if ticket_id is not None else None
        if visit is not None and ticket_id is not None:
            out += self._collect(position, ticket_id, visit, event, state)
        if visit is not None and ticket_id is not None and not visit.closed:
            out += self._flush(position, ticket_id, visit, state, event.at)
        elif ticket_id is None:
            # a visit linked after the fact (bpjs.visit_linked) may now be reportable
            for tid, v in self.visits.items():
                if not v.added and not v.closed and v.poli is not None:
                    out += self._flush(position, tid, v, state, event.at)
        # keys: the event's position and the message's place among its messages (stable on every replay)
        return [replace(m, key=f"bpjs:{position}:{i}") for i, m in enumerate(out)]

    def _collect(
        self, position: int, ticket_id: TicketId, visit: _Visit, event: Event, state: FacilityState
    ) -> list[Message]:
        """Note the task times an event of the visit's ticket gives; the messages it causes at once."""
        out: list[Message] = []
        match event:
            case TicketIssued():
                self._enter(visit, event.service, event.at, checked_in=event.checked_in)
            case TicketCheckedIn():
                self._arrived(visit, event.at)
            case TicketCalled():
                out += self._called(position, ticket_id, visit, state, event.at)
            case TicketCompleted():
                if visit.stage in DONE:
                    visit.times.setdefault(DONE[visit.stage], event.at)
                if self.module.variant == "fktp" and visit.stage == POLI:
                    out += self._panggil(position, ticket_id, visit, state, visit.times[CALLED[POLI]], hadir=True)
            case TicketTransferred():
                if visit.stage == REGISTRATION:
                    visit.times.setdefault(DONE[REGISTRATION], event.at)
                visit.stage = self._stage(event.to_service)
                self._enter(visit, event.to_service, event.at, checked_in=True)
            case TicketMissed():
                visit.missed = True
                visit.missed_at = event.at
            case TicketCancelled():
                out += self._no_show(position, ticket_id, visit, state, event.at)
        return out

    # -- collecting ---------------------------------------------------------------------------

    def _called(
        self, position: int, ticket_id: TicketId, visit: _Visit, state: FacilityState, at: Millis
    ) -> list[Message]:
        """The first call at a stage (a recall, or a call after a miss, sends nothing new)."""
        visit.missed = False
        if visit.stage not in CALLED or visit.stage in visit.called_at:
            return []
        visit.called_at.add(visit.stage)
        visit.times.setdefault(CALLED[visit.stage], at)
        return []

    def _enter(self, visit: _Visit, service: ServiceCode, at: Millis, *, checked_in: bool) -> None:
        visit.service = service
        if visit.stage == POLI and visit.poli is None:
            visit.poli = service
        if checked_in:
            self._arrived(visit, at)

    def _arrived(self, visit: _Visit, at: Millis) -> None:
        if visit.stage == REGISTRATION:
            visit.times.setdefault(1, at)
        elif visit.stage == POLI and not visit.times:
            visit.times.setdefault(3, at)  # an existing patient's visit starts at the poli: task 3

    # -- sending ------------------------------------------------------------------------------

    def _identity(self, state: FacilityState, ticket_id: TicketId) -> Visit | None:
        bpjs: BpjsState = state.modules[NAME]
        return bpjs.visits.get(ticket_id)

    def _flush(
        self, position: int, ticket_id: TicketId, visit: _Visit, state: FacilityState, at: Millis
    ) -> list[Message]:
        if visit.poli is None:
            return []
        identity = self._identity(state, ticket_id)
        if identity is None:
            return []
        out: list[Message] = []
        if not visit.added:
            visit.added = True
            out.append(self._add(position, ticket_id, visit, identity, state, at))
        if self.module.variant == "rs":
            for task in sorted(t for t in visit.times if t > visit.last_sent):
                visit.last_sent = task
                body = {"kodebooking": identity.kodebooking, "taskid": task, "waktu": visit.times[task]}
                out.append(_message("antrean/updatewaktu", body, visit.times[task]))
        return out

    def _add(
        self, position: int, ticket_id: TicketId, visit: _Visit, identity: Visit, state: FacilityState, at: Millis
    ) -> Message:
        assert visit.poli is not None
        poli: Poli = self.module.poli[visit.poli]
        ticket = state.tickets.get(ticket_id)
        number = ticket.number if ticket is not None and ticket.service == visit.poli else ""
        seq = int("".join(ch for ch in number if ch.isdigit()) or 0)  # "B012" -> 12
        ahead = people_ahead(state, ticket) if ticket is not None and ticket.service == visit.poli else None
        start = max(at, _slot_start(state, at, poli.jampraktek))
        body: dict[str, Any] = {
            "kodebooking": identity.kodebooking,
            "jenispasien": identity.jenispasien,
            "nomorkartu": identity.nomorkartu,
            "nik": identity.nik,
            "nohp": identity.nohp,
            "kodepoli": poli.kodepoli,
            "namapoli": poli.namapoli,
            "pasienbaru": identity.pasienbaru,
            "norm": identity.norm,
            "tanggalperiksa": state.local_day(at),
            "kodedokter": poli.kodedokter,
            "namadokter": poli.namadokter,
            "jampraktek": poli.jampraktek,
            "jeniskunjungan": identity.jeniskunjungan,
            "nomorreferensi": identity.nomorreferensi,
            "nomorantrean": number,
            "angkaantrean": seq,
            "estimasidilayani": start + (ahead or 0) * self.module.spm_min * 60_000,
            **quota_fields(state, visit.poli, state.local_day(at)),
            "keterangan": KETERANGAN,
        }
        if self.module.variant == "fktp":
            body = {k: body[k] for k in FKTP_ADD_FIELDS}
        return _message("antrean/add", body, at)

    def _panggil(
        self, position: int, ticket_id: TicketId, visit: _Visit, state: FacilityState, at: Millis, *, hadir: bool
    ) -> list[Message]:
        out = self._flush(position, ticket_id, visit, state, at)
        identity = self._identity(state, ticket_id)
        if identity is None or visit.poli is None:
            return out
        poli = self.module.poli[visit.poli]
        body = {
            "tanggalperiksa": state.local_day(at),
            "kodepoli": poli.kodepoli,
            "nomorkartu": identity.nomorkartu,
            "status": 1 if hadir else 2,
            "waktu": at,
        }
        return [*out, _message("antrean/panggil", body, at)]

    def _no_show(
        self, position: int, ticket_id: TicketId, visit: _Visit, state: FacilityState, at: Millis
    ) -> list[Message]:
        """Cancelled, or the day ended before it was served: 99 (rs) or batal (fktp), once."""
        if visit.closed:
            return []
        out = self._flush(position, ticket_id, visit, state, at)
        visit.closed = True
        identity = self._identity(state, ticket_id)
        if identity is None or not visit.added:
            return out
        if self.module.variant == "rs":
            body = {"kodebooking": identity.kodebooking, "taskid": NO_SHOW, "waktu": at}
            return [*out, _message("antrean/updatewaktu", body, at)]
        assert visit.poli is not None  # added implies it reached a poli
        if visit.missed and visit.stage == POLI:
            return [*out, *self._panggil(position, ticket_id, visit, state, Millis(visit.missed_at), hadir=False)]
        batal = {
            "tanggalperiksa": state.local_day(at),
            "kodepoli": self.module.poli[visit.poli].kodepoli,
            "nomorkartu": identity.nomorkartu,
            "alasan": "Tidak hadir",
        }
        return [*out, _message("antrean/batal", batal, at)]

    def _end_of_day(self, position: int, at: Millis, state: FacilityState) -> list[Message]:
        """A new day began: yesterday's visits not served to the end are no-shows (at the missed call, if
        one was missed; else when the day's end became known)."""
        out: list[Message] = []
        for ticket_id, visit in list(self.visits.items()):
            finished = visit.stage in DONE and DONE[visit.stage] in visit.times and not visit.missed
            if not visit.closed and not finished and visit.added:
                when = Millis(visit.missed_at) if visit.missed else at
                out += self._no_show(position, ticket_id, visit, state, when)
            del self.visits[ticket_id]
        return out


def _message(kind: str, body: dict[str, Any], at: Millis) -> Message:
    """A message without its key (``TaskDeriver.derive`` numbers them)."""
    return Message(key="", kind=kind, body=body, at=at)


def _slot_start(state: FacilityState, at: Millis, jampraktek: str) -> Millis:
    """The start of today's practice hours (``"08:00-12:00"``) in ms, or ``at`` if it cannot be read."""
    try:
        hh, mm = (int(x) for x in jampraktek.split("-")[0].strip().split(":"))
    except ValueError:
        return at
    day = datetime.fromtimestamp(at / 1000, state.tz).replace(hour=hh, minute=mm, second=0, microsecond=0)
    return Millis(int(day.timestamp() * 1000))


def quota_fields(state: FacilityState, service: ServiceCode, day: str) -> dict[str, int]:
    """``kuotajkn``, ``sisakuotajkn``, ``kuotanonjkn``, ``sisakuotanonjkn`` of a service on a day (as decide counts)."""
    svc = state.facility.services[service]
    jkn_used, non_jkn_used = state.quota_used.get((service, day), (0, 0))
    quota = svc.quota
    total = quota.total
    jkn = quota.limit(Payer.JKN)
    non_jkn = quota.limit(Payer.UMUM)
    jkn_cap = jkn if jkn is not None else (total if total is not None else 999)
    non_cap = non_jkn if non_jkn is not None else (total if total is not None else 999)
    left_total = None if total is None else max(0, total - jkn_used - non_jkn_used)

    def left(cap: int, used: int) -> int:
        rest = max(0, cap - used)
        return rest if left_total is None else min(rest, left_total)

    return {
        "sisakuotajkn": left(jkn_cap, jkn_used),
        "kuotajkn": jkn_cap,
        "sisakuotanonjkn": left(non_cap, non_jkn_used),
        "kuotanonjkn": non_cap,
    }
