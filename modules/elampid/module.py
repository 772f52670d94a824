"""e-Lampid as an engine module: its commands, and the :class:`ElampidModule` a facility enables.

The commands carry what the web layer validated (a parsed application, the ids it drew); the
module's ``decide`` checks them against the application's status with the ``decide_*`` rules
and returns ``elampid.*`` events, which the engine appends to the facility's log and folds back
with :func:`~modules.elampid.domain.apply`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from queue_engine.domain.ids import Millis, TicketId
from queue_engine.domain.modules import ModuleCommand, ModuleEvent
from queue_engine.domain.state import FacilityState
from queue_engine.domain.typed import from_json

from . import domain as d
from .application import Application, BirthApplication, CertificateKind, DeathApplication
from .errors import InvalidElampidCommand

NAME = "elampid"


@dataclass(frozen=True, slots=True, kw_only=True)
class _Command(ModuleCommand):
    MODULE: ClassVar[str] = NAME
    application_id: d.ApplicationId


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitApplication(_Command):
    receipt_number: d.ReceiptNumber
    application: Application
    documents: Sequence[str]
    kelurahan: str = ""
    pin_hash: str = ""
    files: Sequence[d.DocumentFile] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyApplication(_Command):
    actor: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestFix(_Command):
    reasons: Sequence[str]
    actor: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ResubmitApplication(_Command):
    application: Application
    documents: Sequence[str]
    files: Sequence[d.DocumentFile] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class IssueCertificate(_Command):
    actor: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ChooseHandoverSlot(_Command):
    slot: Millis


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestDelivery(_Command):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfirmDelivery(_Command):
    courier_ref: str = ""
    actor: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateDelivery(_Command):
    """The courier's progress (staff relay it): a note, and the courier's reference if it changed."""

    note: str
    courier_ref: str = ""
    actor: str


@dataclass(frozen=True, slots=True, kw_only=True)
class HandOver(_Command):
    actor: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelApplication(_Command):
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckInForHandover(_Command):
    """Link the engine ticket (issued with ``IssueTicket``) that queues the applicant for the handover."""

    ticket_id: TicketId


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordView(_Command):
    """Audit: ``actor`` is about to see this application's personal data (``what``)."""

    actor: str
    what: str


class ElampidModule:
    """The module a facility file enables with ``[[modules]] use = "elampid"``.

    Options (keys of the ``[[modules]]`` table):

    * ``kelurahan``: the kelurahan this office handles (an application names one of them; staff
      see only those of their own). Empty: any name is accepted (tests).
    * ``handover_service``: the engine service whose queue hands certificates over (its tickets
      are issued with ``channel = "module"`` when an applicant checks in with the receipt).
    * ``slot_minutes``, ``slot_days``: the handover slot grid offered to applicants (within the
      service's opening hours), and how many days ahead.
    * ``max_upload_mb``: the size limit of one uploaded document.
    """

    name = NAME
    event_types: tuple[type[ModuleEvent], ...] = d.EVENT_TYPES
    #: where the web layer finds this module's routes and pages (imported only by the web app)
    web = "modules.elampid.site:ElampidWeb"

    def __init__(
        self,
        *,
        kelurahan: Sequence[str] = (),
        handover_service: str = "",
        slot_minutes: int = 30,
        slot_days: int = 5,
        max_upload_mb: int = 5,
    ) -> None:
        if isinstance(kelurahan, str) or not all(isinstance(k, str) and k.strip() for k in kelurahan):
            raise ValueError("elampid: 'kelurahan' must be a list of names")
        if not 5 <= slot_minutes <= 240 or not 1 <= slot_days <= 30 or not 1 <= max_upload_mb <= 20:
            raise ValueError("elampid: slot_minutes 5-240, slot_days 1-30, max_upload_mb 1-20")
        self.kelurahan = tuple(k.strip() for k in kelurahan)
        self.handover_service = handover_service
        self.slot_minutes = slot_minutes
        self.slot_days = slot_days
        self.max_upload_bytes = max_upload_mb * 1024 * 1024

    def new_state(self) -> d.ApplicationState:
        return d.ApplicationState()

    def decide(self, core: FacilityState, state: Any, command: ModuleCommand) -> list[ModuleEvent]:
        s: d.ApplicationState = state
        events: list[d.Event]
        match command:
            case SubmitApplication():
                events = d.decide_submit(
                    s,
                    application_id=command.application_id,
                    receipt_number=command.receipt_number,
                    application=command.application,
                    documents=command.documents,
                    at=command.at,
                    kelurahan=command.kelurahan,
                    served=self.kelurahan,
                    pin_hash=command.pin_hash,
                    files=command.files,
                )
            case VerifyApplication():
                events = d.decide_verify(s, command.application_id, actor=command.actor, at=command.at)
            case RequestFix():
                events = d.decide_request_fix(
                    s, command.application_id, reasons=command.reasons, actor=command.actor, at=command.at
                )
            case ResubmitApplication():
                events = d.decide_resubmit(
                    s,
                    command.application_id,
                    application=command.application,
                    documents=command.documents,
                    at=command.at,
                    files=command.files,
                )
            case IssueCertificate():
                events = d.decide_issue(s, command.application_id, actor=command.actor, at=command.at)
            case ChooseHandoverSlot():
                events = d.decide_choose_handover_slot(s, command.application_id, slot=command.slot, at=command.at)
            case RequestDelivery():
                events = d.decide_request_delivery(s, command.application_id, at=command.at)
            case ConfirmDelivery():
                events = d.decide_deliver(
                    s, command.application_id, at=command.at, courier_ref=command.courier_ref, actor=command.actor
                )
            case HandOver():
                events = d.decide_hand_over(s, command.application_id, actor=command.actor, at=command.at)
            case CancelApplication():
                events = d.decide_cancel(s, command.application_id, at=command.at, reason=command.reason)
            case _:
                events = self._decide_more(core, s, command)
        return list(events)

    def _decide_more(self, core: FacilityState, s: d.ApplicationState, command: ModuleCommand) -> list[d.Event]:
        """The commands that are not status moves: the handover ticket, the audit log."""
        match command:
            case CheckInForHandover():
                if command.ticket_id not in core.tickets:
                    raise InvalidElampidCommand(field="ticket_id", reason="unknown")
                return d.decide_check_in(s, command.application_id, ticket_id=command.ticket_id, at=command.at)
            case UpdateDelivery():
                return d.decide_update_delivery(
                    s,
                    command.application_id,
                    note=command.note,
                    courier_ref=command.courier_ref,
                    actor=command.actor,
                    at=command.at,
                )
            case RecordView():
                return d.decide_view(s, command.application_id, actor=command.actor, what=command.what, at=command.at)
        raise InvalidElampidCommand(field="command", reason=type(command).__name__)

    def apply(self, state: Any, event: ModuleEvent) -> None:
        assert isinstance(event, d.EVENT_TYPES)
        d.apply(state, event)

    def dump(self, state: Any) -> Any:
        s: d.ApplicationState = state
        # dataclasses: the snapshot encoder writes them as objects
        return {"applications": list(s.applications.values()), "audit": s.audit}

    def load(self, data: Any) -> d.ApplicationState:
        state = d.ApplicationState()
        for raw in data["applications"]:
            record = from_json(d.ApplicationRecord, raw)
            kind: type[Application] = BirthApplication if record.kind is CertificateKind.KELAHIRAN else DeathApplication
            record = replace(record, application=from_json(kind, raw["application"]))  # a union: by its kind
            state.applications[record.application_id] = record
            state.receipts[record.receipt_number] = record.application_id
            if record.handover_ticket is not None:
                state.tickets[record.handover_ticket] = record.application_id
        state.audit = [from_json(d.AuditEntry, raw) for raw in data["audit"]]
        return state


#: what ``[[modules]] use = "elampid"`` loads (a factory: options become its arguments)
MODULE = ElampidModule
