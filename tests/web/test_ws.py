"""The push protocol end to end: a real uvicorn server on a free port, ``websockets`` clients.

Commands go straight to the app's runtime (captured from the lifespan); every wait is for a
message, under a timeout.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from queue_engine.domain import commands as c
from queue_engine.domain.ids import CounterId
from web.hub import PushHub, Subscriber

from .wsutil import (
    APOTEK_BOARD_TOKEN,
    BOARD_TOKEN,
    KIOSK_TOKEN,
    Served,
    close_code,
    connect_ws,
    receive,
    receive_until,
    refusal,
    serve,
    session_cookie,
    settings,
    stalled_client,
)

pytestmark = pytest.mark.anyio

BOARD = f"/ws/board/ruang-tunggu?token={BOARD_TOKEN}"
APOTEK_BOARD = f"/ws/board/apotek-lab?token={APOTEK_BOARD_TOKEN}"
LOKET_STAFF = {"Cookie": session_cookie("petugas-loket")}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    async with serve() as running:
        yield running


def queue_of(board: dict[str, Any], service: str) -> dict[str, Any]:
    return next(q for q in board["queues"] if q["service"] == service)


async def test_board_gets_a_snapshot_then_an_update_per_change(served: Served):
    """A board's first message is its full content; each change then arrives as an update at its position."""
    async with connect_ws(served, BOARD) as ws:
        snapshot = await receive(ws)
        assert (snapshot["type"], snapshot["position"]) == ("snapshot", 0)
        assert snapshot["data"]["display"] == "ruang-tunggu"
        assert queue_of(snapshot["data"], "LOKET")["waiting"] == 0
        assert snapshot["data"]["calls"] == []

        result = await served.issue("LOKET")
        update = await receive(ws)
        assert (update["type"], update["position"]) == ("update", result.position)
        assert update["data"]["position"] == result.position
        assert queue_of(update["data"], "LOKET") | {"name": None} == {
            "service": "LOKET",
            "name": None,
            "waiting": 1,
            "next": ["A001"],
        }


async def test_board_hears_a_call_within_a_second(served: Served):
    """A call reaches the board within a second: the update, then a call with the spoken text."""
    await served.open("loket-1")
    await served.issue("LOKET")
    async with connect_ws(served, BOARD) as ws:
        assert (await receive(ws))["type"] == "snapshot"
        result = await served.call_next("loket-1")
        update, call = await receive_until(ws, "call", within=1.0)
    assert (update["type"], update["position"]) == ("update", result.position)
    assert [(x["counter"], x["number"]) for x in update["data"]["calls"]] == [("loket-1", "A001")]
    assert call["position"] == result.position
    data = call["data"]
    assert (data["number"], data["counter"], data["counter_name"], data["recall"]) == (
        "A001",
        "loket-1",
        "Loket 1",
        False,
    )
    assert data["speech"]["text"] == "Nomor antrean A satu, silakan menuju Loket satu"
    assert data["speech"]["clips"][:4] == ["nomor", "antrean", "a", "satu"]


async def test_a_board_hears_only_its_own_services(served: Served):
    """The apotek board gets nothing for a loket ticket; its next message is its own service's change."""
    async with connect_ws(served, APOTEK_BOARD) as ws:
        assert (await receive(ws))["type"] == "snapshot"
        await served.issue("LOKET")
        mine = await served.issue("APOTEK")
        update = await receive(ws)
    assert (update["type"], update["position"]) == ("update", mine.position)
    assert queue_of(update["data"], "APOTEK")["next"] == ["F001"]


async def test_ticket_holder_follows_their_ticket(served: Served):
    """The tracking token's socket shows the ticket, then its new place and its call."""
    await served.issue("LOKET")
    mine = await served.issue("LOKET")
    async with connect_ws(served, f"/ws/ticket/{served.token_of(mine)}") as ws:
        snapshot = await receive(ws)
        assert snapshot["type"] == "snapshot"
        assert (snapshot["data"]["number"], snapshot["data"]["status"]) == ("A002", "waiting")
        assert snapshot["data"]["people_ahead"] == 1

        await served.open("loket-1")
        opened = await receive(ws)  # a counter opening moves the estimate
        assert opened["type"] == "update"
        first_called = await served.call_next("loket-1")
        moved = await receive(ws)
        assert (moved["position"], moved["data"]["people_ahead"]) == (first_called.position, 0)

        await served.open("loket-2")
        await receive(ws)
        mine_called = await served.call_next("loket-2")
        called = await receive(ws)
    assert called["position"] == mine_called.position
    assert (called["data"]["status"], called["data"]["counter"]) == ("called", "loket-2")
    assert "token" not in called["data"]


async def test_counter_console_follows_its_counter(served: Served):
    """Staff of a counter see its status and waiting list change; other services' changes are not sent."""
    async with connect_ws(served, "/ws/counter/loket-1", additional_headers=LOKET_STAFF) as ws:
        snapshot = await receive(ws)
        assert snapshot["type"] == "snapshot"
        assert (snapshot["data"]["counter"], snapshot["data"]["status"], snapshot["data"]["waiting"]) == (
            "loket-1",
            "closed",
            [],
        )
        opened = await served.open("loket-1")
        update = await receive(ws)
        assert (update["position"], update["data"]["status"]) == (opened.position, "open")

        await served.issue("UMUM")  # another counter's service: nothing for loket-1
        issued = await served.issue("LOKET")
        update = await receive(ws)
        assert update["position"] == issued.position
        assert [t["number"] for t in update["data"]["waiting"]] == ["A001"]


async def test_resume_gets_every_missed_message_exactly_once_and_in_order(served: Served):
    """After a disconnect, after=<last position> replays exactly what a connected witness saw since."""
    await served.open("loket-1")
    async with connect_ws(served, BOARD) as witness:
        witness_seen = [await receive(witness)]
        async with connect_ws(served, BOARD) as ws:
            assert (await receive(ws))["type"] == "snapshot"
            await served.issue("LOKET")
            last = (await receive(ws))["position"]
        # Disconnected: a call (update + call), other services, a batch of three at once.
        await served.issue("LOKET")
        await served.call_next("loket-1")
        await served.issue("APOTEK")
        results = await asyncio.gather(*(served.issue("LOKET") for _ in range(3)))
        final = max(r.position for r in results)
        while witness_seen[-1]["position"] != final:
            witness_seen.append(await receive(witness))

        async with connect_ws(served, f"{BOARD}&after={last}") as ws:
            resumed = await receive_until(ws, "heartbeat")
    missed = [m for m in witness_seen if m["position"] > last]
    assert resumed[:-1] == missed
    assert [m["type"] for m in missed] == ["update", "update", "call", "update"]
    positions = [m["position"] for m in missed]
    assert positions == sorted(positions)
    assert resumed[-1]["position"] == final


async def test_resume_from_before_the_history_gets_a_snapshot(served: Served):
    """A position the board's history no longer reaches (or that this log never had) gets a fresh snapshot."""
    served.hub.history = 2  # messages kept per topic from now on (512 by default)
    async with connect_ws(served, BOARD) as watcher:
        assert (await receive(watcher))["position"] == 0
        for _ in range(4):
            await served.issue("LOKET")
        assert [(await receive(watcher))["position"] for _ in range(4)] == [1, 2, 3, 4]
    # The history now holds the updates at 3 and 4 only.
    async with connect_ws(served, f"{BOARD}&after=1") as ws:
        snapshot = await receive(ws)
    assert (snapshot["type"], snapshot["position"]) == ("snapshot", 4)
    assert queue_of(snapshot["data"], "LOKET")["waiting"] == 4
    async with connect_ws(served, f"{BOARD}&after=2") as ws:
        assert [(m["type"], m["position"]) for m in await receive_until(ws, "heartbeat")] == [
            ("update", 3),
            ("update", 4),
            ("heartbeat", 4),
        ]
    async with connect_ws(served, f"{BOARD}&after=99") as ws:  # another log's position
        assert ((await receive(ws))["type"], served.hub.position) == ("snapshot", 4)


async def test_resume_on_a_topic_nobody_watched_gets_a_snapshot(served: Served):
    """Changes made while nobody watched a board were never recorded: resuming from before them gets a snapshot."""
    for _ in range(3):
        await served.issue("LOKET")
    async with connect_ws(served, f"{BOARD}&after=1") as ws:
        snapshot = await receive(ws)
    assert (snapshot["type"], snapshot["position"]) == ("snapshot", 3)


async def test_resume_when_nothing_changed_is_just_a_heartbeat(served: Served):
    """Resuming at the current position sends no snapshot: a heartbeat confirms the client is current."""
    await served.issue("LOKET")
    async with connect_ws(served, f"{BOARD}&after=1") as ws:
        beat = await receive(ws)
    assert (beat["type"], beat["position"], beat["at"]) == ("heartbeat", 1, served.clock.now())


async def test_stalled_client_is_dropped_while_another_gets_every_message():
    """A client that stops reading is closed with 4008; a healthy one on the same topic misses nothing."""
    async with serve(settings(client_queue=4)) as served:
        # A long waiting list makes each console update large, so a stalled socket backs up quickly.
        await asyncio.gather(*(served.issue("LOKET") for _ in range(200)))
        path = "/ws/counter/loket-1"
        async with (
            connect_ws(served, path, additional_headers=LOKET_STAFF) as healthy,
            stalled_client(served, path, additional_headers=LOKET_STAFF) as stalled,
        ):
            expected = [await receive(healthy)]

            async def change_and_check() -> None:
                """Open or pause the counter; the healthy client gets that change next."""
                opened = expected[-1]["data"]["status"] == "open"
                result = await (served.pause("loket-1") if opened else served.open("loket-1"))
                expected.append(await receive(healthy))
                assert expected[-1]["position"] == result.position

            for _ in range(2000):
                await change_and_check()
                if served.hub.drops:
                    break
            assert served.hub.drops == 1
            assert served.hub.clients_by_kind()["counter"] == 1
            for _ in range(3):  # the healthy client goes on as before
                await change_and_check()

            # The stalled client reads again: a gap-free prefix of what the healthy one got, then 4008.
            got: list[dict[str, Any]] = []
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    got.append(await receive(stalled))
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4008
            assert got == expected[: len(got)]
            assert 1 <= len(got) < len(expected)

        # It resumes from the last position it saw and gets exactly the rest.
        async with connect_ws(served, f"{path}?after={got[-1]['position']}", additional_headers=LOKET_STAFF) as ws:
            resumed = await receive_until(ws, "heartbeat")
        assert got + resumed[:-1] == expected


async def test_heartbeats_carry_the_position_and_time():
    """Heartbeats come every heartbeat_s with the position the client is complete up to."""
    async with serve(settings(heartbeat_s=0.05)) as served, connect_ws(served, BOARD) as ws:
        snapshot = await receive(ws)
        beat = await receive(ws)
        assert (beat["type"], beat["position"], beat["at"]) == ("heartbeat", snapshot["position"], served.clock.now())
        result = await served.issue("LOKET")
        *_, update = await receive_until(ws, "update")
        beat = (await receive_until(ws, "heartbeat"))[-1]
    assert update["position"] == beat["position"] == result.position


async def test_ping_gets_a_pong(served: Served):
    """A client's {"type": "ping"} is answered in order with a pong carrying the position."""
    await served.issue("LOKET")
    async with connect_ws(served, BOARD) as ws:
        await receive(ws)
        await ws.send('{"type": "ping"}')
        await ws.send("not json")  # ignored
        await ws.send('{"type": "ping"}')
        pong = await receive(ws)
        assert (pong["type"], pong["position"]) == ("pong", 1)
        assert (await receive(ws))["type"] == "pong"


async def test_an_error_in_a_connection_is_logged_and_closes_it_with_1011(
    served: Served, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    """An unexpected error in one connection's tasks is logged with its topic; the client gets 1011."""

    def broken(self: PushHub, sub: Subscriber) -> None:
        raise RuntimeError("a bug in pong")

    monkeypatch.setattr(PushHub, "pong", broken)
    with caplog.at_level(logging.ERROR, logger="antre.ws"):
        async with connect_ws(served, BOARD) as ws:
            await receive(ws)
            await ws.send('{"type": "ping"}')
            assert await close_code(ws) == 1011
    assert "push connection for board:ruang-tunggu failed" in caplog.text
    assert "a bug in pong" in caplog.text
    assert served.hub.clients_by_kind()["board"] == 0


async def test_an_error_in_the_heartbeat_timer_is_logged_and_closes_with_1011(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    """The heartbeat is a timer, not a task: a bug in it still ends only that connection, logged, with 1011."""

    def broken(self: PushHub, sub: Subscriber) -> None:
        raise RuntimeError("a bug in heartbeat")

    monkeypatch.setattr(PushHub, "heartbeat", broken)
    with caplog.at_level(logging.ERROR, logger="antre.ws"):
        async with serve(settings(heartbeat_s=0.01)) as served, connect_ws(served, BOARD) as ws:
            await receive(ws)
            assert await close_code(ws) == 1011
            assert served.hub.clients_by_kind()["board"] == 0
    assert "a bug in heartbeat" in caplog.text


async def test_binary_frames_are_refused(served: Served):
    """The protocol is JSON text: a binary frame closes the connection with 1003."""
    async with connect_ws(served, BOARD) as ws:
        await receive(ws)
        await ws.send(b"\x00")
        assert await close_code(ws) == 1003


async def test_shutdown_closes_with_service_restart():
    """When the server stops, clients are closed with 1012 and may reconnect with their position."""
    async with serve() as served, connect_ws(served, BOARD) as ws:
        await receive(ws)
        served.server.should_exit = True
        assert await close_code(ws) == 1012


@pytest.mark.parametrize(
    ("path", "headers", "code"),
    [
        pytest.param("/ws/board/ruang-tunggu", {}, 4401, id="board-without-token"),
        pytest.param("/ws/board/ruang-tunggu?token=wrong", {}, 4401, id="board-bad-token"),
        pytest.param(f"/ws/board/ruang-tunggu?token={APOTEK_BOARD_TOKEN}", {}, 4403, id="board-other-display"),
        pytest.param(f"/ws/board/ruang-tunggu?token={KIOSK_TOKEN}", {}, 4403, id="board-kiosk-token"),
        pytest.param("/ws/board/nowhere", LOKET_STAFF, 4004, id="board-unknown"),
        pytest.param(f"{BOARD}&after=soon", {}, 4400, id="board-bad-after"),
        pytest.param(f"{BOARD}&after=-1", {}, 4400, id="board-negative-after"),
        pytest.param("/ws/ticket/no-such-token", {}, 4004, id="ticket-unknown-token"),
        pytest.param("/ws/counter/loket-1", {}, 4401, id="counter-without-session"),
        pytest.param("/ws/counter/loket-1", {"Cookie": session_cookie("petugas-poli")}, 4403, id="counter-other-staff"),
        pytest.param("/ws/counter/loket-1", {"Cookie": session_cookie("x", "forged")}, 4401, id="counter-forged"),
        pytest.param("/ws/counter/nowhere", LOKET_STAFF, 4004, id="counter-unknown"),
        pytest.param(
            "/ws/counter/loket-1", {**LOKET_STAFF, "Origin": "http://evil.example"}, 4403, id="counter-cross-site"
        ),
    ],
)
async def test_refusals_close_before_any_data(served: Served, path: str, headers: dict[str, str], code: int):
    """A refused connection is closed with a 44xx/4004 code and gets no data first."""
    assert await refusal(served, path, additional_headers=headers) == (code, [])


async def test_admin_and_staff_may_watch_any_board_and_admin_any_counter(served: Served):
    """Sessions of staff and admins open boards; an admin opens any counter's console."""
    admin = {"Cookie": session_cookie("admin")}
    for path, headers in [
        ("/ws/board/apotek-lab", LOKET_STAFF),
        ("/ws/counter/apotek", admin),
        ("/ws/counter/loket-2", {**LOKET_STAFF, "Origin": f"http://127.0.0.1:{served.port}"}),
    ]:
        async with connect_ws(served, path, additional_headers=headers) as ws:
            assert (await receive(ws))["type"] == "snapshot"
    assert served.hub.clients_by_kind() == {"board": 0, "ticket": 0, "counter": 0, "module": 0}


async def test_a_session_from_the_public_url_is_same_origin():
    """Behind a proxy, pages served from ANTRE_PUBLIC_URL may open staff sockets."""
    async with serve(settings(public_url="https://antre.example")) as served:
        headers = {**LOKET_STAFF, "Origin": "https://antre.example"}
        async with connect_ws(served, "/ws/counter/loket-1", additional_headers=headers) as ws:
            assert (await receive(ws))["type"] == "snapshot"


async def test_clients_are_counted_by_kind(served: Served):
    """clients_by_kind() counts connected subscribers per topic kind (for metrics)."""
    ticket = await served.issue("LOKET")
    async with (
        connect_ws(served, BOARD) as board,
        connect_ws(served, f"/ws/ticket/{served.token_of(ticket)}") as phone,
    ):
        await receive(board)
        await receive(phone)
        assert served.hub.clients_by_kind() == {"board": 1, "ticket": 1, "counter": 0, "module": 0}


async def test_commands_from_other_counters_do_not_wake_a_counter_console(served: Served):
    """A counter console's next message after another service's change is its own change (no empty updates)."""
    async with connect_ws(
        served, "/ws/counter/umum-1", additional_headers={"Cookie": session_cookie("petugas-poli")}
    ) as ws:
        await receive(ws)
        await served.open("loket-1")
        await served.issue("LOKET")
        mine = await served.submit(c.OpenCounter(at=served.clock.now(), counter=CounterId("umum-1"), actor="x"))
        update = await receive(ws)
    assert update["position"] == mine.position
