"""The staff console's counter view and every counter action, through the API."""

from __future__ import annotations

from starlette.testclient import TestClient

from queue_engine.clock import ManualClock
from queue_engine.runtime import Runtime

from .conftest import MINUTE, issue, login

COUNTER = "/api/v1/counters/loket-1"


def test_counter_view_lists_the_waiting_in_call_order(client: TestClient) -> None:
    first = issue(client)
    issue(client, priority="lansia")
    csrf = login(client, "petugas-loket")
    view = client.get(COUNTER).json()
    assert view["counter"] == "loket-1" and view["name"] == "Loket 1"
    assert view["status"] == "closed" and view["pause_reason"] == ""
    assert view["current"] is None and view["undo"] is None
    assert [w["number"] for w in view["waiting"]] == ["A002", "A001"]  # priority first (ratio 2:1)
    assert all("token" not in w for w in view["waiting"])
    assert first["token"] not in str(view)
    assert client.post(f"{COUNTER}/open", headers=csrf).json()["status"] == "open"


def test_a_day_at_the_counter(client: TestClient, clock: ManualClock, runtime: Runtime) -> None:
    a1, a2, a3 = issue(client), issue(client), issue(client)
    csrf = login(client, "petugas-loket")
    assert client.post(f"{COUNTER}/open", headers=csrf).status_code == 200

    view = client.post(f"{COUNTER}/call-next", headers=csrf).json()
    assert view["current"]["number"] == a1["number"] and view["current"]["status"] == "called"
    assert view["undo"] == {"action": "call", "until": clock.now() + 120_000}
    assert client.post(f"{COUNTER}/recall", headers=csrf).json()["current"]["status"] == "called"
    assert client.post(f"{COUNTER}/start", headers=csrf).json()["current"]["status"] == "serving"
    clock.advance(4 * MINUTE)
    view = client.post(f"{COUNTER}/complete", headers=csrf).json()
    assert view["current"] is None and view["undo"]["action"] == "complete"

    view = client.post(f"{COUNTER}/call-next", headers=csrf).json()
    assert view["current"]["number"] == a2["number"]
    view = client.post(f"{COUNTER}/call-next", json={"complete_current": True}, headers=csrf).json()
    assert view["current"]["number"] == a3["number"]
    view = client.post(f"{COUNTER}/skip", headers=csrf).json()
    assert view["current"] is None
    assert client.get(f"/api/v1/tickets/{a3['token']}").json()["status"] == "missed"

    view = client.post(f"{COUNTER}/pause", json={"reason": "istirahat"}, headers=csrf).json()
    assert view["status"] == "paused" and view["pause_reason"] == "istirahat"
    assert client.post(f"{COUNTER}/open", headers=csrf).json()["status"] == "open"
    assert client.post(f"{COUNTER}/close", headers=csrf).json()["status"] == "closed"


def test_call_a_ticket_out_of_order(client: TestClient, runtime: Runtime) -> None:
    issue(client)
    second = issue(client)
    csrf = login(client, "petugas-loket")
    client.post(f"{COUNTER}/open", headers=csrf)
    ticket_id = runtime.state.by_token[second["token"]]
    view = client.post(f"{COUNTER}/call", json={"ticket_id": ticket_id, "reason": "dipanggil dokter"}, headers=csrf)
    assert view.status_code == 200
    assert view.json()["current"] == {"ticket_id": ticket_id, "number": "A002", "status": "called", "service": "LOKET"}


def test_undo_takes_back_the_last_call_within_the_window(client: TestClient, clock: ManualClock) -> None:
    ticket = issue(client)
    csrf = login(client, "petugas-loket")
    client.post(f"{COUNTER}/open", headers=csrf)
    client.post(f"{COUNTER}/call-next", headers=csrf)
    view = client.post(f"{COUNTER}/undo", headers=csrf).json()
    assert view["current"] is None and view["undo"] is None
    assert client.get(f"/api/v1/tickets/{ticket['token']}").json()["status"] == "waiting"
    again = client.post(f"{COUNTER}/undo", headers=csrf)
    assert again.status_code == 409 and again.json()["code"] == "nothing_to_undo"

    client.post(f"{COUNTER}/call-next", headers=csrf)
    clock.advance(121_000)
    assert client.get(COUNTER).json()["undo"] is None
    late = client.post(f"{COUNTER}/undo", headers=csrf)
    assert late.status_code == 409 and late.json()["code"] == "nothing_to_undo"


def test_complete_to_the_next_stage(client: TestClient, runtime: Runtime) -> None:
    ticket = issue(client)
    csrf = login(client, "admin")
    client.post(f"{COUNTER}/open", headers=csrf)
    client.post(f"{COUNTER}/call-next", headers=csrf)
    view = client.post(f"{COUNTER}/complete", json={"next_service": "GIGI"}, headers=csrf)
    assert view.status_code == 200
    moved = runtime.state.tickets[runtime.state.by_token[ticket["token"]]]
    assert moved.service == "GIGI" and moved.number == "C001"


def test_admin_naming_an_unknown_counter_gets_404(client: TestClient) -> None:
    csrf = login(client, "admin")
    for response in (client.get("/api/v1/counters/nope"), client.post("/api/v1/counters/nope/open", headers=csrf)):
        assert response.status_code == 404
        assert response.json()["code"] == "unknown_counter"


def test_staff_asking_for_an_unknown_counter_gets_403(client: TestClient) -> None:
    login(client, "petugas-loket")
    assert client.get("/api/v1/counters/nope").status_code == 403


def test_an_unknown_action_is_not_found(client: TestClient) -> None:
    csrf = login(client, "admin")
    response = client.post(f"{COUNTER}/explode", headers=csrf)
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_actions_need_the_csrf_token(client: TestClient, runtime: Runtime) -> None:
    csrf = login(client, "petugas-loket")
    before = runtime.state.snapshot()
    for headers in ({}, {"X-CSRF-Token": "forged"}):
        response = client.post(f"{COUNTER}/open", headers=headers)
        assert response.status_code == 403 and response.json()["code"] == "csrf_failed"
    assert runtime.state.snapshot() == before
    assert client.post(f"{COUNTER}/open", headers=csrf).status_code == 200


def test_counter_view_shows_remote_tickets_not_checked_in_after_the_present_ones(client: TestClient) -> None:
    """A phone booking not yet checked in is listed after the present tickets, flagged as such."""
    issue(client)
    remote = issue(client, headers={})  # anonymous: a booking from a phone, not checked in
    login(client, "petugas-loket")
    waiting = client.get(COUNTER).json()["waiting"]
    assert [(w["number"], w["checked_in"]) for w in waiting] == [("A001", True), (remote["number"], False)]


def test_counter_view_lists_missed_tickets_for_requeue(client: TestClient) -> None:
    """A skipped ticket appears under "missed" with its id, so staff can requeue it."""
    issue(client)
    csrf = login(client, "petugas-loket")
    client.post(f"{COUNTER}/open", headers=csrf)
    called = client.post(f"{COUNTER}/call-next", headers=csrf).json()["current"]
    view = client.post(f"{COUNTER}/skip", headers=csrf).json()
    assert [m["ticket_id"] for m in view["missed"]] == [called["ticket_id"]]
    requeue = client.post(f"/api/v1/staff/tickets/{called['ticket_id']}/requeue", headers=csrf)
    assert requeue.status_code == 200, requeue.text
    assert client.get(COUNTER).json()["missed"] == []


def test_a_press_sent_again_with_its_idempotency_key_is_not_carried_out_twice(
    client: TestClient, runtime: Runtime
) -> None:
    """The console lost the answer to "next, completing the current" and sends it again with the same key."""
    a1, a2, a3 = issue(client), issue(client), issue(client)
    csrf = login(client, "petugas-loket")
    client.post(f"{COUNTER}/open", headers=csrf)
    client.post(f"{COUNTER}/call-next", headers=csrf)
    press = {**csrf, "Idempotency-Key": "press-7f3a9c2e-0001"}
    first = client.post(f"{COUNTER}/call-next", json={"complete_current": True}, headers=press)
    position = runtime.state.position
    again = client.post(f"{COUNTER}/call-next", json={"complete_current": True}, headers=press)
    assert first.status_code == again.status_code == 200
    assert first.json()["current"]["number"] == again.json()["current"]["number"] == a2["number"]
    assert runtime.state.position == position  # nothing written the second time
    assert client.get(f"/api/v1/tickets/{a3['token']}").json()["status"] == "waiting"
    assert client.get(f"/api/v1/tickets/{a1['token']}").json()["status"] == "done"
    fresh = {**csrf, "Idempotency-Key": "press-7f3a9c2e-0002"}  # a new press is a new key
    view = client.post(f"{COUNTER}/call-next", json={"complete_current": True}, headers=fresh).json()
    assert view["current"]["number"] == a3["number"]


def test_a_bad_idempotency_key_is_refused_and_changes_nothing(client: TestClient, runtime: Runtime) -> None:
    issue(client)
    csrf = login(client, "petugas-loket")
    client.post(f"{COUNTER}/open", headers=csrf)
    position = runtime.state.position
    for key in ("short", "x" * 129, "spaces\tand\ttabs\tare-no-key"):
        answer = client.post(f"{COUNTER}/call-next", headers={**csrf, "Idempotency-Key": key})
        assert answer.status_code == 422 and answer.json()["code"] == "invalid_body", key
    assert runtime.state.position == position
