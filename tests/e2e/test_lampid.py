"""e-Lampid in real headless Chromium against a real server (demo kecamatan office, SQLite log).

A citizen applies for a birth certificate with uploads and gets a receipt with a PIN; staff of the
kelurahan asks for a fix and the citizen's status page shows it live; the citizen resubmits; staff
verifies and issues; the citizen picks a handover slot; on the day the kiosk scans the receipt's
QR, and the handover ticket is called on the waiting-room board. Every wait is on a DOM condition.
``ANTRE_SCREENSHOTS=1`` saves ``docs/screenshots/lampid-*.png``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.board.support import LiveServer
from web.settings import Settings

from .test_flow import new_page, pytestmark, screenshot, text  # noqa: F401  (pytestmark: browser tests)

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64 + b"\xff\xd9"
BIRTH = {
    "child_name": "Bayi Nusantara",
    "child_sex": "P",
    "birth_date": "2026-11-20",
    "birth_place": "Surabaya",
    "mother_name": "Siti Aminah",
    "mother_nik": "3578014202920002",
    "father_name": "Budi Santoso",
    "father_nik": "3578010101900001",
    "kk_number": "3578011503150003",
    "reporter_name": "Budi Santoso",
    "reporter_nik": "3578010101900001",
    "reporter_relation": "ayah",
    "witness1_name": "Saksi Satu",
    "witness1_nik": "3578021203850004",
    "witness2_name": "Saksi Dua",
    "witness2_nik": "3578024507880005",
}
DOCUMENTS = ("surat_keterangan_lahir", "kk", "ktp_ayah", "ktp_ibu", "buku_nikah", "ktp_saksi_1", "ktp_saksi_2")


def _file(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def _staff_login(page: Any, user: str) -> None:
    page.wait_for_selector("#login-form")
    page.fill("#login-user", user)
    page.fill("#login-pass", "petugas-demo")
    page.click("#login-form button[type=submit]")


def _open_application(staff: Any, tab: str, receipt: str) -> None:
    staff.click(f"#tab-{tab}")
    staff.click(f".app-row[data-receipt='{receipt}']")
    staff.wait_for_selector(f"#d-receipt:text-is('{receipt}')")


def test_birth_certificate_applied_fixed_issued_and_collected(
    browser: Any, servers: list[LiveServer], tmp_path: Path
) -> None:
    settings = Settings(
        log_url=f"sqlite:///{tmp_path}/lampid.db",
        facility_path="demo:kelurahan",
        data_dir=str(tmp_path / "data"),
        heartbeat_s=1.0,
    )
    server = LiveServer(settings, seeded=False).start()
    servers.append(server)
    base = server.url

    # 1. The citizen applies from the phone: kind, kelurahan, fields, one upload per document.
    phone = new_page(browser, f"{base}/lampid", (390, 844), is_mobile=True, has_touch=True)
    phone.click("#kind-kelahiran")
    phone.select_option("#kelurahan", "Ketabang")
    for name, value in BIRTH.items():
        if phone.locator(f"#f-{name}").evaluate("e => e.tagName") == "SELECT":
            phone.select_option(f"#f-{name}", value)
        else:
            phone.fill(f"#f-{name}", value)
    for document in DOCUMENTS:
        phone.set_input_files(f"#doc-{document}", _file(tmp_path, f"{document}.pdf", PDF))
        phone.wait_for_selector(f"#doc-{document}-status:has-text('✓')")
    screenshot(phone, "lampid-apply.png", full_page=True)
    phone.click("#submit")
    phone.wait_for_selector("#receipt:not([hidden])")
    receipt = text(phone, "#receipt-number")
    pin = text(phone, "#receipt-pin").replace(" ", "")
    assert re.fullmatch(r"LMP-[0-9A-Z]{4}-[0-9A-Z]{4}", receipt)
    assert re.fullmatch(r"\d{6}", pin)
    assert phone.locator("#receipt-qr svg").count() == 1
    screenshot(phone, "lampid-receipt.png", full_page=True)

    # 2. The status page on another phone opens with the PIN, and stays live.
    status = new_page(browser, f"{base}/lampid/r/{receipt}", (390, 844), is_mobile=True, has_touch=True)
    status.fill("#pin", pin)
    status.click("#pin-submit")
    status.wait_for_selector("#status[data-status='diajukan']")
    status.wait_for_selector("#conn:has-text('Terhubung')")
    status.evaluate("() => { window.notReloaded = true; }")

    # 3. Staff of Ketabang sees it with the documents beside the checklist and asks for a fix.
    staff = new_page(browser, f"{base}/lampid/staff", (1440, 900))
    _staff_login(staff, "petugas-ketabang")
    _open_application(staff, "diajukan", receipt)
    staff.wait_for_selector("#doc-viewer")
    assert "Siti Aminah" in staff.inner_text("body")
    screenshot(staff, "lampid-staff.png")
    staff.click("#a-fix")
    staff.fill("#fix-reasons", "Foto KTP ibu tidak terbaca")
    staff.click("#fix-send")
    staff.wait_for_selector("#a-fix", state="hidden")

    # 4. The citizen's page shows it live, without a reload; they replace the document and resubmit.
    status.wait_for_selector("#status[data-status='perlu_perbaikan']")
    assert "Foto KTP ibu tidak terbaca" in text(status, "#fix")
    assert status.evaluate("() => window.notReloaded") is True
    screenshot(status, "lampid-fix.png", full_page=True)
    status.set_input_files("#doc-ktp_ibu", _file(tmp_path, "ktp-ibu.jpg", JPEG))
    status.wait_for_selector("#doc-ktp_ibu-status:has-text('✓')")
    status.click("#resubmit")
    status.wait_for_selector("#status[data-status='diajukan']")

    # 5. Staff verifies, then marks it issued.
    staff.click("#tab-diajukan")
    _open_application(staff, "diajukan", receipt)
    staff.click("#a-verify")
    staff.wait_for_selector("#a-issue", state="visible")
    staff.click("#a-issue")
    staff.wait_for_selector("#a-issue", state="hidden")
    status.wait_for_selector("#status[data-status='terbit']")

    # 6. The citizen picks the first handover slot.
    status.wait_for_selector(".slot")
    status.click(".slot >> nth=1")
    status.wait_for_selector("#status[data-status='siap_diambil']")
    # ... then thinks better of it: another time, earlier.
    status.click("#change-slot")
    status.wait_for_selector("#handover:not([hidden]) .slot")
    assert status.is_hidden("#delivery")  # a chosen handover is not turned into a delivery here
    slot_at = int(status.get_attribute(".slot >> nth=0", "data-at") or 0)
    slot_text = status.get_attribute(".slot >> nth=0", "aria-label") or ""
    status.click(".slot >> nth=0")
    status.wait_for_selector("#handover", state="hidden")
    assert status.inner_text("#slot-text").split()[-1] in slot_text
    assert status.locator("#receipt-qr svg").count() >= 1
    screenshot(status, "lampid-slot.png", full_page=True)

    # 7. On the day: the waiting-room board is on; the kiosk scans the receipt's QR (a USB scanner types it).
    server.clock.advance(slot_at - 5 * 60_000 - server.clock.now())
    board = new_page(browser, f"{base}/board/ruang-tunggu?token=papan-demo", (1920, 1080))
    board.wait_for_function("window.antreBoard && window.antreBoard.online === true")
    kiosk = new_page(browser, f"{base}/kiosk?token=kiosk-demo", (1080, 1920))
    kiosk.click("#to-checkin")
    kiosk.fill("#checkin-code", f"{base}/lampid/r/{receipt}")
    kiosk.press("#checkin-code", "Enter")
    kiosk.wait_for_selector("#checkin-result.ok")
    number = text(kiosk, "#checkin-result .num")
    assert number.startswith("E")
    status.wait_for_selector(f"#handover-number:has-text('{number}')")

    # 8. The counter calls it: the board shows and announces the number; the citizen's page says where to go.
    counter = new_page(browser, f"{base}/staff", (1366, 768))
    counter.wait_for_selector("#v-login:not([hidden])")
    counter.fill("#login-user", "petugas-ketabang")
    counter.fill("#login-pass", "petugas-demo")
    counter.click("#login-form button[type=submit]")
    counter.wait_for_selector("#v-console:not([hidden]), #v-pick:not([hidden])")
    if counter.is_visible("#v-pick"):
        counter.click("#pick-grid button:has-text('Loket 1')")
    counter.wait_for_selector("#c-status:is(.open, .paused, .closed)")
    if counter.is_enabled("#a-open"):
        counter.click("#a-open")
    counter.wait_for_selector(f"#wait .w-num:text-is('{number}')")
    counter.click("#a-next")
    board.wait_for_function("n => document.getElementById('now-number').textContent === n", arg=number)
    assert text(board, "#now-counter") == "Loket 1"
    assert [a["number"] for a in board.evaluate("() => window.antreBoard.announced")] == [number]
    status.wait_for_selector("#status:has-text('Loket 1')")
    screenshot(board, "lampid-board.png")

    for page in (phone, status, staff, kiosk, board, counter):
        assert page.errors == [], page.url
        page.context.close()


def test_a_death_certificate_delivered_with_the_couriers_updates_shown_live(
    browser: Any, servers: list[LiveServer], tmp_path: Path
) -> None:
    import httpx2 as httpx

    settings = Settings(
        log_url=f"sqlite:///{tmp_path}/lampid.db",
        facility_path="demo:kelurahan",
        data_dir=str(tmp_path / "data"),
        heartbeat_s=1.0,
    )
    server = LiveServer(settings, seeded=False).start()
    servers.append(server)
    base = server.url

    # The application arrives through the API (the form is the other test's subject).
    death = {
        "deceased_name": "Budi Santoso",
        "deceased_nik": "3578010101900001",
        "death_date": "2026-11-01",
        "death_place": "RSUD dr. Soetomo",
        "cause": "sakit",
        "kk_number": "3578011503150003",
        "reporter_name": "Pelapor",
        "reporter_nik": "3578031111800006",
        "reporter_relation": "anak",
        "witness1_name": "Saksi Satu",
        "witness1_nik": "3578021203850004",
        "witness2_name": "Saksi Dua",
        "witness2_nik": "3578024507880005",
    }
    documents = ("surat_keterangan_kematian", "ktp_almarhum", "kk_almarhum", "ktp_pelapor", "kk_pelapor")
    with httpx.Client(base_url=base) as api:
        uploads = {}
        for document in (*documents, "ktp_saksi_1", "ktp_saksi_2"):
            answer = api.post("/api/v1/lampid/uploads", params={"document": document, "name": "a.pdf"}, content=PDF)
            uploads[document] = answer.json()["upload_id"]
        body = {"kind": "kematian", "kelurahan": "Ketabang", "fields": death, "documents": uploads}
        receipt_answer = api.post("/api/v1/lampid/applications", json=body).json()
    receipt, pin = receipt_answer["receipt_number"], receipt_answer["pin"]

    status = new_page(browser, f"{base}/lampid/r/{receipt}", (390, 844), is_mobile=True, has_touch=True)
    status.on("dialog", lambda dialog: dialog.accept())
    status.fill("#pin", pin)
    status.click("#pin-submit")
    status.wait_for_selector("#status[data-status='diajukan']")

    staff = new_page(browser, f"{base}/lampid/staff", (1440, 900))
    _staff_login(staff, "petugas-ketabang")
    _open_application(staff, "diajukan", receipt)
    staff.click("#a-verify")
    staff.wait_for_selector("#a-issue", state="visible")
    staff.click("#a-issue")
    status.wait_for_selector("#status[data-status='terbit']")

    status.click("#delivery")
    status.wait_for_selector("#status[data-status='dikirim']")
    _open_application(staff, "dikirim", receipt)
    staff.fill("#courier-ref", "POS-123")
    staff.fill("#courier-note", "Dibawa kurir Pos Indonesia")
    staff.click("#a-delivery-update")
    status.wait_for_selector("#courier-updates li:has-text('Dibawa kurir Pos Indonesia')")
    assert text(status, "#courier-ref") == "POS-123"
    screenshot(status, "lampid-delivery.png", full_page=True)
    staff.click("#a-delivered")
    status.wait_for_selector("#status[data-status='selesai']")

    for page in (status, staff):
        assert page.errors == [], page.url
        page.context.close()
