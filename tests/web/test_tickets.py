"""Issuing tickets (kiosk, staff, remote booking), and what a token holder may do."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from queue_engine.clock import ManualClock
from queue_engine.domain.ids import ServiceCode
from queue_engine.domain.model import Channel
from queue_engine.runtime import Runtime

from .conftest import BOARD, KIOSK, MINUTE, issue, login, open_counters


def test_kiosk_issues_a_present_ticket_with_its_token(client: TestClient, runtime: Runtime) -> None:
    response = client.post("/api/v1/tickets", json={"service": "LOKET"}, headers=KIOSK)
    assert response.status_code == 201
    body = response.json()
    ticket = runtime.state.tickets[runtime.state.by_token[body["token"]]]
    assert ticket.channel is Channel.KIOSK
    assert body["tracking_url"] == f"/t/{body['token']}"
    assert body["number"] == "A001"
    assert body["service"] == "LOKET" and body["service_name"] == "Loket Pendaftaran"
    assert body["status"] == "waiting" and body["checked_in"] is True
    assert body["people_ahead"] == 0
    assert "ticket_id" not in body  # only staff see ids


def test_staff_issue_is_channel_staff_and_shows_the_ticket_id(client: TestClient, runtime: Runtime) -> None:
    csrf = login(client, "petugas-loket")
    body = issue(client, "LOKET", headers=csrf, priority="lansia", payer="jkn")
    ticket = runtime.state.tickets[body["ticket_id"]]
    assert ticket.channel is Channel.STAFF
    assert ticket.priority.value == "lansia" and ticket.payer.value == "jkn"
    assert body["token"] == ticket.token


def test_anonymous_issue_is_a_remote_booking_waiting_for_check_in(client: TestClient, runtime: Runtime) -> None:
    body = issue(client, "LOKET", headers={})
    ticket = runtime.state.tickets[runtime.state.by_token[body["token"]]]
    assert ticket.channel is Channel.WEB
    assert body["checked_in"] is False
    assert "ticket_id" not in body


def test_anonymous_cannot_self_book_an_emergency(client: TestClient, runtime: Runtime) -> None:
    before = runtime.state.snapshot()
    response = client.post("/api/v1/tickets", json={"service": "LOKET", "priority": "darurat"})
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert response.json()["params"] == {"field": "priority"}
    assert runtime.state.snapshot() == before
    assert issue(client, "LOKET", priority="darurat")["status"] == "waiting"  # the kiosk may


def test_display_devices_cannot_issue(client: TestClient) -> None:
    response = client.post("/api/v1/tickets", json={"service": "LOKET"}, headers=BOARD)
    assert response.status_code == 403


def test_an_idempotent_retry_returns_the_same_ticket(client: TestClient, runtime: Runtime) -> None:
    key = "kiosk-retry-0001-abcdef"
    first = issue(client, "LOKET", idempotency_key=key)
    again = client.post("/api/v1/tickets", json={"service": "LOKET", "idempotency_key": key}, headers=KIOSK)
    assert again.status_code == 200
    assert again.json()["token"] == first["token"]
    assert len(runtime.state.tickets) == 1


def test_a_phone_retrying_gets_its_own_ticket_back(client: TestClient) -> None:
    key = "phone-retry-0001-abcdef"
    first = issue(client, headers={}, idempotency_key=key)
    again = client.post("/api/v1/tickets", json={"service": "LOKET", "idempotency_key": key})
    assert again.status_code == 200 and again.json()["token"] == first["token"]


def test_idempotency_keys_are_scoped_to_their_caller(client: TestClient, runtime: Runtime) -> None:
    """Another caller reusing a key gets its own ticket, never the first caller's token."""
    key = "shared-key-0001-abcdef"
    kiosk = issue(client, "LOKET", idempotency_key=key)
    web = issue(client, "LOKET", headers={}, idempotency_key=key)
    assert web["token"] != kiosk["token"]
    assert web["number"] == "A002"
    assert len(runtime.state.tickets) == 2


def test_appointments_are_accepted_in_ms(client: TestClient, clock: ManualClock) -> None:
    slot = clock.now() + 60 * MINUTE
    body = issue(client, "UMUM", headers={}, appointment_at=slot)
    assert body["appointment_at"] == slot


def test_holder_reads_their_ticket(client: TestClient) -> None:
    body = issue(client)
    response = client.get(f"/api/v1/tickets/{body['token']}")
    assert response.status_code == 200
    assert response.json()["number"] == body["number"]
    assert "token" not in response.json() and "ticket_id" not in response.json()


def test_an_unknown_token_is_not_found(client: TestClient) -> None:
    issue(client)
    response = client.get("/api/v1/tickets/no-such-token")
    assert response.status_code == 404
    assert response.json()["code"] == "ticket_not_found"


def test_holder_cancels_their_ticket_once(client: TestClient) -> None:
    body = issue(client)
    response = client.post(f"/api/v1/tickets/{body['token']}/cancel")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    again = client.post(f"/api/v1/tickets/{body['token']}/cancel")
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"


def test_kiosk_checks_in_a_remote_ticket(client: TestClient, runtime: Runtime) -> None:
    body = issue(client, headers={})
    response = client.post(f"/api/v1/tickets/{body['token']}/check-in", headers=KIOSK)
    assert response.status_code == 200
    assert response.json()["checked_in"] is True
    assert runtime.state.services[ServiceCode("LOKET")].waitlist.present_count() == 1


def test_staff_check_in_needs_the_csrf_token(client: TestClient) -> None:
    body = issue(client, headers={})
    csrf = login(client, "petugas-poli")  # any staff may check a patient in
    refused = client.post(f"/api/v1/tickets/{body['token']}/check-in")
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    assert client.post(f"/api/v1/tickets/{body['token']}/check-in", headers=csrf).status_code == 200


def test_check_in_on_another_day_is_refused(client: TestClient, clock: ManualClock) -> None:
    body = issue(client, headers={})
    clock.advance(24 * 60 * MINUTE)
    response = client.post(f"/api/v1/tickets/{body['token']}/check-in", headers=KIOSK)
    assert response.status_code == 409
    assert response.json()["code"] == "checkin_not_allowed"


def test_the_whole_visit_is_visible_to_its_holder(client: TestClient, clock: ManualClock) -> None:
    """Loket -> poli: the same token follows the visit; the holder sees the counter that calls them."""
    body = issue(client)
    csrf = login(client, "admin")
    open_counters(client, "loket-1", "umum-1")
    client.post("/api/v1/counters/loket-1/call-next", headers=csrf)
    seen: dict[str, Any] = client.get(f"/api/v1/tickets/{body['token']}").json()
    assert seen["status"] == "called" and seen["counter"] == "loket-1" and seen["counter_name"] == "Loket 1"
    clock.advance(3 * MINUTE)
    client.post("/api/v1/counters/loket-1/complete", json={"next_service": "UMUM"}, headers=csrf)
    seen = client.get(f"/api/v1/tickets/{body['token']}").json()
    assert seen["service"] == "UMUM" and seen["number"] == "B001" and seen["status"] == "waiting"


def test_issue_with_a_wrong_device_token_is_refused_not_booked_remotely(client) -> None:
    """A Bearer token that matches no device gets 401; no remote ticket is made."""
    response = client.post(
        "/api/v1/tickets", json={"service": "LOKET"}, headers={"Authorization": "Bearer not-a-device"}
    )
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"
