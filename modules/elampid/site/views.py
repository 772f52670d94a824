"""What e-Lampid's pages and API show: form descriptions, status words, an application's view.

The applicant's view and the staff's view are the same shape; the personal data in them (names,
NIKs, KK number, documents) goes only to the applicant (receipt + PIN) and to staff of the
application's kelurahan, never to a list, a board or a log line.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from queue_engine.domain.ids import Millis
from queue_engine.domain.state import FacilityState
from web.pages import DAYS_ID, MONTHS_ID
from web.render import ticket_json

from ..application import REQUIRED_DOCUMENTS, Application, BirthApplication, CertificateKind, Person
from ..domain import APPLICANT, ApplicationRecord, ApplicationStatus

S = ApplicationStatus

KIND_LABELS: dict[CertificateKind, tuple[str, str]] = {
    CertificateKind.KELAHIRAN: ("Akta Kelahiran", "Birth certificate"),
    CertificateKind.KEMATIAN: ("Akta Kematian", "Death certificate"),
}

#: status -> (title, title in English, what it means for the applicant, in English)
_WORDS: dict[ApplicationStatus, tuple[str, str, str, str]] = {
    S.DIAJUKAN: (
        "Diajukan",
        "Submitted",
        "Permohonan Anda sedang menunggu verifikasi petugas kelurahan.",
        "Your application is waiting for the kelurahan staff to verify it.",
    ),
    S.PERLU_PERBAIKAN: (
        "Perlu perbaikan",
        "Needs a fix",
        "Petugas meminta perbaikan. Perbaiki sesuai catatan di bawah, lalu kirim ulang.",
        "The staff asked for a fix. Correct it as noted below, then send it again.",
    ),
    S.DIVERIFIKASI: (
        "Diverifikasi",
        "Verified",
        "Berkas Anda lengkap dan benar. Akta sedang diproses.",
        "Your documents are complete and correct. The certificate is being made.",
    ),
    S.TERBIT: (
        "Akta terbit",
        "Certificate issued",
        "Akta sudah terbit. Pilih jadwal pengambilan di kelurahan, atau minta dikirim ke alamat KTP.",
        "The certificate is ready. Pick a time to collect it at the kelurahan, or have it delivered.",
    ),
    S.SIAP_DIAMBIL: (
        "Siap diambil",
        "Ready to collect",
        "Datang sesuai jadwal dengan dokumen asli. Pindai QR tanda terima di kiosk saat tiba.",
        "Come at your time with the original documents. Scan the receipt's QR at the kiosk on arrival.",
    ),
    S.DIKIRIM: (
        "Dikirim",
        "Out for delivery",
        "Akta sedang dikirim ke alamat pada KTP.",
        "The certificate is on its way to the address on the KTP.",
    ),
    S.SELESAI: (
        "Selesai",
        "Done",
        "Akta sudah Anda terima. Terima kasih.",
        "You have received the certificate. Thank you.",
    ),
    S.DIBATALKAN: ("Dibatalkan", "Cancelled", "Permohonan ini dibatalkan.", "This application was cancelled."),
}
STATUS_WORDS: dict[str, tuple[str, str, str, str]] = {status.value: words for status, words in _WORDS.items()}

#: the main line of the status indicator (perlu_perbaikan branches off diajukan, dikirim off terbit)
STEPS = (S.DIAJUKAN, S.DIVERIFIKASI, S.TERBIT, S.SIAP_DIAMBIL, S.SELESAI)

_SEX = [["L", "Laki-laki", "Male"], ["P", "Perempuan", "Female"]]


def _field(name: str, label_id: str, label_en: str, kind: str = "text", **extra: Any) -> dict[str, Any]:
    return {"name": name, "label_id": label_id, "label_en": label_en, "type": kind, "optional": False, **extra}


def _people(*who: tuple[str, str, str]) -> list[dict[str, Any]]:
    out = []
    for prefix, label_id, label_en in who:
        out.append(_field(f"{prefix}_name", f"Nama {label_id}", f"{label_en}'s name"))
        out.append(_field(f"{prefix}_nik", f"NIK {label_id}", f"{label_en}'s NIK", "nik"))
    return out


_REPORTER_AND_WITNESSES = [
    *_people(("reporter", "pelapor", "Reporter")),
    _field("reporter_relation", "Hubungan pelapor", "Reporter's relation (e.g. ayah, anak)"),
    *_people(("witness1", "saksi 1", "Witness 1"), ("witness2", "saksi 2", "Witness 2")),
]

#: the form of each kind, in order (names as ``parse_application`` reads them)
FIELDS: dict[CertificateKind, list[dict[str, Any]]] = {
    CertificateKind.KELAHIRAN: [
        _field("child_name", "Nama anak", "Child's name"),
        _field("child_sex", "Jenis kelamin anak", "Child's sex", "select", options=_SEX),
        _field("birth_date", "Tanggal lahir", "Date of birth", "date"),
        _field("birth_place", "Tempat lahir", "Place of birth"),
        *_people(("mother", "ibu", "Mother"), ("father", "ayah", "Father")),
        _field("kk_number", "Nomor KK", "Family card (KK) number", "kk"),
        *_REPORTER_AND_WITNESSES,
    ],
    CertificateKind.KEMATIAN: [
        *_people(("deceased", "almarhum/almarhumah", "The deceased")),
        _field("death_date", "Tanggal meninggal", "Date of death", "date"),
        _field("death_place", "Tempat meninggal", "Place of death"),
        {**_field("cause", "Sebab kematian (boleh kosong)", "Cause of death (optional)"), "optional": True},
        _field("kk_number", "Nomor KK almarhum/almarhumah", "Family card (KK) number of the deceased", "kk"),
        *_REPORTER_AND_WITNESSES,
    ],
}


def kinds_json() -> dict[str, Any]:
    """Each kind's labels and document checklist, for the pages."""
    return {
        kind.value: {
            "label_id": KIND_LABELS[kind][0],
            "label_en": KIND_LABELS[kind][1],
            "documents": [{"id": d.id, "label_id": d.label_id, "label_en": d.label_en} for d in docs],
        }
        for kind, docs in REQUIRED_DOCUMENTS.items()
    }


def fields_json() -> dict[str, Any]:
    return {kind.value: fields for kind, fields in FIELDS.items()}


def application_fields(application: Application) -> dict[str, str]:
    """The flat form fields of an application (the inverse of ``parse_application``)."""

    def person(prefix: str, p: Person) -> dict[str, str]:
        return {f"{prefix}_nik": p.nik.value, f"{prefix}_name": p.name}

    common: dict[str, str] = {
        "kk_number": application.kk.value,
        **person("reporter", application.reporter),
        "reporter_relation": application.reporter_relation,
        **person("witness1", application.witnesses[0]),
        **person("witness2", application.witnesses[1]),
    }
    if isinstance(application, BirthApplication):
        return {
            "child_name": application.child_name,
            "child_sex": application.child_sex.value,
            "birth_date": application.birth_date.isoformat(),
            "birth_place": application.birth_place,
            **person("mother", application.mother),
            **person("father", application.father),
            **common,
        }
    return {
        **person("deceased", application.deceased),
        "death_date": application.death_date.isoformat(),
        "death_place": application.death_place,
        "cause": application.cause or "",
        **common,
    }


def when(at: Millis, tz: ZoneInfo) -> str:
    """``Kamis, 26 Nov 2026 09:30``."""
    dt = datetime.fromtimestamp(at / 1000, tz)
    return f"{DAYS_ID[dt.weekday()]}, {dt.day} {MONTHS_ID[dt.month - 1]} {dt.year} {dt:%H:%M}"


def day_text(day: date) -> str:
    return f"{DAYS_ID[day.weekday()]}, {day.day} {MONTHS_ID[day.month - 1]} {day.year}"


#: who may do what, by status: the applicant's actions and the staff's (legality is the domain's)
APPLICANT_ACTIONS: dict[ApplicationStatus, tuple[str, ...]] = {
    S.DIAJUKAN: ("cancel",),
    S.PERLU_PERBAIKAN: ("resubmit", "cancel"),
    S.TERBIT: ("choose_handover_slot", "request_delivery"),
    S.SIAP_DIAMBIL: ("choose_handover_slot",),  # another time, until checked in
}
STAFF_ACTIONS: dict[ApplicationStatus, tuple[str, ...]] = {
    S.DIAJUKAN: ("verify", "request_fix"),
    S.DIVERIFIKASI: ("issue",),
    S.SIAP_DIAMBIL: ("hand_over",),
    S.DIKIRIM: ("update_delivery", "deliver"),
}


def _by(actor: str) -> str:
    """Who moved the status, in words (never a staff member's username to the applicant)."""
    if actor == APPLICANT:
        return "pemohon"
    return "loket" if actor.startswith("loket:") else "petugas"


def summary_json(record: ApplicationRecord, tz: ZoneInfo) -> dict[str, Any]:
    """A list row: no personal data."""
    return {
        "receipt_number": record.receipt_number,
        "kind": record.kind.value,
        "kelurahan": record.kelurahan,
        "status": record.status.value,
        "submitted_at": record.submitted_at,
        "updated_at": record.updated_at,
        "submitted_text": when(record.submitted_at, tz),
        "updated_text": when(record.updated_at, tz),
    }


def application_json(record: ApplicationRecord, core: FacilityState, now: Millis, *, staff: bool) -> dict[str, Any]:
    """The whole application for its applicant (``staff=False``) or for staff of its kelurahan."""
    tz = core.tz
    receipt = record.receipt_number
    documents = []
    for doc in REQUIRED_DOCUMENTS[record.kind]:
        file = record.file(doc.id)
        documents.append(
            {
                "id": doc.id,
                "label_id": doc.label_id,
                "label_en": doc.label_en,
                "uploaded": file is not None,
                "content_type": file.content_type if file else None,
                "url": f"/api/v1/lampid/applications/{receipt}/documents/{doc.id}" if file else None,
            }
        )
    ticket = core.tickets.get(record.handover_ticket) if record.handover_ticket is not None else None
    handover_ticket = None
    if ticket is not None:
        shown = ticket_json(core, ticket, now)
        handover_ticket = {
            "number": shown["number"],
            "url": f"/t/{ticket.token}",
            "status": shown["status"],
            "counter_name": shown.get("counter_name"),
            "people_ahead": shown.get("people_ahead"),
        }
    actions = (STAFF_ACTIONS if staff else APPLICANT_ACTIONS).get(record.status, ())
    if record.handover_ticket is not None:
        actions = tuple(a for a in actions if a != "choose_handover_slot")
    return {
        **summary_json(record, tz),
        "fix_reasons": list(record.fix_reasons),
        "handover_slot": record.handover_slot,
        "handover_slot_text": when(record.handover_slot, tz) if record.handover_slot is not None else None,
        "handover_ticket": handover_ticket,
        "courier_ref": record.courier_ref,
        "courier_updates": [{"at": u.at, "at_text": when(u.at, tz), "note": u.note} for u in record.courier_updates],
        "fields": application_fields(record.application),
        "documents": documents,
        "actions": list(actions),
        "history": [
            {
                "status": h.status.value,
                "at": h.at,
                "at_text": when(h.at, tz),
                "by": _by(h.actor),
            }
            for h in record.history
        ],
    }
