"""The log contract on Redis Streams, plus what only Redis has: key layout, trimming, two nodes, a crash.

Contract and most tests use the shared test Redis (``redis_url``), each under its own key prefix
and deleting only its own keys. Tests that kill Redis or count its commands start a private
``redis-server`` on a free port in ``tmp_path`` (append-only file, fsync on every write): the
``private_redis`` fixture of ``tests/conftest.py``, built on ``tests/redis_server.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import anyio
import pytest
from redis.asyncio import Redis
from redis.crc import key_slot

from queue_engine.log import LogConflict, LogUnavailable, Record, Snapshot, open_log
from queue_engine.log.redis_streams import FacilityKeys, RedisLog, RedisUrl
from tests.redis_server import free_port

from .contract import Connect, DurableLogContract, following, next_record, payloads

pytestmark = pytest.mark.redis


def with_query(url: str, **params: str) -> str:
    """``url`` with query parameters added."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=urlencode([*parse_qsl(parts.query), *params.items()])))


class TestRedisLog(DurableLogContract):
    @pytest.fixture
    def connect(self, redis_url: str, key_prefix: str) -> Connect:
        """Each handle is its own RedisLog (own connections): two handles are two engine nodes."""
        return lambda: RedisLog(redis_url, prefix=key_prefix)

    @pytest.fixture
    def url(self, redis_url: str, key_prefix: str) -> str:
        return with_query(redis_url, prefix=key_prefix)


@pytest.fixture
def facility() -> str:
    return f"pkm-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def open_redis(redis_url: str, key_prefix: str) -> AsyncIterator[Callable[..., RedisLog]]:
    """Opens RedisLogs on the test Redis under this test's prefix; all are closed at the end."""
    opened: list[RedisLog] = []

    def make(**options: Any) -> RedisLog:
        log = RedisLog(redis_url, prefix=key_prefix, **options)
        opened.append(log)
        return log

    yield make
    for log in opened:
        await log.close()


@pytest.fixture
async def raw(redis_url: str) -> AsyncIterator[Redis]:
    """A plain client, to look at (and damage) the keys behind the log."""
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


# -- key layout --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_keys_follow_the_layout_and_share_one_cluster_slot(open_redis, raw, key_prefix, facility):
    """A facility's stream, seq and snapshot keys are `{prefix}antre:{facility}:…`, all in one Cluster slot."""
    log = open_redis()
    written = payloads("a", "b")
    await log.append(facility, 0, written)
    await log.save_snapshot(facility, Snapshot(2, b"state"))
    base = f"{key_prefix}antre:{{{facility}}}:"
    assert log.keys(facility) == FacilityKeys(events=base + "events", seq=base + "seq", snapshot=base + "snapshot")
    keys = sorted([key.decode() async for key in raw.scan_iter(match=f"{key_prefix}*")])
    assert keys == [base + "events", base + "seq", base + "snapshot"]
    assert len({key_slot(key.encode()) for key in keys}) == 1
    assert await raw.get(base + "seq") == b"2"
    assert await raw.xrange(base + "events") == [(b"1-1", {b"e": written[0]}), (b"2-1", {b"e": written[1]})]
    assert await raw.hgetall(base + "snapshot") == {b"position": b"2", b"payload": b"state"}


@pytest.mark.parametrize("prefix, facility_id", [("bad{", "pkm"), ("ok:", "pkm}1"), ("ok:", "{pkm}")])
def test_braces_that_would_move_the_hash_tag_are_refused(prefix, facility_id):
    """A brace in the prefix or facility id would change which part of the key is hashed: ValueError."""
    with pytest.raises(ValueError):
        FacilityKeys.of(prefix, facility_id)


@pytest.mark.parametrize("option", ["decode_responses=true", "socket_timeout=1"])
def test_url_options_that_would_break_the_log_are_refused(option):
    """Decoded replies would corrupt events; a socket timeout would cut the follower's blocking read."""
    with pytest.raises(ValueError, match=option.partition("=")[0]):
        RedisUrl.parse(f"redis://127.0.0.1:6379/0?{option}")


# -- compare-and-append survives trimming ------------------------------------------------------------


@pytest.mark.anyio
async def test_conflict_is_detected_after_the_stream_was_trimmed_empty(open_redis, raw, facility):
    """With every entry trimmed away, a stale writer still conflicts: positions come from seq, not the stream."""
    log = open_redis(retain=0)
    await log.append(facility, 0, payloads("a", "b", "c"))
    await log.save_snapshot(facility, Snapshot(3, b"at-3"))
    assert await raw.xlen(log.keys(facility).events) == 0
    assert await log.read(facility) == []
    assert await log.last_position(facility) == 3
    with pytest.raises(LogConflict) as info:
        await log.append(facility, 0, payloads("stale"))
    assert (info.value.expected, info.value.actual) == (0, 3)
    assert await log.append(facility, 3, payloads("d")) == 4
    assert await log.read(facility) == [Record(4, payloads("d")[0])]


@pytest.mark.anyio
async def test_conflict_is_detected_after_the_stream_key_was_deleted(open_redis, raw, facility):
    """Even with the stream key gone (and its last id with it), numbering continues from seq."""
    log = open_redis()
    await log.append(facility, 0, payloads("a", "b", "c"))
    await raw.delete(log.keys(facility).events)
    with pytest.raises(LogConflict) as info:
        await log.append(facility, 0, payloads("stale"))
    assert (info.value.expected, info.value.actual) == (0, 3)
    assert await log.append(facility, 3, payloads("d")) == 4
    assert [r.position for r in await log.read(facility)] == [4]


# -- snapshots and trimming --------------------------------------------------------------------------


@pytest.mark.anyio
async def test_snapshot_trims_behind_itself_keeping_the_retention(open_redis, facility):
    """retain=3 keeps 3 events up to the newest snapshot and all after it; an older snapshot trims nothing."""
    log = open_redis(retain=3)
    written = payloads(*(f"e{i}" for i in range(1, 11)))
    await log.append(facility, 0, written)

    await log.save_snapshot(facility, Snapshot(6, b"at-6"))
    assert [r.position for r in await log.read(facility)] == [4, 5, 6, 7, 8, 9, 10]

    await log.save_snapshot(facility, Snapshot(2, b"at-2"))  # a slow node: ignored, and trims nothing
    assert await log.load_snapshot(facility) == Snapshot(6, b"at-6")
    assert [r.position for r in await log.read(facility)] == [4, 5, 6, 7, 8, 9, 10]

    await log.save_snapshot(facility, Snapshot(10, b"at-10"))
    assert await log.load_snapshot(facility) == Snapshot(10, b"at-10")
    assert await log.read(facility) == [Record(i, written[i - 1]) for i in (8, 9, 10)]
    assert await log.read(facility, after=8) == [Record(9, written[8]), Record(10, written[9])]
    assert await log.append(facility, 10, payloads("k")) == 11


@pytest.mark.anyio
async def test_without_retain_snapshots_trim_nothing(open_redis, facility):
    """Trimming is opt-in: by default a snapshot leaves every event in the stream."""
    log = open_redis()
    await log.append(facility, 0, payloads(*(f"e{i}" for i in range(10))))
    await log.save_snapshot(facility, Snapshot(10, b"at-10"))
    assert [r.position for r in await log.read(facility)] == list(range(1, 11))


@pytest.mark.anyio
async def test_prefix_and_retain_come_from_the_url(redis_url, key_prefix, raw, facility):
    """open_log("redis://…?prefix=…&retain=2") writes under the prefix and trims to 2 events behind a snapshot."""
    log = open_log(with_query(redis_url, prefix=key_prefix, retain="2"))
    try:
        assert isinstance(log, RedisLog)
        await log.append(facility, 0, payloads("a", "b", "c", "d", "e"))
        await log.save_snapshot(facility, Snapshot(5, b"at-5"))
        assert [r.position for r in await log.read(facility)] == [4, 5]
        assert await raw.exists(f"{key_prefix}antre:{{{facility}}}:seq") == 1
    finally:
        await log.close()


# -- following: two nodes ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_tail_wakes_on_another_nodes_append_not_on_its_block_timeout(open_redis, facility):
    """A follower blocked in XREAD (60 s) gets each append of another RedisLog at once, in well under that time."""
    writer, reader = open_redis(), open_redis(block_ms=60_000)
    async with following(reader, facility) as received:
        position = 0
        for i in range(3):
            position = await writer.append(facility, position, payloads(f"e{i}"))
            with anyio.fail_after(2):
                assert await received.receive() == Record(position, payloads(f"e{i}")[0])


# -- a Redis of our own: commands counted, killed, restarted -----------------------------------------------


async def xread_calls(client: Redis) -> int:
    stats = await client.info("commandstats")
    return int(stats.get("cmdstat_xread", {}).get("calls", 0))


@pytest.mark.anyio
async def test_an_idle_follower_issues_one_xread_per_wake_up(private_redis, facility):
    """No tight polling: a follower makes one XREAD per batch that wakes it (counted on a private server)."""
    writer, reader = RedisLog(private_redis.url), RedisLog(private_redis.url, block_ms=60_000)
    stats = Redis.from_url(private_redis.url)
    try:
        before = await xread_calls(stats)
        async with following(reader, facility) as received:
            position = 0
            for i in range(5):
                position = await writer.append(facility, position, payloads(f"e{i}"))
                assert (await next_record(received)).position == position
        # five wake-ups plus the XREAD that was waiting when the follower was cancelled
        assert await xread_calls(stats) - before <= 6
    finally:
        await stats.aclose()
        await writer.close()
        await reader.close()


@pytest.mark.anyio
@pytest.mark.slow
async def test_acknowledged_appends_survive_sigkill_and_the_same_log_works_after_restart(private_redis, facility):
    """Kill -9 mid-write: every acknowledged event is back after restart, and the same RedisLog carries on."""
    log = RedisLog(private_redis.url, prefix="antre-test-crash:")
    acked: list[bytes] = []  # payloads of acknowledged appends, in log order
    in_flight: list[bytes] = []  # the batch whose append failed when Redis died
    followed: list[Record] = []
    failures: dict[str, LogUnavailable] = {}
    hundred_acked = anyio.Event()

    async def write_until_down() -> None:
        position, n = 0, 0
        while True:
            batch = payloads(*(f"b{n}.{i}" for i in range(1 + n % 3)))
            try:
                position = await log.append(facility, position, batch)
            except LogUnavailable as exc:
                in_flight.extend(batch)
                failures["writer"] = exc
                return
            acked.extend(batch)
            n += 1
            if n == 100:
                hundred_acked.set()

    async def follow_until_down() -> None:
        try:
            async for record in log.tail(facility):
                followed.append(record)
        except LogUnavailable as exc:
            failures["follower"] = exc

    try:
        await log.save_snapshot(facility, Snapshot(0, b"before-crash"))
        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                tg.start_soon(follow_until_down)
                tg.start_soon(write_until_down)
                await hundred_acked.wait()
                private_redis.kill()
        # Both tasks ended by themselves, on LogUnavailable.
        assert set(failures) == {"writer", "follower"}

        # During the outage every call fails fast with LogUnavailable (connection refused, no retries).
        for call in (
            lambda: log.append(facility, len(acked), payloads("during-outage")),
            lambda: log.last_position(facility),
            lambda: log.read(facility),
            lambda: log.load_snapshot(facility),
            lambda: log.save_snapshot(facility, Snapshot(1, b"x")),
        ):
            with anyio.fail_after(1.5), pytest.raises(LogUnavailable):
                await call()

        await anyio.to_thread.run_sync(private_redis.start)

        records = await log.read(facility)
        stored = [r.payload for r in records]
        assert [r.position for r in records] == list(range(1, len(records) + 1))
        assert len(acked) >= 100
        assert stored[: len(acked)] == acked  # every acknowledged event, in place
        assert stored[len(acked) :] in ([], in_flight)  # the unacknowledged batch: all or nothing
        assert followed == records[: len(followed)]  # the follower saw a prefix of the log, in order
        assert await log.load_snapshot(facility) == Snapshot(0, b"before-crash")

        # The same instance works again: new connections, and the scripts reloaded (EVALSHA → NOSCRIPT → load).
        last = await log.last_position(facility)
        assert last == len(records)
        async with following(log, facility, after=last) as received:
            assert await log.append(facility, last, payloads("after-restart")) == last + 1
            assert await next_record(received) == Record(last + 1, payloads("after-restart")[0])
        with pytest.raises(LogConflict):
            await log.append(facility, len(acked) - 1, payloads("stale"))
    finally:
        await log.close()


@pytest.mark.anyio
async def test_unreachable_redis_fails_fast_with_log_unavailable(facility):
    """Nothing listening: every call (the tail too) raises LogUnavailable at once instead of retrying."""
    log = RedisLog(f"redis://127.0.0.1:{free_port()}/0")
    try:
        with anyio.fail_after(2):
            with pytest.raises(LogUnavailable):
                await log.append(facility, 0, payloads("a"))
            with pytest.raises(LogUnavailable):
                await log.last_position(facility)
            with pytest.raises(LogUnavailable):
                await anext(log.tail(facility))
    finally:
        await log.close()
