"""Request bodies: JSON objects of the right shape, or ``invalid_json`` / ``invalid_body`` naming the field."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from queue_engine.clock import SequentialIds
from queue_engine.domain.model import Channel
from web import schemas
from web.errors import ApiError

from .conftest import KIOSK, login


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "service"),
        ({"service": None}, "service"),
        ({"service": 5}, "service"),
        ({"service": "X" * 65}, "service"),
        ({"service": "LOKET", "priority": "vip"}, "priority"),
        ({"service": "LOKET", "priority": 1}, "priority"),
        ({"service": "LOKET", "payer": "bpjs"}, "payer"),
        ({"service": "LOKET", "appointment_at": "09:00"}, "appointment_at"),
        ({"service": "LOKET", "appointment_at": True}, "appointment_at"),
        ({"service": "LOKET", "appointment_at": -1}, "appointment_at"),
        ({"service": "LOKET", "appointment_at": 1.5}, "appointment_at"),
        ({"service": "LOKET", "appointment_at": 10**20}, "appointment_at"),
        ({"service": "LOKET", "idempotency_key": "short"}, "idempotency_key"),
        ({"service": "LOKET", "idempotency_key": 12345678901234567}, "idempotency_key"),
        ({"service": "LOKET", "nik": "3578000000000001"}, "nik"),
    ],
)
def test_issue_body_errors_name_the_field(client: TestClient, body: dict[str, Any], field: str) -> None:
    response = client.post("/api/v1/tickets", json=body, headers=KIOSK)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_body"
    assert response.json()["params"] == {"field": field}


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("pause", {}, "reason"),
        ("pause", {"reason": ["rapat"]}, "reason"),
        ("pause", {"reason": "x" * 201}, "reason"),
        ("call-next", {"complete_current": 1}, "complete_current"),
        ("call-next", {"complete_current": "true"}, "complete_current"),
        ("call", {"reason": "x"}, "ticket_id"),
        ("call", {"ticket_id": "t1"}, "reason"),
        ("complete", {"next_service": 3}, "next_service"),
        ("open", {"force": True}, "force"),
        ("undo", {"steps": 2}, "steps"),
    ],
)
def test_counter_body_errors_name_the_field(client: TestClient, action: str, body: dict[str, Any], field: str) -> None:
    csrf = login(client, "admin")
    response = client.post(f"/api/v1/counters/loket-1/{action}", json=body, headers=csrf)
    assert response.status_code == 422, response.text
    assert response.json()["params"] == {"field": field}


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [("transfer", {}, "to_service"), ("cancel", {"reason": 1}, "reason"), ("requeue", {"places": 1}, "places")],
)
def test_ticket_body_errors_name_the_field(client: TestClient, action: str, body: dict[str, Any], field: str) -> None:
    csrf = login(client, "admin")
    client.post("/api/v1/tickets", json={"service": "LOKET"}, headers=KIOSK)
    response = client.post(f"/api/v1/staff/tickets/t1/{action}", json=body, headers=csrf)
    assert response.status_code == 422
    assert response.json()["params"] == {"field": field}


@pytest.mark.parametrize(
    ("content", "content_type", "code"),
    [
        (b"{", "application/json", "invalid_json"),
        (b"\xff\xfe", "application/json", "invalid_json"),
        (b'{"service": "LOKET"}', "text/plain", "invalid_json"),  # what a cross-site form can send
        (b"service=LOKET", "application/x-www-form-urlencoded", "invalid_json"),
        (b'["LOKET"]', "application/json", "invalid_body"),
        (b'"LOKET"', "application/json", "invalid_body"),
    ],
)
def test_only_json_objects_are_bodies(client: TestClient, content: bytes, content_type: str, code: str) -> None:
    headers = {**KIOSK, "Content-Type": content_type}
    response = client.post("/api/v1/tickets", content=content, headers=headers)
    assert response.json()["code"] == code


def test_a_json_suffix_media_type_is_json(client: TestClient) -> None:
    headers = {**KIOSK, "Content-Type": "application/vnd.antre+json; charset=utf-8"}
    assert client.post("/api/v1/tickets", content=b'{"service": "LOKET"}', headers=headers).status_code == 201


def test_an_empty_body_is_an_empty_object(client: TestClient) -> None:
    csrf = login(client, "admin")
    assert client.post("/api/v1/counters/loket-1/open", content=b"", headers=csrf).status_code == 200
    assert client.post("/api/v1/counters/loket-1/close", content=b"  \n", headers=csrf).status_code == 200


def test_large_bodies_are_refused(client: TestClient) -> None:
    body = {"service": "LOKET", "pad": "x" * schemas.MAX_BODY}
    response = client.post("/api/v1/tickets", json=body, headers=KIOSK)
    assert response.status_code == 422
    assert response.json()["params"] == {"field": "body"}


def test_large_chunked_bodies_are_refused(client: TestClient) -> None:
    def chunks() -> Any:
        for _ in range(20):
            yield b" " * 1024

    headers = {**KIOSK, "Content-Type": "application/json"}
    response = client.post("/api/v1/tickets", content=chunks(), headers=headers)
    assert response.status_code == 422
    assert response.json()["params"] == {"field": "body"}


def test_idempotency_keys_are_scoped() -> None:
    command = schemas.issue_ticket(
        {"service": "LOKET", "idempotency_key": "k" * 16},
        at=0,
        ids=SequentialIds(),
        channel=Channel.KIOSK,
        key_scope="kiosk:kiosk-1",
    )
    assert command.idempotency_key == "kiosk:kiosk-1:" + "k" * 16


def test_unknown_actions_are_programming_errors() -> None:
    with pytest.raises(ValueError, match="unknown counter action"):
        schemas.counter_command("explode", {}, at=0, counter="loket-1", actor="x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown ticket action"):
        schemas.ticket_command("explode", {}, at=0, ticket_id="t1", actor="x")  # type: ignore[arg-type]


def test_a_field_error_is_an_api_error() -> None:
    with pytest.raises(ApiError) as caught:
        schemas.credentials({"username": "admin"})
    assert caught.value.code == "invalid_body" and caught.value.params == {"field": "password"}
