"""The contract every event-log backend keeps, written once and run against each backend.

A backend's test module subclasses :class:`LogContract` (or :class:`DurableLogContract` when the
store outlives its connections) and provides one fixture, ``connect``: a function that opens a
new handle on *the same* store for the current test. Two handles on one store are two engine
nodes; closing a handle and connecting again is a restart. Everything else is here::

    class TestRedisLog(DurableLogContract):
        @pytest.fixture
        def connect(self, redis_url, key_prefix):
            return lambda: RedisLog(redis_url, prefix=key_prefix)

        @pytest.fixture
        def url(self, redis_url):
            return redis_url
"""

from __future__ import annotations

import math
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import anyio
import pytest
from anyio.streams.memory import MemoryObjectReceiveStream

from queue_engine.log import EventLog, LogConflict, Record, Snapshot, open_log
from queue_engine.log.base import CONFLICT_RECORDS

#: Opens a new handle on the store under test.
Connect = Callable[[], EventLog]


def payloads(*names: str) -> list[bytes]:
    """Event-like JSON payloads (with non-ASCII text, as Indonesian names and notes have)."""
    return [f'{{"t":"test.event","d":"{name} — antrean ✓"}}'.encode() for name in names]


#: How long a follower may take to deliver a record. Generous for SQLite, which polls at most once a
#: second while idle; memory and Redis wake at once. A bound on a wait, never a sleep.
TAIL_TIMEOUT_S = 5


@asynccontextmanager
async def following(log: EventLog, facility: str, after: int = 0) -> AsyncIterator[MemoryObjectReceiveStream[Record]]:
    """Run ``log.tail(facility, after)`` in a task that forwards every record; cancel it on exit."""
    send, receive = anyio.create_memory_object_stream[Record](math.inf)

    async def follow() -> None:
        async for record in log.tail(facility, after):
            await send.send(record)

    with send, receive:
        async with anyio.create_task_group() as tg:
            tg.start_soon(follow)
            yield receive
            tg.cancel_scope.cancel()


async def next_record(received: MemoryObjectReceiveStream[Record]) -> Record:
    """The follower's next record, waited for (never polled) up to :data:`TAIL_TIMEOUT_S`."""
    with anyio.fail_after(TAIL_TIMEOUT_S):
        return await received.receive()


@pytest.mark.anyio
class LogContract:
    """Semantics every :class:`~queue_engine.log.base.EventLog` backend has."""

    @pytest.fixture
    def connect(self) -> Connect:
        """Open a handle on this test's store; each backend overrides this."""
        raise NotImplementedError

    @pytest.fixture
    def url(self) -> str:
        """A URL that :func:`open_log` turns into this backend; each backend overrides this."""
        raise NotImplementedError

    @pytest.fixture
    async def make_log(self, connect: Connect) -> AsyncIterator[Connect]:
        """Like ``connect``, and every handle is closed when the test ends."""
        opened: list[EventLog] = []

        def make() -> EventLog:
            log = connect()
            opened.append(log)
            return log

        yield make
        for log in opened:
            await log.close()

    @pytest.fixture
    async def log(self, make_log: Connect) -> EventLog:
        """One handle on a fresh store."""
        return make_log()

    @pytest.fixture
    def facility(self) -> str:
        """A facility id of this test's own (a shared store such as Redis stays clean)."""
        return f"pkm-{uuid.uuid4().hex[:12]}"

    async def test_empty_facility_is_at_position_zero(self, log: EventLog, facility: str) -> None:
        """A facility nobody wrote to is at position 0, reads nothing and has no snapshot."""
        assert await log.last_position(facility) == 0
        assert await log.read(facility) == []
        assert await log.load_snapshot(facility) is None

    async def test_append_returns_new_last_position(self, log: EventLog, facility: str) -> None:
        """append returns the position of the last event it wrote."""
        assert await log.append(facility, 0, payloads("a")) == 1
        assert await log.append(facility, 1, payloads("b", "c", "d")) == 4
        assert await log.last_position(facility) == 4

    async def test_positions_start_at_one_and_have_no_gaps(self, log: EventLog, facility: str) -> None:
        """Stored records are numbered 1, 2, 3, … in append order and keep their bytes."""
        written = payloads(*(f"e{i}" for i in range(25)))
        position = 0
        for start in range(0, 25, 7):
            position = await log.append(facility, position, written[start : start + 7])
        records = await log.read(facility)
        assert [r.position for r in records] == list(range(1, 26))
        assert [r.payload for r in records] == written

    async def test_append_of_nothing_writes_nothing(self, log: EventLog, facility: str) -> None:
        """An empty append at the current position returns that position and stores nothing."""
        await log.append(facility, 0, payloads("a"))
        assert await log.append(facility, 1, []) == 1
        assert [r.position for r in await log.read(facility)] == [1]

    async def test_read_after_and_limit_bound_the_result(self, log: EventLog, facility: str) -> None:
        """read(after, limit) returns at most ``limit`` records with position > ``after``, in order."""
        written = payloads(*(f"e{i}" for i in range(10)))
        await log.append(facility, 0, written)
        assert [r.position for r in await log.read(facility, after=3)] == list(range(4, 11))
        assert [r.position for r in await log.read(facility, after=3, limit=4)] == [4, 5, 6, 7]
        assert [r.payload for r in await log.read(facility, after=3, limit=4)] == written[3:7]
        assert [r.position for r in await log.read(facility, after=8, limit=5)] == [9, 10]
        assert await log.read(facility, after=10) == []
        assert await log.read(facility, after=20) == []
        assert await log.read(facility, after=0, limit=0) == []

    async def test_paging_with_read_visits_every_record_once(self, log: EventLog, facility: str) -> None:
        """Reading page by page from the last position seen yields the whole log exactly once."""
        await log.append(facility, 0, payloads(*(f"e{i}" for i in range(23))))
        seen: list[int] = []
        while page := await log.read(facility, after=seen[-1] if seen else 0, limit=5):
            seen.extend(r.position for r in page)
        assert seen == list(range(1, 24))

    @pytest.mark.parametrize("expected", [0, 1, 2, 4, 99])
    async def test_stale_expected_raises_conflict_and_writes_nothing(
        self, log: EventLog, facility: str, expected: int
    ) -> None:
        """append with an ``expected`` other than the last position raises LogConflict and stores nothing."""
        await log.append(facility, 0, payloads("a", "b", "c"))
        before = await log.read(facility)
        with pytest.raises(LogConflict) as info:
            await log.append(facility, expected, payloads("x", "y"))
        assert (info.value.expected, info.value.actual) == (expected, 3)
        assert info.value.records == tuple(r for r in before if r.position > expected)  # what it missed
        assert await log.read(facility) == before
        assert await log.last_position(facility) == 3

    async def test_conflict_on_an_empty_facility_writes_nothing(self, log: EventLog, facility: str) -> None:
        """On a facility with no events, only ``expected=0`` may append; anything else changes nothing."""
        with pytest.raises(LogConflict) as info:
            await log.append(facility, 5, payloads("x"))
        assert (info.value.expected, info.value.actual, info.value.records) == (5, 0, ())
        assert await log.last_position(facility) == 0
        assert await log.read(facility) == []
        assert await log.append(facility, 0, payloads("a")) == 1

    async def test_two_writers_at_one_position_exactly_one_wins(self, make_log: Connect, facility: str) -> None:
        """Two nodes appending after the same position: the first wins, the second conflicts, and retries."""
        node_a, node_b = make_log(), make_log()
        await node_a.append(facility, 0, payloads("seed"))
        assert await node_a.append(facility, 1, payloads("a")) == 2
        with pytest.raises(LogConflict):
            await node_b.append(facility, 1, payloads("b"))
        assert await node_b.last_position(facility) == 2
        assert await node_b.append(facility, 2, payloads("b")) == 3
        assert [r.payload for r in await node_a.read(facility)] == payloads("seed", "a", "b")

    async def test_a_conflict_brings_at_most_a_bounded_number_of_missed_records(
        self, log: EventLog, facility: str
    ) -> None:
        """A loser far behind gets the first ``CONFLICT_RECORDS`` it missed, in order, and reads the rest."""
        many = [f"e{i}" for i in range(CONFLICT_RECORDS + 10)]
        await log.append(facility, 0, payloads(*many))
        with pytest.raises(LogConflict) as info:
            await log.append(facility, 3, payloads("late"))
        assert info.value.records == tuple(await log.read(facility, after=3, limit=CONFLICT_RECORDS))
        assert await log.last_position(facility) == len(many)

    async def test_facilities_are_independent(self, log: EventLog, facility: str) -> None:
        """Each facility has its own positions, events, conflicts and snapshots."""
        other = facility + "-other"
        await log.append(facility, 0, payloads("a1", "a2", "a3"))
        assert await log.append(other, 0, payloads("b1")) == 1
        with pytest.raises(LogConflict):
            await log.append(other, 3, payloads("b2"))
        await log.save_snapshot(facility, Snapshot(3, b"state-a"))
        assert await log.last_position(facility) == 3
        assert await log.last_position(other) == 1
        assert [r.payload for r in await log.read(other)] == payloads("b1")
        assert [r.position for r in await log.read(facility)] == [1, 2, 3]
        assert await log.load_snapshot(other) is None
        assert await log.load_snapshot(facility) == Snapshot(3, b"state-a")

    async def test_newest_snapshot_wins(self, log: EventLog, facility: str) -> None:
        """load_snapshot returns the snapshot with the highest position saved so far."""
        await log.save_snapshot(facility, Snapshot(10, b"at-10"))
        assert await log.load_snapshot(facility) == Snapshot(10, b"at-10")
        await log.save_snapshot(facility, Snapshot(20, b"at-20"))
        assert await log.load_snapshot(facility) == Snapshot(20, b"at-20")

    async def test_older_snapshot_does_not_replace_newer(self, log: EventLog, facility: str) -> None:
        """Saving a snapshot older than the stored one (a slow node) keeps the newer one."""
        await log.save_snapshot(facility, Snapshot(20, b"at-20"))
        await log.save_snapshot(facility, Snapshot(10, b"at-10"))
        assert await log.load_snapshot(facility) == Snapshot(20, b"at-20")

    async def test_snapshot_bytes_round_trip(self, log: EventLog, facility: str) -> None:
        """A snapshot's payload comes back byte for byte, whatever the bytes."""
        payload = bytes(range(256)) + "Puskesmas Ketabang — ✓".encode()
        await log.save_snapshot(facility, Snapshot(1, payload))
        loaded = await log.load_snapshot(facility)
        assert loaded is not None
        assert loaded.payload == payload

    async def test_snapshots_do_not_touch_events(self, log: EventLog, facility: str) -> None:
        """Saving a snapshot neither adds, removes nor renumbers events."""
        await log.append(facility, 0, payloads("a", "b"))
        await log.save_snapshot(facility, Snapshot(2, b"state"))
        assert [r.position for r in await log.read(facility)] == [1, 2]
        assert await log.append(facility, 2, payloads("c")) == 3

    async def test_tail_yields_stored_records_after_position(self, log: EventLog, facility: str) -> None:
        """tail(after) first yields the records already stored after ``after``, in order."""
        written = payloads("a", "b", "c")
        await log.append(facility, 0, written)
        async with following(log, facility, after=1) as received:
            assert [await next_record(received) for _ in range(2)] == [Record(2, written[1]), Record(3, written[2])]

    async def test_tail_wakes_for_appends_by_another_handle(self, make_log: Connect, facility: str) -> None:
        """A follower that has caught up receives what another node appends, batch by batch, once each."""
        writer, reader = make_log(), make_log()
        async with following(reader, facility) as received:
            position = 0
            for batch in (payloads("a"), payloads("b", "c"), payloads("d"), payloads("e")):
                start, position = position, await writer.append(facility, position, batch)
                got = [await next_record(received) for _ in batch]
                assert got == [Record(start + i + 1, payload) for i, payload in enumerate(batch)]

    async def test_tail_delivers_many_records_in_order_once(self, make_log: Connect, facility: str) -> None:
        """Stored and new records, more than one read's worth of each, arrive in position order, each once."""
        writer, reader = make_log(), make_log()
        written = payloads(*(f"e{i}" for i in range(1300)))
        await writer.append(facility, 0, written[:700])
        async with following(reader, facility) as received:
            await writer.append(facility, 700, written[700:1000])
            await writer.append(facility, 1000, written[1000:])
            got = [await next_record(received) for _ in written]
        assert got == [Record(i + 1, payload) for i, payload in enumerate(written)]

    async def test_cancelled_tail_leaves_the_log_usable(self, log: EventLog, facility: str) -> None:
        """Cancelling a waiting follower ends it; the handle keeps working and a new follower resumes."""
        await log.append(facility, 0, payloads("a"))
        async with following(log, facility) as received:
            assert (await next_record(received)).position == 1
        assert await log.append(facility, 1, payloads("b")) == 2
        async with following(log, facility, after=1) as received:
            assert await next_record(received) == Record(2, payloads("b")[0])
        assert await log.last_position(facility) == 2

    async def test_open_log_url_opens_this_backend(self, url: str, facility: str) -> None:
        """open_log(url) returns a working log of this backend."""
        log = open_log(url)
        try:
            assert await log.append(facility, await log.last_position(facility), payloads("via-url")) >= 1
            records = await log.read(facility)
            assert records[-1].payload == payloads("via-url")[0]
        finally:
            await log.close()


class DurableLogContract(LogContract):
    """The contract for stores that outlive their connections (SQLite file, Redis)."""

    async def test_reopen_keeps_events_and_snapshots(self, make_log: Connect, facility: str) -> None:
        """Closing the log and opening the same store again keeps every event, position and snapshot."""
        first = make_log()
        written = payloads(*(f"e{i}" for i in range(12)))
        await first.append(facility, 0, written[:5])
        await first.append(facility, 5, written[5:])
        await first.save_snapshot(facility, Snapshot(7, b"state-at-7"))
        await first.close()

        second = make_log()
        assert await second.last_position(facility) == 12
        records = await second.read(facility)
        assert [r.position for r in records] == list(range(1, 13))
        assert [r.payload for r in records] == written
        assert await second.load_snapshot(facility) == Snapshot(7, b"state-at-7")
        with pytest.raises(LogConflict):
            await second.append(facility, 5, payloads("stale"))
        assert await second.append(facility, 12, payloads("next")) == 13

    async def test_handles_see_each_others_writes(self, make_log: Connect, facility: str) -> None:
        """What one handle appends or snapshots, another handle on the same store reads at once."""
        writer, reader = make_log(), make_log()
        await reader.last_position(facility)  # connected before the write
        await writer.append(facility, 0, payloads("a", "b"))
        await writer.save_snapshot(facility, Snapshot(2, b"state"))
        assert await reader.last_position(facility) == 2
        assert [r.payload for r in await reader.read(facility)] == payloads("a", "b")
        assert await reader.load_snapshot(facility) == Snapshot(2, b"state")
