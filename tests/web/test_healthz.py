"""``GET /healthz``: what the container's HEALTHCHECK asks (no credentials, the log position)."""

from __future__ import annotations

from starlette.testclient import TestClient

from .conftest import KIOSK, runtime_of


def test_healthz_answers_ok_with_the_log_position(client: TestClient) -> None:
    first = client.get("/healthz")
    assert first.status_code == 200
    assert first.headers["content-type"] == "application/json"
    assert first.headers["cache-control"] == "no-store"
    assert first.json() == {"status": "ok", "position": runtime_of(client).state.position}

    issued = client.post("/api/v1/tickets", json={"service": "LOKET"}, headers=KIOSK)
    assert issued.status_code == 201
    after = client.get("/healthz").json()
    assert after["position"] > first.json()["position"]
