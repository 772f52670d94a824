"""A board cut off while the counters keep calling: back online, it announces every call it missed, once, in order.

Issue #7, chaos test 6. A real ``antre serve`` process (SQLite); the board reaches it through a
:class:`~tests.chaos.proxy.FaultProxy`, whose listening port stands for the building's network.
The cut resets the board's connection and refuses new ones. While it lasts, two counters call one
number after another, many times over: what a busy morning calls in a long minute, compressed.
Then the network comes back.

* The protocol: a board client resumes with ``?after=<last position>`` and must get every frame it
  missed, in order, exactly once, byte for byte what a board that was never cut got (a reference
  board connected straight to the server), then a heartbeat. Its ``call`` frames are the calls the
  desks were answered with. A second, longer cut outruns the topic's history (512 frames): then the
  resume is a fresh snapshot, as ``docs/protocol.md`` says, and the board carries on from it.
* The page: the real board page in headless Chromium (through the same proxy, and offline as far
  as the browser knows) announces each missed call once, in order (``window.antreBoard.announced``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import orjson
import pytest

from tests.cluster.support import BOARD_TOKEN, DISPLAY, KIOSK_TOKEN

from .feeds import Feed, Frame, Resumes, compare
from .nodes import Node, client, log_in, node_env, running
from .proxy import FaultProxy

pytestmark = [pytest.mark.anyio, pytest.mark.slow, pytest.mark.timeout(120)]

#: calls made while the board is away: within the topic's history (512 frames, two per call)...
MISSED = 200
#: ... and, the second time, beyond it
MISSED_LONG = 300
#: calls the page misses (it keeps its last 100 announcements)
PAGE_MISSED = 60
BOARD = f"/ws/board/{DISPLAY}?token={BOARD_TOKEN}"
DESKS = ("loket-1", "loket-2")


@dataclass
class Scene:
    """A node, a proxy in front of it, a desk and a kiosk on the node, and a board never cut off."""

    node: Node
    proxy: FaultProxy
    staff: httpx2.AsyncClient
    kiosk: httpx2.AsyncClient
    reference: Feed
    presses: int = 0

    def proxied(self, path: str) -> str:
        return f"ws://{self.proxy.address}{path}"

    async def issue(self, count: int) -> None:
        for i in range(count):
            body = {"service": "LOKET", "idempotency_key": f"board-test-ticket-{i:05d}"}
            response = await self.kiosk.post("/api/v1/tickets", json=body)
            assert response.status_code == 201, response.text

    async def call(self, count: int) -> list[tuple[str, str]]:
        """``count`` presses of "call next, completing the current one", alternating desks: (number, counter)."""
        called = []
        for _ in range(count):
            self.presses += 1
            counter = DESKS[self.presses % len(DESKS)]
            key = {"Idempotency-Key": f"board-test-press-{self.presses:05d}"}
            path = f"/api/v1/counters/{counter}/call-next"
            response = await self.staff.post(path, json={"complete_current": True}, headers=key)
            assert response.status_code == 200, response.text
            called.append((response.json()["current"]["number"], counter))
        return called

    async def position(self) -> int:
        response = await self.kiosk.get(f"/api/v1/boards/{DISPLAY}", headers={"authorization": f"Bearer {BOARD_TOKEN}"})
        position: int = response.json()["position"]
        return position

    async def cut(self) -> int:
        """The building's network goes down: connections reset, new ones refused."""
        await self.proxy.refuse()
        return self.proxy.drop_all()


@contextlib.asynccontextmanager
async def scene(tmp_path: Path, facility_path: Path, tickets: int) -> AsyncIterator[Scene]:
    node = Node("serve", node_env(f"sqlite:///{tmp_path / 'antre.db'}", facility_path), tmp_path)
    async with running(node):
        proxy = await FaultProxy("127.0.0.1", node.port).start()
        reference = Feed(node.ws_url + BOARD, "reference")
        try:
            async with client(node.url) as staff, client(node.url, authorization=f"Bearer {KIOSK_TOKEN}") as kiosk:
                await log_in(staff)
                for counter in DESKS:
                    opened = await staff.post(f"/api/v1/counters/{counter}/open")
                    assert opened.status_code == 200, opened.text
                the_scene = Scene(node, proxy, staff, kiosk, reference)
                await the_scene.issue(tickets)
                await reference.open()
                yield the_scene
        finally:
            await reference.close()
            await proxy.close()
    assert node.errors() == [], node.describe()


def calls_in(frames: list[Frame]) -> list[tuple[str, str]]:
    """(number, counter) of each ``call`` frame, in order."""
    data = [orjson.loads(f.raw)["data"] for f in frames if f.kind == "call"]
    return [(d["number"], d["counter"]) for d in data]


async def test_a_board_cut_off_for_many_calls_gets_each_missed_call_once_in_order(
    tmp_path: Path, facility_path: Path
) -> None:
    """Resume with ?after=<last position>: every missed frame once, in order, the reference's bytes; then a
    cut longer than the history: a fresh snapshot."""
    started = time.monotonic()
    async with scene(tmp_path, facility_path, tickets=MISSED + MISSED_LONG + 10) as s:
        away = Feed(s.proxied(BOARD), "away")
        await away.open()
        live = await s.call(5)
        last = await s.position()
        await away.reached(last)
        await s.reference.reached(last)

        # 1. away for MISSED calls: the replay covers them
        dropped = await s.cut()
        await away.lost()
        missed = await s.call(MISSED)
        last = await s.position()
        await s.proxy.accept()
        away_at = away.position
        await away.open(after=away_at)
        await away.reached(last)
        replayed = calls_in(away.content(1))

        # 2. away for MISSED_LONG calls: more than the history holds, so a snapshot comes instead
        await s.cut()
        await away.lost()
        await s.call(MISSED_LONG)
        last = await s.position()
        await s.proxy.accept()
        await away.open(after=away.position)
        after_long = await s.call(3)
        last = await s.position()
        await away.reached(last)
        await s.reference.reached(last)
        await away.close()
    resumes = Resumes()
    compare(away, s.reference, resumes)
    first_resume = away.connections[1]
    beat = next(i for i, f in enumerate(first_resume) if f.kind == "heartbeat")  # the end of the replay
    print(
        f"[chaos] board away for {MISSED} calls: dropped={dropped} resumed_after={away_at} "
        f"replayed_frames={beat} replayed_calls={len(replayed)} lost={len(set(missed) - set(replayed))} "
        f"twice={len(replayed) - len(set(replayed))} then {MISSED_LONG} calls: resume={away.connections[2][0].kind} "
        f"frames_compared={resumes.frames} seconds={time.monotonic() - started:.1f}"
    )
    assert resumes.problems == [], "\n".join(resumes.problems)
    assert replayed == missed, "the replayed call frames are not the missed calls, once each, in order"
    assert beat == 2 * MISSED and first_resume[0].position > away_at  # an update and a call per press
    assert away.connections[2][0].kind == "snapshot"  # the history did not reach back that far
    assert (resumes.replays, resumes.snapshots) == (1, 1)
    assert calls_in(away.content(2)) == after_long  # after the snapshot, live calls as usual
    assert live and len({n for n, _ in missed}) == MISSED


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.mark.browser
@pytest.mark.skipif(importlib.util.find_spec("playwright") is None, reason="playwright is not installed")
@pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="chromium is not installed")
async def test_the_board_page_back_online_announces_each_missed_call_once_in_order(
    tmp_path: Path, facility_path: Path
) -> None:
    """The real board page, cut off (proxy reset and refusing; the browser offline) for many calls."""
    from playwright.async_api import async_playwright

    started = time.monotonic()
    async with scene(tmp_path, facility_path, tickets=PAGE_MISSED + 10) as s, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            context = await browser.new_context(bypass_csp=True)  # wait_for_function evaluates strings
            page = await context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            await page.goto(f"http://{s.proxy.address}/board/{DISPLAY}?token={BOARD_TOKEN}")
            live = await s.call(3)
            position = await s.position()
            await page.wait_for_function(
                "p => window.antreBoard.online && window.antreBoard.state.position >= p", arg=position
            )
            before = await page.evaluate("() => window.antreBoard.announced.length")

            await context.set_offline(True)
            await s.cut()
            await page.wait_for_function("() => window.antreBoard.online === false")
            missed = await s.call(PAGE_MISSED)
            await s.proxy.accept()
            await context.set_offline(False)  # the browser's "online" event: the page reconnects at once
            await page.wait_for_function(
                "n => window.antreBoard.announced.length >= n", arg=before + PAGE_MISSED, timeout=30_000
            )
            position = await s.position()
            await page.wait_for_function("p => window.antreBoard.state.position >= p", arg=position)
            announced = await page.evaluate("() => window.antreBoard.announced")
        finally:
            await browser.close()
    got = [(a["number"], a["counter"]) for a in announced]
    print(
        f"[chaos] board page offline for {PAGE_MISSED} calls: announced_before={before} "
        f"announced_after={len(got) - before} expected={len(missed)} lost={len(set(missed) - set(got))} "
        f"twice={len(got) - len(set(got))} seconds={time.monotonic() - started:.1f}"
    )
    assert got[:before] == live
    assert got[before:] == missed, "each missed call once, in order"
    assert errors == []


async def test_a_board_cut_between_a_calls_update_and_its_call_frame_still_announces_the_call(
    tmp_path: Path, facility_path: Path
) -> None:
    """A call reaches a board as two frames of one position: the ``update`` (the number on the board) and the
    ``call`` (the announcement). A board whose network fails between the two resumes as docs/protocol.md
    says and ``display_board/static/board.js`` does: one position back (``?after=<last position - 1>``),
    dropping the calls it already had (keyed by position, counter and number): the call is announced once.

    Resuming at the last position itself (as board.js did before) replays only frames *after* it, so the
    call frame at it was never sent again: the number showed but was never announced.
    """
    started = time.monotonic()
    async with scene(tmp_path, facility_path, tickets=5) as s:
        board = Feed(s.node.ws_url + BOARD, "board")
        await board.open(cut_after=lambda frame: frame.kind == "update")  # the first update after the snapshot
        called = await s.call(1)
        await board.lost()
        at, cut = board.position, board.ended
        await board.open(after=at - 1)
        await board.reached(await s.position())
        await board.close()
    frames = [(f.kind, f.position) for f in board.content()]
    print(
        f"[chaos] board cut inside a call's batch: frames={frames} called={called} "
        f"announced={calls_in(board.content())} seconds={time.monotonic() - started:.1f}"
    )
    assert board.ended is not None and board.connections[0][-1].kind == "update"
    announced = list(dict.fromkeys(calls_in(board.content())))  # the board's dedupe by call
    assert announced == called, f"{cut}; the call at {at} was never announced"
