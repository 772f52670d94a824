"""The authorisation matrix: every role x every endpoint, allowed or refused (401/403).

Roles: anonymous; patient-token (holds ticket t1's token and, trying its luck, sends it as a bearer
credential too); kiosk and display devices; staff of loket-1 (petugas-loket); staff of other counters
(petugas-poli); admin. Sessions always send their CSRF token, so a refusal here is about the role.

A ticket's token is its holder's only credential: reading or cancelling by token is open to whoever
holds it and answers 404 to everyone else (a made-up token), whatever their role. Check-in is done by
whoever scans the QR code, so every role presents the real token there and only the role decides.
"""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from web.api import endpoints

from .conftest import BOARD, KIOSK, PASSWORDS, api_client, issue, login, open_counters

ROLES = ("anonymous", "patient-token", "kiosk", "display", "staff-own-counter", "staff-other-counter", "admin")
EVERYONE = frozenset(ROLES)
SESSIONS = frozenset({"staff-own-counter", "staff-other-counter", "admin"})
OPERATORS = frozenset({"staff-own-counter", "admin"})
NO_CREDENTIAL = frozenset({"anonymous", "patient-token"})
COUNTER_ACTIONS = ("open", "pause", "close", "call-next", "call", "recall", "start", "complete", "skip", "undo")
TICKET_ACTIONS = ("requeue", "cancel", "transfer")

#: (method, path) -> roles allowed
ALLOWED: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/api/v1/facility"): EVERYONE,
    # a Bearer token that is no device's (here: a ticket's token) is refused, not taken as anonymous
    ("POST", "/api/v1/tickets"): EVERYONE - {"display", "patient-token"},
    ("GET", "/api/v1/tickets/{token}"): frozenset({"patient-token"}),
    ("POST", "/api/v1/tickets/{token}/cancel"): frozenset({"patient-token"}),
    ("POST", "/api/v1/tickets/{token}/check-in"): SESSIONS | {"kiosk"},
    ("GET", "/api/v1/counters/{counter_id}"): OPERATORS,
    **{("POST", f"/api/v1/counters/{{counter_id}}/{a}"): OPERATORS for a in COUNTER_ACTIONS},
    **{("POST", f"/api/v1/staff/tickets/{{ticket_id}}/{a}"): OPERATORS for a in TICKET_ACTIONS},
    ("GET", "/api/v1/boards/{display_id}"): SESSIONS | {"display"},
    ("POST", "/api/v1/auth/login"): EVERYONE,
    ("POST", "/api/v1/auth/logout"): SESSIONS,
    ("GET", "/api/v1/auth/me"): SESSIONS,
    ("GET", "/api/v1/openapi.json"): EVERYONE,
    ("GET", "/metrics"): frozenset({"admin"}),
    ("GET", "/api/v1/forecast"): frozenset({"admin"}),
}
#: endpoints about one's session: without a session there is nobody to talk about (401, devices too)
SESSION_ONLY = {("POST", "/api/v1/auth/logout"), ("GET", "/api/v1/auth/me")}
#: endpoints where the token in the path is the credential: non-holders send a made-up one
HOLDER_ONLY = {("GET", "/api/v1/tickets/{token}"), ("POST", "/api/v1/tickets/{token}/cancel")}

BODIES: dict[str, Any] = {
    "/api/v1/tickets": {"service": "LOKET"},
    "/api/v1/counters/{counter_id}/pause": {"reason": "rapat"},
    "/api/v1/counters/{counter_id}/call": {"ticket_id": "t1", "reason": "dipanggil dokter"},
    "/api/v1/staff/tickets/{ticket_id}/transfer": {"to_service": "UMUM"},
    "/api/v1/auth/login": {"username": "petugas-loket", "password": PASSWORDS["petugas-loket"]},
}


def _credentials(client: TestClient, role: str, token: str) -> dict[str, str]:
    match role:
        case "anonymous":
            return {}
        case "patient-token":
            return {"Authorization": f"Bearer {token}"}
        case "kiosk":
            return KIOSK
        case "display":
            return BOARD
        case "staff-own-counter":
            return login(client, "petugas-loket")
        case "staff-other-counter":
            return login(client, "petugas-poli")
        case "admin":
            return login(client, "admin")
    raise AssertionError(role)


def test_the_matrix_covers_every_endpoint() -> None:
    assert {(e.method, e.path) for e in endpoints()} == set(ALLOWED)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "path"), sorted(ALLOWED), ids=lambda v: str(v))
def test_authorisation(method: str, path: str, role: str) -> None:
    with api_client() as client:
        token = issue(client)["token"]  # ticket t1 at LOKET, served by loket-1 and loket-2
        open_counters(client, "loket-1")
        headers = _credentials(client, role, token)
        holder = role == "patient-token" or (method, path) not in HOLDER_ONLY
        url = path.format(
            token=token if holder else "made-up-token",
            counter_id="loket-1",
            ticket_id="t1",
            display_id="ruang-tunggu",
        )
        response = client.request(method, url, json=BODIES.get(path), headers=headers)

    status = response.status_code
    if role in ALLOWED[(method, path)]:
        assert status < 500 and status not in (401, 403, 404), response.text
    elif (method, path) in HOLDER_ONLY:
        assert status == 404 and response.json()["code"] == "ticket_not_found"
    elif role in NO_CREDENTIAL or (method, path) in SESSION_ONLY:
        assert status == 401 and response.json()["code"] == "unauthenticated"
    else:
        assert status == 403 and response.json()["code"] == "forbidden"


def test_metrics_token_scrapes_without_a_session() -> None:
    with api_client() as client:
        assert client.get("/metrics", headers={"Authorization": "Bearer metrics-secret-for-tests"}).status_code == 200
        wrong = client.get("/metrics", headers={"Authorization": "Bearer guess"})
        assert wrong.status_code == 401
        assert client.get("/metrics", headers=KIOSK).status_code == 403
