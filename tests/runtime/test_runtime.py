"""The runtime: sequencing, group commit, durability before answers, rollback, catch-up and restart.

Every test runs the demo puskesmas on a Thursday morning, over the memory log and over SQLite
(the ``env`` fixture), unless it says otherwise.
"""

from __future__ import annotations

import asyncio

import anyio
import pytest

from queue_engine import (
    Announced,
    CounterChanged,
    CounterId,
    Delta,
    DomainError,
    LogUnavailable,
    QueueChanged,
    Runtime,
    SequentialIds,
    ServiceCode,
    TicketChanged,
    TicketId,
    TicketStatus,
    load_state,
    runtime as runtime_module,
)
from queue_engine.codec import decode_event
from queue_engine.domain.commands import PauseCounter
from queue_engine.domain.errors import CounterBusy, CounterNotOpen, NotFound
from queue_engine.domain.events import TicketCalled, TicketIssued
from queue_engine.log.memory import MemoryLog
from queue_engine.runtime import LogBehind

from .support import APOTEK, LAB, LOKET, LOKET_1, LOKET_2, Env, SpyLog

pytestmark = pytest.mark.anyio

LAB_COUNTER = CounterId("lab")


async def test_submit_returns_ticket_id_and_position(env: Env):
    """submit answers with the new ticket's id, the log position of its event, and the event."""
    runtime = await env.runtime()
    first = await runtime.submit(env.issue())
    second = await runtime.submit(env.issue(LAB))
    assert (first.ticket_id, first.position) == ("t1", 1)
    assert (second.ticket_id, second.position) == ("t2", 2)
    assert isinstance(first.events[0], TicketIssued)
    assert first.events[0].number == "A001"
    assert isinstance(second.events[0], TicketIssued)
    assert second.events[0].number == "E001"
    assert await runtime.log.last_position(env.facility.id) == 2
    assert runtime.state.tickets[TicketId("t1")].status is TicketStatus.WAITING


async def test_each_result_carries_the_position_of_its_own_events(env: Env):
    """In one group-committed batch, every caller gets the log position of its own last event."""
    runtime = await env.runtime()
    await runtime.submit(env.open_counter())
    await runtime.submit(env.issue())
    results = await asyncio.gather(
        runtime.submit(env.issue()),
        runtime.submit(env.call_next()),  # one event: calls t1
        runtime.submit(env.issue()),
        runtime.submit(env.call_next(complete_current=True)),  # two events: completes t1, calls t2
        runtime.submit(env.issue()),
    )
    assert [r.position for r in results] == [3, 4, 5, 7, 8]
    records = {r.position: decode_event(r.payload) for r in await runtime.log.read(env.facility.id)}
    for result in results:
        assert records[result.position] == result.events[-1]


async def test_domain_error_propagates_and_appends_nothing(env: Env):
    """A rejected command raises its DomainError; the log and the state stay exactly as they were."""
    spy = SpyLog(env.log())
    runtime = await env.runtime(spy)
    await runtime.submit(env.issue())
    before = runtime.state.snapshot()
    with pytest.raises(CounterNotOpen):
        await runtime.submit(env.call_next())
    with pytest.raises(NotFound):
        await runtime.submit(env.issue(ServiceCode("NOPE")))
    assert spy.appends == [1]
    assert await spy.last_position(env.facility.id) == 1
    assert runtime.state.snapshot() == before


async def test_rejection_inside_a_batch_changes_nothing(env: Env):
    """In a batch, a rejected command gets its error; the others are written, without it."""
    spy = SpyLog(env.log())
    runtime = await env.runtime(spy)
    outcomes = await asyncio.gather(
        runtime.submit(env.issue()),
        runtime.submit(env.call_next()),  # loket-1 is closed
        runtime.submit(env.issue()),
        return_exceptions=True,
    )
    assert isinstance(outcomes[1], CounterNotOpen)
    assert [getattr(o, "ticket_id", None) for o in outcomes[::2]] == ["t1", "t2"]
    assert spy.appends == [2]
    events = [decode_event(r.payload) for r in await spy.read(env.facility.id)]
    assert [type(e) for e in events] == [TicketIssued, TicketIssued]


async def test_listeners_get_deltas_only_after_the_append(env: Env):
    """Listeners receive (position, delta) pairs, and only once the real log has the events."""
    spy = SpyLog(env.log())
    runtime = await env.runtime(spy)
    received: list[tuple[int, Delta]] = []
    durable_when_called: list[int] = []

    def listener(deltas: list[tuple[int, Delta]]) -> None:
        durable_when_called.append(spy.durable)
        received.extend(deltas)

    runtime.subscribe(listener)
    await runtime.submit(env.open_counter())
    opened = list(received)
    spy.gate = asyncio.Event()
    spy.entered.clear()
    with anyio.fail_after(5):
        issued = asyncio.create_task(runtime.submit(env.issue()))
        await spy.entered.wait()  # the append is in progress, held at the gate
        during_append = (list(received), runtime.state.position)
        spy.gate.set()
        assert (await issued).position == 2
    assert (1, CounterChanged(LOKET_1)) in opened
    assert {position for position, _ in opened} == {1}
    assert during_append == (opened, 1)  # a batch's last command is applied only once durable
    assert durable_when_called == [1, 2]
    after = received[len(opened) :]
    assert {position for position, _ in after} == {2}
    assert {TicketChanged(TicketId("t1")), QueueChanged(LOKET)} <= {delta for _, delta in after}


async def test_listeners_get_every_position_and_announcements(env: Env):
    """Deltas carry the position of the event that caused them; a call yields an announcement."""
    runtime = await env.runtime()
    received: list[tuple[int, Delta]] = []
    runtime.subscribe(received.extend)
    await asyncio.gather(
        runtime.submit(env.open_counter()), runtime.submit(env.issue()), runtime.submit(env.call_next())
    )
    assert sorted({position for position, _ in received}) == [1, 2, 3]
    announcements = [(p, d) for p, d in received if isinstance(d, Announced)]
    assert announcements == [(3, Announced(LOKET_1, TicketId("t1"), "A001", LOKET, recall=False))]


async def test_failing_listener_does_not_stop_others_or_the_command(env: Env, caplog: pytest.LogCaptureFixture):
    """A listener that raises is logged; the command still succeeds and later listeners still run."""
    runtime = await env.runtime()
    received: list[tuple[int, Delta]] = []

    def broken(deltas: list[tuple[int, Delta]]) -> None:
        raise RuntimeError("listener bug")

    runtime.subscribe(broken)
    unsubscribe = runtime.subscribe(received.extend)
    result = await runtime.submit(env.issue())
    assert result.ticket_id == "t1"
    assert received
    assert "listener failed" in caplog.text
    unsubscribe()
    await runtime.submit(env.issue())
    assert {p for p, _ in received} == {1}


async def test_group_commit_appends_concurrent_commands_together(env: Env):
    """64 concurrent submits are written in far fewer than 64 appends, and every one is acknowledged."""
    spy = SpyLog(env.log())
    runtime = await env.runtime(spy)
    with anyio.fail_after(10):
        results = await asyncio.gather(*(runtime.submit(env.issue()) for _ in range(64)))
    assert len(spy.appends) <= 4, spy.appends
    assert sum(spy.appends) == 64
    assert sorted(r.position for r in results) == list(range(1, 65))
    assert {r.ticket_id for r in results} == {f"t{i}" for i in range(1, 65)}
    numbers = sorted(runtime.state.tickets[r.ticket_id].number for r in results if r.ticket_id)
    assert numbers == [f"A{i:03d}" for i in range(1, 65)]
    assert await spy.last_position(env.facility.id) == 64


async def test_max_batch_bounds_one_append(env: Env):
    """With max_batch=8, 20 concurrent submits go out in appends of at most 8 events."""
    spy = SpyLog(env.log())
    runtime = await env.runtime(spy, max_batch=8)
    await asyncio.gather(*(runtime.submit(env.issue()) for _ in range(20)))
    assert max(spy.appends) <= 8
    assert sum(spy.appends) == 20


async def test_append_failure_rolls_back_and_the_next_command_succeeds(env: Env):
    """When the append fails, the batch's callers get LogUnavailable, the state is as before, and work goes on."""
    spy = SpyLog(env.log())
    runtime = await env.runtime(spy)
    received: list[tuple[int, Delta]] = []
    await runtime.submit(env.open_counter())
    await runtime.submit(env.issue())
    runtime.subscribe(received.extend)
    before = runtime.state.snapshot()

    spy.fail_next = 1
    outcomes = await asyncio.gather(
        runtime.submit(env.issue()),
        runtime.submit(env.issue(LAB)),
        runtime.submit(env.call_next()),
        return_exceptions=True,
    )
    assert spy.failed_appends == 1
    assert all(isinstance(o, LogUnavailable) for o in outcomes), outcomes
    assert runtime.state.snapshot() == before
    assert await spy.last_position(env.facility.id) == 2
    assert received == []

    result = await runtime.submit(env.issue())
    assert result.position == 3
    assert isinstance(result.events[0], TicketIssued)
    assert result.events[0].number == "A002"  # the failed batch used no number
    called = await runtime.submit(env.call_next())
    assert called.ticket_id == "t1"
    assert runtime.state.snapshot() == (await load_state(env.facility, spy)).snapshot()


async def test_after_a_failed_append_no_answer_comes_from_the_unwritten_state(env: Env):
    """Outcomes decided on a batch's unwritten events fail too; a rejection decided before them stands."""
    spy = SpyLog(env.log())
    runtime = await env.runtime(spy)
    await runtime.submit(env.open_counter())
    await runtime.submit(env.issue())
    spy.fail_next = 1
    outcomes = await asyncio.gather(
        runtime.submit(env.call_next(LAB_COUNTER)),  # lab is closed: decided on the durable state
        runtime.submit(env.issue(idempotency_key="kiosk-7")),
        runtime.submit(env.issue(idempotency_key="kiosk-7")),  # a repeat of a ticket never written
        runtime.submit(env.call_next()),
        runtime.submit(env.call_next()),  # busy only because of the call above
        return_exceptions=True,
    )
    assert spy.failed_appends == 1
    assert isinstance(outcomes[0], CounterNotOpen)
    assert all(isinstance(o, LogUnavailable) for o in outcomes[1:]), outcomes
    retried = await runtime.submit(env.issue(idempotency_key="kiosk-7"))
    assert retried.ticket_id in runtime.state.tickets
    assert (await runtime.submit(env.call_next())).ticket_id == "t1"
    with pytest.raises(CounterBusy):
        await runtime.submit(env.call_next())


async def test_while_the_log_is_down_writes_fail_and_rejections_are_still_answered(env: Env):
    """With the store unreachable, writes fail, rejections are answered from memory, and work then resumes."""
    spy = SpyLog(env.log())
    runtime = await env.runtime(spy)
    await runtime.submit(env.issue())
    before = runtime.state.snapshot()
    spy.down = True
    with pytest.raises(LogUnavailable):
        await runtime.submit(env.issue())
    with pytest.raises(CounterNotOpen):
        await runtime.submit(env.call_next())
    assert runtime.state.snapshot() == before
    spy.down = False
    assert (await runtime.submit(env.issue())).position == 2


async def test_snapshot_that_cannot_be_saved_does_not_fail_commands(env: Env, caplog: pytest.LogCaptureFixture):
    """A failed snapshot save is logged; commands succeed and a later snapshot is saved."""
    spy = SpyLog(env.log())
    runtime = await env.runtime(spy, snapshot_every=2)
    spy.fail_snapshots = True
    for _ in range(3):
        await runtime.submit(env.issue())
    assert await spy.load_snapshot(env.facility.id) is None
    assert "not saved" in caplog.text
    spy.fail_snapshots = False
    for _ in range(3):
        await runtime.submit(env.issue())
    snapshot = await spy.load_snapshot(env.facility.id)
    assert snapshot is not None
    assert snapshot.position > 2
    assert (await load_state(env.facility, spy)).snapshot() == runtime.state.snapshot()


async def test_caller_that_gives_up_mid_write_does_not_undo_its_command(env: Env):
    """A caller cancelled while its batch is being written: the command still lands, the others are answered."""
    spy = SpyLog(env.log())
    runtime = await env.runtime(spy)
    spy.gate = asyncio.Event()
    with anyio.fail_after(5):
        gave_up = asyncio.create_task(runtime.submit(env.issue()))
        stayed = asyncio.create_task(runtime.submit(env.issue()))
        await spy.entered.wait()  # both are in the batch held at the gate
        gave_up.cancel()
        with pytest.raises(asyncio.CancelledError):
            await gave_up
        spy.gate.set()
        assert (await stayed).position == 2
    assert spy.appends == [2]
    assert set(runtime.state.tickets) == {"t1", "t2"}
    assert runtime.state.snapshot() == (await load_state(env.facility, spy)).snapshot()


async def test_command_of_a_cancelled_caller_survives_a_later_rollback_and_is_published(env: Env):
    """A cancelled caller's durable command is kept by a later rollback, and listeners hear of it."""
    spy = SpyLog(env.log())
    runtime = await env.runtime(spy)
    heard: list[int] = []
    published = asyncio.Event()

    def listen(items: list[tuple[int, Delta]]) -> None:
        heard.extend(position for position, _ in items)
        published.set()

    runtime.subscribe(listen)
    spy.gate = asyncio.Event()
    with anyio.fail_after(5):
        gave_up = asyncio.create_task(runtime.submit(env.issue()))
        await spy.entered.wait()
        gave_up.cancel()
        with pytest.raises(asyncio.CancelledError):
            await gave_up
        spy.gate.set()
        await published.wait()  # the cancelled caller's batch is durable and published
        spy.gate = None
        spy.fail_next = 1
        with pytest.raises(LogUnavailable):
            await runtime.submit(env.issue())  # this append fails: the runtime rolls back
    assert 1 in heard
    assert set(runtime.state.tickets) == {"t1"}
    assert runtime.state.snapshot() == (await load_state(env.facility, spy)).snapshot()


async def test_restart_rebuilds_exactly_the_live_state(env: Env):
    """A new Runtime over the same store rebuilds the same snapshot, and goes on from there."""
    log = env.log()
    runtime = await env.runtime(log)
    for counter in (LOKET_1, LOKET_2, LAB_COUNTER):
        await runtime.submit(env.open_counter(counter))
    for service in (LOKET, LOKET, LAB, LOKET, APOTEK, LAB):
        await runtime.submit(env.issue(service))
        env.clock.advance(20_000)
    await runtime.submit(env.call_next(LOKET_1))
    env.clock.advance(30_000)
    await runtime.submit(env.start(LOKET_1))
    env.clock.advance(90_000)
    await runtime.submit(env.complete(LOKET_1, next_service=LAB))
    await runtime.submit(env.call_next(LOKET_2))
    await runtime.submit(env.call_next(LAB_COUNTER))
    env.clock.advance(60_000)
    await runtime.submit(env.call_next(LAB_COUNTER, complete_current=True))
    live = runtime.state.snapshot()
    await runtime.close()
    await log.close()

    restarted = await env.runtime(env.log())
    assert restarted.state.snapshot() == live
    result = await restarted.submit(env.issue())
    assert result.position == live["position"] + 1


async def test_snapshots_every_n_events_and_load_state_uses_them(env: Env):
    """With snapshot_every=10 the log holds a snapshot, and snapshot + tail rebuilds the live state."""
    spy = SpyLog(env.log())
    runtime = await env.runtime(spy, snapshot_every=10)
    await runtime.submit(env.open_counter())
    for _ in range(12):
        await runtime.submit(env.issue())
        env.clock.advance(10_000)
    for _ in range(12):
        await runtime.submit(env.call_next(complete_current=True))
        env.clock.advance(60_000)
    last = await spy.last_position(env.facility.id)
    snapshot = await spy.load_snapshot(env.facility.id)
    assert snapshot is not None
    assert 10 <= snapshot.position < last

    spy.reads.clear()
    rebuilt = await load_state(env.facility, spy)
    assert spy.reads[0] == snapshot.position  # only the tail was read
    assert rebuilt.snapshot() == runtime.state.snapshot()
    restarted = await env.runtime(spy)
    assert restarted.state.snapshot() == runtime.state.snapshot()


async def test_node_that_lost_the_race_catches_up_and_decides_again(env: Env):
    """Two nodes on one log: commands on the node that is behind still succeed, decided on the caught-up state."""
    spy_b = SpyLog(env.log())
    node_a = await env.runtime(ids=SequentialIds("a"))
    node_b = await env.runtime(spy_b, ids=SequentialIds("b"))
    ids_a, ids_b = SequentialIds("a"), SequentialIds("b")

    await node_a.submit(env.open_counter())
    await node_a.submit(env.issue(ids=ids_a))
    issued_b = await node_b.submit(env.issue(ids=ids_b))  # B has not seen A's two events
    assert issued_b.position == 3
    assert isinstance(issued_b.events[0], TicketIssued)
    assert issued_b.events[0].number == "A002"  # decided again, after A's A001
    assert len(spy_b.appends) == 1  # the first try conflicted and wrote nothing

    called_b = await node_b.submit(env.call_next())  # B now knows loket-1 is open and who waits
    assert called_b.ticket_id == "at1"
    issued_a = await node_a.submit(env.issue(ids=ids_a))  # now A is behind
    assert issued_a.position == 5
    assert isinstance(issued_a.events[0], TicketIssued)
    assert issued_a.events[0].number == "A003"

    with pytest.raises(NotFound):  # rejected on both the stale and the caught-up state
        await node_b.submit(env.call_next(CounterId("no-such-counter")))
    assert node_b.state.position == node_a.state.position == 5
    assert node_a.state.snapshot() == node_b.state.snapshot()
    assert node_a.state.snapshot() == (await load_state(env.facility, env.log())).snapshot()
    records = [decode_event(r.payload) for r in await spy_b.read(env.facility.id)]
    assert [type(e).__name__ for e in records] == [
        "CounterOpened",
        "TicketIssued",
        "TicketIssued",
        "TicketCalled",
        "TicketIssued",
    ]


async def test_rejection_on_a_stale_state_is_decided_again(env: Env):
    """A node that is behind does not reject from its stale state: it catches up and decides again."""
    node_a = await env.runtime(ids=SequentialIds("a"))
    node_b = await env.runtime(ids=SequentialIds("b"))
    await node_a.submit(env.open_counter())
    await node_a.submit(env.issue(ids=SequentialIds("a")))
    called = await node_b.submit(env.call_next())  # B's own state: loket-1 closed, nobody waiting
    assert called.ticket_id == "at1"
    assert isinstance(called.events[0], TicketCalled)
    with pytest.raises(CounterBusy):  # A would call at1 too; after catching up, loket-1 is busy with it
        await node_a.submit(env.call_next())
    assert node_a.state.snapshot() == node_b.state.snapshot()


async def test_log_that_keeps_moving_fails_the_command_after_retries(env: Env):
    """If another node wins every race for ``conflict_timeout_s``, the command fails with LogUnavailable
    and the node stays in sync."""
    spy = SpyLog(env.log())
    node_a = await env.runtime(spy, conflict_timeout_s=0.05)
    node_b = await env.runtime(ids=SequentialIds("b"))
    tries = 0

    async def other_node_writes_first() -> None:  # pauses and reopens a counter: no quota runs out
        nonlocal tries
        tries += 1
        if tries % 2:
            await node_b.submit(env.open_counter(LOKET_2))
        else:
            await node_b.submit(PauseCounter(at=env.clock.now(), counter=LOKET_2, reason="istirahat"))

    spy.before_append = other_node_writes_first
    with anyio.fail_after(5), pytest.raises(LogUnavailable, match="kept moving"):
        await node_a.submit(env.issue())
    assert spy.appends == []
    assert tries > 1 and node_b.state.position == tries  # it tried again after each lost race
    assert not node_a.state.tickets
    assert node_a.state.snapshot() == (await load_state(env.facility, spy)).snapshot()
    spy.before_append = None
    result = await node_a.submit(env.issue())
    assert result.position == tries + 1


async def test_close_answers_the_batch_in_flight_and_fails_queued_commands(env: Env):
    """close() lets the batch being written finish and answers it; commands still queued get LogUnavailable."""
    spy = SpyLog(env.log())
    runtime = await env.runtime(spy)
    spy.gate = asyncio.Event()
    with anyio.fail_after(5):
        in_flight = asyncio.create_task(runtime.submit(env.issue()))
        await spy.entered.wait()
        queued = runtime.enqueue(env.issue())
        closing = asyncio.create_task(runtime.close())
        await runtime.draining.wait()  # close() has begun while the append is held
        spy.gate.set()
        await closing
        assert (await in_flight).position == 1
        with pytest.raises(LogUnavailable):
            await queued
    assert await spy.last_position(env.facility.id) == 1


async def test_submit_needs_a_running_engine(env: Env):
    """submit before start() or after close() raises LogUnavailable instead of waiting forever."""
    runtime = Runtime(env.facility, env.log(), clock=env.clock, ids=env.ids)
    with pytest.raises(LogUnavailable):
        await runtime.submit(env.issue())
    await runtime.start()
    await runtime.close()
    with pytest.raises(LogUnavailable):
        await runtime.submit(env.issue())


async def test_domain_errors_are_domain_errors(env: Env):
    """Every rejection the runtime passes on is a DomainError with a stable code."""
    runtime = await env.runtime()
    with pytest.raises(DomainError) as info:
        await runtime.submit(env.call_next())
    assert info.value.code == "counter_not_open"


async def test_close_after_a_queued_caller_gave_up(env: Env):
    """A caller cancelled while its command waits in the queue does not make close() fail."""
    spy = SpyLog(env.log())
    runtime = await env.runtime(spy)
    spy.gate = asyncio.Event()
    with anyio.fail_after(5):
        in_flight = asyncio.create_task(runtime.submit(env.issue()))
        await spy.entered.wait()
        gave_up = runtime.enqueue(env.issue())
        gave_up.cancel()
        with pytest.raises(asyncio.CancelledError):
            await gave_up
        closing = asyncio.create_task(runtime.close())
        await runtime.draining.wait()  # close() has begun while the append is held
        spy.gate.set()
        await closing
        assert (await in_flight).position == 1


async def test_a_log_behind_the_node_fails_commands_at_once(env: Env):
    """The store lost events this node holds (Redis restarted without persistence): a clear error at once."""
    node = await env.runtime()
    await node.submit(env.open_counter())
    await node.submit(env.issue())
    kept = await node.log.read(env.facility.id, limit=1)
    lost = MemoryLog()
    await lost.append(env.facility.id, 0, [r.payload for r in kept])
    node.log = lost  # the store came back without its last event
    with anyio.fail_after(5), pytest.raises(LogBehind, match="lost events"):
        await node.submit(env.issue())
    assert node.conflicts == 0 and node.state.position == 2  # no spinning, nothing forgotten


async def test_a_follower_flooded_beyond_what_it_holds_still_catches_up(env: Env, monkeypatch: pytest.MonkeyPatch):
    """More records than the follower hands over in memory: the sequencer reads the rest from the log."""
    monkeypatch.setattr(runtime_module, "TAILED_MAX", 2)
    spy = SpyLog(env.log())
    follower = await env.runtime(spy, follow=True)
    writer = await env.runtime(ids=SequentialIds("w"))
    await writer.submit(env.open_counter())
    reads_before = len(spy.reads)
    # One batch of five: the follower's tail yields all of them before the sequencer runs.
    await asyncio.gather(*(writer.submit(env.issue(ids=SequentialIds(f"w{i}-"))) for i in range(5)))
    target = writer.state.position
    caught_up = asyncio.Event()

    def check(_: object) -> None:
        if follower.state.position >= target:
            caught_up.set()

    follower.subscribe(check)
    check(None)
    with anyio.fail_after(5):
        await caught_up.wait()
    assert follower.state.snapshot() == writer.state.snapshot()
    assert len(spy.reads) > reads_before  # what it could not hold, it read
