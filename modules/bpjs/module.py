"""The BPJS Antrean Online bridge as an engine module: what BPJS must know that the queue does not.

A queue ticket is a *visit*. BPJS needs the patient's identity and visit facts (card number,
NIK, new or existing patient, referral) that a kiosk ticket does not carry: a Mobile JKN booking
brings them, and for a walk-in the registration counter (or the hospital's SIMRS) links them.
:class:`LinkVisit` records them (``bpjs.visit_linked``): personal data, kept in the log, never in
a public view. The outbox's progress (``bpjs.outbox_advanced`` / ``bpjs.outbox_rewound``) is the
module's other state. Pure: no I/O, no clock.

Options (the ``[[modules]]`` table; credentials come from the environment, never the file):

* ``variant``: ``"rs"`` (hospital, antreanrs: task ids 1-7 and 99) or ``"fktp"`` (puskesmas,
  antreanfktp: add, panggil hadir / tidak hadir, batal);
* ``base_url``: the BPJS service root, e.g. ``https://apijkn.bpjs-kesehatan.go.id/antreanrs``;
* ``registration``, ``pharmacy``: the engine services of the registration counter and the pharmacy;
* ``poli``: engine service -> ``{kodepoli, namapoli, kodedokter, namadokter, jampraktek}``;
* ``spm_min``: standard service minutes per patient (Mobile JKN's ``waktutunggu``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from queue_engine.domain.errors import DomainError
from queue_engine.domain.ids import ServiceCode, TicketId
from queue_engine.domain.modules import ModuleCommand, ModuleEvent
from queue_engine.domain.state import FacilityState
from queue_engine.domain.typed import from_json

from ..outbox import progress

NAME = "bpjs"
OUTBOX = progress.outbox_types(NAME)
#: the one stream of BPJS messages (their order matters per booking)
STREAM = "bpjs"


@dataclass(frozen=True, slots=True, kw_only=True)
class Poli:
    """How BPJS (HFIS) names a poli the engine serves."""

    kodepoli: str
    namapoli: str
    kodedokter: int
    namadokter: str
    jampraktek: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Visit:
    """What BPJS must know of a visit that the queue does not (personal data: NIK, card, phone)."""

    ticket_id: TicketId
    kodebooking: str
    jenispasien: str  # "JKN" or "NON JKN"
    nik: str
    nomorkartu: str = ""
    nohp: str = ""
    norm: str = ""
    pasienbaru: int = 0
    jeniskunjungan: int = 1
    nomorreferensi: str = ""
    #: "mobilejkn" (booked in the app) or "loket" (linked at registration)
    source: str = "loket"

    def __repr__(self) -> str:  # personal data stays out of logs
        return f"Visit({self.kodebooking!r}, {self.jenispasien!r})"


@dataclass(frozen=True, slots=True, kw_only=True)
class VisitLinked(ModuleEvent):
    TYPE: ClassVar[str] = "bpjs.visit_linked"
    VERSION: ClassVar[int] = 1
    visit: Visit


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkVisit(ModuleCommand):
    MODULE: ClassVar[str] = NAME
    visit: Visit
    #: refuse when the ticket is already linked to another visit (two Mobile JKN requests racing)
    keep_existing: bool = False


class InvalidVisit(DomainError):
    code = "invalid_visit"
    message_id = "Data kunjungan BPJS tidak valid."
    message_en = "The BPJS visit data is not valid."


@dataclass(slots=True)
class BpjsState:
    visits: dict[TicketId, Visit] = field(default_factory=dict)
    bookings: dict[str, TicketId] = field(default_factory=dict)
    outbox: progress.Outbox = field(default_factory=progress.Outbox)


def _digits(value: str, n: int) -> bool:
    return len(value) == n and value.isdigit()


def check_visit(visit: Visit, *, variant: str = "rs") -> None:
    """Field rules BPJS applies (NIK 16 digits, card 13 digits for JKN, visit kind 1-4, a hospital
    JKN visit's referral)."""
    bad: dict[str, str] = {}
    if not _digits(visit.nik, 16):
        bad["nik"] = "format"
    if visit.jenispasien not in ("JKN", "NON JKN"):
        bad["jenispasien"] = "invalid_choice"
    if visit.jenispasien == "JKN" and not _digits(visit.nomorkartu, 13):
        bad["nomorkartu"] = "format"
    if variant == "rs" and visit.jenispasien == "JKN" and not visit.nomorreferensi.strip():
        bad["nomorreferensi"] = "required"  # the referral (rujukan) or control letter of a JKN visit
    if visit.jeniskunjungan not in (1, 2, 3, 4):
        bad["jeniskunjungan"] = "invalid_choice"
    if visit.pasienbaru not in (0, 1):
        bad["pasienbaru"] = "invalid_choice"
    if not visit.kodebooking or len(visit.kodebooking) > 32:
        bad["kodebooking"] = "format"
    if bad:
        raise InvalidVisit(fields=sorted(bad), reasons=bad)


class BpjsModule:
    """Enabled with ``[[modules]] use = "bpjs"``."""

    name = NAME
    event_types: tuple[type[ModuleEvent], ...] = (VisitLinked, *OUTBOX.events)
    web = "modules.bpjs.site:BpjsWeb"

    def __init__(
        self,
        *,
        variant: str = "rs",
        base_url: str = "",
        registration: Sequence[str] = (),
        pharmacy: Sequence[str] = (),
        poli: Mapping[str, Mapping[str, Any]] | None = None,
        spm_min: int = 10,
    ) -> None:
        if variant not in ("rs", "fktp"):
            raise ValueError("bpjs: variant must be 'rs' or 'fktp'")
        self.variant = variant
        self.base_url = base_url.rstrip("/")
        self.registration = frozenset(ServiceCode(s) for s in registration)
        self.pharmacy = frozenset(ServiceCode(s) for s in pharmacy)
        try:
            self.poli = {ServiceCode(code): Poli(**dict(p)) for code, p in (poli or {}).items()}
        except TypeError as exc:
            raise ValueError(
                f"bpjs: a poli needs kodepoli, namapoli, kodedokter, namadokter, jampraktek ({exc})"
            ) from None
        for code, p in self.poli.items():
            if not re.fullmatch(r"\d{2}:\d{2}-\d{2}:\d{2}", "".join(p.jampraktek.split())):
                raise ValueError(f"bpjs: poli {code}: jampraktek must read HH:MM-HH:MM, not {p.jampraktek!r}")
        if not 1 <= spm_min <= 120:
            raise ValueError("bpjs: spm_min must be 1-120")
        self.spm_min = spm_min

    def new_state(self) -> BpjsState:
        return BpjsState()

    def decide(self, core: FacilityState, state: Any, command: ModuleCommand) -> list[ModuleEvent]:
        s: BpjsState = state
        if isinstance(command, LinkVisit):
            visit = command.visit
            check_visit(visit, variant=self.variant)
            if visit.ticket_id not in core.tickets:
                raise InvalidVisit(field="ticket_id", reason="unknown")
            owner = s.bookings.get(visit.kodebooking)
            if owner is not None and owner != visit.ticket_id:
                raise InvalidVisit(field="kodebooking", reason="taken")
            linked = s.visits.get(visit.ticket_id)
            if linked == visit:
                return []
            if command.keep_existing and linked is not None:
                raise InvalidVisit(field="ticket_id", reason="linked")
            return [VisitLinked(at=command.at, visit=visit)]
        if isinstance(command, progress.Advance | progress.Rewind):
            return progress.decide(s.outbox, OUTBOX, command)
        raise InvalidVisit(field="command", reason=type(command).__name__)

    def apply(self, state: Any, event: ModuleEvent) -> None:
        s: BpjsState = state
        if isinstance(event, VisitLinked):
            s.visits[event.visit.ticket_id] = event.visit
            s.bookings[event.visit.kodebooking] = event.visit.ticket_id
        else:
            progress.apply(s.outbox, event)

    def dump(self, state: Any) -> Any:
        s: BpjsState = state
        return {"visits": list(s.visits.values()), "outbox": progress.dump(s.outbox)}

    def load(self, data: Any) -> BpjsState:
        state = BpjsState(outbox=progress.load(data["outbox"]))
        for raw in data["visits"]:
            visit = from_json(Visit, raw)
            state.visits[visit.ticket_id] = visit
            state.bookings[visit.kodebooking] = visit.ticket_id
        return state


#: what ``[[modules]] use = "bpjs"`` loads
MODULE = BpjsModule
