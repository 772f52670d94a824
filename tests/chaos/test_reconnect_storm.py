"""A reconnect storm: 500 phones and 20 boards lose the server at once and all come back together.

Issue #7, chaos test 7. A real ``antre serve`` process (SQLite) with :data:`PHONES` tickets waiting.
Each phone follows its own ticket (``/ws/ticket/{token}``), each board the waiting room
(``/ws/board/…``), all through one :class:`~tests.chaos.proxy.FaultProxy`: the building's network.
Beside them, a reference subscriber per topic is connected straight to the server and never cut.

The network fails (every connection reset, new ones refused) while the desks keep calling, so every
phone's position in the queue changes under it. Then it comes back and every client reconnects in
the same moment with ``?after=<its last position>``, while the desks go on calling. Afterwards every
client must hold exactly what its reference holds (``docs/protocol.md``): the frames it missed,
replayed in order and once, the same bytes, then live frames; or, where the history could not
reach back, a fresh snapshot and everything after it. A client the server drops for being slow
(4008) in the crush resumes the same way, and is counted.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx2
import pytest

from tests.cluster.support import BOARD_TOKEN, DISPLAY, KIOSK_TOKEN

from .feeds import Feed, Resumes, compare
from .nodes import Node, client, log_in, node_env, running
from .proxy import FaultProxy

pytestmark = [pytest.mark.anyio, pytest.mark.slow, pytest.mark.timeout(180)]

PHONES = 500
BOARDS = 20
#: calls made while everyone is cut off, and while they all reconnect
CALLS_AWAY = 20
CALLS_DURING_STORM = 20
#: WebSocket handshakes in flight while the clients first connect (the storm itself has no limit)
OPENING = 64
DESKS = ("loket-1", "loket-2")
SETTLE_S = 60


async def issue_tickets(base_url: str, count: int) -> list[str]:
    """``count`` LOKET tickets, 16 requests in flight; their tracking tokens in issue order."""
    tokens: list[str] = [""] * count
    limit = asyncio.Semaphore(16)
    async with client(base_url, authorization=f"Bearer {KIOSK_TOKEN}") as kiosk:

        async def one(i: int) -> None:
            async with limit:
                body = {"service": "LOKET", "idempotency_key": f"storm-test-ticket-{i:05d}"}
                response = await kiosk.post("/api/v1/tickets", json=body)
            assert response.status_code == 201, response.text
            tokens[i] = response.json()["token"]

        await asyncio.gather(*(one(i) for i in range(count)))
    return tokens


class Desks:
    """Two desks pressing "call next, completing the current one", one press at a time."""

    def __init__(self, staff: httpx2.AsyncClient) -> None:
        self.staff = staff
        self.presses = 0
        self.pressed = asyncio.Condition()

    async def wait_presses(self, n: int) -> None:
        async with asyncio.timeout(30), self.pressed:
            await self.pressed.wait_for(lambda: self.presses >= n)

    async def call(self, count: int) -> None:
        for _ in range(count):
            async with self.pressed:
                self.presses += 1
                self.pressed.notify_all()
            counter = DESKS[self.presses % len(DESKS)]
            headers = {"Idempotency-Key": f"storm-test-press-{self.presses:05d}"}
            path = f"/api/v1/counters/{counter}/call-next"
            response = await self.staff.post(path, json={"complete_current": True}, headers=headers)
            assert response.status_code == 200, response.text


async def open_all(feeds: list[Feed]) -> None:
    limit = asyncio.Semaphore(OPENING)

    async def one(feed: Feed) -> None:
        async with limit:
            await feed.open()

    await asyncio.gather(*(one(f) for f in feeds))


async def settle(feeds: list[Feed], last: int) -> int:
    """Wait until every feed has reached ``last``; a feed dropped meanwhile (4008) resumes. The drops."""
    drops = 0
    async with asyncio.timeout(SETTLE_S):
        while pending := [f for f in feeds if f.position < last]:
            ended = [f for f in pending if f.ended is not None]
            for feed in ended:
                assert feed.ended is not None and "4008" in feed.ended, f"{feed.name}: {feed.ended}"
                drops += 1
                await feed.open(after=feed.position)
            if not ended:
                await pending[0].reached_or_lost(last, SETTLE_S)
    return drops


async def test_a_reconnect_storm_resumes_every_client_without_a_gap(tmp_path: Path, facility_path: Path) -> None:
    """500 phones + 20 boards cut off at once, calls go on, all reconnect together: no gap, nothing twice."""
    started = time.monotonic()
    node = Node("serve", node_env(f"sqlite:///{tmp_path / 'antre.db'}", facility_path), tmp_path)
    async with running(node):
        proxy = await FaultProxy("127.0.0.1", node.port).start()
        feeds: list[Feed] = []
        try:
            tokens = await issue_tickets(node.url, PHONES)
            async with client(node.url) as staff:
                await log_in(staff)
                for counter in DESKS:
                    assert (await staff.post(f"/api/v1/counters/{counter}/open")).status_code == 200
                desks = Desks(staff)
                board = f"/ws/board/{DISPLAY}?token={BOARD_TOKEN}"
                references = [Feed(f"{node.ws_url}{board}", "board-reference")]
                references += [
                    Feed(f"{node.ws_url}/ws/ticket/{t}", f"phone-{i}-reference") for i, t in enumerate(tokens)
                ]
                boards = [Feed(f"ws://{proxy.address}{board}", f"board-{i}") for i in range(BOARDS)]
                phones = [Feed(f"ws://{proxy.address}/ws/ticket/{t}", f"phone-{i}") for i, t in enumerate(tokens)]
                feeds = [*references, *boards, *phones]
                await open_all(feeds)
                await desks.call(5)

                calling = asyncio.create_task(desks.call(CALLS_AWAY))
                await desks.wait_presses(5 + CALLS_AWAY // 4)  # the network fails while the desks are calling
                await proxy.refuse()
                dropped = proxy.drop_all()
                away = [*boards, *phones]
                await asyncio.gather(*(f.lost() for f in away))
                await calling

                await proxy.accept()
                storm_started = time.monotonic()
                calling = asyncio.create_task(desks.call(CALLS_DURING_STORM))
                await asyncio.gather(*(f.open(after=f.position) for f in away))  # all at once
                storm_s = time.monotonic() - storm_started
                await calling
                response = await staff.get(f"/api/v1/boards/{DISPLAY}")
                last = response.json()["position"]
                drops = await settle(feeds, last)  # heartbeats (every second) bring each feed to the last position
        finally:
            for feed in feeds:
                await feed.close()
            await proxy.close()
    resumes = Resumes()
    for feed in boards:
        compare(feed, references[0], resumes)
    for phone, reference in zip(phones, references[1:], strict=True):
        compare(phone, reference, resumes)
    print(
        f"[chaos] reconnect storm: clients={len(away)} dropped={dropped} reconnected_in={storm_s:.2f}s "
        f"replays={resumes.replays} snapshots={resumes.snapshots} slow_drops={drops} "
        f"frames_compared={resumes.frames} gaps={len(resumes.problems)} seconds={time.monotonic() - started:.1f}"
    )
    assert dropped >= len(away)
    assert resumes.problems == [], "\n".join(resumes.problems[:20])
    assert resumes.replays + resumes.snapshots >= len(away)
    errors = node.errors()
    assert errors == [], f"the server logged {len(errors)} tracebacks, e.g. {errors[:3]}"
