"""The e-Lampid application lifecycle: status table, state, decide and apply (the events are in :mod:`.events`).

Pure like ``queue_engine.domain``: ids, receipt numbers and times (``Millis``) are passed in,
``decide_*`` functions check and return events without changing anything, and :func:`apply` is
the only code that changes an :class:`ApplicationState`, so replay is a fold (:func:`replay`).

    diajukan ──verify──▶ diverifikasi ──issue──▶ terbit ──slot──▶ siap_diambil ──hand over──▶ selesai
                                                                        (another slot ↺ until check-in)
      │ ▲                                          └──delivery──▶ dikirim ──delivered──▶ selesai
      │ └──resubmit── perlu_perbaikan ◀──request fix── diajukan
      └──cancel (also from perlu_perbaikan)──▶ dibatalkan
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from queue_engine.domain.ids import Millis, TicketId

from .application import Application, CertificateKind, missing_documents
from .errors import (
    ApplicationNotFound,
    DuplicateApplication,
    InvalidApplication,
    InvalidApplicationTransition,
    InvalidElampidCommand,
    MissingDocuments,
)
from .events import (
    EVENT_TYPES as EVENT_TYPES,
    ApplicationCancelled as ApplicationCancelled,
    ApplicationId as ApplicationId,
    ApplicationResubmitted as ApplicationResubmitted,
    ApplicationStatus as ApplicationStatus,
    ApplicationSubmitted as ApplicationSubmitted,
    ApplicationVerified as ApplicationVerified,
    CertificateDelivered as CertificateDelivered,
    CertificateHandedOver as CertificateHandedOver,
    CertificateIssued as CertificateIssued,
    CourierUpdate as CourierUpdate,
    DeliveryRequested as DeliveryRequested,
    DeliveryUpdated as DeliveryUpdated,
    DocumentFile as DocumentFile,
    Event as Event,
    FixRequested as FixRequested,
    HandoverCheckedIn as HandoverCheckedIn,
    HandoverSlotChosen as HandoverSlotChosen,
    PersonalDataViewed as PersonalDataViewed,
    ReceiptNumber as ReceiptNumber,
    StatusChange as StatusChange,
    _by_kind as _by_kind,
    _the_application as _the_application,
)


class Action(StrEnum):
    """What staff, the applicant or the courier may do to an application."""

    VERIFY = "verify"
    REQUEST_FIX = "request_fix"
    RESUBMIT = "resubmit"
    ISSUE = "issue"
    CHOOSE_HANDOVER_SLOT = "choose_handover_slot"
    REQUEST_DELIVERY = "request_delivery"
    HAND_OVER = "hand_over"
    DELIVER = "deliver"
    CANCEL = "cancel"


S = ApplicationStatus
A = Action

#: status -> {action: status after}. Everything that decides legality lives in this one table.
TRANSITIONS: dict[ApplicationStatus, dict[Action, ApplicationStatus]] = {
    S.DIAJUKAN: {A.VERIFY: S.DIVERIFIKASI, A.REQUEST_FIX: S.PERLU_PERBAIKAN, A.CANCEL: S.DIBATALKAN},
    S.PERLU_PERBAIKAN: {A.RESUBMIT: S.DIAJUKAN, A.CANCEL: S.DIBATALKAN},
    S.DIVERIFIKASI: {A.ISSUE: S.TERBIT},
    S.TERBIT: {A.CHOOSE_HANDOVER_SLOT: S.SIAP_DIAMBIL, A.REQUEST_DELIVERY: S.DIKIRIM},
    # a new slot may be chosen until the applicant has checked in (see decide_choose_handover_slot)
    S.SIAP_DIAMBIL: {A.CHOOSE_HANDOVER_SLOT: S.SIAP_DIAMBIL, A.HAND_OVER: S.SELESAI},
    S.DIKIRIM: {A.DELIVER: S.SELESAI},
    S.SELESAI: {},
    S.DIBATALKAN: {},
}

#: action -> the status it leads to (each action has one target; derived from the table)
TARGETS: dict[Action, ApplicationStatus] = {
    action: after for row in TRANSITIONS.values() for action, after in row.items()
}


def check_transition(current: ApplicationStatus, action: Action) -> ApplicationStatus:
    """Return the status after ``action``, or raise :class:`InvalidApplicationTransition` naming from/to."""
    try:
        return TRANSITIONS[current][action]
    except KeyError:
        raise InvalidApplicationTransition(from_status=current.value, to_status=TARGETS[action].value) from None


# --------------------------------------------------------------------------- state


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplicationRecord:
    """One application as the log says it is now."""

    application_id: ApplicationId
    receipt_number: ReceiptNumber
    kind: CertificateKind
    status: ApplicationStatus
    application: Application
    documents: tuple[str, ...]
    submitted_at: Millis
    updated_at: Millis
    fix_reasons: tuple[str, ...] = ()
    handover_slot: Millis | None = None
    courier_ref: str = ""
    kelurahan: str = ""
    pin_hash: str = ""
    files: tuple[DocumentFile, ...] = ()
    handover_ticket: TicketId | None = None
    history: tuple[StatusChange, ...] = ()
    courier_updates: tuple[CourierUpdate, ...] = ()

    def file(self, document: str) -> DocumentFile | None:
        """The uploaded file for checklist ``document``, if any."""
        return next((f for f in self.files if f.document == document), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    """One recorded view of personal data."""

    application_id: ApplicationId
    actor: str
    what: str
    at: Millis


@dataclass(slots=True)
class ApplicationState:
    """Every application by id, plus the receipt index. Changed only by :func:`apply`."""

    applications: dict[ApplicationId, ApplicationRecord] = field(default_factory=dict)
    receipts: dict[ReceiptNumber, ApplicationId] = field(default_factory=dict)
    #: every recorded view of personal data, oldest first
    audit: list[AuditEntry] = field(default_factory=list)
    #: engine ticket -> the application it hands over
    tickets: dict[TicketId, ApplicationId] = field(default_factory=dict)

    def get(self, application_id: ApplicationId) -> ApplicationRecord:
        try:
            return self.applications[application_id]
        except KeyError:
            raise ApplicationNotFound(application_id=application_id) from None


# --------------------------------------------------------------------------- decide


def _require_documents(application: Application, documents: Sequence[str]) -> tuple[str, ...]:
    missing = missing_documents(application.KIND, documents)
    if missing:
        raise MissingDocuments([doc.id for doc in missing])
    return tuple(dict.fromkeys(documents))


def _check_files(documents: tuple[str, ...], files: Sequence[DocumentFile]) -> tuple[DocumentFile, ...]:
    """Each file stands for one listed document, at most one file per document."""
    seen: set[str] = set()
    for f in files:
        if f.document not in documents or f.document in seen or not f.upload_id:
            raise InvalidElampidCommand(field="files", reason=f.document)
        seen.add(f.document)
    return tuple(files)


def decide_submit(
    state: ApplicationState,
    *,
    application_id: ApplicationId,
    receipt_number: ReceiptNumber,
    application: Application,
    documents: Sequence[str],
    at: Millis,
    kelurahan: str = "",
    served: Sequence[str] = (),
    pin_hash: str = "",
    files: Sequence[DocumentFile] = (),
) -> list[Event]:
    """Submit a parsed application with every required document uploaded (status ``diajukan``).

    ``kelurahan`` must be one of ``served`` (the kelurahan this office handles) when that is set.
    """
    if application_id in state.applications:
        raise DuplicateApplication(field="application_id")
    if receipt_number in state.receipts:
        raise DuplicateApplication(field="receipt_number")
    if served and kelurahan not in served:
        raise InvalidApplication({"kelurahan": "invalid_choice"})
    docs = _require_documents(application, documents)
    birth, death = _by_kind(application)
    return [
        ApplicationSubmitted(
            at=at,
            application_id=application_id,
            receipt_number=receipt_number,
            documents=docs,
            birth=birth,
            death=death,
            kelurahan=kelurahan,
            pin_hash=pin_hash,
            files=_check_files(docs, files),
        )
    ]


def decide_verify(state: ApplicationState, application_id: ApplicationId, *, actor: str, at: Millis) -> list[Event]:
    check_transition(state.get(application_id).status, A.VERIFY)
    return [ApplicationVerified(at=at, application_id=application_id, actor=actor)]


def decide_request_fix(
    state: ApplicationState, application_id: ApplicationId, *, reasons: Iterable[str], actor: str, at: Millis
) -> list[Event]:
    """Send the application back to the applicant with at least one non-empty reason."""
    check_transition(state.get(application_id).status, A.REQUEST_FIX)
    cleaned = tuple(r.strip() for r in reasons if r.strip())
    if not cleaned:
        raise InvalidElampidCommand(field="reasons", reason="required")
    return [FixRequested(at=at, application_id=application_id, actor=actor, reasons=cleaned)]


def decide_resubmit(
    state: ApplicationState,
    application_id: ApplicationId,
    *,
    application: Application,
    documents: Sequence[str],
    at: Millis,
    files: Sequence[DocumentFile] = (),
) -> list[Event]:
    """Resubmit with the fixes; the certificate kind cannot change. ``files`` is the whole new set."""
    record = state.get(application_id)
    check_transition(record.status, A.RESUBMIT)
    if application.KIND is not record.kind:
        raise InvalidElampidCommand(field="kind", reason="kind_changed")
    docs = _require_documents(application, documents)
    birth, death = _by_kind(application)
    return [
        ApplicationResubmitted(
            at=at,
            application_id=application_id,
            documents=docs,
            birth=birth,
            death=death,
            files=_check_files(docs, files),
        )
    ]


def decide_issue(state: ApplicationState, application_id: ApplicationId, *, actor: str, at: Millis) -> list[Event]:
    check_transition(state.get(application_id).status, A.ISSUE)
    return [CertificateIssued(at=at, application_id=application_id, actor=actor)]


def decide_choose_handover_slot(
    state: ApplicationState, application_id: ApplicationId, *, slot: Millis, at: Millis
) -> list[Event]:
    """Pick a handover slot at the kelurahan, or another one before checking in; never one in the past."""
    record = state.get(application_id)
    check_transition(record.status, A.CHOOSE_HANDOVER_SLOT)
    if record.handover_ticket is not None:
        raise InvalidElampidCommand(field="slot", reason="checked_in")
    if slot < at:
        raise InvalidElampidCommand(field="slot", reason="in_past")
    return [HandoverSlotChosen(at=at, application_id=application_id, slot=slot)]


def decide_request_delivery(state: ApplicationState, application_id: ApplicationId, *, at: Millis) -> list[Event]:
    check_transition(state.get(application_id).status, A.REQUEST_DELIVERY)
    return [DeliveryRequested(at=at, application_id=application_id)]


def decide_deliver(
    state: ApplicationState, application_id: ApplicationId, *, at: Millis, courier_ref: str = "", actor: str = ""
) -> list[Event]:
    check_transition(state.get(application_id).status, A.DELIVER)
    return [CertificateDelivered(at=at, application_id=application_id, courier_ref=courier_ref, actor=actor)]


def decide_hand_over(state: ApplicationState, application_id: ApplicationId, *, actor: str, at: Millis) -> list[Event]:
    check_transition(state.get(application_id).status, A.HAND_OVER)
    return [CertificateHandedOver(at=at, application_id=application_id, actor=actor)]


def decide_cancel(
    state: ApplicationState, application_id: ApplicationId, *, at: Millis, reason: str = ""
) -> list[Event]:
    check_transition(state.get(application_id).status, A.CANCEL)
    return [ApplicationCancelled(at=at, application_id=application_id, reason=reason.strip())]


def decide_update_delivery(
    state: ApplicationState, application_id: ApplicationId, *, note: str, courier_ref: str, actor: str, at: Millis
) -> list[Event]:
    """Record the courier's progress while the certificate is out for delivery."""
    record = state.get(application_id)
    if record.status is not S.DIKIRIM:
        raise InvalidApplicationTransition(from_status=record.status.value, to_status=S.DIKIRIM.value)
    if not note.strip():
        raise InvalidElampidCommand(field="note", reason="required")
    return [
        DeliveryUpdated(
            at=at, application_id=application_id, note=note.strip(), courier_ref=courier_ref.strip(), actor=actor
        )
    ]


def decide_check_in(
    state: ApplicationState, application_id: ApplicationId, *, ticket_id: TicketId, at: Millis
) -> list[Event]:
    """Link the engine ticket that queues the applicant for the handover (once; the same ticket again: nothing)."""
    record = state.get(application_id)
    if record.status is not S.SIAP_DIAMBIL:
        raise InvalidApplicationTransition(from_status=record.status.value, to_status=S.SIAP_DIAMBIL.value)
    if record.handover_ticket == ticket_id:
        return []
    if record.handover_ticket is not None or ticket_id in state.tickets:
        raise InvalidElampidCommand(field="ticket_id", reason="already_linked")
    return [HandoverCheckedIn(at=at, application_id=application_id, ticket_id=ticket_id)]


def decide_view(
    state: ApplicationState, application_id: ApplicationId, *, actor: str, what: str, at: Millis
) -> list[Event]:
    """Record that ``actor`` saw this application's personal data (``what``: the data or one document)."""
    state.get(application_id)
    if not actor or not what:
        raise InvalidElampidCommand(field="actor" if not actor else "what", reason="required")
    return [PersonalDataViewed(at=at, application_id=application_id, actor=actor, what=what)]


# --------------------------------------------------------------------------- apply

#: the actor recorded in an application's history for events that carry none
APPLICANT = "pemohon"


def apply(state: ApplicationState, event: Event) -> None:
    """The only mutator. Events are trusted: a ``decide_*`` function already checked them."""
    if isinstance(event, ApplicationSubmitted):
        state.applications[event.application_id] = ApplicationRecord(
            application_id=event.application_id,
            receipt_number=event.receipt_number,
            kind=event.application.KIND,
            status=S.DIAJUKAN,
            application=event.application,
            documents=event.documents,
            submitted_at=event.at,
            updated_at=event.at,
            kelurahan=event.kelurahan,
            pin_hash=event.pin_hash,
            files=event.files,
            history=(StatusChange(status=S.DIAJUKAN, at=event.at, actor=APPLICANT),),
        )
        state.receipts[event.receipt_number] = event.application_id
        return
    record = state.applications[event.application_id]
    if isinstance(event, PersonalDataViewed):
        state.audit.append(
            AuditEntry(application_id=event.application_id, actor=event.actor, what=event.what, at=event.at)
        )
        return
    if isinstance(event, DeliveryUpdated):
        update = CourierUpdate(at=event.at, note=event.note)
        state.applications[event.application_id] = replace(
            record,
            courier_ref=event.courier_ref or record.courier_ref,
            courier_updates=(*record.courier_updates, update),
            updated_at=event.at,
        )
        return
    if isinstance(event, HandoverCheckedIn):
        state.tickets[event.ticket_id] = event.application_id
        state.applications[event.application_id] = replace(record, handover_ticket=event.ticket_id, updated_at=event.at)
        return
    record = _changed(record, event)
    history = record.history
    if record.status is not history[-1].status:  # a new slot keeps the status: not a step of its own
        history = (*history, StatusChange(status=record.status, at=event.at, actor=getattr(event, "actor", APPLICANT)))
    state.applications[event.application_id] = replace(record, updated_at=event.at, history=history)


#: events that only move the status
_MOVES: dict[type[Event], ApplicationStatus] = {
    ApplicationVerified: S.DIVERIFIKASI,
    CertificateIssued: S.TERBIT,
    DeliveryRequested: S.DIKIRIM,
    CertificateHandedOver: S.SELESAI,
    ApplicationCancelled: S.DIBATALKAN,
}


def _changed(record: ApplicationRecord, event: Event) -> ApplicationRecord:
    """The record after a status event (``apply`` handles submission, check-in and views)."""
    moved = _MOVES.get(type(event))
    if moved is not None:
        return replace(record, status=moved)
    match event:
        case FixRequested():
            return replace(record, status=S.PERLU_PERBAIKAN, fix_reasons=event.reasons)
        case ApplicationResubmitted():
            return replace(
                record, status=S.DIAJUKAN, application=event.application, documents=event.documents, files=event.files
            )
        case HandoverSlotChosen():
            return replace(record, status=S.SIAP_DIAMBIL, handover_slot=event.slot)
        case CertificateDelivered():
            return replace(record, status=S.SELESAI, courier_ref=event.courier_ref or record.courier_ref)
    raise AssertionError(f"not a status event: {event.TYPE}")  # pragma: no cover


def replay(events: Iterable[Event], state: ApplicationState | None = None) -> ApplicationState:
    """Fold ``events`` into ``state`` (a fresh one by default) with :func:`apply`."""
    state = ApplicationState() if state is None else state
    for event in events:
        apply(state, event)
    return state
