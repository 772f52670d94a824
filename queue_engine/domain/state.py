"""FacilityState: the in-memory aggregate that events fold into.

Only :mod:`queue_engine.domain.evolve` changes it. ``snapshot()`` renders it as plain JSON-able
data and ``from_snapshot()`` rebuilds an equal state; replay tests compare snapshots.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .eta import Calibration, ServiceStats
from .ids import CounterId, Millis, ServiceCode, TicketId, TicketToken
from .model import Channel, CounterStatus, Facility, Lane, Payer, Priority
from .ordering import Key
from .status import TicketStatus
from .waitlist import Waitlist


@dataclass(slots=True, kw_only=True)
class Ticket:
    """One visit. Its ``service`` and ``number`` change when it moves to the next stage."""

    id: TicketId
    token: TicketToken
    service: ServiceCode
    number: str
    day: str
    priority: Priority
    channel: Channel
    payer: Payer
    issued_at: Millis
    appointment_at: Millis | None = None
    checked_in: bool = True
    status: TicketStatus = TicketStatus.WAITING
    key: Key = ()
    counter: CounterId | None = None
    called_at: Millis | None = None
    started_at: Millis | None = None
    finished_at: Millis | None = None
    calls: int = 0
    stages: list[str] = field(default_factory=list)
    #: when it last joined a present queue, and the plain-model wait predicted then (ETA calibration)
    joined_at: Millis | None = None
    predicted_wait: int | None = None
    #: the stage before the last move to a next stage, so a mistaken completion can be undone
    prev_service: ServiceCode | None = None
    prev_number: str | None = None
    prev_day: str | None = None
    prev_key: Key | None = None
    prev_called_at: Millis | None = None
    prev_started_at: Millis | None = None
    #: the counter that completed the visit's last completed stage (kept once the counter is released)
    completed_by: CounterId | None = None

    @property
    def lane(self) -> Lane:
        return self.priority.lane

    def snapshot(self) -> dict[str, Any]:
        return {name: _plain(getattr(self, name)) for name in _TICKET_FIELDS}

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> Ticket:
        d = dict(data)
        d["priority"] = Priority(d["priority"])
        d["channel"] = Channel(d["channel"])
        d["payer"] = Payer(d["payer"])
        d["status"] = TicketStatus(d["status"])
        d["key"] = tuple(d["key"])
        d["prev_key"] = tuple(d["prev_key"]) if d["prev_key"] is not None else None
        d["stages"] = list(d["stages"])
        return cls(**d)


_TICKET_FIELDS = tuple(Ticket.__dataclass_fields__)


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, list):
        return list(value)
    return value


@dataclass(slots=True, kw_only=True)
class CounterState:
    id: CounterId
    status: CounterStatus = CounterStatus.CLOSED
    pause_reason: str = ""
    ticket: TicketId | None = None
    last_called: TicketId | None = None
    #: the last undoable action here ("call", "miss" or "complete"), its ticket and time
    undoable: str | None = None
    undo_ticket: TicketId | None = None
    undo_at: Millis = 0
    #: when ``status`` last changed (0: never since the log began)
    since: Millis = 0

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status.value,
            "pause_reason": self.pause_reason,
            "ticket": self.ticket,
            "last_called": self.last_called,
            "undoable": self.undoable,
            "undo_ticket": self.undo_ticket,
            "undo_at": self.undo_at,
            "since": self.since,
        }


@dataclass(slots=True, kw_only=True)
class ServiceState:
    code: ServiceCode
    waitlist: Waitlist = field(default_factory=Waitlist)
    stats: ServiceStats
    calibration: dict[Lane, Calibration] = field(default_factory=lambda: {lane: Calibration() for lane in Lane})


class FacilityState:
    """Everything live about one facility; derived entirely from its events."""

    __slots__ = (
        "by_token",
        "commands",
        "counters",
        "day_end",
        "day_seq",
        "facility",
        "idempotency",
        "last_at",
        "modules",
        "position",
        "quota_used",
        "services",
        "serving",
        "tickets",
        "today",
        "tz",
    )

    def __init__(self, facility: Facility) -> None:
        self.facility = facility
        self.tz = ZoneInfo(facility.timezone)
        self.position = 0
        self.last_at: Millis = 0
        #: the local day of the newest event, and the instant it ends
        self.today = ""
        self.day_end: Millis = 0
        self.tickets: dict[TicketId, Ticket] = {}
        self.by_token: dict[TicketToken, TicketId] = {}
        self.services = {
            code: ServiceState(code=code, stats=ServiceStats.prior(s.service_min))
            for code, s in facility.services.items()
        }
        self.counters = {cid: CounterState(id=cid) for cid in facility.counters}
        #: service -> the counters configured for it (the facility is frozen, so this never changes)
        self.serving = {code: facility.counters_serving(code) for code in facility.services}
        #: (service, local day) -> last number sequence used
        self.day_seq: dict[tuple[ServiceCode, str], int] = {}
        #: (service, local day) -> [jkn issued, non-jkn issued], cancellations give back
        self.quota_used: dict[tuple[ServiceCode, str], list[int]] = {}
        #: idempotency key -> ticket
        self.idempotency: dict[str, TicketId] = {}
        #: today's keyed commands (see commands.Keyed) -> the ticket each concerned
        self.commands: dict[str, TicketId | None] = {}
        #: each enabled module's own state (see domain.modules)
        self.modules: dict[str, Any] = {m.name: m.new_state() for m in facility.modules}

    def local_day(self, at: Millis) -> str:
        """The facility-local calendar day (ISO) of an instant."""
        return datetime.fromtimestamp(at / 1000, self.tz).date().isoformat()

    def roll_day(self, at: Millis) -> bool:
        """Move ``today`` to the local day of ``at``; True when a day ended since the last event."""
        dt = datetime.fromtimestamp(at / 1000, self.tz)
        midnight = datetime.combine(dt.date() + timedelta(days=1), time(), self.tz)
        ended = self.today != ""
        self.today = dt.date().isoformat()
        self.day_end = int(midnight.timestamp() * 1000)
        return ended

    def local_clock(self, at: Millis) -> tuple[int, int]:
        """(weekday, minute of day) in the facility's timezone."""
        dt = datetime.fromtimestamp(at / 1000, self.tz)
        return dt.weekday(), dt.hour * 60 + dt.minute

    def snapshot(self) -> dict[str, Any]:
        """Plain data that :meth:`from_snapshot` turns back into an equal state."""
        return {
            "facility": self.facility.id,
            "position": self.position,
            "last_at": self.last_at,
            "today": self.today,
            "day_end": self.day_end,
            "tickets": [t.snapshot() for t in self.tickets.values()],
            "services": {
                code: {
                    "waitlist": s.waitlist.snapshot(),
                    "stats": s.stats.snapshot(),
                    "calibration": {lane.value: cal.snapshot() for lane, cal in s.calibration.items()},
                }
                for code, s in self.services.items()
            },
            "counters": [c.snapshot() for c in self.counters.values()],
            "day_seq": [[s, d, n] for (s, d), n in self.day_seq.items()],
            "quota_used": [[s, d, used[0], used[1]] for (s, d), used in self.quota_used.items()],
            "idempotency": dict(self.idempotency),
            "commands": dict(self.commands),
            "modules": {m.name: m.dump(self.modules[m.name]) for m in self.facility.modules},
        }

    @classmethod
    def from_snapshot(cls, facility: Facility, data: dict[str, Any]) -> FacilityState:
        if data["facility"] != facility.id:
            raise ValueError(f"snapshot of {data['facility']!r}, not {facility.id!r}")
        state = cls(facility)
        state.position = data["position"]
        state.last_at = data["last_at"]
        state.today = data["today"]
        state.day_end = data["day_end"]
        for raw in data["tickets"]:
            ticket = Ticket.from_snapshot(raw)
            state.tickets[ticket.id] = ticket
            state.by_token[ticket.token] = ticket.id
        for code, raw in data["services"].items():
            if code in state.services:
                state.services[code].waitlist = Waitlist.from_snapshot(raw["waitlist"])
                state.services[code].stats = ServiceStats.from_snapshot(raw["stats"])
                state.services[code].calibration = {
                    Lane(lane): Calibration.from_snapshot(cal) for lane, cal in raw["calibration"].items()
                }
        for raw in data["counters"]:
            if raw["id"] in state.counters:
                state.counters[raw["id"]] = CounterState(
                    id=raw["id"],
                    status=CounterStatus(raw["status"]),
                    pause_reason=raw["pause_reason"],
                    ticket=raw["ticket"],
                    last_called=raw["last_called"],
                    undoable=raw["undoable"],
                    undo_ticket=raw["undo_ticket"],
                    undo_at=raw["undo_at"],
                    since=raw.get("since", 0),  # snapshots before it was kept: unknown
                )
        state.day_seq = {(ServiceCode(s), d): n for s, d, n in data["day_seq"]}
        state.quota_used = {(ServiceCode(s), d): [j, u] for s, d, j, u in data["quota_used"]}
        state.idempotency = {k: TicketId(v) for k, v in data["idempotency"].items()}
        state.commands = {k: None if v is None else TicketId(v) for k, v in data.get("commands", {}).items()}
        saved = data.get("modules", {})
        for module in facility.modules:
            if module.name in saved:  # a module enabled since the snapshot starts empty
                state.modules[module.name] = module.load(saved[module.name])
        return state

    def open_share(self, service: ServiceCode) -> tuple[float, float]:
        """(open counter capacity, idle open capacity) for a service, sharing multi-service counters."""
        servers = idle = 0.0
        is_open = CounterStatus.OPEN
        for counter in self.serving.get(service, ()):
            cs = self.counters[counter.id]
            if cs.status is is_open:
                share = 1.0 / len(counter.services)
                servers += share
                if cs.ticket is None:
                    idle += share
        return servers, idle
