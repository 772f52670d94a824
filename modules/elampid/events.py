"""e-Lampid's events: what the log records of an application (namespaced ``elampid.*``, versioned).

Pure data: ids and times come in. The application sits in a field per kind (``birth`` or
``death``) because a union of classes cannot be decoded.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar, NewType

from queue_engine.domain.ids import Millis, TicketId
from queue_engine.domain.modules import ModuleEvent

from .application import Application, BirthApplication, DeathApplication

ApplicationId = NewType("ApplicationId", str)
ReceiptNumber = NewType("ReceiptNumber", str)


class ApplicationStatus(StrEnum):
    DIAJUKAN = "diajukan"  # submitted
    PERLU_PERBAIKAN = "perlu_perbaikan"  # staff asked for fixes
    DIVERIFIKASI = "diverifikasi"  # verified against the checklist
    TERBIT = "terbit"  # certificate issued
    SIAP_DIAMBIL = "siap_diambil"  # handover slot chosen at the kelurahan
    DIKIRIM = "dikirim"  # out for delivery to the KTP address
    SELESAI = "selesai"  # handed over or delivered
    DIBATALKAN = "dibatalkan"  # cancelled


# --------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True, kw_only=True)
class DocumentFile:
    """One uploaded file and the checklist document it stands for (``upload_id`` names it in the store)."""

    document: str
    upload_id: str
    content_type: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CourierUpdate:
    """One step of a delivery as the courier reported it."""

    at: Millis
    note: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusChange:
    """One step of an application's history: the status it entered, when, and who acted."""

    status: ApplicationStatus
    at: Millis
    actor: str = ""


def _the_application(birth: BirthApplication | None, death: DeathApplication | None) -> Application:
    application = birth if birth is not None else death
    assert application is not None, "an application event carries its application"
    return application


def _by_kind(application: Application) -> tuple[BirthApplication | None, DeathApplication | None]:
    """``(birth, death)`` event fields for ``application``: one field per kind (a union cannot be decoded)."""
    if isinstance(application, BirthApplication):
        return application, None
    return None, application


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplicationSubmitted(ModuleEvent):
    TYPE: ClassVar[str] = "elampid.submitted"
    VERSION: ClassVar[int] = 1
    application_id: ApplicationId
    receipt_number: ReceiptNumber
    #: the application, in the field of its kind (the other is None)
    birth: BirthApplication | None = None
    death: DeathApplication | None = None
    documents: tuple[str, ...]
    #: the kelurahan that handles it (its staff alone may see it)
    kelurahan: str = ""
    #: scrypt hash of the receipt's PIN (the PIN itself is shown once and never stored)
    pin_hash: str = ""
    files: tuple[DocumentFile, ...] = ()

    @property
    def application(self) -> Application:
        return _the_application(self.birth, self.death)


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplicationVerified(ModuleEvent):
    TYPE: ClassVar[str] = "elampid.verified"
    VERSION: ClassVar[int] = 1
    application_id: ApplicationId
    actor: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FixRequested(ModuleEvent):
    TYPE: ClassVar[str] = "elampid.fix_requested"
    VERSION: ClassVar[int] = 1
    application_id: ApplicationId
    actor: str
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplicationResubmitted(ModuleEvent):
    TYPE: ClassVar[str] = "elampid.resubmitted"
    VERSION: ClassVar[int] = 1
    application_id: ApplicationId
    #: the application, in the field of its kind (the other is None)
    birth: BirthApplication | None = None
    death: DeathApplication | None = None
    documents: tuple[str, ...]
    files: tuple[DocumentFile, ...] = ()

    @property
    def application(self) -> Application:
        return _the_application(self.birth, self.death)


@dataclass(frozen=True, slots=True, kw_only=True)
class CertificateIssued(ModuleEvent):
    TYPE: ClassVar[str] = "elampid.issued"
    VERSION: ClassVar[int] = 1
    application_id: ApplicationId
    actor: str


@dataclass(frozen=True, slots=True, kw_only=True)
class HandoverSlotChosen(ModuleEvent):
    TYPE: ClassVar[str] = "elampid.handover_slot_chosen"
    VERSION: ClassVar[int] = 1
    application_id: ApplicationId
    slot: Millis


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryRequested(ModuleEvent):
    TYPE: ClassVar[str] = "elampid.delivery_requested"
    VERSION: ClassVar[int] = 1
    application_id: ApplicationId


@dataclass(frozen=True, slots=True, kw_only=True)
class CertificateDelivered(ModuleEvent):
    TYPE: ClassVar[str] = "elampid.delivered"
    VERSION: ClassVar[int] = 1
    application_id: ApplicationId
    courier_ref: str = ""
    #: the staff member who confirmed the delivery
    actor: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CertificateHandedOver(ModuleEvent):
    TYPE: ClassVar[str] = "elampid.handed_over"
    VERSION: ClassVar[int] = 1
    application_id: ApplicationId
    actor: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplicationCancelled(ModuleEvent):
    TYPE: ClassVar[str] = "elampid.cancelled"
    VERSION: ClassVar[int] = 1
    application_id: ApplicationId
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryUpdated(ModuleEvent):
    """The courier's progress on a delivery (not a status change): its reference and a note."""

    TYPE: ClassVar[str] = "elampid.delivery_updated"
    VERSION: ClassVar[int] = 1
    application_id: ApplicationId
    courier_ref: str = ""
    note: str
    actor: str


@dataclass(frozen=True, slots=True, kw_only=True)
class HandoverCheckedIn(ModuleEvent):
    """The applicant arrived for the handover: the engine ticket that queues them (issued by the engine)."""

    TYPE: ClassVar[str] = "elampid.checked_in"
    VERSION: ClassVar[int] = 1
    application_id: ApplicationId
    ticket_id: TicketId


@dataclass(frozen=True, slots=True, kw_only=True)
class PersonalDataViewed(ModuleEvent):
    """A staff member saw an application's personal data (UU PDP audit): who, and what they opened."""

    TYPE: ClassVar[str] = "elampid.viewed"
    VERSION: ClassVar[int] = 1
    application_id: ApplicationId
    actor: str
    #: ``"application"`` or ``"document:<id>"``
    what: str


Event = (
    ApplicationSubmitted
    | ApplicationVerified
    | FixRequested
    | ApplicationResubmitted
    | CertificateIssued
    | HandoverSlotChosen
    | DeliveryRequested
    | CertificateDelivered
    | CertificateHandedOver
    | ApplicationCancelled
    | DeliveryUpdated
    | HandoverCheckedIn
    | PersonalDataViewed
)

EVENT_TYPES: tuple[type[Event], ...] = (
    ApplicationSubmitted,
    ApplicationVerified,
    FixRequested,
    ApplicationResubmitted,
    CertificateIssued,
    HandoverSlotChosen,
    DeliveryRequested,
    CertificateDelivered,
    CertificateHandedOver,
    ApplicationCancelled,
    DeliveryUpdated,
    HandoverCheckedIn,
    PersonalDataViewed,
)
