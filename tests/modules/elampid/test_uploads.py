"""Uploads: real PDF / JPEG / PNG only, by content; random names; private files; no path tricks."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from modules.elampid.uploads import MAX_UPLOAD_BYTES, UploadRejected, UploadStore, sniff

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64


@pytest.mark.parametrize(
    "data, name, kind",
    [(PDF, "KK.pdf", "application/pdf"), (JPEG, "ktp ibu.JPG", "image/jpeg"), (PNG, "surat.png", "image/png")],
)
def test_genuine_documents_are_stored_privately_under_random_names(
    tmp_path: Path, data: bytes, name: str, kind: str
) -> None:
    store = UploadStore(tmp_path / "uploads")
    first, second = store.save(data, name), store.save(data, name)
    assert first.content_type == kind and first.size == len(data)
    assert first.id != second.id and first.sha256 == second.sha256
    assert store.read(first.id) == data
    files = [p for p in (tmp_path / "uploads").rglob("*") if p.is_file()]
    assert len(files) == 2 and all(name not in str(p) for p in files)  # the applicant's name is not kept
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)
    assert stat.S_IMODE((tmp_path / "uploads").stat().st_mode) == 0o700


@pytest.mark.parametrize(
    "data, name, reason",
    [
        (EXE, "akta.pdf", "executable"),  # an executable renamed .pdf
        (b"PK\x03\x04" + b"\x00" * 30, "ktp.jpg", "executable"),  # an archive
        (b"#!/bin/sh\nrm -rf /\n", "kk.png", "executable"),
        (PNG, "kk.pdf", "type_mismatch"),  # a real PNG that says it is a PDF
        (b"GIF89a" + b"\x00" * 10, "foto.gif", "unsupported_type"),
        (b"<html><script>alert(1)</script>", "surat.pdf", "unsupported_type"),
        (
            PDF.replace(b"/Catalog", b"/Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >>"),
            "x.pdf",
            "active_content",
        ),
        (b"", "kosong.pdf", "empty"),
        (b"%PDF-" + b"0" * MAX_UPLOAD_BYTES, "besar.pdf", "too_large"),
    ],
)
def test_anything_else_is_refused_and_nothing_is_written(tmp_path: Path, data: bytes, name: str, reason: str) -> None:
    store = UploadStore(tmp_path / "uploads")
    with pytest.raises(UploadRejected) as info:
        store.save(data, name)
    assert info.value.reason == reason and info.value.code == "upload_rejected"
    assert name not in str(info.value.params)
    assert not (tmp_path / "uploads").exists() or not any((tmp_path / "uploads").rglob("*"))


@pytest.mark.parametrize("upload_id", ["../../etc/passwd", "", "a" * 23, "a" * 24 + "/x", "..%2f" * 5 + "abcd"])
def test_reading_takes_only_ids_the_store_could_have_made(tmp_path: Path, upload_id: str) -> None:
    with pytest.raises(KeyError):
        UploadStore(tmp_path).read(upload_id)


def test_a_smaller_limit_can_be_configured() -> None:
    assert sniff(PDF, "a.pdf", max_bytes=len(PDF)) == "application/pdf"
    with pytest.raises(UploadRejected, match="too_large"):
        sniff(PDF, "a.pdf", max_bytes=len(PDF) - 1)


def test_uploads_never_attached_are_swept_after_a_day(tmp_path: Path) -> None:
    store = UploadStore(tmp_path / "uploads")
    assert store.sweep(set(), older_than_s=0, now_s=0) == 0  # nothing stored yet, no directory
    kept, stale, fresh = (store.save(PDF, "a.pdf").id for _ in range(3))
    now = 2_000_000_000.0
    for upload_id in (kept, stale):
        os.utime(store._path(upload_id), (now - 2 * 86_400, now - 2 * 86_400))
    os.utime(store._path(fresh), (now - 60, now - 60))
    assert store.sweep({kept}, older_than_s=86_400, now_s=now) == 1
    assert store.read(kept) == PDF and store.read(fresh) == PDF
    with pytest.raises(KeyError):
        store.read(stale)
