"""Staff actions on a ticket by id: requeue, cancel, transfer."""

from __future__ import annotations

from starlette.testclient import TestClient

from queue_engine.runtime import Runtime

from .conftest import issue, login


def _missed(client: TestClient, csrf: dict[str, str]) -> str:
    """Issue a ticket, call it at loket-1 and mark it missed; its id."""
    issue(client)
    client.post("/api/v1/counters/loket-1/open", headers=csrf)
    view = client.post("/api/v1/counters/loket-1/call-next", headers=csrf).json()
    client.post("/api/v1/counters/loket-1/skip", headers=csrf)
    ticket_id: str = view["current"]["ticket_id"]
    return ticket_id


def test_requeue_a_missed_ticket(client: TestClient) -> None:
    csrf = login(client, "petugas-loket")
    ticket_id = _missed(client, csrf)
    response = client.post(f"/api/v1/staff/tickets/{ticket_id}/requeue", headers=csrf)
    assert response.status_code == 200
    body = response.json()
    assert body["ticket_id"] == ticket_id and body["status"] == "waiting"
    assert "token" not in body


def test_cancel_with_a_reason(client: TestClient, runtime: Runtime) -> None:
    ticket = issue(client)
    ticket_id = runtime.state.by_token[ticket["token"]]
    csrf = login(client, "petugas-loket")
    response = client.post(f"/api/v1/staff/tickets/{ticket_id}/cancel", json={"reason": "pulang"}, headers=csrf)
    assert response.status_code == 200 and response.json()["status"] == "cancelled"


def test_transfer_to_another_service(client: TestClient, runtime: Runtime) -> None:
    ticket = issue(client)
    ticket_id = runtime.state.by_token[ticket["token"]]
    csrf = login(client, "petugas-loket")
    response = client.post(
        f"/api/v1/staff/tickets/{ticket_id}/transfer", json={"to_service": "KIA", "reason": "ibu hamil"}, headers=csrf
    )
    assert response.status_code == 200
    assert response.json()["service"] == "KIA" and response.json()["number"] == "D001"


def test_staff_act_only_on_tickets_their_counters_serve(client: TestClient, runtime: Runtime) -> None:
    ticket = issue(client)  # LOKET: petugas-loket's, not petugas-poli's
    ticket_id = runtime.state.by_token[ticket["token"]]
    csrf = login(client, "petugas-poli")
    before = runtime.state.snapshot()
    response = client.post(f"/api/v1/staff/tickets/{ticket_id}/cancel", headers=csrf)
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert runtime.state.snapshot() == before


def test_unknown_ticket_is_not_found(client: TestClient) -> None:
    csrf = login(client, "admin")
    response = client.post("/api/v1/staff/tickets/nope/cancel", headers=csrf)
    assert response.status_code == 404 and response.json()["code"] == "ticket_not_found"
