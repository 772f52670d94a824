"""The document checklist and parse_application."""

from __future__ import annotations

from datetime import date

import pytest

from modules.elampid import (
    REQUIRED_DOCUMENTS,
    BirthApplication,
    CertificateKind,
    DeathApplication,
    InvalidApplication,
    Sex,
    missing_documents,
    parse_application,
)

from .support import FEMALE_NIK, KK, MALE_NIK, TODAY, WITNESS1, all_documents, birth_data, death_data

K, M = CertificateKind.KELAHIRAN, CertificateKind.KEMATIAN


def test_checklists_have_the_documents_the_issue_lists() -> None:
    assert all_documents(K) == [
        "surat_keterangan_lahir",
        "kk",
        "ktp_ayah",
        "ktp_ibu",
        "buku_nikah",
        "ktp_saksi_1",
        "ktp_saksi_2",
    ]
    assert all_documents(M) == [
        "surat_keterangan_kematian",
        "ktp_almarhum",
        "kk_almarhum",
        "ktp_pelapor",
        "kk_pelapor",
        "ktp_saksi_1",
        "ktp_saksi_2",
    ]
    for docs in REQUIRED_DOCUMENTS.values():
        for doc in docs:
            assert doc.label_id and doc.label_en


def test_missing_documents() -> None:
    assert [d.id for d in missing_documents(K, [])] == all_documents(K)
    assert missing_documents(K, all_documents(K)) == ()
    assert missing_documents(M, [*all_documents(M), "extra"]) == ()
    missing = missing_documents(K, ["kk", "ktp_ibu", "ktp_saksi_1", "ktp_almarhum"])
    assert [d.id for d in missing] == ["surat_keterangan_lahir", "ktp_ayah", "buku_nikah", "ktp_saksi_2"]


def test_parse_birth_application() -> None:
    app = parse_application("kelahiran", birth_data(child_name="  Bayi  "), today=TODAY)
    assert isinstance(app, BirthApplication)
    assert app.KIND is K
    assert app.child_name == "Bayi"
    assert app.birth_date == date(2026, 11, 20)
    assert app.child_sex is Sex.PEREMPUAN
    assert app.mother.nik.value == FEMALE_NIK and app.father.nik.value == MALE_NIK
    assert app.kk.value == KK
    assert app.witnesses[0].nik.value == WITNESS1
    for text in (repr(app), str(app)):
        assert MALE_NIK not in text and FEMALE_NIK not in text and "Siti Aminah" not in text


def test_parse_death_application_with_and_without_cause() -> None:
    app = parse_application(M, death_data(death_date=date(2026, 11, 26)), today=TODAY)
    assert isinstance(app, DeathApplication)
    assert app.cause == "sakit"
    assert app.death_date == TODAY
    data = death_data()
    del data["cause"]
    no_cause = parse_application(M, data, today=TODAY)
    assert isinstance(no_cause, DeathApplication)
    assert no_cause.cause is None
    assert parse_application(M, death_data(cause="  "), today=TODAY).cause is None  # type: ignore[union-attr]


def _errors(kind: CertificateKind | str, data: dict[str, object]) -> dict[str, str]:
    with pytest.raises(InvalidApplication) as info:
        parse_application(kind, data, today=TODAY)
    assert info.value.code == "invalid_application"
    assert info.value.fields == list(info.value.reasons)
    return info.value.reasons


def test_every_bad_field_is_listed_at_once_without_values() -> None:
    data = birth_data(
        child_name="",
        birth_date="2026-11-27",  # tomorrow
        birth_place="x" * 101,
        child_sex="X",
        mother_nik=MALE_NIK,  # the mother's NIK must be female-coded
        father_nik=FEMALE_NIK,  # and the father's male-coded
        kk_number="3578011503150000"[:15],
        reporter_nik="3578013102900001",  # 31 Feb
        witness2_nik=WITNESS1,  # same as witness 1
    )
    del data["reporter_relation"]
    with pytest.raises(InvalidApplication) as info:
        parse_application(K, data, today=TODAY)
    assert info.value.reasons == {
        "child_name": "required",
        "birth_date": "in_future",
        "birth_place": "too_long",
        "child_sex": "invalid_choice",
        "mother_nik": "sex_mismatch",
        "father_nik": "sex_mismatch",
        "kk_number": "length",
        "reporter_nik": "birth_date",
        "reporter_relation": "required",
        "witness2_nik": "same_as_witness1",
    }
    message = str(info.value) + repr(info.value)
    for secret in (MALE_NIK, FEMALE_NIK, WITNESS1, "x" * 101):
        assert secret not in message


def test_death_application_errors() -> None:
    reasons = _errors(
        M,
        death_data(
            deceased_nik=None,
            deceased_name=42,
            death_date="1899-12-31",
            death_place="   ",
            cause="c" * 101,
            witness1_name="",
        ),
    )
    assert reasons == {
        "deceased_nik": "required",
        "deceased_name": "required",
        "death_date": "too_early",
        "death_place": "required",
        "cause": "too_long",
        "witness1_name": "required",
    }


@pytest.mark.parametrize(
    ("value", "reason"),
    [("26-11-2026", "not_a_date"), ("2026-02-30", "not_a_date"), (None, "required"), (20261120, "required")],
)
def test_bad_dates(value: object, reason: str) -> None:
    assert _errors(K, birth_data(birth_date=value)) == {"birth_date": reason}


def test_names_at_the_limit_pass() -> None:
    app = parse_application(K, birth_data(child_name="n" * 100, birth_date="1900-01-01"), today=TODAY)
    assert isinstance(app, BirthApplication)


def test_unknown_kind() -> None:
    assert _errors("pindah", birth_data()) == {"kind": "invalid_choice"}


def test_missing_sex_is_required() -> None:
    assert _errors(K, birth_data(child_sex=None)) == {"child_sex": "required"}
    assert parse_application(K, birth_data(child_sex="l"), today=TODAY).child_sex is Sex.LAKI_LAKI  # type: ignore[union-attr]
