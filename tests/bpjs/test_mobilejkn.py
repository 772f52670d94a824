"""The endpoints Mobile JKN calls, through the app: token, status, booking, remaining, cancel, check-in, new patient.

The app runs the demo puskesmas with the BPJS module (its UMUM service: quota 120, 90 JKN, 30 non-JKN)
on a memory log and a manual clock (Thursday 2026-11-26 08:00 WIB). Every answer is HTTP 200 with
BPJS's envelope; what a booking does is checked on the engine's own state.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from starlette.testclient import TestClient

from modules.bpjs import mobilejkn
from modules.bpjs.mobilejkn import ENV_PASSWORD_SHA256, ENV_USERNAME, KETERANGAN
from modules.bpjs.module import BpjsModule, BpjsState
from queue_engine.clock import ManualClock
from queue_engine.config import load_facility
from queue_engine.domain.commands import CallNext, Complete
from queue_engine.domain.ids import CounterId, ServiceCode
from queue_engine.domain.model import Channel, Facility, Payer
from queue_engine.domain.state import Ticket
from queue_engine.domain.status import TicketStatus
from queue_engine.log.base import LogUnavailable
from queue_engine.runtime import Runtime

from ..web.conftest import BOARD, KIOSK, MINUTE, START, api_client, open_counters, runtime_of, submit

USERNAME, PASSWORD = "bpjs-mobilejkn", "rahasia-mobile-jkn"
WIB = ZoneInfo("Asia/Jakarta")
TODAY, TOMORROW = "2026-11-26", "2026-11-27"
NIK, CARD, PHONE = "3578014101900003", "0001234567890", "081234567890"
POLI = {
    "UMUM": {
        "kodepoli": "UMU",
        "namapoli": "Poli Umum",
        "kodedokter": 12345,
        "namadokter": "dr. Sari",
        "jampraktek": "08:00-12:00",
    },
    "GIGI": {
        "kodepoli": "GIG",
        "namapoli": "Poli Gigi",
        "kodedokter": 67890,
        "namadokter": "drg. Budi",
        "jampraktek": "08:00 - 11:00",  # as HFIS writes it
    },
}


def facility(jkn: int | None = None) -> Facility:
    base = load_facility()
    services = dict(base.services)
    if jkn is not None:
        umum = services[ServiceCode("UMUM")]
        services[umum.code] = replace(umum, quota=replace(umum.quota, jkn=jkn))
    module = BpjsModule(registration=["LOKET"], pharmacy=["APOTEK"], poli=POLI)
    return replace(base, services=services, modules=(module,))


def local_ms(day: str, hhmm: str) -> int:
    return int(datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=WIB).timestamp() * 1000)


def booking(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "nomorkartu": CARD,
        "nik": NIK,
        "nohp": PHONE,
        "kodepoli": "UMU",
        "norm": "RM-001234",
        "tanggalperiksa": TOMORROW,
        "kodedokter": 12345,
        "jampraktek": "08:00-12:00",
        "jeniskunjungan": 1,
        "nomorreferensi": "0301R0011125B000123",
    }
    body.update(overrides)
    return body


def status_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kodepoli": "UMU",
        "kodedokter": 12345,
        "tanggalperiksa": TOMORROW,
        "jampraktek": "08:00-12:00",
    }
    body.update(overrides)
    return body


class MobileJkn:
    """Mobile JKN's side: a token, then calls with x-token and x-username."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.token = self.get_token()["response"]["token"]

    def refresh(self) -> None:
        self.token = self.get_token()["response"]["token"]

    def get_token(self, username: str = USERNAME, password: str = PASSWORD) -> dict[str, Any]:
        return answer(
            self.client.get("/bpjs/mobilejkn/token", headers={"x-username": username, "x-password": password})
        )

    def post(self, path: str, body: Any, *, token: str | None = None) -> dict[str, Any]:
        headers = {"x-token": self.token if token is None else token, "x-username": USERNAME}
        return answer(self.client.post(f"/bpjs/mobilejkn/{path}", json=body, headers=headers))

    def book(self, **overrides: Any) -> dict[str, Any]:
        reply = self.post("ambilantrean", booking(**overrides))
        assert reply["metadata"]["code"] == 200, reply
        response: dict[str, Any] = reply["response"]
        return response


def answer(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text  # BPJS always gets HTTP 200
    data: dict[str, Any] = response.json()
    assert set(data["metadata"]) == {"code", "message"}
    return data


def refused(reply: dict[str, Any], *words: str) -> None:
    assert reply["metadata"]["code"] == 201, reply
    assert "response" not in reply
    for word in words:
        assert word.lower() in reply["metadata"]["message"].lower(), reply


def tickets(runtime: Runtime) -> list[Ticket]:
    return list(runtime.state.tickets.values())


def bpjs(runtime: Runtime) -> BpjsState:
    state: BpjsState = runtime.state.modules["bpjs"]
    return state


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_USERNAME, USERNAME)
    monkeypatch.setenv(ENV_PASSWORD_SHA256, hashlib.sha256(PASSWORD.encode()).hexdigest())


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def client(credentials: None, clock: ManualClock) -> Iterator[TestClient]:
    with api_client(clock=clock, facility=facility()) as c:
        yield c


@pytest.fixture
def jkn(client: TestClient) -> MobileJkn:
    return MobileJkn(client)


# -- token -----------------------------------------------------------------------------------------


def test_a_token_for_the_right_credentials(jkn: MobileJkn) -> None:
    reply = jkn.get_token()
    assert reply["metadata"] == {"code": 200, "message": "Ok"}
    assert isinstance(reply["response"]["token"], str) and reply["response"]["token"]


@pytest.mark.parametrize(("username", "password"), [(USERNAME, "salah"), ("orang-lain", PASSWORD), ("", "")])
def test_no_token_for_wrong_credentials(jkn: MobileJkn, username: str, password: str) -> None:
    refused(jkn.get_token(username, password), "username atau password")


def test_password_guessing_is_locked_out_for_a_while(jkn: MobileJkn, clock: ManualClock) -> None:
    for _ in range(10):
        refused(jkn.get_token(password="tebakan"), "password")
    refused(jkn.get_token(), "terlalu banyak")  # even the right password, for now
    clock.advance(15 * MINUTE)
    assert jkn.get_token()["metadata"]["code"] == 200


def test_without_credentials_configured_every_call_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_USERNAME, raising=False)
    monkeypatch.delenv(ENV_PASSWORD_SHA256, raising=False)
    with api_client(facility=facility()) as client:
        reply = answer(client.get("/bpjs/mobilejkn/token", headers={"x-username": "", "x-password": ""}))
        refused(reply, "belum dikonfigurasi")
        refused(answer(client.post("/bpjs/mobilejkn/statusantrean", json=status_body())), "belum dikonfigurasi")


def test_a_password_setting_that_is_not_a_sha256_keeps_the_service_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_USERNAME, USERNAME)
    monkeypatch.setenv(ENV_PASSWORD_SHA256, PASSWORD)  # the password itself, by mistake
    with api_client(facility=facility()) as client:
        headers = {"x-username": USERNAME, "x-password": PASSWORD}
        refused(answer(client.get("/bpjs/mobilejkn/token", headers=headers)), "belum dikonfigurasi")


@pytest.mark.parametrize("token", ["", "bukan-token", "bpjs-mobilejkn.AAAA.BBBB"])
def test_calls_need_a_valid_token(jkn: MobileJkn, token: str) -> None:
    refused(jkn.post("statusantrean", status_body(), token=token), "Token expired / tidak valid")


def test_a_token_for_another_username_is_refused(jkn: MobileJkn) -> None:
    headers = {"x-token": jkn.token, "x-username": "orang-lain"}
    refused(answer(jkn.client.post("/bpjs/mobilejkn/statusantrean", json=status_body(), headers=headers)), "Token")


def test_a_token_expires_after_an_hour(jkn: MobileJkn, clock: ManualClock) -> None:
    clock.advance(59 * MINUTE)
    assert jkn.post("statusantrean", status_body())["metadata"]["code"] == 200
    clock.advance(2 * MINUTE)
    refused(jkn.post("statusantrean", status_body()), "Token expired")
    jkn.refresh()
    assert jkn.post("statusantrean", status_body())["metadata"]["code"] == 200


# -- statusantrean -----------------------------------------------------------------------------------


def test_status_of_an_empty_poli(jkn: MobileJkn) -> None:
    reply = jkn.post("statusantrean", status_body())
    assert reply["metadata"] == {"code": 200, "message": "Ok"}
    assert reply["response"] == {
        "namapoli": "Poli Umum",
        "namadokter": "dr. Sari",
        "totalantrean": 0,
        "sisaantrean": 0,
        "antreanpanggil": "-",
        "sisakuotajkn": 90,
        "kuotajkn": 90,
        "sisakuotanonjkn": 30,
        "kuotanonjkn": 30,
        "keterangan": "",
    }


def test_status_counts_the_engines_tickets(jkn: MobileJkn, client: TestClient) -> None:
    jkn.book(tanggalperiksa=TODAY)
    jkn.book(tanggalperiksa=TODAY, nomorkartu="0001234567891", nik="3578014101900004")
    walk_in = client.post("/api/v1/tickets", json={"service": "UMUM"}, headers=KIOSK)  # a non-JKN walk-in
    assert walk_in.status_code == 201
    response = jkn.post("statusantrean", status_body(tanggalperiksa=TODAY))["response"]
    assert (response["totalantrean"], response["sisaantrean"]) == (3, 3)
    assert (response["sisakuotajkn"], response["sisakuotanonjkn"]) == (88, 29)
    assert jkn.post("statusantrean", status_body())["response"]["totalantrean"] == 0  # tomorrow: nobody yet


# -- ambilantrean ----------------------------------------------------------------------------------


def test_a_booking_is_a_real_engine_ticket(jkn: MobileJkn, client: TestClient) -> None:
    runtime = runtime_of(client)
    response = jkn.book()
    (ticket,) = tickets(runtime)
    assert (ticket.service, ticket.payer, ticket.channel) == ("UMUM", Payer.JKN, Channel.BPJS)
    assert ticket.appointment_at == local_ms(TOMORROW, "08:00")
    assert (ticket.day, ticket.status, ticket.checked_in) == (TOMORROW, TicketStatus.WAITING, False)
    assert response == {
        "nomorantrean": ticket.number,
        "angkaantrean": 1,
        "kodebooking": "20261127B001",
        "norm": "RM-001234",
        "namapoli": "Poli Umum",
        "namadokter": "dr. Sari",
        "estimasidilayani": local_ms(TOMORROW, "08:00"),  # first of the day: served at the start
        "sisakuotajkn": 89,
        "kuotajkn": 90,
        "sisakuotanonjkn": 30,
        "kuotanonjkn": 30,
        "keterangan": KETERANGAN,
    }
    visit = bpjs(runtime).visits[ticket.id]
    assert (visit.kodebooking, visit.jenispasien, visit.source, visit.pasienbaru) == (
        "20261127B001",
        "JKN",
        "mobilejkn",
        0,
    )
    assert (visit.nik, visit.nomorkartu, visit.nohp, visit.jeniskunjungan) == (NIK, CARD, PHONE, 1)
    # in the UMUM queue, after the patient checks in on the day
    assert ticket.id in {tid for _, tid in runtime.state.services[ServiceCode("UMUM")].waitlist.pending[ticket.lane]}


def test_the_next_booking_waits_behind_and_the_quota_goes_down(jkn: MobileJkn) -> None:
    first = jkn.book()
    second = jkn.book(nomorkartu="0001234567891", nik="3578014101900004")
    assert (second["nomorantrean"], second["angkaantrean"], second["kodebooking"]) == ("B002", 2, "20261127B002")
    assert second["estimasidilayani"] == first["estimasidilayani"] + 10 * MINUTE  # spm_min 10, one ahead
    assert (first["sisakuotajkn"], second["sisakuotajkn"]) == (89, 88)
    assert jkn.post("statusantrean", status_body())["response"]["sisakuotajkn"] == 88


def test_a_booking_for_today_after_the_start_is_for_now(jkn: MobileJkn, client: TestClient, clock: ManualClock) -> None:
    clock.advance(90 * MINUTE)  # 09:30, the practice began at 08:00
    jkn.refresh()
    jkn.book(tanggalperiksa=TODAY)
    (ticket,) = tickets(runtime_of(client))
    assert ticket.appointment_at == clock.now()


def test_a_retried_booking_returns_the_same_booking(jkn: MobileJkn, client: TestClient) -> None:
    first = jkn.book()
    position = runtime_of(client).state.position
    assert jkn.book() == first
    assert len(tickets(runtime_of(client))) == 1
    assert runtime_of(client).state.position == position  # nothing written


def test_a_second_booking_of_one_card_for_one_date_and_poli_is_refused(jkn: MobileJkn, client: TestClient) -> None:
    jkn.book()
    position = runtime_of(client).state.position
    refused(jkn.post("ambilantrean", booking(nomorreferensi="0301R0011125B000999")), "1 kali")
    refused(jkn.post("ambilantrean", booking(nohp="081111111111")), "1 kali")
    assert runtime_of(client).state.position == position
    assert len(tickets(runtime_of(client))) == 1
    assert jkn.book(kodepoli="GIG", kodedokter=67890, jampraktek="08:00-11:00")["kodebooking"] == "20261127C001"
    assert jkn.book(tanggalperiksa=TODAY)["kodebooking"] == "20261126B001"


def test_when_the_jkn_quota_is_used_up_nothing_is_issued(credentials: None) -> None:
    with api_client(facility=facility(jkn=2)) as client:
        jkn = MobileJkn(client)
        jkn.book()
        assert jkn.book(nomorkartu="0001234567891", nik="3578014101900004")["sisakuotajkn"] == 0
        position = runtime_of(client).state.position
        refused(jkn.post("ambilantrean", booking(nomorkartu="0001234567892")), "Kuota JKN", "sudah habis")
        assert runtime_of(client).state.position == position
        assert len(tickets(runtime_of(client))) == 2
        assert len(bpjs(runtime_of(client)).visits) == 2


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"nik": "35780141019000"}, ("NIK", "16 digit")),
        ({"nik": "35780141019000AB"}, ("NIK", "16 digit")),
        ({"nomorkartu": "123"}, ("nomor kartu", "13 digit")),
        ({"tanggalperiksa": "2026-11-25"}, ("tanggalperiksa", "mundur")),
        ({"tanggalperiksa": "2026-12-04"}, ("tanggalperiksa", "7 hari")),
        ({"tanggalperiksa": "27-11-2026"}, ("tanggalperiksa", "yyyy-mm-dd")),
        ({"tanggalperiksa": "2026-02-30"}, ("tanggalperiksa", "yyyy-mm-dd")),
        ({"kodepoli": "XYZ"}, ("Poli XYZ", "tidak ditemukan")),
        ({"kodedokter": 99}, ("Dokter 99",)),
        ({"jampraktek": "13:00-16:00"}, ("jampraktek", "08:00-12:00")),
        ({"jampraktek": "pagi"}, ("jampraktek", "HH:MM")),
        ({"jeniskunjungan": 5}, ("jeniskunjungan",)),
        ({"nohp": "nomor saya"}, ("nohp",)),
        ({"nik": None}, ("nik", "belum diisi")),
        ({"kodepoli": ["UMU"]}, ("kodepoli",)),
    ],
)
def test_invalid_bookings_are_refused_by_name(
    jkn: MobileJkn, client: TestClient, change: dict[str, Any], words: tuple[str, ...]
) -> None:
    reply = jkn.post("ambilantrean", booking(**change))
    refused(reply, *words)
    for secret in (NIK, CARD, PHONE):
        assert secret not in reply["metadata"]["message"]
    assert runtime_of(client).state.position == 0
    assert tickets(runtime_of(client)) == []


def test_a_visit_the_module_refuses_issues_no_ticket(jkn: MobileJkn, client: TestClient) -> None:
    # The module's check_visit (a JKN visit needs its referral) runs before the ticket is issued.
    reply = jkn.post("ambilantrean", booking(nomorreferensi=""))
    runtime = runtime_of(client)
    assert set(runtime.state.tickets) == set(bpjs(runtime).visits)  # never a ticket without its visit
    if reply["metadata"]["code"] != 200:
        refused(reply, "nomorreferensi")
        assert runtime.state.position == 0


def test_a_booking_on_a_day_the_poli_is_closed_is_refused(jkn: MobileJkn, client: TestClient) -> None:
    refused(jkn.post("ambilantrean", booking(tanggalperiksa="2026-11-29")), "tidak buka")  # a Sunday
    assert tickets(runtime_of(client)) == []


def test_a_booking_after_the_practice_hours_is_refused(jkn: MobileJkn, clock: ManualClock) -> None:
    clock.advance(4 * 60 * MINUTE)  # 12:00, the practice ended
    jkn.refresh()
    refused(jkn.post("ambilantrean", booking(tanggalperiksa=TODAY)), "sudah tutup")


def test_an_empty_norm_means_a_new_patient(jkn: MobileJkn, client: TestClient) -> None:
    reply = jkn.post("ambilantrean", booking(norm=""))
    assert reply["metadata"] == {"code": 202, "message": "Pasien Baru"}
    assert tickets(runtime_of(client)) == []


def test_unknown_fields_are_ignored_and_a_non_object_is_refused(jkn: MobileJkn) -> None:
    assert jkn.post("ambilantrean", booking(fieldbaru="x", lainnya={"a": 1}))["metadata"]["code"] == 200
    refused(jkn.post("ambilantrean", [booking()]), "objek JSON")
    headers = {"x-token": jkn.token, "x-username": USERNAME, "content-type": "application/json"}
    refused(answer(jkn.client.post("/bpjs/mobilejkn/ambilantrean", content=b"{no", headers=headers)), "JSON")
    refused(answer(jkn.client.post("/bpjs/mobilejkn/ambilantrean", content=b"x" * 20_000, headers=headers)), "JSON")


# -- sisaantrean, batalantrean, checkin ------------------------------------------------------------------


def test_remaining_queue_of_a_booking(jkn: MobileJkn, client: TestClient) -> None:
    first = jkn.book(tanggalperiksa=TODAY)
    second = jkn.book(tanggalperiksa=TODAY, nomorkartu="0001234567891", nik="3578014101900004")
    reply = jkn.post("sisaantrean", {"kodebooking": second["kodebooking"]})
    assert reply["response"] == {
        "nomorantrean": "B002",
        "namapoli": "Poli Umum",
        "namadokter": "dr. Sari",
        "sisaantrean": 2,
        "antreanpanggil": "-",
        "waktutunggu": 600,  # seconds: spm 10 min x (2 - 1)
        "keterangan": "",
    }
    assert jkn.post("checkin", {"kodebooking": first["kodebooking"], "waktu": START})["metadata"]["code"] == 200
    open_counters(client, "umum-1")
    submit(client, CallNext(at=runtime_of(client).now(), counter=CounterId("umum-1"), actor="dokter"))
    response = jkn.post("sisaantrean", {"kodebooking": second["kodebooking"]})["response"]
    assert (response["sisaantrean"], response["waktutunggu"], response["antreanpanggil"]) == (1, 0, "B001")
    called = jkn.post("sisaantrean", {"kodebooking": first["kodebooking"]})["response"]
    assert (called["sisaantrean"], called["keterangan"]) == (0, "Nomor antrean Anda sedang dipanggil")
    status = jkn.post("statusantrean", status_body(tanggalperiksa=TODAY))["response"]
    assert (status["antreanpanggil"], status["sisaantrean"]) == ("B001", 2)


def test_unknown_booking_codes_are_refused(jkn: MobileJkn) -> None:
    for path in ("sisaantrean", "batalantrean", "checkin"):
        refused(jkn.post(path, {"kodebooking": "20261127Z999", "waktu": START}), "tidak ditemukan")
    refused(jkn.post("sisaantrean", {}), "kodebooking belum diisi")


def test_cancel_then_status_then_book_again(jkn: MobileJkn, client: TestClient) -> None:
    booked = jkn.book()
    reply = jkn.post("batalantrean", {"kodebooking": booked["kodebooking"], "keterangan": "tidak jadi"})
    assert reply == {"metadata": {"code": 200, "message": "Ok"}}
    (ticket,) = tickets(runtime_of(client))
    assert ticket.status is TicketStatus.CANCELLED
    status = jkn.post("statusantrean", status_body())["response"]
    assert (status["sisakuotajkn"], status["totalantrean"]) == (90, 0)
    refused(jkn.post("batalantrean", {"kodebooking": booked["kodebooking"]}), "sudah dibatalkan")
    refused(jkn.post("sisaantrean", {"kodebooking": booked["kodebooking"]}), "sudah dibatalkan")
    refused(jkn.post("checkin", {"kodebooking": booked["kodebooking"], "waktu": START}), "sudah dibatalkan")
    again = jkn.book()  # the card may book again once its booking is cancelled
    assert again["kodebooking"] == "20261127B002"
    assert jkn.book() == again


def test_cancel_is_refused_once_checked_in(jkn: MobileJkn, client: TestClient) -> None:
    booked = jkn.book(tanggalperiksa=TODAY)
    jkn.post("checkin", {"kodebooking": booked["kodebooking"], "waktu": START})
    refused(jkn.post("batalantrean", {"kodebooking": booked["kodebooking"]}), "tidak dapat dibatalkan")
    assert tickets(runtime_of(client))[0].status is TicketStatus.WAITING


def test_cancel_is_refused_once_the_date_has_passed(jkn: MobileJkn, client: TestClient, clock: ManualClock) -> None:
    booked = jkn.book(tanggalperiksa=TODAY)
    clock.advance(24 * 60 * MINUTE)
    jkn.refresh()
    refused(jkn.post("batalantrean", {"kodebooking": booked["kodebooking"]}), "sudah lewat")


def test_check_in_marks_the_ticket_checked_in(jkn: MobileJkn, client: TestClient) -> None:
    booked = jkn.book(tanggalperiksa=TODAY)
    (ticket,) = tickets(runtime_of(client))
    assert not ticket.checked_in
    reply = jkn.post("checkin", {"kodebooking": booked["kodebooking"], "waktu": START})
    assert reply == {"metadata": {"code": 200, "message": "Ok"}}
    assert runtime_of(client).state.tickets[ticket.id].checked_in
    assert jkn.post("checkin", {"kodebooking": booked["kodebooking"], "waktu": START})["metadata"]["code"] == 200
    board = client.get("/api/v1/boards/ruang-tunggu", headers=BOARD).json()
    assert "B001" in next(q["next"] for q in board["queues"] if q["service"] == "UMUM")


def test_a_served_patient_has_nothing_left_to_do(jkn: MobileJkn, client: TestClient) -> None:
    booked = jkn.book(tanggalperiksa=TODAY)
    jkn.post("checkin", {"kodebooking": booked["kodebooking"], "waktu": START})
    open_counters(client, "umum-1")
    now = runtime_of(client).now()
    submit(client, CallNext(at=now, counter=CounterId("umum-1"), actor="dokter"))
    submit(client, Complete(at=now, counter=CounterId("umum-1"), actor="dokter"))
    refused(jkn.post("sisaantrean", {"kodebooking": booked["kodebooking"]}), "selesai dilayani")
    refused(jkn.post("checkin", {"kodebooking": booked["kodebooking"], "waktu": START}), "status antrean")
    refused(jkn.post("batalantrean", {"kodebooking": booked["kodebooking"]}), "tidak dapat dibatalkan")
    refused(jkn.post("sisaantrean", {"kodebooking": "x" * 33}), "terlalu panjang")


def test_check_in_only_on_the_day(jkn: MobileJkn, client: TestClient) -> None:
    booked = jkn.book()
    refused(jkn.post("checkin", {"kodebooking": booked["kodebooking"], "waktu": START}), "tanggal periksa")
    refused(jkn.post("checkin", {"kodebooking": booked["kodebooking"]}), "waktu belum diisi")
    assert not tickets(runtime_of(client))[0].checked_in


# -- pasienbaru --------------------------------------------------------------------------------------


def new_patient(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "nomorkartu": CARD,
        "nik": NIK,
        "nomorkk": "3578010101080001",
        "nama": "Siti Aminah",
        "jeniskelamin": "P",
        "tanggallahir": "1990-01-01",
        "nohp": PHONE,
        "alamat": "Jl. Ketabang Kali 1",
        "kodeprop": "35",
        "namaprop": "Jawa Timur",
        "kodedati2": "3578",
        "namadati2": "Kota Surabaya",
        "kodekec": "357801",
        "namakec": "Genteng",
        "kodekel": "3578011001",
        "namakel": "Ketabang",
        "rw": "001",
        "rt": "002",
    }
    body.update(overrides)
    return body


def test_a_new_patient_gets_a_medical_record_number_and_nothing_is_stored(jkn: MobileJkn, client: TestClient) -> None:
    reply = jkn.post("pasienbaru", new_patient())
    assert reply["metadata"]["code"] == 200
    norm = reply["response"]["norm"]
    assert re.fullmatch(r"MJ\d{8}", norm)
    assert runtime_of(client).state.position == 0  # the name and address are not written anywhere
    assert jkn.book(norm=norm)["norm"] == norm


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"nomorkk": "12"}, ("nomor KK", "16 digit")),
        ({"nik": "x"}, ("NIK",)),
        ({"jeniskelamin": "X"}, ("jeniskelamin",)),
        ({"tanggallahir": "2030-01-01"}, ("tanggallahir",)),
        ({"nama": ""}, ("nama belum diisi",)),
        ({"namakel": None}, ("namakel belum diisi",)),
    ],
)
def test_invalid_new_patients_are_refused_by_name(
    jkn: MobileJkn, change: dict[str, Any], words: tuple[str, ...]
) -> None:
    refused(jkn.post("pasienbaru", new_patient(**change)), *words)


# -- privacy -----------------------------------------------------------------------------------------


def test_the_nik_card_and_phone_never_reach_a_ticket_view_a_board_or_a_log_line(
    jkn: MobileJkn, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    booked = jkn.book(tanggalperiksa=TODAY)
    jkn.post("checkin", {"kodebooking": booked["kodebooking"], "waktu": START})
    jkn.post("pasienbaru", new_patient())
    jkn.post("ambilantrean", booking(nik="123"))
    (ticket,) = tickets(runtime_of(client))
    views = [
        client.get(f"/api/v1/tickets/{ticket.token}").text,
        client.get("/api/v1/boards/ruang-tunggu", headers=BOARD).text,
    ]
    assert "B001" in views[0] and "B001" in views[1]
    for secret in (NIK, CARD, PHONE, "Siti Aminah"):
        assert all(secret not in view for view in views)
        assert secret not in caplog.text


@pytest.mark.parametrize(
    ("error", "words"),
    [(LogUnavailable("redis down"), "sibuk"), (RuntimeError("bug"), "kesalahan pada sistem")],
)
def test_a_failing_engine_is_a_201_never_a_500(
    jkn: MobileJkn, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, error: Exception, words: str
) -> None:
    async def failing(request: Any, command: Any) -> None:
        raise error

    monkeypatch.setattr(mobilejkn, "submit", failing)
    refused(jkn.post("ambilantrean", booking()), words)
    assert NIK not in caplog.text and CARD not in caplog.text
