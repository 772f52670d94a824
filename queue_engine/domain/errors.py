"""Domain errors.

Every rejection of a command is a :class:`DomainError` with a stable machine ``code``
(used by the web layer for HTTP mapping and by clients for translation) and ``params``
that fill the human messages. A command that raises changes nothing.

Hierarchy::

    DomainError
    ├── NotFound                 (unknown_service, unknown_counter, ticket_not_found)
    ├── InvalidTransition        (invalid_transition)
    ├── CounterNotOpen           (counter_not_open)
    ├── CounterBusy              (counter_busy)
    ├── CounterIdle              (counter_idle)
    ├── QueueEmpty               (queue_empty)
    ├── QuotaExhausted           (quota_exhausted)
    ├── OutsideOpeningHours      (outside_opening_hours)
    ├── ServiceNotServed         (service_not_served)
    ├── StageNotAllowed          (stage_not_allowed)
    ├── CheckInNotAllowed        (checkin_not_allowed)
    ├── DuplicateId              (duplicate_id)
    ├── NothingToUndo            (nothing_to_undo)
    └── InvalidCommand           (invalid_command)
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """Base of every rejection by the core. ``code`` is stable; ``params`` explain it."""

    code: ClassVar[str] = "domain_error"
    message_id: ClassVar[str] = "Perintah ditolak."
    message_en: ClassVar[str] = "Command rejected."

    def __init__(self, code: str | None = None, **params: Any) -> None:
        self.code = code or type(self).code  # type: ignore[misc]
        self.params = params
        super().__init__(f"{self.code}: {params}" if params else self.code)


class NotFound(DomainError):
    code = "not_found"
    message_id = "Data tidak ditemukan."
    message_en = "Not found."


class InvalidTransition(DomainError):
    code = "invalid_transition"
    message_id = "Status tiket tidak mengizinkan tindakan ini."
    message_en = "The ticket's status does not allow this action."


class CounterNotOpen(DomainError):
    code = "counter_not_open"
    message_id = "Loket belum dibuka."
    message_en = "The counter is not open."


class CounterBusy(DomainError):
    code = "counter_busy"
    message_id = "Loket masih melayani tiket lain."
    message_en = "The counter is still serving another ticket."


class CounterIdle(DomainError):
    code = "counter_idle"
    message_id = "Loket tidak sedang memanggil tiket."
    message_en = "The counter has no current ticket."


class ModuleNotEnabled(DomainError):
    code = "module_not_enabled"
    message_id = "Layanan ini tidak aktif di fasilitas ini."
    message_en = "This service is not enabled at this facility."


class QueueEmpty(DomainError):
    code = "queue_empty"
    message_id = "Tidak ada antrean yang menunggu."
    message_en = "Nobody is waiting."


class QuotaExhausted(DomainError):
    code = "quota_exhausted"
    message_id = "Kuota layanan hari ini sudah habis."
    message_en = "Today's quota for this service is used up."


class OutsideOpeningHours(DomainError):
    code = "outside_opening_hours"
    message_id = "Layanan sedang tutup."
    message_en = "The service is closed at this time."


class ServiceNotServed(DomainError):
    code = "service_not_served"
    message_id = "Loket ini tidak melayani layanan tersebut."
    message_en = "This counter does not serve that service."


class StageNotAllowed(DomainError):
    code = "stage_not_allowed"
    message_id = "Tahap berikutnya tidak diizinkan untuk layanan ini."
    message_en = "That next stage is not allowed for this service."


class CheckInNotAllowed(DomainError):
    code = "checkin_not_allowed"
    message_id = "Check-in tidak dapat dilakukan untuk tiket ini sekarang."
    message_en = "This ticket cannot be checked in now."


class DuplicateId(DomainError):
    code = "duplicate_id"
    message_id = "ID sudah dipakai."
    message_en = "That id is already in use."


class NothingToUndo(DomainError):
    code = "nothing_to_undo"
    message_id = "Tidak ada tindakan yang bisa dibatalkan."
    message_en = "There is nothing to undo."


class InvalidCommand(DomainError):
    code = "invalid_command"
    message_id = "Isi perintah tidak valid."
    message_en = "The command is not valid."
