"""The Redis Streams log: several engine nodes share one facility's log through one Redis.

Key layout (:class:`FacilityKeys`, the only place that builds key names)::

    {prefix}antre:{<facility>}:events     stream; entry id "<position>-1", one field "e" = the encoded event
    {prefix}antre:{<facility>}:seq        string; the facility's last position (missing = 0)
    {prefix}antre:{<facility>}:snapshot   hash; fields "position" and "payload"

The braces are a Redis Cluster hash tag: a facility's three keys hash to one slot, so Cluster
keeps them on one shard and one Lua script may touch all of them. ``prefix`` (default ``""``,
URL query ``?prefix=``) lets tests and tenants share a server without sharing keys.

Invariants:

* Only :data:`APPEND_SCRIPT` writes events, and it moves ``seq``. It compares and appends in one
  atomic step: nothing is written unless ``seq`` equals the writer's ``expected``, so of two nodes
  racing from one position exactly one wins, and the loser gets :class:`LogConflict`.
* ``seq`` is its own key, not read from the stream, because the stream cannot say it cheaply and
  safely: XTRIM removes entries but not the stream's last generated id, and ``XREVRANGE … COUNT 1``
  (the cheap way to ask) sees only entries. After a snapshot trimmed everything, a stale writer
  with ``expected=0`` would pass a check on the stream and reuse positions. ``XINFO STREAM`` keeps
  the last id but is heavier, and a deleted stream key loses it. ``seq`` is one O(1) GET, survives
  trimming and even a deleted stream, and XADD's explicit ids (which must grow) back it up.
* Entry ids are ``<position>-1``, so a position is an id's millisecond part, and
  ``read(after)`` is ``XRANGE <after+1>-0 +``.
* Snapshots: the newest position wins (:data:`SNAPSHOT_SCRIPT`). Trimming is opt-in
  (``?retain=<n>``): after a snapshot the stream keeps the ``n`` events up to the snapshot and
  everything after it, never less. Without ``retain`` nothing is ever trimmed.

Durability is Redis's: "acknowledged = durable" needs ``appendonly yes`` with ``appendfsync
always`` (``everysec`` may lose the last second on a crash; a failover to an asynchronous
replica may lose acknowledged writes).

Errors: every ``redis`` error (connection refused or reset, timeouts, ``LOADING``, ``OOM``,
``READONLY``…) becomes :class:`LogUnavailable`. redis-py's own retries are switched off so an
outage fails fast; the next call reconnects by itself. A timeout on ``append`` is ambiguous (the
script may have run): a caller that catches up after :class:`LogUnavailable` will find those events
in the log. The scripts use the Redis 7 ``#!lua`` shebang, so a server out of memory refuses the
whole script before its first write instead of failing halfway through a batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from .base import CONFLICT_RECORDS, LogConflict, LogUnavailable, Record, Snapshot

#: Compare-and-append. KEYS: events stream, seq. ARGV: expected position, the number of missed
#: entries to return on a conflict, then one payload per event. Returns {1, new last position}
#: when written, or {0, actual last position, missed entries} when nothing was.
APPEND_SCRIPT = """#!lua
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
local expected = tonumber(ARGV[1])
if last ~= expected then
    local missed = {}
    if last > expected then
        missed = redis.call('XRANGE', KEYS[1], string.format('%d-0', expected + 1), '+', 'COUNT', ARGV[2])
    end
    return {0, last, missed}
end
for i = 3, #ARGV do
    redis.call('XADD', KEYS[1], string.format('%d-1', expected + i - 2), 'e', ARGV[i])
end
local new = expected + #ARGV - 2
if new ~= expected then
    redis.call('SET', KEYS[2], string.format('%d', new))
end
return {1, new}
"""

#: Newest snapshot wins, then trim behind it. KEYS: snapshot hash, events stream, seq.
#: ARGV: position, payload, retain (-1: never trim). Returns the stored snapshot's position.
SNAPSHOT_SCRIPT = """#!lua
local position = tonumber(ARGV[1])
local stored = tonumber(redis.call('HGET', KEYS[1], 'position') or '-1')
if position >= stored then
    redis.call('HSET', KEYS[1], 'position', ARGV[1], 'payload', ARGV[2])
    stored = position
end
local retain = tonumber(ARGV[3])
if retain >= 0 then
    local upto = math.min(stored, tonumber(redis.call('GET', KEYS[3]) or '0'))
    if upto - retain >= 1 then
        redis.call('XTRIM', KEYS[2], 'MINID', string.format('%d-0', upto - retain + 1))
    end
end
return stored
"""

#: Field name of the encoded event in each stream entry.
FIELD = b"e"


@dataclass(frozen=True, slots=True)
class FacilityKeys:
    """The Redis keys of one facility's log (the one place key names are built)."""

    events: str
    seq: str
    snapshot: str

    @classmethod
    def of(cls, prefix: str, facility: str) -> FacilityKeys:
        """Keys ``{prefix}antre:{<facility>}:events|seq|snapshot``, sharing the ``{facility}`` hash tag.

        Raises:
            ValueError: a brace in ``prefix`` or ``facility`` would move the hash tag.
        """
        if "{" in facility or "}" in facility or "{" in prefix or "}" in prefix:
            raise ValueError(f"braces are not allowed in a facility id or key prefix: {prefix!r}, {facility!r}")
        base = f"{prefix}antre:{{{facility}}}:"
        return cls(events=base + "events", seq=base + "seq", snapshot=base + "snapshot")


@dataclass(frozen=True, slots=True)
class RedisUrl:
    """A ``redis://`` URL split into what redis-py connects to and this log's own options."""

    server: str
    prefix: str = ""
    retain: int | None = None

    @classmethod
    def parse(cls, url: str) -> RedisUrl:
        """Take ``prefix`` and ``retain`` out of the query; every other option is left to redis-py.

        Raises:
            ValueError: not a redis:// or rediss:// URL, or ``retain`` is not a whole number >= 0.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss"):
            raise ValueError(f"not a redis:// URL: {url!r}")
        query = parse_qsl(parts.query, keep_blank_values=True)
        if any(name == "decode_responses" for name, _ in query):
            raise ValueError("the log stores bytes: drop decode_responses from the URL")
        if any(name == "socket_timeout" for name, _ in query):
            # A socket timeout would cut the follower's blocking XREAD and bring back redis-py's
            # wait_for (see _unavailable); the log bounds every call itself (command_timeout_s).
            raise ValueError("drop socket_timeout from the URL: the log bounds its calls itself")
        ours = dict(item for item in query if item[0] in ("prefix", "retain"))
        rest = [item for item in query if item[0] not in ("prefix", "retain")]
        retain = None
        if ours.get("retain"):
            try:
                retain = int(ours["retain"])
            except ValueError:
                raise ValueError(f"retain must be a whole number of events, not {ours['retain']!r}") from None
            if retain < 0:
                raise ValueError(f"retain must be >= 0, not {retain}")
        server = urlunsplit(parts._replace(query=urlencode(rest)))
        return cls(server=server, prefix=ours.get("prefix", ""), retain=retain)


@asynccontextmanager
async def _unavailable(timeout_s: float) -> AsyncIterator[None]:
    """Bound a call by ``timeout_s`` and turn any redis-py error or the timeout into LogUnavailable.

    The timeout is ours (``asyncio.timeout``), not redis-py's socket timeout: redis-py wraps each
    command in ``asyncio.wait_for`` when a socket timeout is set, and on Python 3.11 that drops a
    cancellation arriving as the command completes, so a cancelled task (a follower being stopped)
    would carry on. On our timeout redis-py sees a cancellation and drops the connection, whose
    reply would otherwise be read by the next command.
    """
    try:
        async with asyncio.timeout(timeout_s):
            yield
    except RedisError as exc:
        raise LogUnavailable(f"redis: {type(exc).__name__}: {exc}") from exc
    except TimeoutError as exc:
        raise LogUnavailable(f"redis: no answer within {timeout_s:g} s") from exc
    except (RuntimeError, ConnectionError, OSError) as exc:
        # Under uvloop, writing to a connection the peer reset raises RuntimeError ("the handler is
        # closed") rather than a redis-py error; redis-py has dropped that connection already, so
        # the next call reconnects. Any of these is the log being unreachable, not an engine fault.
        raise LogUnavailable(f"redis: connection lost: {type(exc).__name__}: {exc}") from exc


def _bytes(value: bytes | str) -> bytes:
    # Only for the type checker: the clients never decode responses (RedisUrl refuses decode_responses).
    return value if isinstance(value, bytes) else value.encode()


def _record(entry: Any) -> Record:
    """A Record from a stream entry ``(b"<position>-1", {b"e": payload})``."""
    entry_id, fields = entry
    return Record(int(_bytes(entry_id).partition(b"-")[0]), _bytes(fields[FIELD]))


def _xread_entries(reply: Any) -> list[Any]:
    """The entries of a one-stream XREAD reply, whichever shape redis-py's protocol setting gives."""
    if not reply:
        return []
    # RESP2: [[key, entries]]; RESP3: {key: entries} or, in legacy mode, {key: [entries]}.
    (entries,) = reply.values() if isinstance(reply, dict) else (value for _, value in reply)
    if entries and isinstance(entries[0], list):
        (entries,) = entries
    return list(entries)


class RedisLog:
    """An :class:`~queue_engine.log.base.EventLog` on Redis Streams, one stream per facility.

    Constructing one does not connect; the first call does, and after a failure the next call
    reconnects. Two clients are kept: one for commands (short timeout) and one for ``tail``,
    whose blocking XREADs would otherwise exceed that timeout and occupy command connections.

    Args:
        url: ``redis://[[user]:password@]host[:port][/db][?prefix=…&retain=…]`` (or ``rediss://``).
            ``prefix`` is put before every key; ``retain`` enables trimming after snapshots,
            keeping that many events up to the snapshot. Other query options go to redis-py.
        prefix: overrides the URL's ``prefix``.
        retain: overrides the URL's ``retain``.
        connect_timeout_s: how long a connection attempt may take.
        command_timeout_s: how long a command may take (then :class:`LogUnavailable`).
        block_ms: how long one ``XREAD BLOCK`` of ``tail`` waits before asking again.
        tail_count: at most this many records per XREAD.
        read_chunk: ``read`` fetches this many records per XRANGE.
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str | None = None,
        retain: int | None = None,
        connect_timeout_s: float = 1.0,
        command_timeout_s: float = 3.0,
        block_ms: int = 5_000,
        tail_count: int = 512,
        read_chunk: int = 1_000,
    ) -> None:
        parsed = RedisUrl.parse(url)
        self.prefix = parsed.prefix if prefix is None else prefix
        self.retain = parsed.retain if retain is None else retain
        if self.retain is not None and self.retain < 0:
            raise ValueError(f"retain must be >= 0, not {self.retain}")
        FacilityKeys.of(self.prefix, "")  # reject a bad prefix now, not on first use
        self.block_ms = block_ms
        self.command_timeout_s = command_timeout_s
        self.tail_count = tail_count
        self.read_chunk = read_chunk
        # redis-py retries by default (with back-off of up to seconds); we fail fast instead.
        self._redis = Redis.from_url(
            parsed.server,
            socket_connect_timeout=connect_timeout_s,
            socket_timeout=None,  # see _unavailable: every call is bounded by asyncio.timeout instead
            retry=Retry(NoBackoff(), 0),
            client_name="antre-log",
        )
        self._tail_redis = Redis.from_url(
            parsed.server,
            socket_connect_timeout=connect_timeout_s,
            socket_timeout=None,
            retry=Retry(NoBackoff(), 0),
            client_name="antre-tail",
        )
        self._append = self._redis.register_script(APPEND_SCRIPT)
        self._snapshot = self._redis.register_script(SNAPSHOT_SCRIPT)

    def keys(self, facility: str) -> FacilityKeys:
        """The Redis keys that hold ``facility``'s log."""
        return FacilityKeys.of(self.prefix, facility)

    async def append(self, facility: str, expected: int, payloads: Sequence[bytes]) -> int:
        keys = self.keys(facility)
        async with _unavailable(self.command_timeout_s):
            reply = await self._append(keys=[keys.events, keys.seq], args=[expected, CONFLICT_RECORDS, *payloads])
        if not reply[0]:
            # From a script, an entry's fields are a flat list [b"e", payload], not a dict.
            missed = [Record(int(_bytes(i).partition(b"-")[0]), _bytes(f[1])) for i, f in reply[2]]
            raise LogConflict(expected, int(reply[1]), missed)
        return int(reply[1])

    async def read(self, facility: str, after: int = 0, limit: int | None = None) -> list[Record]:
        key = self.keys(facility).events
        records: list[Record] = []
        start = after
        while limit is None or len(records) < limit:
            count = self.read_chunk if limit is None else min(self.read_chunk, limit - len(records))
            async with _unavailable(self.command_timeout_s):
                entries = await self._redis.xrange(key, f"{start + 1}-0", "+", count=count)
            records.extend(map(_record, entries or ()))
            if not entries or len(entries) < count:
                break
            start = records[-1].position
        return records

    async def last_position(self, facility: str) -> int:
        async with _unavailable(self.command_timeout_s):
            value = await self._redis.get(self.keys(facility).seq)
        return 0 if value is None else int(value)

    async def tail(self, facility: str, after: int = 0) -> AsyncIterator[Record]:
        key = self.keys(facility).events
        last_id: bytes | str = f"{after}-1"
        task = asyncio.current_task()
        while True:
            if task is not None and task.cancelling():
                # redis-py can swallow a cancellation that lands while it (re)connects; do not
                # block again for a task that is being stopped.
                raise asyncio.CancelledError
            # One XREAD at a time per follower; it returns as soon as anything lands after last_id,
            # or empty after block_ms (then we simply ask again: an idle follower costs one call per block).
            async with _unavailable(self.block_ms / 1000 + self.command_timeout_s):
                reply = await self._tail_redis.xread({key: last_id}, count=self.tail_count, block=self.block_ms)
            for entry in _xread_entries(reply):
                last_id = entry[0]
                yield _record(entry)

    async def save_snapshot(self, facility: str, snapshot: Snapshot) -> None:
        keys = self.keys(facility)
        retain = -1 if self.retain is None else self.retain
        async with _unavailable(self.command_timeout_s):
            await self._snapshot(
                keys=[keys.snapshot, keys.events, keys.seq], args=[snapshot.position, snapshot.payload, retain]
            )

    async def load_snapshot(self, facility: str) -> Snapshot | None:
        async with _unavailable(self.command_timeout_s):
            position, payload = await self._redis.hmget(self.keys(facility).snapshot, ["position", "payload"])
        if position is None or payload is None:
            return None
        return Snapshot(int(position), _bytes(payload))

    async def close(self) -> None:
        await self._redis.aclose()
        await self._tail_redis.aclose()
