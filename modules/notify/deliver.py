"""What is sent to a subscribed patient, and when (the deriver), and how (the notifiers).

**When.** :class:`NotifyDeriver` is the outbox's deriver: after every event of the log, in order,
it looks at each subscribed ticket that is still waiting and counts the people ahead of it with
:func:`queue_engine.domain.forecast.people_ahead`, the rule the patient's page shows
(``ticket_view``). When that count first drops to or below one of the configured positions, it
emits one ``ahead`` message; if several positions are crossed at once (or the ticket subscribes
when already close), only the smallest crossed is sent, and the larger ones count as done. A count
that rises again (an emergency goes first) does not repeat a position. Each ``TicketCalled``
of a subscribed ticket emits ``called``, each ``TicketRecalled`` emits ``recalled`` (the patient
who did not come is the one who most needs it); a call also starts the positions afresh, as does
a new number (the next stage of the visit, a transfer), so a requeued or next-stage wait is told
again. The deriver is pure and deterministic: its memory of what it emitted is rebuilt by the
worker deriving again from the start of the log.

A message's key is ``notify:<log position>:<ticket id>:<kind>``: the position of the event that
caused it, stable across restarts and nodes (gateways dedupe by it).

**How.** A :class:`Notifier` sends one text to one number: :class:`LogNotifier` (the default)
only logs it, with the number masked; :class:`HttpGatewayNotifier` posts it to a WhatsApp / SMS
gateway as JSON ``{"to", "message", "channel", "id"}`` with a bearer token.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

import httpx2 as httpx

from modules.outbox.message import Message, Outcome, Status
from queue_engine.domain.events import Event, TicketCalled, TicketRecalled
from queue_engine.domain.forecast import people_ahead
from queue_engine.domain.ids import CounterId, TicketId
from queue_engine.domain.modules import ModuleEvent
from queue_engine.domain.state import FacilityState, Ticket
from queue_engine.domain.status import TicketStatus

from .module import NAME, NotifyModule, NotifyState, Subscribed, mask

log = logging.getLogger("antre.notify")


@dataclass(frozen=True, slots=True)
class Notice:
    """One text for one number (the body of a :class:`~modules.outbox.worker.Message`); ``repr`` masks the number."""

    phone: str
    text: str
    ticket_id: TicketId
    number: str
    #: "ahead": the count of people ahead; 0 otherwise
    ahead: int = 0

    def __repr__(self) -> str:
        return f"Notice(phone={mask(self.phone)!r}, ticket_id={self.ticket_id!r}, number={self.number!r})"


# --------------------------------------------------------------------------- texts


def ahead_text(facility: str, number: str, ahead: int) -> str:
    """Bahasa Indonesia first, English after."""
    if ahead == 0:
        return f"Antre {facility}: nomor {number}, Anda berikutnya. Mohon bersiap. / You are next."
    people = "patient" if ahead == 1 else "patients"
    return (
        f"Antre {facility}: nomor {number}, tinggal {ahead} orang lagi sebelum Anda. Mohon bersiap. "
        f"/ {ahead} {people} ahead of you."
    )


def called_text(facility: str, number: str, counter: str, *, recall: bool = False) -> str:
    if recall:
        return (
            f"Antre {facility}: nomor {number} dipanggil ulang ke {counter}. Segera menuju {counter}. "
            f"/ Your number is called again to {counter}."
        )
    return f"Antre {facility}: nomor {number} dipanggil ke {counter}. / Your number is called to {counter}."


# --------------------------------------------------------------------------- the deriver


@dataclass(slots=True)
class _Told:
    """What a ticket was told in its current wait: under which number, the smallest position sent."""

    number: str
    low: int


class NotifyDeriver:
    """The outbox deriver of notifications (see the module docstring). One per pass over the log."""

    def __init__(self, module: NotifyModule) -> None:
        self.positions = module.ahead  # largest first
        self._told: dict[TicketId, _Told] = {}
        self._day = ""

    def derive(self, position: int, event: Event, state: FacilityState) -> list[Message]:
        if isinstance(event, ModuleEvent) and not isinstance(event, Subscribed):
            return []  # progress records and other modules' events move nobody
        notify: NotifyState | None = state.modules.get(NAME)
        if notify is None or not notify.subscriptions:
            return []
        if state.today != self._day:  # tickets of finished days are gone from the state: forget them too
            self._day = state.today
            self._told = {t: told for t, told in self._told.items() if t in state.tickets}
        messages: list[Message] = []
        if isinstance(event, TicketCalled | TicketRecalled):
            message = self._called(position, event, state, notify)
            if message is not None:
                messages.append(message)
        for ticket_id, subscription in notify.subscriptions.items():
            ticket = state.tickets.get(ticket_id)
            if ticket is None or ticket.status is not TicketStatus.WAITING:
                continue
            message = self._ahead(position, event, state, ticket, subscription.phone)
            if message is not None:
                messages.append(message)
        return messages

    def _called(
        self, position: int, event: TicketCalled | TicketRecalled, state: FacilityState, notify: NotifyState
    ) -> Message | None:
        subscription = notify.subscriptions.get(event.ticket_id)
        ticket = state.tickets.get(event.ticket_id)
        if subscription is None or ticket is None:
            return None
        self._told.pop(ticket.id, None)  # a later wait (requeued, undone) is told afresh
        recall = isinstance(event, TicketRecalled)
        kind = "recalled" if recall else "called"
        text = called_text(state.facility.name, ticket.number, _counter_name(state, event.counter), recall=recall)
        notice = Notice(phone=subscription.phone, text=text, ticket_id=ticket.id, number=ticket.number)
        return Message(key=f"notify:{position}:{ticket.id}:{kind}", kind=kind, body={"notice": notice}, at=event.at)

    def _ahead(self, position: int, event: Event, state: FacilityState, ticket: Ticket, phone: str) -> Message | None:
        ahead = people_ahead(state, ticket)
        if ahead is None:
            return None
        told = self._told.get(ticket.id)
        if told is None or told.number != ticket.number:  # a new wait: the next stage, a transfer
            told = self._told[ticket.id] = _Told(
                number=ticket.number, low=self.positions[0] + 1 if self.positions else 0
            )
        crossed = [p for p in self.positions if ahead <= p < told.low]
        if not crossed:
            return None
        told.low = min(crossed)
        text = ahead_text(state.facility.name, ticket.number, ahead)
        notice = Notice(phone=phone, text=text, ticket_id=ticket.id, number=ticket.number, ahead=ahead)
        return Message(key=f"notify:{position}:{ticket.id}:ahead", kind="ahead", body={"notice": notice}, at=event.at)


def _counter_name(state: FacilityState, counter: CounterId) -> str:
    found = state.facility.counters.get(counter)
    return found.name if found is not None else str(counter)


# --------------------------------------------------------------------------- notifiers


class Notifier(Protocol):
    """Sends one text to one phone number (E.164). ``key`` identifies the message (receivers dedupe by it)."""

    async def send(self, phone: str, text: str, *, key: str = "") -> Outcome: ...

    async def close(self) -> None: ...


class LogNotifier:
    """The default: logs each message (the number masked to its last 3 digits) and calls it sent."""

    def __init__(self, channel: str = "whatsapp") -> None:
        self.channel = channel

    async def send(self, phone: str, text: str, *, key: str = "") -> Outcome:
        log.info("notify (%s, not sent: no gateway) to %s [%s]: %s", self.channel, mask(phone), key, text)
        return Outcome(Status.SENT)

    async def close(self) -> None:
        return None


class HttpGatewayNotifier:
    """Posts ``{"to", "message", "channel", "id"}`` to a gateway; 2xx sent, 429 / 5xx / network retried, 4xx failed."""

    def __init__(
        self,
        url: str,
        token: str,
        channel: str,
        *,
        timeout_s: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url
        self.channel = channel
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.AsyncClient(
            headers={**headers, "User-Agent": "antre-notify"}, timeout=timeout_s, transport=transport
        )

    async def send(self, phone: str, text: str, *, key: str = "") -> Outcome:
        body = {"to": phone, "message": text, "channel": self.channel, "id": key}
        try:
            response = await self._client.post(self.url, json=body)
        except httpx.TimeoutException:
            return Outcome(Status.RETRY, "timeout")
        except httpx.HTTPError as exc:  # refused, reset, DNS: the network, so later
            return Outcome(Status.RETRY, type(exc).__name__)
        code = response.status_code
        if 200 <= code < 300:
            return Outcome(Status.SENT)
        if code == 429 or code >= 500:
            return Outcome(Status.RETRY, f"HTTP {code}")
        return Outcome(Status.FAILED, f"HTTP {code}")  # the gateway refuses this message for good

    async def close(self) -> None:
        await self._client.aclose()
