"""End to end: the app's API, its outbox worker on the app's loop, and a real HTTP gateway on a free port.

The worker's progress and the gateway's requests are waited for as conditions with timeouts;
nothing sleeps.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from modules.notify.module import OUTBOX, STREAM, NotifyState
from queue_engine import codec
from queue_engine.clock import ManualClock
from queue_engine.domain.ids import CounterId
from queue_engine.log.memory import MemoryLog
from web.render import board_json, counter_json, last_calls, missed_json, ticket_json, waiting_json

from ..web.conftest import BOARD, KIOSK, START, issue, login, open_counters, runtime_of
from .support import (
    GATEWAY_TOKEN,
    PHONE,
    PHONE_FORMS,
    WAIT_S,
    Gateway,
    demo_with_notify,
    gateway,
    notify_client,
    web_part,
)

MASKED = "***********890"


def notify_url(ticket: dict[str, Any]) -> str:
    return f"/api/v1/tickets/{ticket['token']}/notify"


def notify_state(client: TestClient) -> NotifyState:
    state: NotifyState = runtime_of(client).state.modules["notify"]
    return state


def call_next(client: TestClient, staff: dict[str, str], counter: str = "loket-1") -> None:
    response = client.post(f"/api/v1/counters/{counter}/call-next", json={"complete_current": True}, headers=staff)
    assert response.status_code == 200, response.text


def wait_all_delivered(client: TestClient) -> None:
    """Wait until the worker recorded every message derived from the log so far as done.

    That is: its cursor reached the last event that is not its own progress record (those
    derive nothing, and no progress is written after them).
    """
    runtime = runtime_of(client)
    worker = web_part(client).worker
    assert worker is not None and client.portal is not None

    async def reached() -> None:
        records = await runtime.log.read(runtime.facility.id, after=0, limit=100_000)
        last = max(r.position for r in records if not isinstance(codec.decode_event(r.payload), OUTBOX.advanced))
        async with asyncio.timeout(WAIT_S):
            while notify_state(client).outbox.cursor(STREAM) < last:
                await worker.progressed.wait()

    client.portal.call(reached)


def assert_no_phone(value: Any) -> None:
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    for form in PHONE_FORMS:
        assert form not in text, (form, text[:300])


def six_ahead(client: TestClient) -> tuple[dict[str, Any], dict[str, str]]:
    """Loket 1 open, six tickets, then the subscriber's: six ahead of it. The staff's headers."""
    open_counters(client, "loket-1")
    for _ in range(6):
        issue(client)
    mine = issue(client)
    assert mine["people_ahead"] == 6
    return mine, login(client, "petugas-loket")


@pytest.fixture
def gw() -> Iterator[Gateway]:
    with gateway() as server:
        yield server


def test_told_at_five_at_two_and_when_called_once_each_though_the_gateway_fails_twice(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("ANTRE_NOTIFY_TOKEN", GATEWAY_TOKEN)
    log = MemoryLog()
    with notify_client(demo_with_notify(gateway_url=gw.url), log=log) as client:
        mine, staff = six_ahead(client)
        response = client.put(notify_url(mine), json={"phone": PHONE})
        assert response.status_code == 200, response.text
        assert response.json() == {"subscribed": True, "phone": MASKED, "ahead": [5, 2], "channel": "whatsapp"}
        gw.fail(503, 503)  # the first message is refused twice, then the gateway recovers
        for _ in range(7):
            call_next(client, staff)
        delivered = gw.wait_delivered(3)
        wait_all_delivered(client)

        assert [(b["to"], b["channel"]) for b in delivered] == [("+6281234567890", "whatsapp")] * 3
        assert [b["message"] for b in delivered] == [
            "Antre Puskesmas Ketabang (demo): nomor A007, tinggal 5 orang lagi sebelum Anda. Mohon bersiap. "
            "/ 5 patients ahead of you.",
            "Antre Puskesmas Ketabang (demo): nomor A007, tinggal 2 orang lagi sebelum Anda. Mohon bersiap. "
            "/ 2 patients ahead of you.",
            "Antre Puskesmas Ketabang (demo): nomor A007 dipanggil ke Loket 1. / Your number is called to Loket 1.",
        ]
        assert [b["id"].rsplit(":", 1)[1] for b in delivered] == ["ahead", "ahead", "called"]
        assert [r.status for r in gw.requests] == [503, 503, 200, 200, 200]
        assert gw.requests[0].body == gw.requests[2].body  # the same message, tried again
        assert {r.authorization for r in gw.requests} == {f"Bearer {GATEWAY_TOKEN}"}

        outbox = client.get("/api/v1/notify/outbox", headers=login(client, "admin")).json()
        assert (outbox["enabled"], outbox["notifier"], outbox["sent"], outbox["failures"]) == (True, "gateway", 3, [])
        assert [(d["kind"], d["to"], d["status"], d["attempts"]) for d in outbox["recent"]] == [
            ("ahead", MASKED, "sent", 3),
            ("ahead", MASKED, "sent", 1),
            ("called", MASKED, "sent", 1),
        ]
        assert_no_phone(outbox)
        assert_privacy(client, mine, staff)

    # A restart derives everything again from the log and sends only what is new: a recall.
    with notify_client(demo_with_notify(gateway_url=gw.url), log=log) as client:
        response = client.post("/api/v1/counters/loket-1/recall", json={}, headers=login(client, "petugas-loket"))
        assert response.status_code == 200, response.text
        delivered = gw.wait_delivered(4)
        wait_all_delivered(client)
    assert len(gw.delivered) == 4
    assert delivered[3]["message"].startswith("Antre Puskesmas Ketabang (demo): nomor A007 dipanggil ulang ke Loket 1.")
    assert len({b["id"] for b in delivered}) == 4

    for record in caplog.records:
        assert_no_phone(record.getMessage())
        assert_no_phone(repr(record.args))


def assert_privacy(client: TestClient, mine: dict[str, Any], staff: dict[str, str]) -> None:
    """The number is in no ticket, board or counter payload, nor in what the WebSocket pushes are built from."""
    assert_no_phone(client.get(f"/api/v1/tickets/{mine['token']}").json())
    assert_no_phone(client.get("/api/v1/boards/ruang-tunggu", headers=BOARD).json())
    for counter in ("loket-1", "loket-2"):
        assert_no_phone(client.get(f"/api/v1/counters/{counter}", headers=staff).json())
    assert_no_phone(client.get(notify_url(mine)).json())
    assert_no_phone(client.get("/api/v1/openapi.json").json())
    state = runtime_of(client).state
    now = runtime_of(client).now()
    facility = state.facility
    pushed: list[Any] = [ticket_json(state, t, now) for t in state.tickets.values()]
    for display in facility.displays:
        pushed += [board_json(state, display, now), last_calls(state, display)]
    pushed += [counter_json(state, CounterId(c), now) for c in facility.counters]
    pushed += [waiting_json(state, tuple(facility.services), now), missed_json(state, tuple(facility.services))]
    assert_no_phone(pushed)


def test_an_invalid_number_is_refused_and_nothing_is_stored() -> None:
    with notify_client(demo_with_notify()) as client:
        mine, other = issue(client), issue(client)
        position = runtime_of(client).state.position
        for typed in ("12345", "021-555-1234", "+1 415 555 0100", "0812-3456-7890-1234"):
            response = client.put(notify_url(mine), json={"phone": typed})
            assert response.status_code == 422, response.text
            assert response.json()["code"] == "invalid_phone"
            assert "1234" not in response.text and "555" not in response.text
        for body in ({"phone": 812345}, {}, {"phone": PHONE, "name": "Siti"}):  # another ticket: 5 tries a minute
            response = client.put(notify_url(other), json=body)
            assert (response.status_code, response.json()["code"]) == (422, "invalid_body")
        assert runtime_of(client).state.position == position
        assert notify_state(client).subscriptions == {}
        assert client.get(notify_url(mine)).json()["subscribed"] is False


def test_only_a_waiting_ticket_subscribes() -> None:
    with notify_client(demo_with_notify()) as client:
        open_counters(client, "loket-1")
        staff = login(client, "petugas-loket")
        mine = issue(client)
        call_next(client, staff)
        response = client.post("/api/v1/counters/loket-1/complete", json={}, headers=staff)
        assert response.status_code == 200, response.text
        refused = client.put(notify_url(mine), json={"phone": PHONE})
        assert (refused.status_code, refused.json()["code"]) == (409, "notify_not_waiting")
        unknown = client.put("/api/v1/tickets/no-such-token/notify", json={"phone": PHONE})
        assert (unknown.status_code, unknown.json()["code"]) == (404, "ticket_not_found")
        assert notify_state(client).subscriptions == {}


def test_the_holder_sees_changes_and_removes_the_subscription() -> None:
    with notify_client(demo_with_notify(ahead=[3], channel="sms")) as client:
        mine = issue(client)
        assert client.get(notify_url(mine)).json() == {
            "subscribed": False,
            "phone": None,
            "ahead": [3],
            "channel": "sms",
        }
        assert client.put(notify_url(mine), json={"phone": PHONE}).json()["phone"] == MASKED
        assert client.put(notify_url(mine), json={"phone": "+62 813 0000 1111"}).json()["phone"] == "***********111"
        assert client.get(notify_url(mine)).json()["phone"] == "***********111"
        removed = client.delete(notify_url(mine))
        assert removed.status_code == 200
        assert removed.json()["subscribed"] is False
        assert client.delete(notify_url(mine)).status_code == 200  # again: nothing to remove
        assert notify_state(client).subscriptions == {}


def test_subscribing_is_rate_limited_per_ticket() -> None:
    with notify_client(demo_with_notify()) as client:
        mine, other = issue(client), issue(client)
        for _ in range(5):
            assert client.put(notify_url(mine), json={"phone": PHONE}).status_code == 200
        limited = client.put(notify_url(mine), json={"phone": PHONE})
        assert (limited.status_code, limited.json()["code"]) == (429, "rate_limited")
        assert int(limited.headers["Retry-After"]) > 0
        assert client.put(notify_url(other), json={"phone": PHONE}).status_code == 200


def test_without_a_gateway_messages_are_only_logged_masked(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with notify_client(demo_with_notify(ahead=[1])) as client:
        open_counters(client, "loket-1")
        staff = login(client, "petugas-loket")
        issue(client)
        mine = issue(client)
        assert client.put(notify_url(mine), json={"phone": PHONE}).status_code == 200
        call_next(client, staff)
        call_next(client, staff)
        wait_all_delivered(client)
        outbox = client.get("/api/v1/notify/outbox", headers=login(client, "admin")).json()
    assert (outbox["notifier"], outbox["sent"]) == ("log", 2)
    logged = [r.getMessage() for r in caplog.records if r.name == "antre.notify"]
    assert len(logged) == 2
    assert "nomor A002, tinggal 1 orang lagi" in logged[0] and "dipanggil ke Loket 1" in logged[1]
    assert all(MASKED in line for line in logged)
    for record in caplog.records:
        assert_no_phone(record.getMessage())


def test_a_message_held_up_too_long_is_given_up(gw: Gateway) -> None:
    clock = ManualClock(START)
    with notify_client(demo_with_notify(gateway_url=gw.url, ahead=[1]), clock=clock) as client:
        open_counters(client, "loket-1")
        issue(client)
        mine = issue(client)
        gw.answer(503)  # down until the message goes stale
        assert client.put(notify_url(mine), json={"phone": PHONE}).status_code == 200
        gw.wait_for(lambda requests: len(requests) >= 1)
        clock.advance(31 * 60_000)  # the next try finds the message stale
        wait_all_delivered(client)
        failures = notify_state(client).outbox.streams[STREAM].failures
    assert [(f.kind, f.reason) for f in failures] == [("ahead", "stale: 31 min after its event")]
    assert gw.delivered == []


def test_the_outbox_view_is_for_admins_and_off_when_another_node_sends(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTRE_OUTBOX", "off")
    with notify_client(demo_with_notify()) as client:
        assert client.get("/api/v1/notify/outbox").status_code == 401
        assert client.get("/api/v1/notify/outbox", headers=login(client, "petugas-loket")).status_code == 403
        outbox = client.get("/api/v1/notify/outbox", headers=login(client, "admin")).json()
        assert (outbox["enabled"], outbox["state"], outbox["recent"]) == (False, "off", [])
        mine = issue(client)
        assert client.put(notify_url(mine), json={"phone": PHONE}).status_code == 200  # stored; another node sends


def test_the_openapi_document_lists_the_endpoints_and_errors() -> None:
    with notify_client(demo_with_notify()) as client:
        document = client.get("/api/v1/openapi.json").json()
    paths = document["paths"]
    assert set(paths["/api/v1/tickets/{token}/notify"]) == {"get", "put", "delete"}
    put = paths["/api/v1/tickets/{token}/notify"]["put"]
    assert {"422", "409", "429", "404"} <= set(put["responses"])
    assert "invalid_phone" in put["responses"]["422"]["description"]
    assert "notify_not_waiting" in put["responses"]["409"]["description"]
    assert "get" in paths["/api/v1/notify/outbox"]


def test_the_phone_page_offers_messages_only_where_enabled_and_never_shows_the_number() -> None:
    with notify_client(demo_with_notify(channel="sms")) as client:
        token = client.post("/api/v1/tickets", json={"service": "LOKET"}, headers=KIOSK).json()["token"]
        page = client.get(f"/t/{token}").text
        assert 'id="wa"' in page and "Kabari saya lewat SMS" in page
        assert client.put(f"/api/v1/tickets/{token}/notify", json={"phone": "0812-3456-7890"}).status_code == 200
        again = client.get(f"/t/{token}").text
        assert "81234567890" not in again and "0812-3456-7890" not in again
    with notify_client(replace(demo_with_notify(), modules=())) as client:
        token = client.post("/api/v1/tickets", json={"service": "LOKET"}, headers=KIOSK).json()["token"]
        assert 'id="wa"' not in client.get(f"/t/{token}").text
