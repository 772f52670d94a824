"""SLA alerts as a module: which thresholds are breached now, since when, and what was resolved.

Theory of operation:

* **Judging is a command.** :class:`Check` ("judge every threshold at ``at``") is decided
  against the facility's state like any command: :func:`alert_changes` measures the rules
  (:mod:`.rules`), opens an alert for each breach that has none open (``sla.alert_opened``) and
  clears each open alert whose breach is over (``sla.alert_cleared``). A check that changes
  nothing decides no event and writes nothing, so the log holds exactly the moments an alert
  opened or cleared, each with the time it was judged at.
* **Once per breach.** Open alerts are keyed by (rule, subject): the same breach never opens a
  second alert, however often it is judged, on however many nodes (the sequencer decides one
  command at a time against the state its predecessors left; a node that lost a race decides
  again after catching up). A breach that ends and starts again is a new alert.
* **Who judges, when**: the web part (:mod:`.site`) after every batch that changes a queue, a
  counter or a ticket, and at the instant a duration threshold will be crossed (the rules say
  when), with a periodic check as a safety net. Time passing is thus judged by a command
  carrying the time, like every other input of a pure domain.

The module also keeps the outbox progress of the supervisors' messages (``sla.outbox_*``; what
is sent is derived from the alert events by :mod:`.messages`). Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from queue_engine.domain.errors import InvalidCommand
from queue_engine.domain.ids import Millis
from queue_engine.domain.modules import ModuleCommand, ModuleEvent
from queue_engine.domain.state import FacilityState
from queue_engine.domain.typed import from_json

from ..notify.module import CHANNELS
from ..outbox import progress
from .rules import AlertKind, Reading, Rules, readings

NAME = "sla"
OUTBOX = progress.outbox_types(NAME)
#: the one stream of supervisors' messages
STREAM = "sla"
#: cleared alerts kept in the state for the supervisor's page (all of them stay in the log)
MAX_HISTORY = 200
_USERNAME_MAX = 64

AlertKey = tuple[AlertKind, str]


# --------------------------------------------------------------------------- commands and events


@dataclass(frozen=True, slots=True, kw_only=True)
class Check(ModuleCommand):
    """Judge every threshold at ``at`` (the web part's tick, or right after a change)."""

    MODULE: ClassVar[str] = NAME


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertOpened(ModuleEvent):
    """A threshold is breached: ``value`` against ``threshold`` (a count, or minutes) at ``at``."""

    TYPE: ClassVar[str] = "sla.alert_opened"
    VERSION: ClassVar[int] = 1
    alert_id: str
    kind: AlertKind
    subject: str
    value: int
    threshold: int
    #: when the condition began (the longest wait's start, the pause); None for a queue length
    since: Millis | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertCleared(ModuleEvent):
    """The breach of alert ``alert_id`` is over; ``value`` is the measure when judged so."""

    TYPE: ClassVar[str] = "sla.alert_cleared"
    VERSION: ClassVar[int] = 1
    alert_id: str
    kind: AlertKind
    subject: str
    value: int
    threshold: int
    opened_at: Millis


# --------------------------------------------------------------------------- state


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert:
    id: str
    kind: AlertKind
    subject: str
    value: int
    threshold: int
    since: Millis | None
    opened_at: Millis
    cleared_at: Millis | None = None
    cleared_value: int | None = None

    @property
    def key(self) -> AlertKey:
        return (self.kind, self.subject)


@dataclass(slots=True)
class SlaState:
    """Open alerts (by rule and subject, in the order they opened), recent cleared ones, the outbox."""

    open: dict[AlertKey, Alert] = field(default_factory=dict)
    #: cleared alerts, oldest first, at most MAX_HISTORY
    history: list[Alert] = field(default_factory=list)
    #: alerts ever opened (their ids are ``sla-<n>``)
    opened: int = 0
    outbox: progress.Outbox = field(default_factory=progress.Outbox)


def alert_changes(core: FacilityState, state: SlaState, rules: Rules, at: Millis) -> list[ModuleEvent]:
    """The events a check at ``at`` decides: clear what is over, then open what is new."""
    now = {r.key: r for r in readings(core, rules, at)}
    return _changes(state, now, at)


def _changes(state: SlaState, now: Mapping[AlertKey, Reading], at: Millis) -> list[ModuleEvent]:
    events: list[ModuleEvent] = []
    for key, alert in state.open.items():
        reading = now.get(key)
        if reading is None or not reading.breached:  # over, or the rule was turned off
            events.append(
                AlertCleared(
                    at=at,
                    alert_id=alert.id,
                    kind=alert.kind,
                    subject=alert.subject,
                    value=reading.value if reading is not None else 0,
                    threshold=alert.threshold,
                    opened_at=alert.opened_at,
                )
            )
    n = state.opened
    for key, reading in now.items():
        if reading.breached and key not in state.open:
            n += 1
            events.append(
                AlertOpened(
                    at=at,
                    alert_id=f"sla-{n}",
                    kind=reading.kind,
                    subject=reading.subject,
                    value=reading.value,
                    threshold=reading.threshold,
                    since=reading.since,
                )
            )
    return events


# --------------------------------------------------------------------------- the module


def _usernames(raw: object) -> frozenset[str]:
    if isinstance(raw, str | bytes) or not isinstance(raw, Sequence):
        raise ValueError("sla: supervisors must be a list of staff usernames")
    if not all(isinstance(u, str) and 0 < len(u) <= _USERNAME_MAX for u in raw):
        raise ValueError("sla: each of supervisors must be a username")
    return frozenset(raw)


class SlaModule:
    """Enabled with ``[[modules]] use = "sla"`` (options: see ``modules/sla/DOCS_SECTION.md``)."""

    name = NAME
    event_types: tuple[type[ModuleEvent], ...] = (AlertOpened, AlertCleared, *OUTBOX.events)
    web = "modules.sla.site:SlaWeb"

    def __init__(
        self,
        *,
        queue_max: int = 0,
        longest_wait_min: int = 0,
        counter_paused_min: int = 0,
        services: Mapping[str, Mapping[str, int]] | None = None,
        counters: Mapping[str, Mapping[str, int]] | None = None,
        supervisors: Sequence[str] = (),
        phones_env: str = "ANTRE_SLA_PHONES",
        gateway_url: str = "",
        token_env: str = "ANTRE_NOTIFY_TOKEN",
        channel: str = "whatsapp",
        stale_min: int = 60,
    ) -> None:
        self.rules = Rules.parse(
            queue_max=queue_max,
            longest_wait_min=longest_wait_min,
            counter_paused_min=counter_paused_min,
            services=services,
            counters=counters,
        )
        #: staff usernames who may watch the supervisor's view (admins always may)
        self.supervisors = _usernames(supervisors)
        for option, env in (("phones_env", phones_env), ("token_env", token_env)):
            if not isinstance(env, str) or not env.isidentifier():
                raise ValueError(f"sla: {option} must name an environment variable")
        self.phones_env = phones_env
        self.token_env = token_env
        if not isinstance(gateway_url, str) or (gateway_url and not gateway_url.startswith(("http://", "https://"))):
            raise ValueError("sla: gateway_url must be an http:// or https:// URL (or empty to only log)")
        self.gateway_url = gateway_url
        if channel not in CHANNELS:
            raise ValueError(f"sla: channel must be one of {', '.join(CHANNELS)}")
        self.channel = channel
        if isinstance(stale_min, bool) or not isinstance(stale_min, int) or not 1 <= stale_min <= 24 * 60:
            raise ValueError("sla: stale_min must be a whole number of minutes from 1 to 1440")
        #: a message not delivered this long after its alert is given up
        self.stale_min = stale_min

    def new_state(self) -> SlaState:
        return SlaState()

    def decide(self, core: FacilityState, state: Any, command: ModuleCommand) -> list[ModuleEvent]:
        s: SlaState = state
        if isinstance(command, Check):
            return alert_changes(core, s, self.rules, command.at)
        if isinstance(command, progress.Advance | progress.Rewind):
            return progress.decide(s.outbox, OUTBOX, command)
        raise InvalidCommand(command=type(command).__name__)

    def apply(self, state: Any, event: ModuleEvent) -> None:
        s: SlaState = state
        if isinstance(event, AlertOpened):
            s.opened += 1
            s.open[(event.kind, event.subject)] = Alert(
                id=event.alert_id,
                kind=event.kind,
                subject=event.subject,
                value=event.value,
                threshold=event.threshold,
                since=event.since,
                opened_at=event.at,
            )
        elif isinstance(event, AlertCleared):
            alert = s.open.pop((event.kind, event.subject), None)
            if alert is not None:
                s.history.append(replace(alert, cleared_at=event.at, cleared_value=event.value))
                del s.history[:-MAX_HISTORY]
        else:
            progress.apply(s.outbox, event)

    def dump(self, state: Any) -> Any:
        s: SlaState = state
        return {
            "open": [_alert_json(a) for a in s.open.values()],
            "history": [_alert_json(a) for a in s.history],
            "opened": s.opened,
            "outbox": progress.dump(s.outbox),
        }

    def load(self, data: Any) -> SlaState:
        state = SlaState(opened=int(data["opened"]), outbox=progress.load(data["outbox"]))
        for raw in data["open"]:
            alert = from_json(Alert, raw)
            state.open[alert.key] = alert
        state.history = [from_json(Alert, raw) for raw in data["history"]]
        return state


def _alert_json(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "kind": alert.kind.value,
        "subject": alert.subject,
        "value": alert.value,
        "threshold": alert.threshold,
        "since": alert.since,
        "opened_at": alert.opened_at,
        "cleared_at": alert.cleared_at,
        "cleared_value": alert.cleared_value,
    }


#: what ``[[modules]] use = "sla"`` loads
MODULE = SlaModule
