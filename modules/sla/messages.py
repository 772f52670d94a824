"""What supervisors are told of each alert (the outbox's deriver), in Bahasa Indonesia first. Pure.

Each ``sla.alert_opened`` and ``sla.alert_cleared`` in the log becomes one message per supervisor
phone, keyed ``sla:<alert id>:<opened|cleared>:<n>`` (``n``: the phone's place in the configured
list), stable across restarts and nodes: gateways dedupe by it. The worker delivers them in log
order with retries and records its progress in the log (:mod:`modules.outbox`), so each alert
is told once even across restarts.
"""

from __future__ import annotations

from dataclasses import dataclass

from queue_engine.domain.events import Event
from queue_engine.domain.ids import CounterId, ServiceCode
from queue_engine.domain.state import FacilityState

from ..notify.module import mask
from ..outbox.message import Message
from .module import AlertCleared, AlertOpened
from .rules import AlertKind


@dataclass(frozen=True, slots=True)
class Notice:
    """One text for one supervisor's phone; ``repr`` masks the number."""

    phone: str
    text: str
    alert_id: str

    def __repr__(self) -> str:
        return f"Notice(phone={mask(self.phone)!r}, alert_id={self.alert_id!r})"


def subject_name(state: FacilityState, kind: AlertKind, subject: str) -> str:
    """The service's or counter's name as the facility file gives it (its id if it is gone)."""
    if kind is AlertKind.COUNTER_PAUSED:
        counter = state.facility.counters.get(CounterId(subject))
        return counter.name if counter is not None else subject
    service = state.facility.services.get(ServiceCode(subject))
    return service.name if service is not None else subject


def opened_text(state: FacilityState, event: AlertOpened) -> str:
    """``Antre <facility> PERINGATAN: … / ALERT: …``."""
    head = f"Antre {state.facility.name} PERINGATAN:"
    name = subject_name(state, event.kind, event.subject)
    value, limit = event.value, event.threshold
    match event.kind:
        case AlertKind.QUEUE_LENGTH:
            return (
                f"{head} antrean {name} {value} orang menunggu (batas {limit}). "
                f"/ ALERT: {name} queue has {value} waiting (limit {limit})."
            )
        case AlertKind.LONGEST_WAIT:
            return (
                f"{head} di {name} ada pasien menunggu {value} menit (batas {limit} menit). "
                f"/ ALERT: {name} longest wait {value} min (limit {limit} min)."
            )
        case AlertKind.COUNTER_PAUSED:
            counter = state.counters.get(CounterId(event.subject))
            reason = counter.pause_reason if counter is not None and counter.pause_reason else "-"
            return (
                f"{head} {name} dijeda {value} menit (batas {limit} menit), alasan: {reason}. "
                f"/ ALERT: {name} paused {value} min (limit {limit} min)."
            )


def cleared_text(state: FacilityState, event: AlertCleared) -> str:
    """``Antre <facility> PULIH: … / RESOLVED: …``."""
    head = f"Antre {state.facility.name} PULIH:"
    name = subject_name(state, event.kind, event.subject)
    match event.kind:
        case AlertKind.QUEUE_LENGTH:
            return (
                f"{head} antrean {name} kembali {event.value} orang (batas {event.threshold}). "
                f"/ RESOLVED: {name} queue back to {event.value} waiting."
            )
        case AlertKind.LONGEST_WAIT:
            return (
                f"{head} tunggu terlama di {name} kembali di bawah {event.threshold} menit. "
                f"/ RESOLVED: {name} longest wait back under {event.threshold} min."
            )
        case AlertKind.COUNTER_PAUSED:
            return f"{head} {name} tidak lagi dijeda. / RESOLVED: {name} is no longer paused."


class SlaDeriver:
    """The messages of the ``sla`` stream: every alert opened or cleared, to every supervisor phone."""

    def __init__(self, phones: tuple[str, ...]) -> None:
        self.phones = phones

    def derive(self, position: int, event: Event, state: FacilityState) -> list[Message]:
        if isinstance(event, AlertOpened):
            kind, text = "opened", opened_text(state, event)
        elif isinstance(event, AlertCleared):
            kind, text = "cleared", cleared_text(state, event)
        else:
            return []
        return [
            Message(
                key=f"sla:{event.alert_id}:{kind}:{n}",
                kind=f"alert_{kind}",
                body={"notice": Notice(phone=phone, text=text, alert_id=event.alert_id)},
                at=event.at,
            )
            for n, phone in enumerate(self.phones, 1)
        ]
