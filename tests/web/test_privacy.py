"""No board, ticket or counter payload carries a name, a NIK or another ticket's token.

A busy morning is played through the API with distinctive ids; then every payload a board, a
counter console, a staff action or a ticket holder can get is walked value by value.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from starlette.testclient import TestClient

from queue_engine.clock import SequentialIds
from queue_engine.domain.model import Facility

from .conftest import BOARD, BOARD_APOTEK, KIOSK, MINUTE, api_client, fast_accounts, login, open_counters, runtime_of

#: keys that would hold personal data; none may ever appear
PERSONAL_KEYS = {"nik", "nama", "patient", "patient_name", "full_name", "phone", "address", "birth_date", "actor"}


def _walk(value: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield k, v
            yield from _walk(v, k)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item, key)


def _allowed_names(facility: Facility) -> set[str]:
    return {
        facility.name,
        *(s.name for s in facility.services.values()),
        *(c.name for c in facility.counters.values()),
        *(d.name for d in facility.displays),
    }


def _check(payload: Any, *, tokens: set[str], own: str | None, names: set[str], people: set[str]) -> None:
    for key, value in _walk(payload):
        assert key.lower() not in PERSONAL_KEYS, key
        if key == "name" or key.endswith("_name"):
            assert value is None or value in names, (key, value)
        if isinstance(value, str):
            assert value not in people, (key, value)
            for token in tokens - {own}:
                assert value != token and not value.endswith(f"/t/{token}"), (key, value)
        if key in ("token", "tracking_url"):
            assert own is not None and value in (own, f"/t/{own}"), (key, value)


def _morning(client: TestClient) -> tuple[list[str], list[Any]]:
    """Tickets by every channel, calls, a next stage, a skip; every payload seen on the way."""
    seen: list[Any] = []
    tokens: list[str] = []

    def take(response: Any) -> Any:
        body = response.json()
        seen.append(body)
        return body

    for service, headers in (("LOKET", KIOSK), ("LOKET", {}), ("UMUM", KIOSK), ("APOTEK", KIOSK)):
        tokens.append(take(client.post("/api/v1/tickets", json={"service": service}, headers=headers))["token"])
    csrf = login(client, "admin")
    tokens.append(take(client.post("/api/v1/tickets", json={"service": "LOKET"}, headers=csrf))["token"])
    open_counters(client, "loket-1", "loket-2", "umum-1", "apotek")
    take(client.post(f"/api/v1/tickets/{tokens[1]}/check-in", headers=KIOSK))
    take(client.post("/api/v1/counters/loket-1/call-next", headers=csrf))
    take(client.post("/api/v1/counters/loket-2/call-next", headers=csrf))
    take(client.post("/api/v1/counters/umum-1/call-next", headers=csrf))
    take(client.post("/api/v1/counters/apotek/call-next", headers=csrf))
    take(client.post("/api/v1/counters/loket-1/call-next", headers=csrf))  # busy: an error payload
    runtime_of(client).clock.advance(3 * MINUTE)  # type: ignore[attr-defined]
    take(client.post("/api/v1/counters/loket-1/complete", json={"next_service": "UMUM"}, headers=csrf))
    take(client.post("/api/v1/counters/loket-2/skip", headers=csrf))
    missed = client.get("/api/v1/counters/loket-2").json()
    seen.append(missed)
    take(client.post("/api/v1/staff/tickets/x-t2/requeue", headers=csrf))
    for counter in runtime_of(client).facility.counters:
        take(client.get(f"/api/v1/counters/{counter}"))
    take(client.get("/api/v1/boards/ruang-tunggu"))
    take(client.get("/api/v1/facility"))
    return tokens, seen


def test_no_payload_leaks_names_nik_or_tokens() -> None:
    with api_client(ids=SequentialIds(prefix="x-")) as client:
        tokens, staff_seen = _morning(client)
        facility = runtime_of(client).facility
        names = _allowed_names(facility)
        people = {u.name for u in fast_accounts().users.values()} | set(fast_accounts().users)
        # what boards get, with their device tokens
        boards = [
            client.get("/api/v1/boards/ruang-tunggu", headers=BOARD).json(),
            client.get("/api/v1/boards/apotek-lab", headers=BOARD_APOTEK).json(),
        ]
        # what each holder gets
        holders = {token: client.get(f"/api/v1/tickets/{token}").json() for token in tokens}

    all_tokens = set(tokens)
    issued = [p for p in staff_seen if isinstance(p, dict) and "token" in p]
    assert len(issued) == len(tokens)
    for payload in issued:
        _check(payload, tokens=all_tokens, own=payload["token"], names=names, people=people)
    for payload in [p for p in staff_seen if p not in issued] + boards:
        _check(payload, tokens=all_tokens, own=None, names=names, people=people)
    for token, payload in holders.items():
        assert "token" not in payload and "ticket_id" not in payload
        _check(payload, tokens=all_tokens, own=token, names=names, people=people)
    assert any(b["calls"] for b in boards)  # the walk saw real calls, not empty boards
