"""PushHub without sockets: which topics a batch touches, coalescing, history and resume, slow clients.

The hub runs on a real Runtime over a memory log (the demo puskesmas on a Thursday morning);
subscribers are read straight from their queues.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import anyio
import orjson
import pytest

from queue_engine import CounterId, ManualClock, Runtime, SequentialIds, ServiceCode, load_facility
from queue_engine.log.memory import MemoryLog
from tests.runtime.support import THURSDAY_0800, Env, SpyLog
from web.hub import PushHub, Subscriber, UnknownTopic
from web.settings import SettingsError

from .wsutil import settings

pytestmark = pytest.mark.anyio

LOKET = ServiceCode("LOKET")
APOTEK = ServiceCode("APOTEK")
LOKET_1 = CounterId("loket-1")
BOARD = "board:ruang-tunggu"  # LOKET, UMUM, GIGI, KIA
APOTEK_BOARD = "board:apotek-lab"  # LAB, APOTEK


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    shared = MemoryLog()
    async with AsyncExitStack() as stack:
        yield Env(load_facility(), ManualClock(THURSDAY_0800), SequentialIds(), stack, lambda: shared, "memory")


async def start_hub(env: Env, runtime: Runtime, **options: Any) -> PushHub:
    hub_settings = settings(client_queue=options.pop("client_queue", 64))
    hub = PushHub(runtime, hub_settings, **options)
    await hub.start()
    env.stack.push_async_callback(hub.close)
    return hub


def pending(sub: Subscriber) -> list[dict[str, Any]]:
    """Everything queued for a subscriber right now, decoded (and taken off its queue)."""
    texts = [*sub.backlog, *sub.queue]
    sub.backlog.clear()
    sub.queue.clear()
    return [orjson.loads(t) for t in texts]


def kinds(sub: Subscriber) -> list[tuple[str, int]]:
    return [(m["type"], m["position"]) for m in pending(sub)]


async def test_a_batch_renders_each_topic_once(env: Env):
    """Five commands written in one batch give a board one update, at the batch's position."""
    runtime = await env.runtime()
    hub = await start_hub(env, runtime)
    board = await hub.subscribe(BOARD)
    results = await asyncio.gather(*(runtime.submit(env.issue()) for _ in range(5)))
    assert [r.position for r in results] == [1, 2, 3, 4, 5]
    snapshot, update = pending(board)
    assert (snapshot["type"], update["type"], update["position"]) == ("snapshot", "update", 5)
    loket = next(q for q in update["data"]["queues"] if q["service"] == "LOKET")
    assert loket["waiting"] == 5


async def test_deltas_touch_only_the_topics_they_concern(env: Env):
    """A loket change reaches the main board, loket consoles and waiting loket tickets; nobody else."""
    runtime = await env.runtime()
    hub = await start_hub(env, runtime)
    loket_ticket = await runtime.submit(env.issue(LOKET))
    apotek_ticket = await runtime.submit(env.issue(APOTEK))
    subs = {
        name: await hub.subscribe(topic)
        for name, topic in {
            "board": BOARD,
            "apotek-board": APOTEK_BOARD,
            "loket-1": "counter:loket-1",
            "umum-1": "counter:umum-1",
            "loket-ticket": f"ticket:{loket_ticket.ticket_id}",
            "apotek-ticket": f"ticket:{apotek_ticket.ticket_id}",
        }.items()
    }
    for sub in subs.values():
        assert kinds(sub) == [("snapshot", 2)]

    def woken() -> dict[str, list[str]]:
        return {name: [m["type"] for m in got] for name, sub in subs.items() if (got := pending(sub))}

    await runtime.submit(env.issue(LOKET))
    assert woken() == {"board": ["update"], "loket-1": ["update"], "loket-ticket": ["update"]}
    await runtime.submit(env.open_counter(LOKET_1))
    assert woken() == {"board": ["update"], "loket-1": ["update"], "loket-ticket": ["update"]}
    await runtime.submit(env.call_next(LOKET_1))  # calls the loket ticket
    assert woken() == {"board": ["update", "call"], "loket-1": ["update"], "loket-ticket": ["update"]}
    await runtime.submit(env.complete(LOKET_1))  # a completion moves the ETA of those still waiting
    assert woken() == {"board": ["update"], "loket-1": ["update"], "loket-ticket": ["update"]}
    await runtime.submit(env.issue(APOTEK))
    assert woken() == {"apotek-board": ["update"], "apotek-ticket": ["update"]}


async def test_board_messages_carry_no_tokens_or_ticket_ids(env: Env):
    """What a board receives names numbers and counters, never a ticket's id or tracking token."""
    runtime = await env.runtime()
    hub = await start_hub(env, runtime)
    board = await hub.subscribe(BOARD)
    await runtime.submit(env.open_counter(LOKET_1))
    issued = [await runtime.submit(env.issue()) for _ in range(3)]
    await runtime.submit(env.call_next(LOKET_1))
    text = "".join(board.backlog) + "".join(board.queue)
    for result in issued:
        assert result.ticket_id is not None
        ticket = runtime.state.tickets[result.ticket_id]
        assert f'"{ticket.token}"' not in text
        assert f'"{ticket.id}"' not in text


async def test_resume_within_the_history_replays_then_confirms(env: Env):
    """after=N within the history: exactly the messages after N, in order, then a heartbeat."""
    runtime = await env.runtime()
    hub = await start_hub(env, runtime)
    async with hub.subscription(BOARD) as sub:
        assert kinds(sub) == [("snapshot", 0)]
    await runtime.submit(env.open_counter(LOKET_1))  # the topic lingers and keeps recording
    await runtime.submit(env.issue())
    await runtime.submit(env.call_next(LOKET_1))
    resumed = await hub.subscribe(BOARD, after=1)
    assert kinds(resumed) == [("update", 2), ("update", 3), ("call", 3), ("heartbeat", 3)]


async def test_resume_outside_the_history_gets_a_snapshot(env: Env):
    """Evicted history, a position from another log, or a topic nobody watched: a fresh snapshot."""
    runtime = await env.runtime()
    hub = await start_hub(env, runtime, history=2)
    await runtime.submit(env.issue())  # 1: before anyone watched
    sub = await hub.subscribe(BOARD)
    for _ in range(3):  # 2, 3, 4: the history keeps 3 and 4
        await runtime.submit(env.issue())
    assert kinds(await hub.subscribe(BOARD, after=0)) == [("snapshot", 4)]  # the topic did not exist at 0
    assert kinds(await hub.subscribe(BOARD, after=1)) == [("snapshot", 4)]  # 2 was evicted
    assert kinds(await hub.subscribe(BOARD, after=2)) == [("update", 3), ("update", 4), ("heartbeat", 4)]
    assert kinds(await hub.subscribe(BOARD, after=4)) == [("heartbeat", 4)]
    assert kinds(await hub.subscribe(BOARD, after=5)) == [("snapshot", 4)]  # not this log's position
    assert len(pending(sub)) == 4


async def test_a_ticket_keeps_only_its_last_messages(env: Env):
    """A ticket's topic keeps a short history (each message is the whole view): older positions get a snapshot."""
    runtime = await env.runtime()
    hub = await start_hub(env, runtime)
    assert (hub.history, hub.ticket_history) == (512, 4)
    mine = await runtime.submit(env.issue())  # 1
    topic = f"ticket:{mine.ticket_id}"
    sub = await hub.subscribe(topic)
    for _ in range(5):  # 2..6: every issue moves the ticket's view (its ETA and position): the history keeps 3..6
        await runtime.submit(env.issue())
    assert kinds(await hub.subscribe(topic, after=2)) == [("update", p) for p in (3, 4, 5, 6)] + [("heartbeat", 6)]
    assert kinds(await hub.subscribe(topic, after=1)) == [("snapshot", 6)]
    assert kinds(await hub.subscribe(BOARD)) == [("snapshot", 6)]
    assert len(pending(sub)) == 6


async def test_a_topic_nobody_watches_is_forgotten_after_linger(env: Env):
    """Once linger_s has passed without subscribers, a topic stops recording: resuming gets a snapshot."""
    runtime = await env.runtime()
    hub = await start_hub(env, runtime, linger_s=0.0)
    async with hub.subscription(BOARD):
        pass
    await runtime.submit(env.issue())
    assert kinds(await hub.subscribe(BOARD, after=0)) == [("snapshot", 1)]


async def test_a_full_queue_drops_only_that_client(env: Env):
    """A subscriber whose queue is full is told to close with 4008; the others get every message."""
    runtime = await env.runtime()
    hub = await start_hub(env, runtime, client_queue=2)
    slow = await hub.subscribe(BOARD)
    fast = await hub.subscribe(BOARD)
    fast_got = kinds(fast)
    for _ in range(4):
        await runtime.submit(env.issue())
        fast_got += kinds(fast)
    assert fast_got == [("snapshot", 0), ("update", 1), ("update", 2), ("update", 3), ("update", 4)]
    assert (slow.closed, slow.close_code, hub.drops) == (True, 4008, 1)
    assert kinds(slow) == [("snapshot", 0), ("update", 1), ("update", 2)]
    assert hub.clients_by_kind() == {"board": 1, "ticket": 0, "counter": 0, "module": 0}


async def test_a_batch_is_queued_whole_or_not_at_all(env: Env):
    """A call's update and call message go onto a queue together: a client never holds half a batch."""
    runtime = await env.runtime()
    await runtime.submit(env.open_counter(LOKET_1))
    await runtime.submit(env.issue())
    hub = await start_hub(env, runtime, client_queue=2)
    sub = await hub.subscribe(BOARD)
    await runtime.submit(env.issue())  # one slot left
    await runtime.submit(env.call_next(LOKET_1))  # update + call: do not fit
    assert sub.close_code == 4008
    assert kinds(sub) == [("snapshot", 2), ("update", 3)]


async def test_a_snapshot_waits_for_the_batch_being_written(env: Env):
    """Subscribing while a batch is in flight: the snapshot shows it once durable, and no update repeats it."""
    spy = SpyLog(MemoryLog())
    runtime = await env.runtime(spy)
    hub = await start_hub(env, runtime)
    spy.gate = asyncio.Event()
    writing = [asyncio.create_task(runtime.submit(env.issue())) for _ in range(2)]  # one batch of two
    await spy.entered.wait()
    assert runtime.state.position == 1  # the first applied speculatively, the last only once durable
    subscribing = asyncio.create_task(hub.subscribe(BOARD))
    done, _ = await asyncio.wait({subscribing}, timeout=0.05)  # it must still be waiting for the write
    assert not done
    spy.gate.set()
    assert [(await w).position for w in writing] == [1, 2]
    sub = await subscribing
    assert kinds(sub) == [("snapshot", 2)]


async def test_a_snapshot_during_a_single_command_write_shows_the_durable_state(env: Env):
    """A batch of one is not applied before it is durable: a snapshot then is at once, and the update follows."""
    spy = SpyLog(MemoryLog())
    runtime = await env.runtime(spy)
    hub = await start_hub(env, runtime)
    spy.gate = asyncio.Event()
    writing = asyncio.create_task(runtime.submit(env.issue()))
    await spy.entered.wait()
    with anyio.fail_after(5):
        sub = await hub.subscribe(BOARD)
    spy.gate.set()
    assert (await writing).position == 1
    assert kinds(sub) == [("snapshot", 0), ("update", 1)]


async def test_a_batch_with_unseen_events_refreshes_every_topic(env: Env):
    """Events published without deltas (a cancelled caller's, or another writer's) still reach every topic."""
    spy = SpyLog(MemoryLog())
    runtime = await env.runtime(spy)
    hub = await start_hub(env, runtime)
    apotek_board = await hub.subscribe(APOTEK_BOARD)
    spy.gate = asyncio.Event()
    gave_up = asyncio.create_task(runtime.submit(env.issue(APOTEK)))
    stayed = asyncio.create_task(runtime.submit(env.issue(LOKET)))
    await spy.entered.wait()
    gave_up.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gave_up
    spy.gate.set()
    assert (await stayed).position == 2
    # The runtime published only the loket ticket's deltas; the hub saw position 1 was missing.
    first, update = pending(apotek_board)
    assert first["type"] == "snapshot"
    assert (update["type"], update["position"]) == ("update", 2)
    assert next(q for q in update["data"]["queues"] if q["service"] == "APOTEK")["waiting"] == 1


async def test_a_topic_that_fails_to_render_is_closed_and_the_others_go_on(
    env: Env, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    """A rendering bug closes that topic's clients with 1011 and is logged; other topics still get the batch."""
    runtime = await env.runtime()
    hub = await start_hub(env, runtime)
    board = await hub.subscribe(BOARD)
    issued = await runtime.submit(env.issue())
    phone = await hub.subscribe(f"ticket:{issued.ticket_id}")
    pending(board)

    def broken(*args: Any) -> dict[str, Any]:
        raise RuntimeError("a rendering bug")

    monkeypatch.setattr("web.hub.ticket_json", broken)
    with caplog.at_level(logging.ERROR, logger="antre.hub"):
        await runtime.submit(env.issue())
    assert kinds(board) == [("update", 2)]
    assert phone.close_code == 1011
    assert f"rendering ticket:{issued.ticket_id} at 2 failed" in caplog.text
    assert "a rendering bug" in caplog.text


async def test_heartbeat_and_pong_carry_the_position(env: Env):
    """Heartbeats and pongs are queued behind earlier messages, with the hub's position and the time."""
    runtime = await env.runtime()
    hub = await start_hub(env, runtime)
    sub = await hub.subscribe(BOARD)
    await runtime.submit(env.issue())
    hub.heartbeat(sub)
    hub.pong(sub)
    messages = pending(sub)
    assert [(m["type"], m["position"]) for m in messages] == [
        ("snapshot", 0),
        ("update", 1),
        ("heartbeat", 1),
        ("pong", 1),
    ]
    assert messages[2]["at"] == env.clock.now()


async def test_close_asks_every_connection_to_close_for_a_restart(env: Env):
    """Closing the hub (shutdown) signals 1012 to every subscriber and stops listening to the engine."""
    runtime = await env.runtime()
    hub = await start_hub(env, runtime)
    sub = await hub.subscribe(BOARD)
    await hub.close()
    assert sub.close_code == 1012
    await runtime.submit(env.issue())
    assert kinds(sub) == [("snapshot", 0)]


@pytest.mark.parametrize("topic", ["board:nowhere", "ticket:t404", "counter:nowhere", "queue:LOKET", "board:", "board"])
async def test_unknown_topics_are_refused(env: Env, topic: str):
    """A topic must name a display, a live ticket or a counter of the facility."""
    runtime = await env.runtime()
    hub = await start_hub(env, runtime)
    with pytest.raises(UnknownTopic):
        await hub.subscribe(topic)


async def test_ticket_ids_come_from_tokens(env: Env):
    """ticket_id(token) resolves a tracking token to its ticket; an unknown token gives None."""
    runtime = await env.runtime()
    hub = await start_hub(env, runtime)
    result = await runtime.submit(env.issue())
    assert result.ticket_id is not None
    token = runtime.state.tickets[result.ticket_id].token
    assert await hub.ticket_id(token) == result.ticket_id
    assert await hub.ticket_id("nope") is None


@pytest.mark.parametrize("bad", [{"client_queue": 0}, {"heartbeat_s": 0.0}])
def test_settings_refuse_an_unbounded_queue_or_a_busy_heartbeat(bad: dict[str, Any]):
    """client_queue=0 would make asyncio queues unbounded, heartbeat_s=0 a busy loop: both are refused."""
    with pytest.raises(SettingsError):
        settings(**bad)
