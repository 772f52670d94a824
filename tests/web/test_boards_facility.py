"""Boards (device token, staff, admin) and the public facility description."""

from __future__ import annotations

from starlette.testclient import TestClient

from queue_engine.clock import ManualClock

from .conftest import BOARD, BOARD_APOTEK, MINUTE, issue, login, open_counters


def test_a_display_reads_its_own_board(client: TestClient) -> None:
    issue(client)
    response = client.get("/api/v1/boards/ruang-tunggu", headers=BOARD)
    assert response.status_code == 200
    board = response.json()
    assert board["display"] == "ruang-tunggu" and board["display_name"] == "Ruang Tunggu Utama"
    assert [q["service"] for q in board["queues"]] == ["LOKET", "UMUM", "GIGI", "KIA"]
    assert board["queues"][0] == {"service": "LOKET", "name": "Loket Pendaftaran", "waiting": 1, "next": ["A001"]}
    assert board["calls"] == []


def test_a_tv_may_pass_its_token_in_the_query(client: TestClient) -> None:
    assert client.get("/api/v1/boards/ruang-tunggu?token=papan-demo").status_code == 200


def test_a_display_cannot_read_another_board(client: TestClient) -> None:
    response = client.get("/api/v1/boards/ruang-tunggu", headers=BOARD_APOTEK)
    assert response.status_code == 403 and response.json()["code"] == "forbidden"


def test_an_unknown_board_is_not_found(client: TestClient) -> None:
    login(client, "admin")
    response = client.get("/api/v1/boards/nope")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_standing_calls_newest_first(client: TestClient, clock: ManualClock) -> None:
    issue(client)
    issue(client)
    csrf = login(client, "petugas-loket")
    open_counters(client, "loket-1", "loket-2")
    client.post("/api/v1/counters/loket-1/call-next", headers=csrf)
    clock.advance(MINUTE)
    client.post("/api/v1/counters/loket-2/call-next", headers=csrf)
    calls = client.get("/api/v1/boards/ruang-tunggu").json()["calls"]
    assert [(c["number"], c["counter"]) for c in calls] == [("A002", "loket-2"), ("A001", "loket-1")]
    assert calls[0]["counter_name"] == "Loket 2" and calls[0]["at"] == clock.now()
    assert "speech" in calls[0]
    # the apotek board shows none of them
    assert client.get("/api/v1/boards/apotek-lab", headers=BOARD_APOTEK).json()["calls"] == []


def test_facility_is_public(client: TestClient) -> None:
    response = client.get("/api/v1/facility")
    assert response.status_code == 200
    facility = response.json()
    assert facility["name"] == "Puskesmas Ketabang (demo)" and facility["timezone"] == "Asia/Jakarta"
    loket = facility["services"][0]
    assert loket == {
        "code": "LOKET",
        "name": "Loket Pendaftaran",
        "prefix": "A",
        "hours": {
            "mon": ["07:00-12:00"],
            "tue": ["07:00-12:00"],
            "wed": ["07:00-12:00"],
            "thu": ["07:00-12:00"],
            "fri": ["07:00-10:30"],
            "sat": ["07:00-11:00"],
        },
        "next_stages": ["UMUM", "GIGI", "KIA", "LAB"],
    }
    assert facility["counters"][2] == {
        "id": "umum-1",
        "name": "Ruang Poli Umum 1",
        "kind": "ruang",
        "services": ["UMUM"],
    }
    assert facility["displays"][1] == {
        "id": "apotek-lab",
        "name": "Ruang Tunggu Apotek dan Lab",
        "services": ["LAB", "APOTEK"],
    }
    assert facility["priorities"] == ["darurat", "lansia", "disabilitas", "ibu_hamil", "balita", "umum"]
    assert facility["policy"] == {"priority_ratio": [2, 1]}
