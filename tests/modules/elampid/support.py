"""Valid sample data for e-Lampid tests (fictional numbers, structurally valid)."""

from __future__ import annotations

from datetime import date

from modules.elampid import REQUIRED_DOCUMENTS, CertificateKind

TODAY = date(2026, 11, 26)

MALE_NIK = "3578010101900001"  # Surabaya, born 01-01-1990, male
FEMALE_NIK = "3578014202920002"  # Surabaya, born 02-02-1992, female (DD + 40)
KK = "3578011503150003"  # Surabaya, issued 15-03-2015
WITNESS1 = "3578021203850004"
WITNESS2 = "3578024507880005"
REPORTER = "3578031111800006"


def birth_data(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "child_name": "Bayi Nusantara",
        "birth_date": "2026-11-20",
        "birth_place": "Surabaya",
        "child_sex": "P",
        "mother_nik": FEMALE_NIK,
        "mother_name": "Siti Aminah",
        "father_nik": MALE_NIK,
        "father_name": "Budi Santoso",
        "kk_number": KK,
        "reporter_nik": MALE_NIK,
        "reporter_name": "Budi Santoso",
        "reporter_relation": "ayah",
        "witness1_nik": WITNESS1,
        "witness1_name": "Saksi Satu",
        "witness2_nik": WITNESS2,
        "witness2_name": "Saksi Dua",
    }
    data.update(overrides)
    return data


def death_data(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "deceased_nik": MALE_NIK,
        "deceased_name": "Budi Santoso",
        "death_date": "2026-11-01",
        "death_place": "RSUD dr. Soetomo",
        "cause": "sakit",
        "kk_number": KK,
        "reporter_nik": REPORTER,
        "reporter_name": "Pelapor",
        "reporter_relation": "anak",
        "witness1_nik": WITNESS1,
        "witness1_name": "Saksi Satu",
        "witness2_nik": WITNESS2,
        "witness2_name": "Saksi Dua",
    }
    data.update(overrides)
    return data


def all_documents(kind: CertificateKind) -> list[str]:
    return [doc.id for doc in REQUIRED_DOCUMENTS[kind]]
