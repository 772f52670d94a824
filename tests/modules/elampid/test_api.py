"""e-Lampid over HTTP: both certificate kinds from submission to the end, and every refusal the issue names.

The app serves the demo kecamatan office (``demo:kelurahan``: e-Lampid for five kelurahan, the
``DOKUMEN`` handover service); its log is a memory log or, for the restart test, an SQLite file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from modules.elampid import CertificateKind
from modules.elampid.site.access import PIN_TRIES_PER_CLIENT, PIN_TRIES_PER_RECEIPT, PIN_WINDOW_MS
from queue_engine.clock import ManualClock
from queue_engine.log.sqlite import SqliteLog

from ...web.conftest import START
from .support import FEMALE_NIK, MALE_NIK, all_documents, birth_data
from .web_support import (
    JPEG,
    KIOSK,
    PDF,
    PNG,
    Browser,
    application_body,
    apply,
    lampid_client,
    login,
    unlock,
    upload,
    upload_all,
    web_part,
)

K, M = CertificateKind.KELAHIRAN, CertificateKind.KEMATIAN
API = "/api/v1/lampid"
MINUTE = 60_000


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def client(tmp_path: Path, clock: ManualClock) -> Any:
    with lampid_client(tmp_path, clock=clock) as c:
        yield c


def _app(client: TestClient, receipt: str) -> dict[str, Any]:
    response = client.get(f"{API}/applications/{receipt}")
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _post(client: TestClient, receipt: str, action: str, headers: dict[str, str], **body: Any) -> Any:
    return client.post(f"{API}/applications/{receipt}/{action}", json=body, headers=headers)


def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _audit(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = _ok(client.get(f"{API}/audit", headers=headers))["entries"]
    return entries


def _staff_client(client: TestClient) -> Any:
    """Another browser on the same app (its own cookies)."""
    return Browser(client)


# --------------------------------------------------------------------------- the whole flows


def test_birth_certificate_from_application_to_handover(client: TestClient, clock: ManualClock) -> None:
    receipt_answer = apply(client, K)
    receipt, pin = receipt_answer["receipt_number"], receipt_answer["pin"]
    assert len(pin) == 6 and pin.isdigit()
    assert receipt_answer["application"]["status"] == "diajukan"
    assert "<svg" in receipt_answer["receipt_qr"]

    # A phone that never saw the PIN gets nothing; with it, the application.
    phone = _staff_client(client)
    assert phone.get(f"{API}/applications/{receipt}").json()["code"] == "unauthenticated"
    applicant = unlock(phone, receipt, pin)
    assert _app(phone, receipt)["fields"]["mother_nik"] == FEMALE_NIK

    # Staff of Ketabang: the list (no personal data), then the application (audited), then a fix.
    staff = _staff_client(client)
    headers = login(staff, "petugas-ketabang")
    listing = _ok(staff.get(f"{API}/staff/applications", params={"status": "diajukan"}, headers=headers))
    assert [row["receipt_number"] for row in listing["applications"]] == [receipt]
    assert FEMALE_NIK not in orjson.dumps(listing).decode() and "Siti" not in orjson.dumps(listing).decode()
    assert _audit(staff, headers) == []
    view = _app(staff, receipt)
    assert view["actions"] == ["verify", "request_fix"]
    assert [(e["receipt_number"], e["actor"], e["what"]) for e in _audit(staff, headers)] == [
        (receipt, "petugas-ketabang", "application")
    ]
    fixed = _ok(_post(staff, receipt, "request-fix", headers, reasons=["Foto KTP ibu tidak terbaca"]))
    assert fixed["status"] == "perlu_perbaikan"

    # The applicant sees the reasons, replaces the document and sends it again.
    seen = _app(phone, receipt)
    assert seen["status"] == "perlu_perbaikan" and seen["fix_reasons"] == ["Foto KTP ibu tidak terbaca"]
    assert seen["actions"] == ["resubmit", "cancel"]
    new_ktp = upload(phone, "ktp_ibu", JPEG, "ktp-ibu.jpg").json()["upload_id"]
    before_file = next(d for d in seen["documents"] if d["id"] == "ktp_ibu")
    assert before_file["content_type"] == "application/pdf"
    again = _ok(
        _post(
            phone,
            receipt,
            "resubmit",
            applicant,
            fields=birth_data(child_name="Bayi Nusantara Putri"),
            documents={"ktp_ibu": new_ktp},
        )
    )
    assert again["status"] == "diajukan" and again["fields"]["child_name"] == "Bayi Nusantara Putri"
    assert next(d for d in again["documents"] if d["id"] == "ktp_ibu")["content_type"] == "image/jpeg"
    assert phone.get(again["documents"][3]["url"]).content == JPEG  # ktp_ibu is the 4th on the checklist

    # Verify, then issue; issuing twice is an illegal transition that changes nothing.
    assert _ok(_post(staff, receipt, "verify", headers))["status"] == "diverifikasi"
    assert _ok(_post(staff, receipt, "issue", headers))["status"] == "terbit"
    refused = _post(staff, receipt, "issue", headers)
    assert refused.status_code == 409
    assert refused.json()["code"] == "invalid_transition"
    assert refused.json()["params"] == {"from_status": "terbit", "to_status": "terbit"}
    assert "permohonan" in refused.json()["message_id"].lower()
    assert _app(phone, receipt)["status"] == "terbit"

    # The applicant picks a slot (one on offer), comes on the day, checks in at the kiosk with the QR.
    slots = phone.get(f"{API}/slots").json()["slots"]
    assert slots and all(s["at"] >= clock.now() + 30 * MINUTE for s in slots)
    off_grid = _post(phone, receipt, "handover-slot", applicant, at=slots[0]["at"] + 60_000)
    assert off_grid.status_code == 422 and off_grid.json()["code"] == "slot_not_offered"
    first = _ok(_post(phone, receipt, "handover-slot", applicant, at=slots[1]["at"]))
    assert first["status"] == "siap_diambil" and first["actions"] == ["choose_handover_slot"]
    chosen = _ok(_post(phone, receipt, "handover-slot", applicant, at=slots[0]["at"]))  # another time after all
    assert chosen["status"] == "siap_diambil" and chosen["handover_slot"] == slots[0]["at"]
    clock.advance(slots[0]["at"] - 10 * MINUTE - clock.now())
    checked = client.post(f"{API}/receipts/{receipt}/check-in", json={}, headers=KIOSK)
    assert checked.status_code == 200, checked.text
    ticket = checked.json()
    assert ticket["number"].startswith("E") and ticket["checked_in"] is True
    assert ticket["service"] == "DOKUMEN"
    # Scanning again gives the same ticket, not a second one.
    rescanned = client.post(f"{API}/receipts/{receipt}/check-in", json={}, headers=KIOSK)
    assert rescanned.json()["number"] == ticket["number"]
    assert _app(phone, receipt)["handover_ticket"]["number"] == ticket["number"]
    assert _app(phone, receipt)["actions"] == []  # checked in: the time can no longer change

    # The counter calls and completes it: the listener marks the certificate handed over.
    assert _ok(staff.post("/api/v1/counters/loket-1/open", json={}, headers=headers))
    called = _ok(staff.post("/api/v1/counters/loket-1/call-next", json={}, headers=headers))
    assert called["current"]["number"] == ticket["number"]
    assert _app(phone, receipt)["handover_ticket"]["status"] == "called"
    _ok(staff.post("/api/v1/counters/loket-1/complete", json={}, headers=headers))
    assert client.portal is not None
    client.portal.call(web_part(client).idle)
    done = _app(phone, receipt)
    assert done["status"] == "selesai"
    assert [h["status"] for h in done["history"]] == [
        "diajukan",
        "perlu_perbaikan",
        "diajukan",
        "diverifikasi",
        "terbit",
        "siap_diambil",
        "selesai",
    ]
    assert done["history"][-1]["by"] == "loket", done["history"]


def test_death_certificate_delivered_to_the_ktp_address(client: TestClient) -> None:
    answer = apply(client, M)
    receipt = answer["receipt_number"]
    applicant = {"X-CSRF-Token": answer["csrf"]}  # the submitting browser may follow it without the PIN
    staff = _staff_client(client)
    headers = login(staff, "petugas-ketabang")
    assert _ok(_post(staff, receipt, "verify", headers))["status"] == "diverifikasi"
    assert _ok(_post(staff, receipt, "issue", headers))["status"] == "terbit"
    assert _app(client, receipt)["actions"] == ["choose_handover_slot", "request_delivery"]
    assert _ok(_post(client, receipt, "delivery", applicant))["status"] == "dikirim"
    # Delivery chosen: a slot can no longer be picked.
    late = _post(client, receipt, "handover-slot", applicant, at=START + 120 * MINUTE)
    assert late.status_code == 409 and late.json()["code"] == "invalid_transition"
    assert _app(staff, receipt)["actions"] == ["update_delivery", "deliver"]
    blank = _post(staff, receipt, "delivery-update", headers, note="  ")
    assert blank.status_code == 422 and blank.json()["code"] == "invalid_command"
    on_way = _ok(_post(staff, receipt, "delivery-update", headers, note="Dibawa kurir Pos", courier_ref="POS-123"))
    assert on_way["status"] == "dikirim" and on_way["courier_ref"] == "POS-123"
    seen = _app(client, receipt)
    assert [u["note"] for u in seen["courier_updates"]] == ["Dibawa kurir Pos"] and seen["courier_ref"] == "POS-123"
    done = _ok(_post(staff, receipt, "delivered", headers))
    assert done["status"] == "selesai" and done["courier_ref"] == "POS-123"
    assert [h["by"] for h in done["history"]] == ["pemohon", "petugas", "petugas", "pemohon", "petugas"]
    assert _app(client, receipt)["status"] == "selesai"
    assert _app(client, receipt)["fields"]["deceased_nik"] == MALE_NIK


def test_applicant_may_cancel_before_verification_not_after(client: TestClient) -> None:
    first, second = apply(client), apply(client)
    headers = {"X-CSRF-Token": first["csrf"]}
    assert _ok(_post(client, first["receipt_number"], "cancel", headers))["status"] == "dibatalkan"
    staff = _staff_client(client)
    staff_headers = login(staff, "petugas-ketabang")
    _ok(_post(staff, second["receipt_number"], "verify", staff_headers))
    refused = _post(client, second["receipt_number"], "cancel", {"X-CSRF-Token": second["csrf"]})
    assert refused.status_code == 409 and refused.json()["code"] == "invalid_transition"
    # Without the CSRF token the session's change is refused.
    assert _post(client, first["receipt_number"], "cancel", {}).json()["code"] == "csrf_failed"


# --------------------------------------------------------------------------- refusals


def _staff_list(client: TestClient) -> list[dict[str, Any]]:
    staff = _staff_client(client)
    rows: list[dict[str, Any]] = _ok(staff.get(f"{API}/staff/applications", headers=login(staff, "petugas-ketabang")))[
        "applications"
    ]
    return rows


def test_a_bad_nik_is_refused_naming_the_field_and_nothing_is_stored(client: TestClient) -> None:
    documents = upload_all(client, K)
    bad = dict(mother_nik="9978014202920002", father_nik=FEMALE_NIK)  # no such province; a woman's NIK for the father
    response = client.post(f"{API}/applications", json=application_body(K, documents, **bad))
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_application"
    assert body["params"]["reasons"] == {"mother_nik": "province", "father_nik": "sex_mismatch"}
    assert "9978014202920002" not in response.text  # the values are never echoed
    assert body["message_id"] and body["message_en"]
    assert _staff_list(client) == []


def test_missing_and_unknown_documents(client: TestClient) -> None:
    documents = upload_all(client, K)
    del documents["buku_nikah"]
    missing = client.post(f"{API}/applications", json=application_body(K, documents))
    assert missing.status_code == 422
    assert missing.json()["code"] == "missing_documents"
    assert missing.json()["params"]["documents"] == ["buku_nikah"]
    documents["buku_nikah"] = "A" * 24  # well-formed, never uploaded
    unknown = client.post(f"{API}/applications", json=application_body(K, documents))
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_upload"
    # An upload already attached to one application cannot be claimed by another.
    first = apply(client)
    assert first["application"]["status"] == "diajukan"
    reused = dict(documents)
    reused["buku_nikah"] = next(iter(upload_all(client, K).values()))
    taken = client.post(f"{API}/applications", json=application_body(K, reused))
    assert taken.status_code == 201  # the fresh upload is free
    again = client.post(f"{API}/applications", json=application_body(K, reused))
    assert again.status_code == 422 and again.json()["code"] == "unknown_upload"
    assert len(_staff_list(client)) == 2


@pytest.mark.parametrize(
    ("data", "name", "reason"),
    [
        (b"MZ\x90\x00" + b"\x00" * 200, "surat.pdf", "executable"),  # a Windows program renamed .pdf
        (b"\x7fELF" + b"\x00" * 200, "ktp.jpg", "executable"),
        (b"PK\x03\x04" + b"\x00" * 200, "kk.pdf", "executable"),  # a ZIP (an APK, a DOCX) as .pdf
        (JPEG, "ktp.pdf", "type_mismatch"),
        (PNG, "ktp.jpg", "type_mismatch"),
        (b"<html><script>alert(1)</script>", "kk.pdf", "unsupported_type"),
        (
            PDF.replace(b"/Catalog", b"/Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >>"),
            "a.pdf",
            "active_content",
        ),
        (b"", "empty.pdf", "empty"),
    ],
)
def test_disguised_uploads_are_refused_and_not_stored(
    client: TestClient, tmp_path: Path, data: bytes, name: str, reason: str
) -> None:
    response = upload(client, "kk", data, name)
    assert response.status_code == 422
    assert response.json() == {**response.json(), "code": "upload_rejected", "params": {"reason": reason}}
    assert not [p for p in (tmp_path / "uploads").rglob("*") if p.is_file()]


def test_an_oversized_upload_is_refused_without_reading_it_all(client: TestClient, tmp_path: Path) -> None:
    limit = web_part(client).module.max_upload_bytes
    big = PDF + b"\0" * (limit + 1 - len(PDF))
    response = upload(client, "kk", big, "besar.pdf")
    assert response.status_code == 422
    assert response.json()["params"] == {"reason": "too_large"}
    exactly = upload(client, "kk", PDF + b"\0" * (limit - len(PDF)), "pas.pdf")
    assert exactly.status_code == 201
    stored = [p for p in (tmp_path / "uploads").rglob("*") if p.is_file()]
    assert len(stored) == 1 and stored[0].stat().st_size == limit
    assert stored[0].stat().st_mode & 0o077 == 0  # readable by the server's user only


def test_uploads_name_a_checklist_document(client: TestClient) -> None:
    assert upload(client, "foto_selfie").json()["code"] == "invalid_body"
    assert client.post(f"{API}/uploads", params={"document": "kk"}, content=PDF).json()["params"] == {"field": "name"}


def test_wrong_pins_are_rate_limited_per_receipt(client: TestClient, clock: ManualClock) -> None:
    answer = apply(client)
    receipt, pin = answer["receipt_number"], answer["pin"]
    wrong = f"{(int(pin) + 1) % 10**6:06d}"
    other = _staff_client(client)
    lefts = []
    for _ in range(PIN_TRIES_PER_RECEIPT - 1):
        response = other.post(f"{API}/access", json={"receipt_number": receipt, "pin": wrong})
        assert response.status_code == 401 and response.json()["code"] == "wrong_pin"
        lefts.append(response.json()["params"]["attempts_left"])
    assert lefts == list(range(PIN_TRIES_PER_RECEIPT - 1, 0, -1))
    locked = other.post(f"{API}/access", json={"receipt_number": receipt, "pin": wrong})
    assert locked.status_code == 429 and locked.json()["code"] == "pin_locked"
    assert int(locked.headers["Retry-After"]) == PIN_WINDOW_MS // 1000
    # Locked means locked: even the right PIN waits, so guessing cannot go on.
    right = other.post(f"{API}/access", json={"receipt_number": receipt, "pin": pin})
    assert right.status_code == 429
    assert other.get(f"{API}/applications/{receipt}").status_code == 401
    clock.advance(PIN_WINDOW_MS)
    unlock(other, receipt, pin)
    assert _app(other, receipt)["receipt_number"] == receipt


def test_pin_guessing_across_receipts_is_limited_per_client(client: TestClient) -> None:
    receipts = [apply(client)["receipt_number"] for _ in range(5)]
    guesser = _staff_client(client)
    codes = []
    for i in range(PIN_TRIES_PER_CLIENT + 1):
        receipt = receipts[i % len(receipts)] if i < 15 else f"LMP-AAAA-{i:04d}"  # unknown receipts count too
        codes.append(guesser.post(f"{API}/access", json={"receipt_number": receipt, "pin": "000000"}).json()["code"])
    assert codes[: PIN_TRIES_PER_CLIENT - 1].count("pin_locked") == 0
    assert codes[-1] == "pin_locked"


def test_malformed_pins_are_refused_before_counting(client: TestClient) -> None:
    answer = apply(client)
    for pin in ("12345", "1234567", "abcdef", ""):
        response = client.post(f"{API}/access", json={"receipt_number": answer["receipt_number"], "pin": pin})
        assert response.status_code == 422 and response.json()["params"] == {"field": "pin"}
    # none of them used up a try
    response = client.post(f"{API}/access", json={"receipt_number": answer["receipt_number"], "pin": "000000"})
    if answer["pin"] != "000000":
        assert response.json()["params"]["attempts_left"] == PIN_TRIES_PER_RECEIPT - 1


def test_staff_of_another_kelurahan_is_refused_and_nothing_is_recorded(client: TestClient) -> None:
    answer = apply(client)
    receipt = answer["receipt_number"]
    document_url = answer["application"]["documents"][0]["url"]
    genteng = _staff_client(client)
    headers = login(genteng, "petugas-genteng")
    assert _ok(genteng.get(f"{API}/staff/applications", headers=headers))["applications"] == []
    for response in (
        genteng.get(f"{API}/applications/{receipt}"),
        genteng.get(document_url),
        _post(genteng, receipt, "verify", headers),
        _post(genteng, receipt, "request-fix", headers, reasons=["x"]),
    ):
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "forbidden"
        assert FEMALE_NIK not in response.text
    assert _audit(genteng, headers) == []
    ketabang = _staff_client(client)
    ketabang_headers = login(ketabang, "petugas-ketabang")
    assert _audit(ketabang, ketabang_headers) == []  # nobody has seen it yet
    assert _app(ketabang, receipt)["status"] == "diajukan"  # and nothing changed


def test_documents_go_only_to_the_applicant_and_staff_each_staff_view_audited(client: TestClient) -> None:
    answer = apply(client)
    receipt = answer["receipt_number"]
    url = answer["application"]["documents"][0]["url"]
    stranger = _staff_client(client)
    assert stranger.get(url).status_code == 401
    mine = client.get(url)
    assert mine.status_code == 200 and mine.content == PDF
    assert mine.headers["content-type"] == "application/pdf"
    assert mine.headers["x-content-type-options"] == "nosniff"
    assert mine.headers["cache-control"] == "no-store"
    assert "sandbox" in mine.headers["content-security-policy"]
    staff = _staff_client(client)
    headers = login(staff, "petugas-ketabang")
    assert staff.get(url).content == PDF
    assert staff.get(f"{API}/applications/{receipt}/documents/buku_nikah_palsu").status_code == 404
    assert [e["what"] for e in _audit(staff, headers)] == ["document:surat_keterangan_lahir"]
    # Uploads are never reachable by a static path.
    assert client.get("/lampid/static/../uploads").status_code == 404


def test_kiosk_check_in_needs_a_device_the_right_status_and_the_day(client: TestClient, clock: ManualClock) -> None:
    answer = apply(client)
    receipt = answer["receipt_number"]
    path = f"{API}/receipts/{receipt}/check-in"
    assert client.post(path, json={}).status_code == 401
    early = client.post(path, json={}, headers=KIOSK)
    assert early.status_code == 409 and early.json()["code"] == "checkin_not_allowed"
    staff = _staff_client(client)
    headers = login(staff, "petugas-ketabang")
    _ok(_post(staff, receipt, "verify", headers))
    _ok(_post(staff, receipt, "issue", headers))
    slots = client.get(f"{API}/slots").json()["slots"]
    tomorrow = next(s for s in slots if s["date"] != slots[0]["date"])
    _ok(_post(client, receipt, "handover-slot", {"X-CSRF-Token": answer["csrf"]}, at=tomorrow["at"]))
    not_today = client.post(path, json={}, headers=KIOSK)
    assert not_today.status_code == 409 and not_today.json()["code"] == "handover_not_today"
    assert _app(client, receipt)["handover_ticket"] is None
    clock.advance(tomorrow["at"] + 40 * MINUTE - clock.now())  # late: after the grace, queued as a walk-in
    late = client.post(path, json={}, headers=KIOSK)
    assert late.status_code == 200 and late.json()["checked_in"] is True
    assert client.post(f"{API}/receipts/LMP-NONE-NONE/check-in", json={}, headers=KIOSK).status_code == 404


def test_restarting_the_server_rebuilds_every_application_from_the_log(tmp_path: Path) -> None:
    path = tmp_path / "antre.db"
    clock = ManualClock(START)
    with lampid_client(tmp_path, clock=clock, log=SqliteLog(path)) as client:
        birth = apply(client, K)
        death = apply(client, M)
        staff = _staff_client(client)
        headers = login(staff, "petugas-ketabang")
        _ok(_post(staff, birth["receipt_number"], "request-fix", headers, reasons=["KK buram"]))
        _ok(_post(staff, death["receipt_number"], "verify", headers))
        _ok(_post(staff, death["receipt_number"], "issue", headers))
        before = {r: _app(staff, r) for r in (birth["receipt_number"], death["receipt_number"])}
        audit_before = _audit(staff, headers)
    with lampid_client(tmp_path, clock=clock, log=SqliteLog(path)) as client:
        staff = _staff_client(client)
        headers = login(staff, "petugas-ketabang")
        after = {r: _app(staff, r) for r in before}
        assert after == before
        assert after[birth["receipt_number"]]["fix_reasons"] == ["KK buram"]
        assert _audit(staff, headers)[: len(audit_before)] == audit_before
        # The PIN still opens it (its hash came back from the log), and the documents are still there.
        phone = _staff_client(client)
        unlock(phone, birth["receipt_number"], birth["pin"])
        assert phone.get(after[birth["receipt_number"]]["documents"][0]["url"]).content == PDF


def test_pages_render_and_never_show_personal_data_without_access(client: TestClient) -> None:
    answer = apply(client)
    receipt = answer["receipt_number"]
    stranger = _staff_client(client)
    page = stranger.get(f"/lampid/r/{receipt}")
    assert page.status_code == 200
    assert FEMALE_NIK not in page.text and "Siti" not in page.text
    assert page.headers["cache-control"] == "no-store"
    mine = client.get(f"/lampid/r/{receipt}")
    assert FEMALE_NIK in mine.text  # the applicant's own page carries their data
    for path in ("/lampid", "/lampid/staff"):
        assert stranger.get(path).status_code == 200


def test_the_openapi_document_lists_the_module_and_its_errors(client: TestClient) -> None:
    document = client.get("/api/v1/openapi.json").json()
    assert f"{API}/applications" in document["paths"]
    assert "wrong_pin" in document["components"]["schemas"]["Error"]["properties"]["code"]["enum"]
    access = document["paths"][f"{API}/access"]["post"]["responses"]
    assert "401" in access and "429" in access
    assert all_documents(K)[0] in client.get("/lampid").text


def test_a_hand_over_missed_by_a_stopping_server_is_done_at_the_next_start(tmp_path: Path) -> None:
    path = tmp_path / "antre.db"
    clock = ManualClock(START)
    with lampid_client(tmp_path, clock=clock, log=SqliteLog(path)) as client:
        answer = apply(client)
        receipt = answer["receipt_number"]
        staff = _staff_client(client)
        headers = login(staff, "petugas-ketabang")
        _ok(_post(staff, receipt, "verify", headers))
        _ok(_post(staff, receipt, "issue", headers))
        slot = client.get(f"{API}/slots").json()["slots"][0]["at"]
        _ok(_post(client, receipt, "handover-slot", {"X-CSRF-Token": answer["csrf"]}, at=slot))
        clock.advance(slot - clock.now())
        assert client.post(f"{API}/receipts/{receipt}/check-in", json={}, headers=KIOSK).status_code == 200
        _ok(staff.post("/api/v1/counters/loket-1/open", json={}, headers=headers))
        _ok(staff.post("/api/v1/counters/loket-1/call-next", json={}, headers=headers))
        part = web_part(client)
        part._unsubscribe()  # the server is going down: its listener no longer runs
        part._unsubscribe = None
        _ok(staff.post("/api/v1/counters/loket-1/complete", json={}, headers=headers))
        assert _app(client, receipt)["status"] == "siap_diambil"
    with lampid_client(tmp_path, clock=clock, log=SqliteLog(path)) as client:
        assert client.portal is not None
        client.portal.call(web_part(client).idle)
        staff = _staff_client(client)
        login(staff, "petugas-ketabang")
        assert _app(staff, receipt)["status"] == "selesai"


def test_scripts_and_styles_travel_compressed_for_weak_signal(client: TestClient) -> None:
    for url in ("/lampid/static/status.js", "/lampid/static/lampid.css", "/static/antre.css"):
        response = client.get(url, headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200
        assert response.headers["content-encoding"] == "gzip"
        assert int(response.headers["content-length"]) < len(response.content) / 2
