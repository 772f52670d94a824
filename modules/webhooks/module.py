"""Webhooks as an engine module: which URLs hear which events, and how far each has been sent.

Options (the ``[[modules]]`` table; a secret comes from the environment variable it names, never
from the file)::

    [[modules]]
    use = "webhooks"
    subscriptions = [
      {id = "simrs", url = "https://simrs.example/antre", events = ["ticket.called", "ticket.*"],
       secret_env = "ANTRE_WEBHOOK_SIMRS_SECRET"},
    ]

* ``id``: 1-40 of ``a-z 0-9 _ -``, unique; names the subscription's stream, its deliveries'
  ids (``<id>:<log position>``) and its admin endpoints;
* ``url``: ``http://`` or ``https://`` with a host (no user:password part);
* ``events``: exact event types (``"ticket.called"``) or a family (``"ticket.*"``), of the types
  webhooks forward (:data:`PUBLIC_TYPES`: the core's ticket and counter events, and SLA alerts);
* ``secret_env``: the name of the environment variable that holds the signing secret.

The module's state is the outbox progress (:mod:`modules.outbox.progress`): one stream per
subscription id. Its only events are ``webhooks.outbox_advanced`` and ``webhooks.outbox_rewound``.
Pure: no I/O, no clock (the secrets are read by the web part, :mod:`.site`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from queue_engine.domain.errors import DomainError
from queue_engine.domain.events import EVENT_TYPES, CommandRecorded
from queue_engine.domain.modules import ModuleCommand, ModuleEvent
from queue_engine.domain.state import FacilityState

from ..outbox import progress

NAME = "webhooks"
OUTBOX = progress.outbox_types(NAME)

#: modules' events that hold no personal data and may be forwarded, by type (a module opts in here;
#: every other module event, e.g. BPJS visits with NIKs, is never forwarded)
MODULE_PUBLIC_TYPES: frozenset[str] = frozenset({"sla.alert_opened", "sla.alert_cleared"})
#: event types a subscription may ask for: the core's, except the engine's own bookkeeping
#: (``command.recorded`` carries clients' idempotency keys), and :data:`MODULE_PUBLIC_TYPES`.
PUBLIC_TYPES: frozenset[str] = (
    frozenset(cls.TYPE for cls in EVENT_TYPES if cls is not CommandRecorded) | MODULE_PUBLIC_TYPES
)
#: the families ``"<family>.*"`` may name
FAMILIES: frozenset[str] = frozenset(t.partition(".")[0] for t in PUBLIC_TYPES)

_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
_ENV = re.compile(r"[A-Z_][A-Z0-9_]{0,127}")
_KEYS = frozenset({"id", "url", "events", "secret_env"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscription:
    """One URL and the event types it receives."""

    id: str
    url: str
    events: tuple[str, ...]
    secret_env: str

    def wants(self, event_type: str) -> bool:
        """True when ``event_type`` is forwarded and one of the patterns names it."""
        return event_type in PUBLIC_TYPES and any(matches(p, event_type) for p in self.events)


def matches(pattern: str, event_type: str) -> bool:
    """``"ticket.called"`` names itself; ``"ticket.*"`` names every ``ticket.…`` type."""
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type


def _pattern(sub: str, pattern: object) -> str:
    if not isinstance(pattern, str):
        raise ValueError(f"webhooks: subscription {sub}: an event pattern must be a string")
    if pattern.endswith(".*") and pattern[:-2] in FAMILIES:
        return pattern
    if pattern in PUBLIC_TYPES:
        return pattern
    known = ", ".join(sorted(PUBLIC_TYPES | {f"{f}.*" for f in FAMILIES}))
    raise ValueError(f"webhooks: subscription {sub}: unknown event pattern {pattern!r} (one of {known})")


def _url(sub: str, url: object) -> str:
    if not isinstance(url, str):
        raise ValueError(f"webhooks: subscription {sub}: url must be a string")
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a malformed port
    except ValueError:
        raise ValueError(f"webhooks: subscription {sub}: url is malformed") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"webhooks: subscription {sub}: url must be http:// or https:// with a host")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"webhooks: subscription {sub}: url must not hold credentials (the signature authenticates)")
    return url


def subscription(raw: Mapping[str, Any]) -> Subscription:
    """One validated subscription table.

    Raises:
        ValueError: naming the subscription and what is wrong (never a secret's value).
    """
    if not isinstance(raw, Mapping):
        raise ValueError("webhooks: each subscription must be a table {id, url, events, secret_env}")
    sub = raw.get("id")
    if not isinstance(sub, str) or not _ID.fullmatch(sub):
        raise ValueError(f"webhooks: subscription id {sub!r} must be 1-40 of a-z 0-9 _ - (starting with a-z 0-9)")
    if "secret" in raw:
        raise ValueError(f"webhooks: subscription {sub}: put the secret in the environment and name it in secret_env")
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise ValueError(f"webhooks: subscription {sub}: unknown option(s) {unknown}")
    events = raw.get("events")
    if isinstance(events, str) or not isinstance(events, Sequence) or not events:
        raise ValueError(f"webhooks: subscription {sub}: events must be a non-empty list of event types")
    secret_env = raw.get("secret_env")
    if not isinstance(secret_env, str) or not _ENV.fullmatch(secret_env):
        raise ValueError(f"webhooks: subscription {sub}: secret_env must name an environment variable (A-Z 0-9 _)")
    patterns = tuple(dict.fromkeys(_pattern(sub, p) for p in events))
    return Subscription(id=sub, url=_url(sub, raw.get("url")), events=patterns, secret_env=secret_env)


class UnknownSubscription(DomainError):
    code = "not_found"
    message_id = "Langganan webhook tidak dikenal."
    message_en = "Unknown webhook subscription."


@dataclass(slots=True)
class WebhooksState:
    outbox: progress.Outbox = field(default_factory=progress.Outbox)


class WebhooksModule:
    """Enabled with ``[[modules]] use = "webhooks"`` and its ``subscriptions``."""

    name = NAME
    event_types: tuple[type[ModuleEvent], ...] = OUTBOX.events
    web = "modules.webhooks.site:WebhooksWeb"

    def __init__(self, *, subscriptions: Iterable[Mapping[str, Any]] = ()) -> None:
        if isinstance(subscriptions, str | bytes | Mapping) or not isinstance(subscriptions, Iterable):
            raise ValueError("webhooks: subscriptions must be a list of tables")
        subs = tuple(subscription(raw) for raw in subscriptions)
        ids = [s.id for s in subs]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"webhooks: subscription ids must be unique: {duplicates}")
        self.subscriptions = subs
        self.by_id = {s.id: s for s in subs}

    def new_state(self) -> WebhooksState:
        return WebhooksState()

    def decide(self, core: FacilityState, state: Any, command: ModuleCommand) -> list[ModuleEvent]:
        s: WebhooksState = state
        if isinstance(command, progress.Rewind) and command.stream not in self.by_id:
            raise UnknownSubscription(field="id")
        if isinstance(command, progress.Advance | progress.Rewind):
            return progress.decide(s.outbox, OUTBOX, command)
        raise progress.OutboxRefused(field="command", reason=type(command).__name__)

    def apply(self, state: Any, event: ModuleEvent) -> None:
        s: WebhooksState = state
        progress.apply(s.outbox, event)

    def dump(self, state: Any) -> Any:
        s: WebhooksState = state
        return {"outbox": progress.dump(s.outbox)}

    def load(self, data: Any) -> WebhooksState:
        return WebhooksState(outbox=progress.load(data["outbox"]))


#: what ``[[modules]] use = "webhooks"`` loads
MODULE = WebhooksModule
