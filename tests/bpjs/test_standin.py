"""The BPJS stand-in behaves as documented, over a real socket with httpx2.

These tests pin the stand-in itself (headers checked, order enforced, 208 on duplicates, faults
injected), so that the bridge's tests can trust what it answers.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest

from modules.bpjs import crypto
from tests.bpjs_standin import CONS_ID, FKTP, RS, SECRET, TOLERANCE_S, USER_KEY, BpjsStandIn, Fault

#: Thursday 2026-11-26 08:00 WIB, in Unix seconds: the stand-in's fixed clock
NOW = 1_795_654_800
NOW_MS = NOW * 1000
MINUTE_MS = 60_000


@pytest.fixture(scope="module")
def server() -> Iterator[BpjsStandIn]:
    with BpjsStandIn(clock_s=NOW) as standin:
        yield standin


@pytest.fixture
def bpjs(server: BpjsStandIn) -> BpjsStandIn:
    """The module's stand-in, reset: no bookings, no requests, no faults, the clock at NOW."""
    server.reset()
    return server


def add_body(**overrides: Any) -> dict[str, Any]:
    """A valid antreanrs antrean/add request (the catalog example, with a 13-digit card)."""
    body: dict[str, Any] = {
        "kodebooking": "20261126A012",
        "jenispasien": "JKN",
        "nomorkartu": "0001234567890",
        "nik": "3578012345678901",
        "nohp": "081234567890",
        "kodepoli": "ANA",
        "namapoli": "Anak",
        "pasienbaru": 0,
        "norm": "123345",
        "tanggalperiksa": "2026-11-26",
        "kodedokter": 12345,
        "namadokter": "dr. Hendra, Sp.A",
        "jampraktek": "08:00-16:00",
        "jeniskunjungan": 1,
        "nomorreferensi": "0001R0040116A000001",
        "nomorantrean": "A-12",
        "angkaantrean": 12,
        "estimasidilayani": NOW_MS + 30 * MINUTE_MS,
        "sisakuotajkn": 5,
        "kuotajkn": 30,
        "sisakuotanonjkn": 5,
        "kuotanonjkn": 30,
        "keterangan": "Peserta harap 30 menit lebih awal guna pencatatan administrasi.",
    }
    body.update(overrides)
    return body


FKTP_ENTRY = {"tanggalperiksa": "2026-11-26", "kodepoli": "001", "nomorkartu": "0001234567890"}


def fktp_add_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = FKTP_ENTRY | {
        "nik": "3578012345678901",
        "nohp": "081234567890",
        "namapoli": "Umum",
        "norm": "000123",
        "kodedokter": 998877,
        "namadokter": "dr. Sari",
        "jampraktek": "08:00-12:00",
        "nomorantrean": "A-3",
        "angkaantrean": 3,
        "keterangan": "",
    }
    body.update(overrides)
    return body


def post(
    standin: BpjsStandIn,
    path: str,
    body: Any,
    *,
    service: str = RS,
    headers: dict[str, str] | None = None,
    timeout: float = 5.0,
) -> httpx.Response:
    """POST ``body`` as JSON to ``service``/``path``, signed with the stand-in's credentials unless ``headers``."""
    base = standin.rs_url if service == RS else standin.fktp_url
    sent = standin.headers_for(service) if headers is None else headers
    return httpx.post(f"{base}/{path}", json=body, headers=sent, timeout=timeout)


def answer(response: httpx.Response) -> tuple[int, str]:
    """(metadata code, message) of an HTTP 200 answer."""
    assert response.status_code == 200, response.text
    code, message, _ = crypto.parse_envelope(response.json())
    return code, message


def task(standin: BpjsStandIn, taskid: int, waktu: int, kodebooking: str = "20261126A012") -> tuple[int, str]:
    return answer(post(standin, "antrean/updatewaktu", {"kodebooking": kodebooking, "taskid": taskid, "waktu": waktu}))


# -- headers -------------------------------------------------------------------------------------


def test_a_signed_add_is_accepted_and_recorded(bpjs: BpjsStandIn) -> None:
    """Good headers and body: HTTP 200, code 200, and the request in `accepted` and `received`."""
    response = post(bpjs, "antrean/add", add_body())
    assert response.json() == {"metadata": {"code": 200, "message": "Ok"}}
    (call,) = bpjs.accepted
    assert (call.service, call.path, call.body, call.code) == (RS, "antrean/add", add_body(), 200)
    assert call.headers == crypto.headers(CONS_ID, SECRET, USER_KEY, str(NOW))
    assert bpjs.received == [call]


def signed(*, cons_id: str = CONS_ID, secret: str = SECRET, user_key: str = USER_KEY, ts: int = NOW) -> dict[str, str]:
    return crypto.headers(cons_id, secret, user_key, str(ts))


@pytest.mark.parametrize(
    ("headers", "named"),
    [
        (signed(cons_id="99999"), "x-cons-id"),
        ({k: v for k, v in signed().items() if k != "x-cons-id"}, "x-cons-id"),
        (signed(user_key="kunci-lain"), "user_key"),
        (signed(user_key="kunci-antreanfktp"), "user_key"),  # the other service's key
        ({k: v for k, v in signed().items() if k != "user_key"}, "user_key"),
        (signed(ts=NOW - TOLERANCE_S - 1), "x-timestamp"),
        (signed(ts=NOW + TOLERANCE_S + 1), "x-timestamp"),
        (signed() | {"x-timestamp": "1795654800.5"}, "x-timestamp"),
        (signed() | {"x-timestamp": str(NOW_MS)}, "x-timestamp"),  # milliseconds, a common mistake
        (signed(secret="rahasia-lain"), "x-signature"),
        (signed() | {"x-timestamp": str(NOW + 1)}, "x-signature"),  # signed for another second
        ({k: v for k, v in signed().items() if k != "x-signature"}, "x-signature"),
    ],
    ids=[
        "wrong-cons-id",
        "no-cons-id",
        "wrong-user-key",
        "fktp-user-key",
        "no-user-key",
        "timestamp-too-old",
        "timestamp-too-new",
        "timestamp-fraction",
        "timestamp-ms",
        "wrong-secret",
        "signature-of-other-timestamp",
        "no-signature",
    ],
)
def test_bad_headers_are_refused_with_code_201(bpjs: BpjsStandIn, headers: dict[str, str], named: str) -> None:
    """HTTP 200 with metadata 201 naming the header at fault; nothing accepted."""
    code, message = answer(post(bpjs, "antrean/add", add_body(), headers=headers))
    assert code == 201 and named in message
    assert bpjs.accepted == [] and bpjs.bookings == {}
    assert [call.code for call in bpjs.received] == [201]


@pytest.mark.parametrize("offset", [-TOLERANCE_S, TOLERANCE_S], ids=["300s-behind", "300s-ahead"])
def test_timestamps_within_tolerance_are_accepted(bpjs: BpjsStandIn, offset: int) -> None:
    """A client clock up to 300 s off is fine."""
    assert answer(post(bpjs, "antrean/add", add_body(), headers=signed(ts=NOW + offset))) == (200, "Ok")


def test_the_test_sets_the_stand_ins_clock(bpjs: BpjsStandIn) -> None:
    """After set_clock, the tolerance window follows the new time."""
    bpjs.set_clock(NOW + 3600)
    code, message = answer(post(bpjs, "antrean/add", add_body(), headers=signed(ts=NOW)))
    assert code == 201 and "x-timestamp" in message
    assert answer(post(bpjs, "antrean/add", add_body(), headers=signed(ts=NOW + 3600))) == (200, "Ok")


def test_antreanfktp_takes_its_own_user_key(bpjs: BpjsStandIn) -> None:
    """antreanfktp refuses the antreanrs user_key and accepts its own."""
    code, message = answer(post(bpjs, "antrean/add", fktp_add_body(), service=FKTP, headers=signed()))
    assert code == 201 and "user_key" in message
    assert answer(post(bpjs, "antrean/add", fktp_add_body(), service=FKTP)) == (200, "Ok")


# -- antrean/add ------------------------------------------------------------------------------------


def test_a_repeated_add_answers_208(bpjs: BpjsStandIn) -> None:
    """The same kodebooking again: 208 "Terdapat duplikasi Kode Booking", accepted only once."""
    assert answer(post(bpjs, "antrean/add", add_body()))[0] == 200
    assert answer(post(bpjs, "antrean/add", add_body(nomorantrean="A-13"))) == (208, "Terdapat duplikasi Kode Booking")
    assert len(bpjs.accepted) == 1 and len(bpjs.received) == 2


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"kodedokter": "12345"}, "kodedokter"),
        ({"pasienbaru": True}, "pasienbaru"),
        ({"estimasidilayani": 1.5e12}, "estimasidilayani"),
        ({"norm": 123345}, "norm"),
        ({"jenispasien": "BPJS"}, "jenispasien"),
        ({"nomorkartu": "00012345678"}, "nomorkartu"),
        ({"nomorkartu": ""}, "nomorkartu"),
        ({"nik": "35780123"}, "nik"),
        ({"nomorreferensi": ""}, "nomorreferensi"),
        ({"pasienbaru": 2}, "pasienbaru"),
        ({"jeniskunjungan": 5}, "jeniskunjungan"),
        ({"tanggalperiksa": "26-11-2026"}, "tanggalperiksa"),
        ({"tanggalperiksa": "2026-02-30"}, "tanggalperiksa"),
        ({"jampraktek": "08:00 - 16:00"}, "jampraktek"),
        ({"sisakuotajkn": 31}, "sisakuotajkn"),
        ({"kuotanonjkn": -1}, "kuotanonjkn"),
        ({"kodebooking": ""}, "kodebooking"),
        ({"nomor_kartu": "0001234567890"}, "nomor_kartu"),
    ],
    ids=lambda value: str(value) if isinstance(value, str) else "",
)
def test_a_bad_add_field_is_named(bpjs: BpjsStandIn, overrides: dict[str, Any], field: str) -> None:
    """A wrong type, value or an unknown field: 201 naming it, and no booking."""
    code, message = answer(post(bpjs, "antrean/add", add_body(**overrides)))
    assert code == 201 and field in message
    assert bpjs.bookings == {}


@pytest.mark.parametrize("missing", ["kodebooking", "nohp", "kuotanonjkn", "keterangan"])
def test_a_missing_add_field_is_named(bpjs: BpjsStandIn, missing: str) -> None:
    """Every catalog field is required."""
    body = add_body()
    del body[missing]
    code, message = answer(post(bpjs, "antrean/add", body))
    assert code == 201 and missing in message


def test_a_non_jkn_patient_has_no_card_and_no_referral(bpjs: BpjsStandIn) -> None:
    """NON JKN with an empty nomorkartu and nomorreferensi is accepted (the catalog says to leave them empty)."""
    body = add_body(jenispasien="NON JKN", nomorkartu="", nomorreferensi="")
    assert answer(post(bpjs, "antrean/add", body)) == (200, "Ok")


def test_a_body_that_is_not_a_json_object_is_refused(bpjs: BpjsStandIn) -> None:
    """A list, or text that is not JSON, gets 201 too."""
    assert answer(post(bpjs, "antrean/add", [add_body()]))[0] == 201
    response = httpx.post(f"{bpjs.rs_url}/antrean/add", content=b"{", headers=bpjs.headers_for(), timeout=5)
    assert answer(response)[0] == 201
    assert bpjs.received[-1].body is None


# -- antrean/updatewaktu and batal ------------------------------------------------------------------


def test_tasks_in_order_are_accepted_and_a_repeat_answers_208(bpjs: BpjsStandIn) -> None:
    """3-4-5 in order with times going forward; 4 again: 208 "TaskId=4 sudah ada"."""
    post(bpjs, "antrean/add", add_body())
    for taskid, minutes in ((3, 0), (4, 5), (5, 5)):
        assert task(bpjs, taskid, NOW_MS + minutes * MINUTE_MS) == (200, "Ok")
    assert task(bpjs, 4, NOW_MS + 5 * MINUTE_MS) == (208, "TaskId=4 sudah ada")
    assert bpjs.tasks("20261126A012") == {3: NOW_MS, 4: NOW_MS + 5 * MINUTE_MS, 5: NOW_MS + 5 * MINUTE_MS}
    assert [call.path for call in bpjs.accepted] == ["antrean/add"] + ["antrean/updatewaktu"] * 3


def test_a_smaller_task_after_a_larger_one_is_refused(bpjs: BpjsStandIn) -> None:
    """1 then 3, then 2: 201 (out of order), and 2 is not recorded."""
    post(bpjs, "antrean/add", add_body(pasienbaru=1))
    task(bpjs, 1, NOW_MS)
    task(bpjs, 3, NOW_MS + MINUTE_MS)
    code, message = task(bpjs, 2, NOW_MS + 2 * MINUTE_MS)
    assert code == 201 and "TaskId=2" in message
    assert list(bpjs.tasks("20261126A012")) == [1, 3]


def test_a_task_earlier_than_the_previous_one_is_refused(bpjs: BpjsStandIn) -> None:
    """Task 4 at 07:59 after task 3 at 08:00: 201."""
    post(bpjs, "antrean/add", add_body())
    task(bpjs, 3, NOW_MS)
    code, message = task(bpjs, 4, NOW_MS - MINUTE_MS)
    assert code == 201 and "lebih awal" in message


def test_a_task_for_an_unknown_booking_is_refused(bpjs: BpjsStandIn) -> None:
    """updatewaktu before antrean/add: 201."""
    code, message = task(bpjs, 3, NOW_MS, kodebooking="TIDAKADA")
    assert code == 201 and "tidak ditemukan" in message
    assert bpjs.accepted == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"taskid": 8}, "taskid"),
        ({"taskid": "3"}, "taskid"),
        ({"waktu": "1795654800000"}, "waktu"),
        ({"waktu": 0}, "waktu"),
        ({"jenisresep": "Puyer"}, "jenisresep"),
        ({"catatan": "x"}, "catatan"),
    ],
    ids=["taskid-8", "taskid-string", "waktu-string", "waktu-zero", "jenisresep", "unknown-field"],
)
def test_a_bad_updatewaktu_field_is_named(bpjs: BpjsStandIn, body: dict[str, Any], field: str) -> None:
    post(bpjs, "antrean/add", add_body())
    base = {"kodebooking": "20261126A012", "taskid": 3, "waktu": NOW_MS}
    code, message = answer(post(bpjs, "antrean/updatewaktu", base | body))
    assert code == 201 and field in message


def test_jenisresep_is_optional_and_checked(bpjs: BpjsStandIn) -> None:
    """A pharmacy RS may send jenisresep with the task."""
    post(bpjs, "antrean/add", add_body())
    body = {"kodebooking": "20261126A012", "taskid": 3, "waktu": NOW_MS, "jenisresep": "Racikan"}
    assert answer(post(bpjs, "antrean/updatewaktu", body)) == (200, "Ok")


def test_task_99_ends_the_booking(bpjs: BpjsStandIn) -> None:
    """After 99 (tidak hadir/batal) nothing else is taken; 99 again answers 208."""
    post(bpjs, "antrean/add", add_body())
    task(bpjs, 3, NOW_MS)
    assert task(bpjs, 99, NOW_MS + MINUTE_MS) == (200, "Ok")
    assert task(bpjs, 99, NOW_MS + MINUTE_MS) == (208, "TaskId=99 sudah ada")
    assert task(bpjs, 4, NOW_MS + 2 * MINUTE_MS)[0] == 201


def test_batal_cancels_once(bpjs: BpjsStandIn) -> None:
    """batal: 200, then 201 for the same booking again or an unknown one; no task after it."""
    post(bpjs, "antrean/add", add_body())
    batal = {"kodebooking": "20261126A012", "keterangan": "Terjadi perubahan jadwal dokter"}
    assert answer(post(bpjs, "antrean/batal", batal)) == (200, "Ok")
    assert answer(post(bpjs, "antrean/batal", batal))[0] == 201
    assert answer(post(bpjs, "antrean/batal", batal | {"kodebooking": "TIDAKADA"}))[0] == 201
    assert task(bpjs, 3, NOW_MS)[0] == 201


def test_getlisttask_answers_encrypted_with_the_request_timestamp(bpjs: BpjsStandIn) -> None:
    """The task list comes back as an encrypted string that crypto.open_response opens; reads are not "accepted"."""
    post(bpjs, "antrean/add", add_body())
    task(bpjs, 3, NOW_MS)
    stamp = str(NOW - 10)
    sent = bpjs.headers_for(timestamp=stamp)
    body = post(bpjs, "antrean/getlisttask", {"kodebooking": "20261126A012"}, headers=sent).json()
    assert isinstance(body["response"], str)
    code, _, response = crypto.open_response(body, cons_id=CONS_ID, secret=SECRET, timestamp=stamp)
    assert code == 200
    assert response == {
        "list": [
            {
                "wakturs": "26-11-2026 08:00:00 WIB",
                "waktu": "26-11-2026 08:00:00 WIB",
                "taskname": "akhir waktu layan admisi/mulai waktu tunggu poli",
                "taskid": 3,
                "kodebooking": "20261126A012",
            }
        ]
    }
    assert [call.path for call in bpjs.accepted] == ["antrean/add", "antrean/updatewaktu"]


# -- antreanfktp ------------------------------------------------------------------------------------


def panggil(standin: BpjsStandIn, status: int, waktu: int) -> tuple[int, str]:
    body = FKTP_ENTRY | {"status": status, "waktu": waktu}
    return answer(post(standin, "antrean/panggil", body, service=FKTP))


def test_fktp_add_panggil_batal(bpjs: BpjsStandIn) -> None:
    """add (208 again), tidak hadir then hadir, the same call again 208, back in time 201; batal once."""
    assert answer(post(bpjs, "antrean/add", fktp_add_body(), service=FKTP)) == (200, "Ok")
    assert answer(post(bpjs, "antrean/add", fktp_add_body(), service=FKTP))[0] == 208
    assert panggil(bpjs, 2, NOW_MS) == (200, "Ok")
    assert panggil(bpjs, 1, NOW_MS + MINUTE_MS) == (200, "Ok")
    assert panggil(bpjs, 1, NOW_MS + MINUTE_MS)[0] == 208
    assert panggil(bpjs, 1, NOW_MS)[0] == 201
    batal = FKTP_ENTRY | {"alasan": "Pasien tidak datang"}
    assert answer(post(bpjs, "antrean/batal", batal, service=FKTP)) == (200, "Ok")
    assert answer(post(bpjs, "antrean/batal", batal, service=FKTP))[0] == 201
    assert panggil(bpjs, 1, NOW_MS + 2 * MINUTE_MS)[0] == 201
    paths = [(call.service, call.path) for call in bpjs.accepted]
    assert paths == [
        (FKTP, "antrean/add"),
        (FKTP, "antrean/panggil"),
        (FKTP, "antrean/panggil"),
        (FKTP, "antrean/batal"),
    ]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("antrean/add", fktp_add_body(kodebooking="X"), "kodebooking"),  # FKTP has no booking code
        ("antrean/add", fktp_add_body(nomorkartu="123"), "nomorkartu"),
        ("antrean/panggil", FKTP_ENTRY | {"status": 3, "waktu": NOW_MS}, "status"),
        ("antrean/panggil", FKTP_ENTRY | {"status": 1}, "waktu"),
        ("antrean/batal", FKTP_ENTRY | {"keterangan": "x"}, "keterangan"),  # FKTP calls it alasan
    ],
    ids=["add-kodebooking", "add-nomorkartu", "panggil-status", "panggil-no-waktu", "batal-keterangan"],
)
def test_a_bad_fktp_field_is_named(bpjs: BpjsStandIn, path: str, body: dict[str, Any], field: str) -> None:
    code, message = answer(post(bpjs, path, body, service=FKTP))
    assert code == 201 and field in message


def test_fktp_panggil_for_an_unknown_patient_is_refused(bpjs: BpjsStandIn) -> None:
    assert panggil(bpjs, 1, NOW_MS)[0] == 201


# -- failure injection ------------------------------------------------------------------------------


def test_http_500_for_the_next_n_requests(bpjs: BpjsStandIn) -> None:
    """fail_next(2): two HTTP 500s that change nothing, then the request goes through."""
    bpjs.fail_next(2, Fault.HTTP_500)
    statuses = [post(bpjs, "antrean/add", add_body()).status_code for _ in range(3)]
    assert statuses == [500, 500, 200]
    assert [call.fault for call in bpjs.received] == [Fault.HTTP_500, Fault.HTTP_500, None]
    assert [call.code for call in bpjs.accepted] == [200]


def test_refuse_answers_the_code_and_message_given(bpjs: BpjsStandIn) -> None:
    """Fault.REFUSE: HTTP 200, metadata 201 with the message, nothing applied; the next one goes through."""
    bpjs.fail_next(1, Fault.REFUSE, message="Service sedang sibuk")
    assert answer(post(bpjs, "antrean/add", add_body())) == (201, "Service sedang sibuk")
    assert bpjs.bookings == {}
    assert answer(post(bpjs, "antrean/add", add_body())) == (200, "Ok")


def test_refuse_can_answer_another_code(bpjs: BpjsStandIn) -> None:
    bpjs.fail_next(1, Fault.REFUSE, code=208, message="TaskId=3 sudah ada")
    assert answer(post(bpjs, "antrean/add", add_body())) == (208, "TaskId=3 sudah ada")


def test_a_timeout_loses_the_request(bpjs: BpjsStandIn) -> None:
    """Fault.TIMEOUT: the client times out and nothing was applied, so the retry gets 200, not 208."""
    bpjs.fail_next(1, Fault.TIMEOUT)
    with pytest.raises(httpx.ReadTimeout):
        post(bpjs, "antrean/add", add_body(), timeout=0.5)
    assert bpjs.bookings == {}
    assert answer(post(bpjs, "antrean/add", add_body())) == (200, "Ok")
    assert [call.fault for call in bpjs.received] == [Fault.TIMEOUT, None]


def test_a_timeout_after_apply_makes_the_retry_a_duplicate(bpjs: BpjsStandIn) -> None:
    """Fault.TIMEOUT_AFTER_APPLY: BPJS took the request but the answer never came; the retry gets 208."""
    bpjs.fail_next(1, Fault.TIMEOUT_AFTER_APPLY)
    with pytest.raises(httpx.ReadTimeout):
        post(bpjs, "antrean/add", add_body(), timeout=0.5)
    assert "20261126A012" in bpjs.bookings
    assert answer(post(bpjs, "antrean/add", add_body()))[0] == 208
    assert [call.code for call in bpjs.accepted] == [200]


def test_faults_apply_in_the_order_they_were_set(bpjs: BpjsStandIn) -> None:
    """Queued faults are used one per request, first set first used, whatever the path."""
    bpjs.fail_next(1, Fault.REFUSE)
    bpjs.fail_next(1, Fault.HTTP_500)
    assert answer(post(bpjs, "antrean/add", add_body()))[0] == 201
    assert post(bpjs, "antrean/updatewaktu", {}).status_code == 500
    assert answer(post(bpjs, "antrean/add", add_body()))[0] == 200


def test_release_ends_a_hang(bpjs: BpjsStandIn) -> None:
    """A client that waits longer than the hang is answered (HTTP 500) once the test calls release()."""
    bpjs.fail_next(1, Fault.TIMEOUT)
    responses: list[httpx.Response] = []
    client = threading.Thread(target=lambda: responses.append(post(bpjs, "antrean/add", add_body(), timeout=30)))
    client.start()
    bpjs.wait_received(1)
    bpjs.release()
    client.join(10)
    assert [response.status_code for response in responses] == [500]


def test_reset_forgets_everything(bpjs: BpjsStandIn) -> None:
    """After reset(): no booking, no request recorded, no pending fault, the clock back where it started."""
    post(bpjs, "antrean/add", add_body())
    bpjs.fail_next(1, Fault.HTTP_500)
    bpjs.set_clock(NOW + 3600)
    bpjs.reset()
    assert (bpjs.bookings, bpjs.received, bpjs.accepted, bpjs.now_s()) == ({}, [], [], NOW)
    assert answer(post(bpjs, "antrean/add", add_body())) == (200, "Ok")


def test_wait_received_times_out(bpjs: BpjsStandIn) -> None:
    with pytest.raises(TimeoutError, match="0 of 1"):
        bpjs.wait_received(1, timeout=0.05)


# -- options ----------------------------------------------------------------------------------------


def test_base_path_and_metadata_spelling() -> None:
    """base= puts the services under a prefix; metadata_key="metaData" answers as older services do."""
    with BpjsStandIn(clock_s=NOW, base="/bpjs/", metadata_key="metaData") as standin:
        assert standin.rs_url.endswith("/bpjs/antreanrs")
        body = post(standin, "antrean/add", add_body()).json()
        assert body == {"metaData": {"code": 200, "message": "Ok"}}


def test_the_real_clock_is_used_without_clock_s() -> None:
    """Without clock_s the stand-in checks x-timestamp against the real time."""
    with BpjsStandIn() as standin:
        assert answer(post(standin, "antrean/add", add_body()))[0] == 200
        code, message = answer(post(standin, "antrean/add", add_body(), headers=signed(ts=NOW)))
        assert code == 201 and "x-timestamp" in message
