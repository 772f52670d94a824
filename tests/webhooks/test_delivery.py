"""Webhooks end to end: a running Antre server (SQLite log) delivering to a real receiver over HTTP.

Every wait is for a condition (a delivery arriving, the worker recording its progress) under a
timeout. "Nothing more was sent" is checked after the worker recorded progress past the last event:
it sends in log order, so anything it would have sent before that is already at the receiver.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from modules.webhooks.deliver import verify
from queue_engine.clock import ManualClock
from tests.web.conftest import START

from .support import SECRET, SECRET_ENV, Antre, Receiver, antre, receiving, subscriptions

pytestmark = pytest.mark.anyio

REPLAY = "/api/v1/webhooks/simrs/replay"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    monkeypatch.delenv("ANTRE_OUTBOX", raising=False)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def log_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'antre.db'}"


@pytest.fixture
async def receiver(clock: ManualClock) -> AsyncIterator[Receiver]:
    async with receiving(clock) as running:
        yield running


@pytest.fixture
async def server(receiver: Receiver, clock: ManualClock, log_url: str) -> AsyncIterator[Antre]:
    async with antre(log_url, subscriptions(receiver.url), clock=clock) as running:
        await running.open()
        for _ in range(6):
            await running.issue()
        yield running


def keys(attempts: list[Any]) -> list[str]:
    return [a.key for a in attempts]


async def listing(server: Antre) -> dict[str, Any]:
    await server.login("admin")
    response = await server.http.get("/api/v1/webhooks")
    assert response.status_code == 200, response.text
    (simrs,) = response.json()["subscriptions"]
    assert isinstance(simrs, dict)
    return simrs


async def test_a_call_is_delivered_once_signed(server: Antre, receiver: Receiver, clock: ManualClock):
    position = await server.call()
    (attempt,) = await receiver.wait_delivered(1)
    assert attempt.valid and attempt.user_agent == "Antre-Webhooks/1" and attempt.key == f"simrs:{position}"
    ticket = server.runtime.state.counters["loket-1"].ticket  # type: ignore[index]
    assert attempt.body == {
        "id": f"simrs:{position}",
        "type": "ticket.called",
        "version": 1,
        "position": position,
        "facility": "pkm-demo",
        "data": {
            "at": clock.now(),
            "ticket_id": ticket,
            "counter": "loket-1",
            "actor": "petugas",
            "out_of_order": False,
            "reason": "",
        },
    }
    now = clock.now() / 1000
    assert verify(SECRET, attempt.timestamp, attempt.raw, attempt.signature, now)
    tampered = attempt.raw.replace(b"loket-1", b"loket-2")
    assert not verify(SECRET, attempt.timestamp, tampered, attempt.signature, now)
    assert not verify(SECRET, attempt.timestamp, attempt.raw, attempt.signature, now + 301)
    await server.flushed(position)
    assert len(receiver.attempts) == 1  # not the counter's opening, nor the issued tickets


async def test_a_family_pattern_gets_every_ticket_event_without_credentials(receiver: Receiver, log_url: str):
    async with antre(log_url, subscriptions(receiver.url, ["ticket.*"])) as server:
        await server.open()
        issued = await server.issue()
        called = await server.call()
        await server.flushed(called)
    types = [a.body["type"] for a in receiver.delivered]
    assert types == ["ticket.issued", "ticket.called"]  # counter.opened is not asked for
    assert all(a.valid for a in receiver.attempts)
    data = receiver.delivered[0].body["data"]
    assert data["ticket_id"] == issued.ticket_id and data["number"] == "A001"
    assert "token" not in data and "idempotency_key" not in data


async def test_a_failing_receiver_gets_each_call_once_in_order_after_the_retries(server: Antre, receiver: Receiver):
    receiver.answer_next(3, 500)
    positions = [await server.call() for _ in range(4)]
    delivered = await receiver.wait_delivered(4)
    assert [a.body["position"] for a in delivered] == positions == sorted(positions)
    first = f"simrs:{positions[0]}"
    assert [a.status for a in receiver.attempts] == [500, 500, 500, 204, 204, 204, 204]
    assert keys(receiver.attempts) == [first] * 4 + [f"simrs:{p}" for p in positions[1:]]
    await server.flushed(positions[-1])
    assert len(receiver.attempts) == 7
    simrs = await listing(server)
    assert simrs["sent"] == 4 and simrs["failures"] == [] and simrs["cursor"] >= positions[-1]
    assert simrs["recent"][0] == {
        "key": first,
        "kind": "ticket.called",
        "status": "sent",
        "attempts": 4,
        "last_error": "HTTP 500",
        "position": positions[0],
    }
    assert [d["status"] for d in simrs["recent"]] == ["sent"] * 4


async def test_a_refused_delivery_is_recorded_as_failed_and_the_stream_moves_on(server: Antre, receiver: Receiver):
    receiver.answer_next(1, 400)
    first, second = await server.call(), await server.call()
    await receiver.wait_delivered(1)
    await server.flushed(second)
    assert [(a.key, a.status) for a in receiver.attempts] == [(f"simrs:{first}", 400), (f"simrs:{second}", 204)]
    simrs = await listing(server)
    assert simrs["sent"] == 1
    assert [(f["key"], f["kind"], f["reason"]) for f in simrs["failures"]] == [
        (f"simrs:{first}", "ticket.called", "HTTP 400")
    ]
    assert [(d["key"], d["status"], d["attempts"]) for d in simrs["recent"]] == [
        (f"simrs:{first}", "failed", 1),
        (f"simrs:{second}", "sent", 1),
    ]
    assert simrs["state"] == "idle" and simrs["url"] == receiver.url and simrs["events"] == ["ticket.called"]


async def test_replay_delivers_again_exactly_the_events_after_the_position(server: Antre, receiver: Receiver):
    positions = [await server.call() for _ in range(3)]
    first = await receiver.wait_delivered(3)
    await server.flushed(positions[-1])
    csrf = await server.login("admin")
    response = await server.http.post(REPLAY, json={"from": positions[0]}, headers=csrf)
    assert response.status_code == 200, response.text
    assert response.json()["cursor"] == positions[0]
    again = (await receiver.wait_delivered(5))[3:]
    assert [a.raw for a in again] == [a.raw for a in first[1:]]  # the same ids, the same bodies
    assert all(a.valid for a in again)
    later = await server.call()  # the worker goes on after the replay (and does not replay again)
    await receiver.wait_delivered(6)
    await server.flushed(later)
    expected = [positions[0], positions[1], positions[2], positions[1], positions[2], later]
    assert keys(receiver.attempts) == [f"simrs:{p}" for p in expected]
    assert (await listing(server))["sent"] == 6


async def test_a_replay_during_delivery_is_not_undone_by_the_progress_before_it(server: Antre, receiver: Receiver):
    """Progress not yet recorded when the replay comes covers positions after it: it is sent again, not recorded."""
    positions = [await server.call() for _ in range(3)]
    await receiver.wait_delivered(3)
    await server.flushed(positions[-1])
    gate = receiver.hold()
    held = await server.call()
    await receiver.wait_for(lambda r: r.holding == 1)  # the worker is sending `held`
    csrf = await server.login("admin")
    response = await server.http.post(REPLAY, json={"from": positions[0]}, headers=csrf)
    assert response.status_code == 200, response.text
    gate.set()
    await receiver.wait_delivered(7)
    await server.flushed(held)
    replayed = [positions[1], positions[2], held]
    assert keys(receiver.attempts) == [f"simrs:{p}" for p in [*positions, held, *replayed]]


async def test_a_restart_after_a_replay_resumes_once(receiver: Receiver, clock: ManualClock, log_url: str):
    subs = subscriptions(receiver.url)
    async with antre(log_url, subs, clock=clock) as first:
        await first.open()
        for _ in range(4):
            await first.issue()
        positions = [await first.call(), await first.call()]
        await receiver.wait_delivered(2)
        await first.flushed(positions[-1])
        csrf = await first.login("admin")
        assert (await first.http.post(REPLAY, json={"from": 0}, headers=csrf)).status_code == 200
        await receiver.wait_delivered(4)
    async with antre(log_url, subs, clock=clock, id_prefix="b") as second:
        after = await second.call()
        await receiver.wait_delivered(5)
        await second.flushed(after)
    assert keys(receiver.attempts) == [f"simrs:{p}" for p in [*positions, *positions, after]]


async def test_replay_is_refused_past_the_cursor_and_for_bad_input(server: Antre, receiver: Receiver):
    position = await server.call()
    await server.flushed(position)
    csrf = await server.login("admin")
    cursor = server.cursor()
    refusals = [
        (REPLAY, {"from": cursor + 1}, 422, "invalid_command"),
        (REPLAY, {"from": -1}, 422, "invalid_body"),
        (REPLAY, {"from": "3"}, 422, "invalid_body"),
        (REPLAY, {"from": True}, 422, "invalid_body"),
        (REPLAY, {"to": 0}, 422, "invalid_body"),
        ("/api/v1/webhooks/nope/replay", {"from": 0}, 404, "not_found"),
    ]
    for path, body, status, code in refusals:
        response = await server.http.post(path, json=body, headers=csrf)
        assert (response.status_code, response.json()["code"]) == (status, code), (body, response.text)
    assert server.cursor() == cursor


async def test_only_an_admin_sees_and_replays(server: Antre):
    assert (await server.http.get("/api/v1/webhooks")).status_code == 401
    assert (await server.http.post(REPLAY, json={"from": 0})).status_code == 401
    kiosk = {"Authorization": "Bearer kiosk-demo"}
    assert (await server.http.get("/api/v1/webhooks", headers=kiosk)).status_code == 403
    csrf = await server.login("petugas-loket")
    assert (await server.http.get("/api/v1/webhooks")).json()["code"] == "forbidden"
    response = await server.http.post(REPLAY, json={"from": 0}, headers=csrf)
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    await server.login("admin")
    response = await server.http.post(REPLAY, json={"from": 0})  # no X-CSRF-Token
    assert (response.status_code, response.json()["code"]) == (403, "csrf_failed")
    listed = (await server.http.get("/api/v1/webhooks")).text
    assert SECRET not in listed and SECRET_ENV not in listed


async def test_a_restart_resumes_after_the_recorded_cursor(receiver: Receiver, clock: ManualClock, log_url: str):
    subs = subscriptions(receiver.url)
    async with antre(log_url, subs, clock=clock) as first:
        await first.open()
        for _ in range(4):
            await first.issue()
        before = [await first.call(), await first.call()]
        await receiver.wait_delivered(2)
    # stopped: its worker recorded how far it got (the admin list reads it back below)
    async with antre(log_url, subs, clock=clock, id_prefix="b") as second:
        assert second.cursor() >= before[-1]
        after = await second.call()
        await receiver.wait_delivered(3)
        await second.flushed(after)
        simrs = await listing(second)
    assert keys(receiver.attempts) == [f"simrs:{p}" for p in [*before, after]]
    assert simrs["sent"] == 3 and [d["position"] for d in simrs["recent"]] == [after]


async def test_a_subscription_without_its_secret_sends_nothing(
    receiver: Receiver, log_url: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv(SECRET_ENV)
    async with antre(log_url, subscriptions(receiver.url)) as server:
        await server.open()
        await server.issue()
        await server.call()
        assert server.web.workers == {}
        assert (await listing(server))["state"] == "no_secret"
    assert receiver.attempts == []


async def test_a_node_that_does_not_send(receiver: Receiver, log_url: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ANTRE_OUTBOX", "off")
    async with antre(log_url, subscriptions(receiver.url)) as server:
        simrs = await listing(server)
        assert simrs["state"] == "off" and simrs["recent"] == [] and server.web.workers == {}


async def test_the_endpoints_are_in_the_openapi_document(server: Antre):
    document = (await server.http.get("/api/v1/openapi.json")).json()
    replay = document["paths"]["/api/v1/webhooks/{id}/replay"]["post"]
    assert "id" in [p["name"] for p in replay["parameters"]]
    assert "get" in document["paths"]["/api/v1/webhooks"]
    assert {"Webhook", "Webhooks"} <= set(document["components"]["schemas"])
