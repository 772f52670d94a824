"""e-Lampid rejections, all :class:`queue_engine.domain.errors.DomainError` subclasses.

Every error has a stable ``code``; ``params`` never carry personal values (UU PDP): no NIK, no
KK number, no names, only field names and reason codes.

Hierarchy::

    DomainError
    ├── InvalidNik                    (invalid_nik)
    ├── InvalidKk                     (invalid_kk)
    ├── InvalidApplication            (invalid_application)
    ├── InvalidApplicationTransition  (invalid_transition)
    ├── MissingDocuments              (missing_documents)
    ├── InvalidElampidCommand         (invalid_command)
    ├── DuplicateApplication          (duplicate_id)
    └── NotFound
        └── ApplicationNotFound       (application_not_found)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from queue_engine.domain.errors import DomainError, NotFound


class InvalidNik(DomainError):
    """A NIK failed a structural check. ``reason`` is a code such as ``"province"``."""

    code = "invalid_nik"
    message_id = "NIK tidak valid."
    message_en = "The NIK is not valid."

    def __init__(self, reason: str) -> None:
        super().__init__(reason=reason)
        self.reason = reason


class InvalidKk(DomainError):
    """A KK (family card) number failed a structural check."""

    code = "invalid_kk"
    message_id = "Nomor KK tidak valid."
    message_en = "The family card (KK) number is not valid."

    def __init__(self, reason: str) -> None:
        super().__init__(reason=reason)
        self.reason = reason


class InvalidApplication(DomainError):
    """One or more fields of an application are invalid; lists every bad field at once."""

    code = "invalid_application"
    message_id = "Data permohonan tidak valid."
    message_en = "The application data is not valid."

    def __init__(self, reasons: Mapping[str, str]) -> None:
        self.fields: list[str] = list(reasons)
        self.reasons: dict[str, str] = dict(reasons)
        super().__init__(fields=self.fields, reasons=self.reasons)


class InvalidApplicationTransition(DomainError):
    code = "invalid_transition"
    message_id = "Status permohonan tidak mengizinkan tindakan ini."
    message_en = "The application's status does not allow this action."

    def __init__(self, from_status: str, to_status: str) -> None:
        super().__init__(from_status=from_status, to_status=to_status)
        self.from_status = from_status
        self.to_status = to_status


class MissingDocuments(DomainError):
    code = "missing_documents"
    message_id = "Dokumen persyaratan belum lengkap."
    message_en = "Required documents are missing."

    def __init__(self, documents: Sequence[str]) -> None:
        self.documents = list(documents)
        super().__init__(documents=self.documents)


class InvalidElampidCommand(DomainError):
    code = "invalid_command"
    message_id = "Isi perintah tidak valid."
    message_en = "The command is not valid."


class DuplicateApplication(DomainError):
    code = "duplicate_id"
    message_id = "ID atau nomor tanda terima sudah dipakai."
    message_en = "That application id or receipt number is already in use."


class ApplicationNotFound(NotFound):
    code = "application_not_found"
    message_id = "Permohonan tidak ditemukan."
    message_en = "Application not found."


class WrongPin(DomainError):
    """The receipt's PIN did not match; ``attempts_left`` before the receipt is locked for a while."""

    code = "wrong_pin"
    message_id = "Nomor tanda terima atau PIN salah."
    message_en = "Wrong receipt number or PIN."

    def __init__(self, attempts_left: int) -> None:
        super().__init__(attempts_left=attempts_left)


class PinLocked(DomainError):
    """Too many wrong PINs for this receipt (or from this client): wait ``retry_after_s``."""

    code = "pin_locked"
    message_id = "Terlalu banyak percobaan PIN. Coba lagi nanti."
    message_en = "Too many PIN attempts. Try again later."

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(retry_after_s=retry_after_s)


class UnknownUpload(DomainError):
    """A document refers to an upload that does not exist (or is already used by another application)."""

    code = "unknown_upload"
    message_id = "Berkas unggahan tidak ditemukan. Unggah ulang dokumen tersebut."
    message_en = "Uploaded file not found. Upload that document again."


class SlotNotOffered(DomainError):
    """The handover time chosen is not one of the slots offered."""

    code = "slot_not_offered"
    message_id = "Jadwal pengambilan itu tidak tersedia. Pilih jadwal lain."
    message_en = "That handover time is not available. Pick another."


class HandoverNotToday(DomainError):
    """Checking in for a handover on another day than the one chosen."""

    code = "handover_not_today"
    message_id = "Jadwal pengambilan Anda bukan hari ini."
    message_en = "Your handover is not scheduled for today."
