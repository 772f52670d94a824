"""What an applicant submits: the certificate kinds, the document checklist and the validated data.

:func:`parse_application` turns a flat mapping (a form or JSON body) into a
:class:`BirthApplication` or :class:`DeathApplication`, or raises one
:class:`~modules.elampid.errors.InvalidApplication` naming every bad field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import ClassVar, TypeVar

from .errors import InvalidApplication, InvalidKk, InvalidNik
from .identity import Kk, Nik, check_kk, check_nik

MAX_NAME = 100
EARLIEST = date(1900, 1, 1)


class CertificateKind(StrEnum):
    KELAHIRAN = "kelahiran"  # akta kelahiran (birth)
    KEMATIAN = "kematian"  # akta kematian (death)


class Sex(StrEnum):
    LAKI_LAKI = "L"
    PEREMPUAN = "P"


# --------------------------------------------------------------------------- documents


@dataclass(frozen=True, slots=True, kw_only=True)
class RequiredDocument:
    id: str
    label_id: str
    label_en: str


def _doc(id: str, label_id: str, label_en: str) -> RequiredDocument:
    return RequiredDocument(id=id, label_id=label_id, label_en=label_en)


_WITNESSES = (
    _doc("ktp_saksi_1", "KTP saksi 1", "ID card (KTP) of witness 1"),
    _doc("ktp_saksi_2", "KTP saksi 2", "ID card (KTP) of witness 2"),
)

#: The checklist per kind (dispendukcapil.surabaya.go.id, e-Lampid pages; reference §4.2).
REQUIRED_DOCUMENTS: dict[CertificateKind, tuple[RequiredDocument, ...]] = {
    CertificateKind.KELAHIRAN: (
        _doc(
            "surat_keterangan_lahir",
            "Surat keterangan lahir dari dokter / bidan / penolong kelahiran",
            "Birth statement from the doctor, midwife or birth attendant",
        ),
        _doc("kk", "Kartu Keluarga (KK)", "Family card (KK)"),
        _doc("ktp_ayah", "KTP ayah", "Father's ID card (KTP)"),
        _doc("ktp_ibu", "KTP ibu", "Mother's ID card (KTP)"),
        _doc("buku_nikah", "Buku nikah / akta perkawinan", "Marriage book / marriage certificate"),
        *_WITNESSES,
    ),
    CertificateKind.KEMATIAN: (
        _doc(
            "surat_keterangan_kematian",
            "Surat keterangan kematian dari dokter / paramedis",
            "Death statement from the doctor or paramedic",
        ),
        _doc("ktp_almarhum", "KTP almarhum / almarhumah", "ID card (KTP) of the deceased"),
        _doc("kk_almarhum", "KK almarhum / almarhumah", "Family card (KK) of the deceased"),
        _doc("ktp_pelapor", "KTP pelapor", "Reporter's ID card (KTP)"),
        _doc("kk_pelapor", "KK pelapor", "Reporter's family card (KK)"),
        *_WITNESSES,
    ),
}


def missing_documents(kind: CertificateKind, uploaded: Iterable[str]) -> tuple[RequiredDocument, ...]:
    """The required documents of ``kind`` whose ids are not among ``uploaded``, in checklist order."""
    have = set(uploaded)
    return tuple(doc for doc in REQUIRED_DOCUMENTS[kind] if doc.id not in have)


# --------------------------------------------------------------------------- application data


@dataclass(frozen=True, slots=True, kw_only=True)
class Person:
    nik: Nik
    name: str

    def __repr__(self) -> str:  # names are personal data too: keep them out of reprs and logs
        return f"Person(nik={self.nik!r})"


@dataclass(frozen=True, slots=True, kw_only=True)
class BirthApplication:
    KIND: ClassVar[CertificateKind] = CertificateKind.KELAHIRAN
    child_name: str
    birth_date: date
    birth_place: str
    child_sex: Sex
    mother: Person
    father: Person
    kk: Kk
    reporter: Person
    reporter_relation: str
    witnesses: tuple[Person, Person]


@dataclass(frozen=True, slots=True, kw_only=True)
class DeathApplication:
    KIND: ClassVar[CertificateKind] = CertificateKind.KEMATIAN
    deceased: Person
    death_date: date
    death_place: str
    cause: str | None
    kk: Kk
    reporter: Person
    reporter_relation: str
    witnesses: tuple[Person, Person]


Application = BirthApplication | DeathApplication

T = TypeVar("T")


class _Fields:
    """Collects every field error instead of stopping at the first one."""

    def __init__(self, data: Mapping[str, object], today: date) -> None:
        self.data = data
        self.today = today
        self.errors: dict[str, str] = {}

    def _get(self, key: str, parse: Callable[[object], T]) -> T | None:
        try:
            return parse(self.data.get(key))
        except (InvalidNik, InvalidKk) as exc:
            self.errors[key] = exc.reason
        except _Bad as exc:
            self.errors[key] = exc.reason
        return None

    def text(self, key: str, *, optional: bool = False) -> str | None:
        def parse(raw: object) -> str | None:
            if raw is None and optional:
                return None
            if not isinstance(raw, str):
                raise _Bad("required")
            value = raw.strip()
            if not value:
                if optional:
                    return None
                raise _Bad("required")
            if len(value) > MAX_NAME:
                raise _Bad("too_long")
            return value

        return self._get(key, parse)

    def day(self, key: str) -> date | None:
        def parse(raw: object) -> date:
            if isinstance(raw, date):
                value = raw
            elif isinstance(raw, str):
                try:
                    value = date.fromisoformat(raw.strip())
                except ValueError:
                    raise _Bad("not_a_date") from None
            else:
                raise _Bad("required")
            if value > self.today:
                raise _Bad("in_future")
            if value < EARLIEST:
                raise _Bad("too_early")
            return value

        return self._get(key, parse)

    def nik(self, key: str, *, female: bool | None = None, birth_date: date | None = None) -> Nik | None:
        def parse(raw: object) -> Nik:
            if not isinstance(raw, str):
                raise _Bad("required")
            return check_nik(raw, female=female, birth_date=birth_date)

        return self._get(key, parse)

    def kk(self, key: str) -> Kk | None:
        def parse(raw: object) -> Kk:
            if not isinstance(raw, str):
                raise _Bad("required")
            return check_kk(raw)

        return self._get(key, parse)

    def sex(self, key: str) -> Sex | None:
        def parse(raw: object) -> Sex:
            if not isinstance(raw, str) or not raw.strip():
                raise _Bad("required")
            try:
                return Sex(raw.strip().upper())
            except ValueError:
                raise _Bad("invalid_choice") from None

        return self._get(key, parse)

    def person(self, prefix: str, *, female: bool | None = None) -> Person | None:
        nik = self.nik(f"{prefix}_nik", female=female)
        name = self.text(f"{prefix}_name")
        return Person(nik=nik, name=name) if nik is not None and name is not None else None

    def witnesses(self) -> tuple[Person, Person] | None:
        first, second = self.person("witness1"), self.person("witness2")
        if first is None or second is None:
            return None
        if first.nik == second.nik:
            self.errors["witness2_nik"] = "same_as_witness1"
            return None
        return (first, second)


class _Bad(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_application(kind: CertificateKind | str, data: Mapping[str, object], *, today: date) -> Application:
    """Validate a flat mapping of form fields into an application of ``kind``.

    Fields, kelahiran: ``child_name``, ``birth_date`` (ISO date), ``birth_place``, ``child_sex``
    (``L``/``P``), ``mother_nik``, ``mother_name``, ``father_nik``, ``father_name``,
    ``kk_number``, ``reporter_nik``, ``reporter_name``, ``reporter_relation``, ``witness1_nik``,
    ``witness1_name``, ``witness2_nik``, ``witness2_name``. Kematian: ``deceased_nik``,
    ``deceased_name``, ``death_date``, ``death_place``, ``cause`` (optional), ``kk_number`` and
    the reporter and witness fields.

    Args:
        kind: ``"kelahiran"`` or ``"kematian"``.
        data: the submitted fields.
        today: the local date (passed in: the domain reads no clock).

    Raises:
        InvalidApplication: listing every bad field (``fields``) with a reason code each
            (``reasons``); never the submitted values.
    """
    try:
        kind = CertificateKind(kind)
    except ValueError:
        raise InvalidApplication({"kind": "invalid_choice"}) from None
    f = _Fields(data, today)
    result: Application | None
    if kind is CertificateKind.KELAHIRAN:
        child_name = f.text("child_name")
        birth_date = f.day("birth_date")
        birth_place = f.text("birth_place")
        child_sex = f.sex("child_sex")
        mother = f.person("mother", female=True)
        father = f.person("father", female=False)
        kk = f.kk("kk_number")
        reporter = f.person("reporter")
        relation = f.text("reporter_relation")
        witnesses = f.witnesses()
        result = None
        if not f.errors:
            assert child_name and birth_date and birth_place and child_sex and mother and father
            assert kk and reporter and relation and witnesses
            result = BirthApplication(
                child_name=child_name,
                birth_date=birth_date,
                birth_place=birth_place,
                child_sex=child_sex,
                mother=mother,
                father=father,
                kk=kk,
                reporter=reporter,
                reporter_relation=relation,
                witnesses=witnesses,
            )
    else:
        deceased = f.person("deceased")
        death_date = f.day("death_date")
        death_place = f.text("death_place")
        cause = f.text("cause", optional=True)
        kk = f.kk("kk_number")
        reporter = f.person("reporter")
        relation = f.text("reporter_relation")
        witnesses = f.witnesses()
        result = None
        if not f.errors:
            assert deceased and death_date and death_place and kk and reporter and relation and witnesses
            result = DeathApplication(
                deceased=deceased,
                death_date=death_date,
                death_place=death_place,
                cause=cause,
                kk=kk,
                reporter=reporter,
                reporter_relation=relation,
                witnesses=witnesses,
            )
    if result is None:
        raise InvalidApplication(f.errors)
    return result
