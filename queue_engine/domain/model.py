"""Facility configuration: frozen values the state machine reads but never changes."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from .ids import CounterId, FacilityId, ServiceCode
from .modules import Module, check_modules


class Priority(StrEnum):
    """The class a ticket is called in. Codes are Indonesian, as staff and BPJS use them."""

    DARURAT = "darurat"  # emergency: always first
    LANSIA = "lansia"  # elderly
    DISABILITAS = "disabilitas"
    IBU_HAMIL = "ibu_hamil"  # pregnant
    BALITA = "balita"  # mother with an infant
    UMUM = "umum"  # everyone else

    @property
    def lane(self) -> Lane:
        """The waiting lane this class queues in."""
        return _LANE_OF[self]


class Lane(StrEnum):
    """Three lanes per service: emergency first, then priority and normal interleaved by ratio."""

    EMERGENCY = "emergency"
    PRIORITY = "priority"
    NORMAL = "normal"


# Looked up, not computed: these run several times per command (an Enum class attribute is slow).
_LANE_OF: dict[Priority, Lane] = {
    p: Lane.EMERGENCY if p is Priority.DARURAT else Lane.NORMAL if p is Priority.UMUM else Lane.PRIORITY
    for p in Priority
}


class Channel(StrEnum):
    """Where a ticket came from. Remote channels need a check-in on arrival."""

    KIOSK = "kiosk"
    WEB = "web"
    STAFF = "staff"
    BPJS = "bpjs"
    MODULE = "module"

    @property
    def remote(self) -> bool:
        """Remote tickets are not present until they check in."""
        return self in _REMOTE


_REMOTE = frozenset((Channel.WEB, Channel.BPJS, Channel.MODULE))


class Payer(StrEnum):
    """JKN (BPJS Kesehatan) or not; quotas may be split between them."""

    JKN = "jkn"
    UMUM = "umum"


class CounterStatus(StrEnum):
    OPEN = "open"
    PAUSED = "paused"
    CLOSED = "closed"


#: An opening window in minutes since local midnight, [start, end).
Window = tuple[int, int]


@dataclass(frozen=True, slots=True, kw_only=True)
class Quota:
    """Daily ticket quota. ``total`` caps everything; ``jkn`` / ``non_jkn`` cap each payer."""

    total: int | None = None
    jkn: int | None = None
    non_jkn: int | None = None

    def limit(self, payer: Payer) -> int | None:
        """The cap for one payer's share, if any."""
        return self.jkn if payer is Payer.JKN else self.non_jkn


@dataclass(frozen=True, slots=True, kw_only=True)
class Service:
    """A layanan or poli: its own numbering, quota, hours and allowed next stages."""

    code: ServiceCode
    name: str
    prefix: str
    quota: Quota = field(default_factory=Quota)
    #: weekday (0 = Monday) -> windows; an empty mapping means always open.
    hours: dict[int, tuple[Window, ...]] = field(default_factory=dict)
    next_stages: tuple[ServiceCode, ...] = ()
    #: prior mean service time, used until real ones are observed.
    service_min: float = 5.0

    def is_open(self, weekday: int, minute: int) -> bool:
        """Whether the service takes walk-in tickets at this local weekday and minute."""
        if not self.hours:
            return True
        return any(start <= minute < end for start, end in self.hours.get(weekday, ()))


@dataclass(frozen=True, slots=True, kw_only=True)
class Counter:
    """A loket or ruang poli that calls tickets of one or more services."""

    id: CounterId
    name: str
    services: tuple[ServiceCode, ...]
    kind: str = "loket"


@dataclass(frozen=True, slots=True, kw_only=True)
class Display:
    """A TV board; it shows the services listed (all when empty)."""

    id: str
    name: str
    services: tuple[ServiceCode, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """How tickets are ordered and how long the engine waits for people.

    ``priority_ratio = (p, n)``: while both lanes wait, p priority tickets are called, then n
    normal ones, so neither starves.
    """

    priority_ratio: tuple[int, int] = (2, 1)
    checkin_grace_min: int = 15
    requeue_places: int = 3
    #: staff may undo a call, a skip or a completion for this long
    undo_window_s: int = 120
    #: weight of the newest observed service time in the running mean.
    eta_alpha: float = 0.1
    #: the ETA range covers roughly this central share of outcomes.
    eta_coverage: float = 0.8


@dataclass(frozen=True, slots=True, kw_only=True)
class Facility:
    """A puskesmas, hospital or office: services, counters, displays and policy."""

    id: FacilityId
    name: str
    timezone: str = "Asia/Jakarta"
    services: dict[ServiceCode, Service]
    counters: dict[CounterId, Counter]
    displays: tuple[Display, ...] = ()
    policy: Policy = field(default_factory=Policy)
    #: secondary modules enabled here (see ``domain.modules``)
    modules: tuple[Module, ...] = ()

    def __post_init__(self) -> None:
        check_modules(self.modules)
        prefixes = [s.prefix for s in self.services.values()]
        if len(set(prefixes)) != len(prefixes):
            raise ValueError("service prefixes must be unique")
        for service in self.services.values():
            for nxt in service.next_stages:
                if nxt not in self.services:
                    raise ValueError(f"service {service.code}: unknown next stage {nxt}")
        for counter in self.counters.values():
            for code in counter.services:
                if code not in self.services:
                    raise ValueError(f"counter {counter.id}: unknown service {code}")
        p, n = self.policy.priority_ratio
        if p < 1 or n < 1:
            raise ValueError("priority_ratio parts must be >= 1")

    def module(self, name: str) -> Module | None:
        """The enabled module called ``name``."""
        return next((m for m in self.modules if m.name == name), None)

    def counters_serving(self, service: ServiceCode) -> tuple[Counter, ...]:
        """Counters configured for a service, in configuration order."""
        return tuple(c for c in self.counters.values() if service in c.services)
