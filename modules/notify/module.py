"""Notifications to a patient's phone as a module: who asked to be told, on which number.

A ticket's holder may leave an Indonesian mobile number (:class:`Subscribe`); the module records
it (``notify.subscribed``) and forgets it on request (``notify.unsubscribed``). The number is
personal data: it lives in the log (the record) and in this module's state only, never in a
board, a ticket view, a counter view or a log line, and every ``repr`` masks it. What is sent,
and when, is derived from the log by :mod:`.deliver`; the outbox's progress
(``notify.outbox_advanced`` / ``notify.outbox_rewound``) is the module's other state. Pure: no
I/O, no clock.

Options (the ``[[modules]]`` table; the gateway's token comes from the environment, never the file):

* ``ahead``: the numbers of people ahead that trigger "N patients ahead of you" (default
  ``[5, 2]``; distinct, each 1-50; empty for the call message only);
* ``gateway_url``: the WhatsApp / SMS gateway's HTTP endpoint; empty (the default) logs instead;
* ``token_env``: the environment variable holding the gateway's bearer token
  (default ``ANTRE_NOTIFY_TOKEN``);
* ``channel``: ``"whatsapp"`` (default) or ``"sms"``, passed to the gateway.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from queue_engine.domain.errors import DomainError, InvalidCommand, NotFound
from queue_engine.domain.ids import TicketId
from queue_engine.domain.modules import ModuleCommand, ModuleEvent
from queue_engine.domain.state import FacilityState
from queue_engine.domain.status import TicketStatus

from ..outbox import progress

NAME = "notify"
OUTBOX = progress.outbox_types(NAME)
#: the one stream of notifications (a ticket's messages must arrive in order)
STREAM = "notify"
CHANNELS = ("whatsapp", "sms")
#: the largest "people ahead" a facility may ask to be told about
MAX_AHEAD = 50

# Indonesian mobile numbers: +62 8…, written nationally as 08… with 10 to 13 digits in all.
_NATIONAL_DIGITS = (10, 13)
_SEPARATORS = str.maketrans("", "", " -.()/\t")


# --------------------------------------------------------------------------- phone numbers


class InvalidPhone(DomainError):
    """Not an Indonesian mobile number. Its params never hold the number."""

    code = "invalid_phone"
    message_id = "Nomor HP tidak valid. Gunakan nomor seluler Indonesia yang diawali 08 atau +628."
    message_en = "The phone number is not valid: use an Indonesian mobile number starting with 08 or +628."


class NotWaiting(DomainError):
    code = "notify_not_waiting"
    message_id = "Pemberitahuan hanya bisa diaktifkan untuk nomor antrean yang masih menunggu."
    message_en = "Notifications can only be turned on for a ticket that is still waiting."


def normalise_phone(raw: str) -> str:
    """An Indonesian mobile number in E.164 (``+628…``), from ``08…``, ``+628…`` or ``628…``.

    Spaces, hyphens, dots, slashes and parentheses are ignored. The national form (``0`` and the
    number) must have 10 to 13 digits, i.e. 9 to 12 digits after ``+62``, starting with ``8``.

    Raises:
        InvalidPhone: anything else (the error never carries the value).
    """
    text = raw.strip().translate(_SEPARATORS) if len(raw) <= 32 else ""
    if text.startswith("+62"):
        rest = text[3:]
    elif text.startswith("62"):
        rest = text[2:]
    elif text.startswith("0"):
        rest = text[1:]
    else:
        rest = ""
    low, high = _NATIONAL_DIGITS
    if not (rest.isascii() and rest.isdigit() and rest.startswith("8") and low - 1 <= len(rest) <= high - 1):
        raise InvalidPhone(field="phone")
    return "+62" + rest


def mask(phone: str) -> str:
    """Only the last 3 digits show: ``+6281234567890`` -> ``***********890``."""
    return "*" * max(len(phone) - 3, 3) + phone[-3:]


# --------------------------------------------------------------------------- commands and events


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscribe(ModuleCommand):
    """The ticket's holder asks to be told on ``phone`` (as typed; the module normalises it)."""

    MODULE: ClassVar[str] = NAME
    ticket_id: TicketId
    phone: str

    def __repr__(self) -> str:
        return f"Subscribe(at={self.at}, ticket_id={self.ticket_id!r}, phone=<{len(self.phone)} chars>)"


@dataclass(frozen=True, slots=True, kw_only=True)
class Unsubscribe(ModuleCommand):
    MODULE: ClassVar[str] = NAME
    ticket_id: TicketId


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscribed(ModuleEvent):
    """``phone`` (E.164) is told about ``ticket_id``, a ticket of local ``day``, subscribed on local ``today``."""

    TYPE: ClassVar[str] = "notify.subscribed"
    VERSION: ClassVar[int] = 1
    ticket_id: TicketId
    phone: str
    day: str
    today: str

    def __repr__(self) -> str:
        return (
            f"Subscribed(at={self.at}, ticket_id={self.ticket_id!r}, phone={mask(self.phone)!r}, "
            f"day={self.day!r}, today={self.today!r})"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Unsubscribed(ModuleEvent):
    TYPE: ClassVar[str] = "notify.unsubscribed"
    VERSION: ClassVar[int] = 1
    ticket_id: TicketId


# --------------------------------------------------------------------------- state


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscription:
    phone: str
    day: str
    at: int

    def __repr__(self) -> str:
        return f"Subscription(phone={mask(self.phone)!r}, day={self.day!r}, at={self.at})"


@dataclass(slots=True)
class NotifyState:
    """Who is told about which ticket (in order of subscription), and the outbox's progress.

    When the first subscription of a new local day is applied, the subscriptions of tickets of
    earlier days are dropped, so the state holds about one day of numbers (the log keeps all).
    """

    subscriptions: dict[TicketId, Subscription] = field(default_factory=dict)
    #: the local day of the newest subscription
    day: str = ""
    outbox: progress.Outbox = field(default_factory=progress.Outbox)


# --------------------------------------------------------------------------- the module


def _positions(ahead: Sequence[int]) -> tuple[int, ...]:
    if isinstance(ahead, str | bytes) or not isinstance(ahead, Sequence):
        raise ValueError("notify: ahead must be a list of numbers, e.g. [5, 2]")
    values = list(ahead)
    if not all(isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= MAX_AHEAD for n in values):
        raise ValueError(f"notify: each of ahead must be a whole number from 1 to {MAX_AHEAD}")
    if len(set(values)) != len(values):
        raise ValueError("notify: the numbers in ahead must be distinct")
    return tuple(sorted(values, reverse=True))


class NotifyModule:
    """Enabled with ``[[modules]] use = "notify"``."""

    name = NAME
    event_types: tuple[type[ModuleEvent], ...] = (Subscribed, Unsubscribed, *OUTBOX.events)
    web = "modules.notify.site:NotifyWeb"

    def __init__(
        self,
        *,
        ahead: Sequence[int] = (5, 2),
        gateway_url: str = "",
        token_env: str = "ANTRE_NOTIFY_TOKEN",
        channel: str = "whatsapp",
    ) -> None:
        #: the trigger positions, largest first
        self.ahead = _positions(ahead)
        if not isinstance(gateway_url, str) or (gateway_url and not gateway_url.startswith(("http://", "https://"))):
            raise ValueError("notify: gateway_url must be an http:// or https:// URL (or empty to only log)")
        self.gateway_url = gateway_url
        if not isinstance(token_env, str) or not token_env.isidentifier():
            raise ValueError("notify: token_env must name an environment variable")
        self.token_env = token_env
        if channel not in CHANNELS:
            raise ValueError(f"notify: channel must be one of {', '.join(CHANNELS)}")
        self.channel = channel

    def new_state(self) -> NotifyState:
        return NotifyState()

    def decide(self, core: FacilityState, state: Any, command: ModuleCommand) -> list[ModuleEvent]:
        s: NotifyState = state
        if isinstance(command, Subscribe):
            phone = normalise_phone(command.phone)
            ticket = core.tickets.get(command.ticket_id)
            if ticket is None:
                raise NotFound("ticket_not_found", ticket=command.ticket_id)
            if ticket.status is not TicketStatus.WAITING:
                raise NotWaiting(status=ticket.status.value)
            current = s.subscriptions.get(ticket.id)
            if current is not None and current.phone == phone:
                return []  # already told on this number
            today = core.local_day(command.at)
            return [Subscribed(at=command.at, ticket_id=ticket.id, phone=phone, day=ticket.day, today=today)]
        if isinstance(command, Unsubscribe):
            if command.ticket_id not in s.subscriptions:
                return []
            return [Unsubscribed(at=command.at, ticket_id=command.ticket_id)]
        if isinstance(command, progress.Advance | progress.Rewind):
            return progress.decide(s.outbox, OUTBOX, command)
        raise InvalidCommand(command=type(command).__name__)

    def apply(self, state: Any, event: ModuleEvent) -> None:
        s: NotifyState = state
        if isinstance(event, Subscribed):
            if event.today > s.day:
                s.day = event.today
                s.subscriptions = {t: sub for t, sub in s.subscriptions.items() if sub.day >= event.today}
            s.subscriptions.pop(event.ticket_id, None)  # a new number goes to the end, like a new subscription
            s.subscriptions[event.ticket_id] = Subscription(phone=event.phone, day=event.day, at=event.at)
        elif isinstance(event, Unsubscribed):
            s.subscriptions.pop(event.ticket_id, None)
        else:
            progress.apply(s.outbox, event)

    def dump(self, state: Any) -> Any:
        s: NotifyState = state
        return {
            "day": s.day,
            "subscriptions": [
                {"ticket_id": t, "phone": sub.phone, "day": sub.day, "at": sub.at} for t, sub in s.subscriptions.items()
            ],
            "outbox": progress.dump(s.outbox),
        }

    def load(self, data: Any) -> NotifyState:
        state = NotifyState(day=str(data["day"]), outbox=progress.load(data["outbox"]))
        for raw in data["subscriptions"]:
            state.subscriptions[TicketId(raw["ticket_id"])] = Subscription(
                phone=str(raw["phone"]), day=str(raw["day"]), at=int(raw["at"])
            )
        return state


#: what ``[[modules]] use = "notify"`` loads
MODULE = NotifyModule
