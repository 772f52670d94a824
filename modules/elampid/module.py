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

from queue_engine.domain.ids import Millis
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


@dataclass(frozen=True, slots=True, kw_only=True)
class HandOver(_Command):
    actor: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelApplication(_Command):
    reason: str = ""


class ElampidModule:
    """The module a facility file enables with ``[[modules]] use = "elampid"``."""

    name = NAME
    event_types: tuple[type[ModuleEvent], ...] = d.EVENT_TYPES

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
                )
            case IssueCertificate():
                events = d.decide_issue(s, command.application_id, actor=command.actor, at=command.at)
            case ChooseHandoverSlot():
                events = d.decide_choose_handover_slot(s, command.application_id, slot=command.slot, at=command.at)
            case RequestDelivery():
                events = d.decide_request_delivery(s, command.application_id, at=command.at)
            case ConfirmDelivery():
                events = d.decide_deliver(s, command.application_id, at=command.at, courier_ref=command.courier_ref)
            case HandOver():
                events = d.decide_hand_over(s, command.application_id, actor=command.actor, at=command.at)
            case CancelApplication():
                events = d.decide_cancel(s, command.application_id, at=command.at, reason=command.reason)
            case _:
                raise InvalidElampidCommand(field="command", reason=type(command).__name__)
        return list(events)

    def apply(self, state: Any, event: ModuleEvent) -> None:
        assert isinstance(event, d.EVENT_TYPES)
        d.apply(state, event)

    def dump(self, state: Any) -> Any:
        s: d.ApplicationState = state
        return list(s.applications.values())  # dataclasses: the snapshot encoder writes them as objects

    def load(self, data: Any) -> d.ApplicationState:
        state = d.ApplicationState()
        for raw in data:
            record = from_json(d.ApplicationRecord, raw)
            kind: type[Application] = BirthApplication if record.kind is CertificateKind.KELAHIRAN else DeathApplication
            record = replace(record, application=from_json(kind, raw["application"]))  # a union: by its kind
            state.applications[record.application_id] = record
            state.receipts[record.receipt_number] = record.application_id
        return state


#: what ``[[modules]] use = "elampid"`` loads (a factory: options become its arguments)
MODULE = ElampidModule
