"""Benchmarks of the Redis Streams event log, side by side with SQLite, through the real Runtime.

Run from the repository root with a Redis server reachable, either way::

    python -m benchmarks.log [--quick]
    python benchmarks/log.py [--quick]

The server is ``redis://127.0.0.1:6379/0`` unless ``ANTRE_BENCH_REDIS_URL`` (or ``--redis-url``)
names another. Every key goes under a fresh random prefix (``antre-bench-<hex>:``, after any
``prefix`` the URL already has), and only the keys under that prefix are deleted at the end
(``SCAN MATCH <prefix>*`` + ``UNLINK``): no other key is read or touched.

Printed as measured; the last line is one JSON object with every figure (see
``benchmarks/RESULTS.md``). Headline throughputs are the BEST of several rounds, as in
:mod:`benchmarks.core` (medians beside them as ``*_median``). Latencies are percentiles over
every sample of every round.

What is measured:

* ``redis_cmds_per_s`` / ``sqlite_cmds_per_s``: commands per second through :class:`Runtime`
  (:class:`benchmarks.core.RuntimeRig`: 2,000 tickets waiting, 64 submitter tasks alternating issue
  and call-next, each awaiting one command at a time; one seed, so one mix; each round is a new
  local day, see :class:`DailyRig`). Each runs as ``antre serve`` runs it: the Redis node follows
  the log (``follow=True``, an ``XREAD BLOCK`` tailer that also sees the node's own writes); the
  SQLite one (WAL, ``synchronous=FULL``, a real fsync per group commit) does not. A third
  runtime, ``redis_nofollow``, is Redis without the follower, to show what following costs. All
  three live in one process and take turns round by round (each goes first, second and last in
  turn), so noise hits them alike. Beside them: ``redis_vs_sqlite`` (ratio of the best rounds),
  the median of the per-round ratios, and each one's command latency p50 / p99.
* ``redis_two_nodes_cmds_per_s``: two following Runtimes (each its own :class:`RedisLog` clients)
  in this one process, racing on one log: 32 submitters on each alternate ``IssueTicket`` and
  ``CallNext(complete_current=True)`` on LOKET for a few seconds per round. Beside it each node's
  share of the commands completed (``redis_two_nodes_share``) and the races each lost
  (``redis_two_nodes_conflicts``, :attr:`Runtime.conflicts`). A failed command ends the benchmark,
  and both nodes must end at the log's last position with identical state.
* ``redis_append_p50_ms`` / ``redis_append_p99_ms``: :meth:`RedisLog.append` called directly with
  one encoded event at a time (the first events of the replay history: every kind of ticket event),
  awaited one after the other: one compare-and-append script round trip each. Beside them the same
  for batches of 64 events (a group commit of about 32 commands) and ``PING`` (the network floor).
* ``redis_replay_events_per_s``: :func:`load_state` (read, decode, apply; no snapshot) over a Redis
  log holding the multi-day history of :func:`benchmarks.core.history` (100,000 events; quick:
  20,000), checked to rebuild the live state; the same from a memory log beside it, so the cost of
  reading from Redis shows. ``redis_stream_mb`` is the stream's ``MEMORY USAGE``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from hashlib import sha1
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redis.asyncio import Redis
from redis.exceptions import RedisError

import queue_engine
from benchmarks.core import (
    DAY,
    T0,
    RuntimeRig,
    Workload,
    _append_all,
    _timed_load,
    bench_facility,
    history,
    percentiles_ms,
)
from benchmarks.machine import CpuWatch, machine_info, report_fields, tmp_fs, version
from queue_engine import (
    CallNext,
    Facility,
    ManualClock,
    OpenCounter,
    Runtime,
    SequentialIds,
    ServiceCode,
    open_log,
)
from queue_engine.log.redis_streams import RedisLog, RedisUrl

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"

#: figure -> (direction, target)
TARGETS: dict[str, tuple[str, float]] = {
    "redis_cmds_per_s": (">=", 5_000),
    "redis_vs_sqlite": (">=", 0.8),
    "redis_append_p99_ms": ("<=", 10),
}


# --------------------------------------------------------------------------- the server and its keys


class BenchRedis:
    """The server under test: a URL with this run's own key prefix, and the clean-up of those keys."""

    def __init__(self, base_url: str) -> None:
        parsed = RedisUrl.parse(base_url)
        self.server = parsed.server
        self.prefix = f"{parsed.prefix}antre-bench-{secrets.token_hex(6)}:"
        self.retain = parsed.retain
        self.admin = Redis.from_url(self.server, socket_connect_timeout=2, socket_timeout=10)

    def url(self, section: str) -> str:
        """A log URL whose keys sit under this run's prefix, in their own ``section``."""
        query: dict[str, Any] = {"prefix": f"{self.prefix}{section}:"}
        if self.retain is not None:
            query["retain"] = self.retain
        return f"{self.server}{'&' if urlsplit(self.server).query else '?'}{urlencode(query)}"

    def log(self, section: str) -> RedisLog:
        log = open_log(self.url(section))
        assert isinstance(log, RedisLog)
        return log

    async def describe(self) -> dict[str, Any]:
        """The server's version and persistence settings (CONFIG GET may be refused: then ``?``)."""
        info = await self.admin.info("server")
        out: dict[str, Any] = {"redis_server": f"Redis {info.get('redis_version', '?')}"}
        settings = []
        for name in ("appendonly", "appendfsync", "save", "maxmemory-policy"):
            try:
                value = (await self.admin.config_get(name)).get(name, "?")
            except RedisError:
                value = "?"
            value = value.decode() if isinstance(value, bytes) else str(value)
            settings.append(f"{name}={value or '(none)'}")
        out["redis_config"] = " ".join(settings)
        return out

    async def cpu_s(self) -> float:
        """CPU seconds the server has used since it started (user + system, all threads)."""
        cpu = await self.admin.info("cpu")
        return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])

    async def cleanup(self) -> int:
        """Delete every key under this run's prefix (and nothing else); returns how many."""
        pattern = re.sub(r"([*?\[\]\\])", r"\\\1", self.prefix) + "*"
        deleted = 0
        async for key in self.admin.scan_iter(match=pattern, count=1_000):
            deleted += await self.admin.unlink(key)
        return deleted


# --------------------------------------------------------------------------- Runtime: Redis vs SQLite


class DailyRig(RuntimeRig):
    """A rig whose every round is a new local day, so the state does not grow round after round.

    At a day's first event the runtime forgets the tickets earlier days finished (what is still
    waiting stays); without that, every round would run on a larger state than the one before,
    and the snapshot the runtime encodes every 10,000 events would cost more each time.
    """

    async def round(self, label: str, per_task: int, tasks: int = 64) -> tuple[float, list[float]]:
        self.clock.value = T0 + ((self.clock.value - T0) // DAY + 1) * DAY  # 07:00 the next day
        return await super().round(label, per_task, tasks)


async def bench_runtimes(
    facility: Facility, redis: BenchRedis, tmp: Path, rounds: int, per_task: int, tasks: int = 64
) -> dict[str, Any]:
    print(
        f"\n== Runtime over Redis and over SQLite (WAL, synchronous=FULL, {tmp_fs(tmp)}): "
        f"{tasks} submitters x {per_task} commands, rounds in rotating order =="
    )
    rigs = {
        "redis": DailyRig(facility, redis.log("runtime"), tune_gc=True, follow=True),
        "sqlite": DailyRig(facility, open_log(f"sqlite:///{tmp / 'runtime.db'}"), tune_gc=True),
        "redis_nofollow": DailyRig(facility, redis.log("nofollow"), tune_gc=True),
    }
    names = list(rigs)
    rates: dict[str, list[float]] = {name: [] for name in rigs}
    latencies: dict[str, list[float]] = {name: [] for name in rigs}
    try:
        for rig in rigs.values():
            await rig.start()
        for r in range(rounds):
            for name in names[r % 3 :] + names[: r % 3]:  # each backend goes first, second and last in turn
                rate, lat = await rigs[name].round(f"round {r + 1} {name:>14}", per_task, tasks)
                rates[name].append(rate)
                latencies[name].extend(lat)
    finally:
        for name, rig in rigs.items():
            await _close(name, rig)
    out: dict[str, Any] = {}
    for name in rigs:
        best, med = max(rates[name]), statistics.median(rates[name])
        p50, p99 = percentiles_ms(latencies[name])
        print(f"   {name:>14}: best {best:>7,.0f} commands/s, median {med:>7,.0f}; p50 {p50:.1f} ms, p99 {p99:.1f} ms")
        out |= {
            f"{name}_cmds_per_s": round(best),
            f"{name}_cmds_per_s_median": round(med),
            f"{name}_latency_p50_ms": round(p50, 2),
            f"{name}_latency_p99_ms": round(p99, 2),
        }
    ratio = max(rates["redis"]) / max(rates["sqlite"])
    paired = statistics.median(a / b for a, b in zip(rates["redis"], rates["sqlite"], strict=True))
    print(f"   redis / sqlite: {ratio:.2f} (of the best rounds); median of the per-round ratios {paired:.2f}")
    return out | {"redis_vs_sqlite": round(ratio, 3), "redis_vs_sqlite_paired_median": round(paired, 3)}


async def _close(name: str, rig: RuntimeRig | Runtime, limit_s: float = 15) -> None:
    """Close a rig or runtime and its log, but never hang the benchmark on it (a stuck close is reported)."""
    runtime = rig.runtime if isinstance(rig, RuntimeRig) else rig
    try:
        async with asyncio.timeout(limit_s):
            await runtime.close()
    except TimeoutError:
        print(f"   WARNING: closing the {name} runtime took over {limit_s:.0f} s; gave up on it", file=sys.stderr)
    await runtime.log.close()


# --------------------------------------------------------------------------- two nodes racing


async def bench_two_nodes(
    facility: Facility, redis: BenchRedis, rounds: int, seconds: float, tasks: int = 32
) -> dict[str, Any]:
    service = ServiceCode("LOKET")
    print(
        f"\n== two following nodes on one log, in one process: {tasks} submitters on each, issue + call-next "
        f"on {service}, {rounds} rounds of {seconds:g} s =="
    )
    clock = ManualClock(T0)
    nodes = [
        Runtime(facility, redis.log("two"), clock=clock, ids=SequentialIds(n), tune_gc=True, follow=True) for n in "ab"
    ]
    workloads = [Workload(5 + i, f"{n}-") for i, n in enumerate("ab")]
    done, stop, converged = [0, 0], asyncio.Event(), asyncio.Event()

    async def submitter(i: int) -> None:  # a command that fails ends the benchmark
        node, workload = nodes[i], workloads[i]
        while not stop.is_set():
            await node.submit(workload.issue(clock.advance(1), service))
            counter = workload.counter_for(service)
            await node.submit(CallNext(at=clock.advance(1), counter=counter, complete_current=True))
            done[i] += 2

    rates: list[float] = []
    counts, conflicts = [0, 0], [0, 0]
    try:
        for node in nodes:
            await node.start()
        for cid in facility.counters:
            await nodes[0].submit(OpenCounter(at=clock.advance(1), counter=cid))
        await asyncio.gather(*(nodes[0].submit(workloads[0].issue(clock.advance(1), service)) for _ in range(500)))
        for r in range(rounds):
            clock.value = T0 + (r + 1) * DAY  # a new day per round, as in DailyRig
            done[:], before, t = [0, 0], [node.conflicts for node in nodes], time.perf_counter()
            stop.clear()
            work = asyncio.gather(*(submitter(i) for i in (0, 1) for _ in range(tasks)))
            await asyncio.sleep(seconds)
            stop.set()
            await work
            rates.append(sum(done) / (time.perf_counter() - t))
            lost = [node.conflicts - b for node, b in zip(nodes, before, strict=True)]
            counts, conflicts = (
                [c + d for c, d in zip(counts, done, strict=True)],
                [c + x for c, x in zip(conflicts, lost, strict=True)],
            )
            print(f"   round {r + 1}: {rates[-1]:>7,.0f} commands/s; commands by node a / b {done}, races lost {lost}")
        last = await nodes[0].log.last_position(facility.id)

        def check(_items: object) -> None:
            if nodes[0].state.position == nodes[1].state.position == last:
                converged.set()

        for node in nodes:
            node.subscribe(check)
        check(None)
        async with asyncio.timeout(10):  # each follower takes in the other node's last writes
            await converged.wait()
        if nodes[0].state.snapshot() != nodes[1].state.snapshot():
            raise AssertionError("the two nodes disagree")
    finally:
        for name, node in zip("ab", nodes, strict=True):
            await _close(f"node {name}", node)
    share = [round(c / sum(counts), 3) for c in counts]
    print(f"   best {max(rates):,.0f} commands/s (median {statistics.median(rates):,.0f}); share a / b {share}")
    return {
        "redis_two_nodes_cmds_per_s": round(max(rates)),
        "redis_two_nodes_cmds_per_s_median": round(statistics.median(rates)),
        "redis_two_nodes_share": share,
        "redis_two_nodes_conflicts": conflicts,
    }


# --------------------------------------------------------------------------- RedisLog.append latency


async def _latencies(n: int, call: Callable[[int], Awaitable[object]]) -> list[float]:
    out = []
    for i in range(n):
        t = time.perf_counter()
        await call(i)
        out.append(time.perf_counter() - t)
    return out


async def bench_append(facility: Facility, redis: BenchRedis, payloads: list[bytes], n: int) -> dict[str, Any]:
    print(f"\n== RedisLog.append awaited one at a time: {n:,} single events, {n // 10:,} batches of 64, {n:,} PINGs ==")
    log = redis.log("append")
    single, batch, fid = payloads[:n], payloads[: 64 * (n // 10)], facility.id
    try:
        await _latencies(200, lambda i: log.append("warm-up", i, payloads[i : i + 1]))
        one = await _latencies(n, lambda i: log.append(fid, i, single[i : i + 1]))
        many = await _latencies(n // 10, lambda i: log.append(f"{fid}-64", 64 * i, batch[64 * i : 64 * i + 64]))
        pings = await _latencies(n, lambda _i: redis.admin.ping())
        if await log.last_position(fid) != n:
            raise AssertionError("appends did not all land")
    finally:
        await log.close()
    out: dict[str, Any] = {}
    for name, lat in (("append", one), ("append64", many), ("ping", pings)):
        p50, p99 = percentiles_ms(lat)
        print(f"   {name:>8}: p50 {p50:.3f} ms  p99 {p99:.3f} ms  max {max(lat) * 1000:.2f} ms")
        out |= {f"redis_{name}_p50_ms": round(p50, 3), f"redis_{name}_p99_ms": round(p99, 3)}
    out["redis_append_max_ms"] = round(max(one) * 1000, 2)
    mean_size = sum(map(len, single)) / len(single)
    print(f"   (single events of {mean_size:.0f} bytes on average)")
    return out


# --------------------------------------------------------------------------- replay from Redis


async def bench_replay(
    facility: Facility, redis: BenchRedis, payloads: list[bytes], expected: Any, rounds: int
) -> dict[str, Any]:
    n = len(payloads)
    print(f"\n== replay (load_state: read + decode + apply, no snapshot) of {n:,} events, {rounds} rounds ==")
    log = redis.log("replay")
    t = time.perf_counter()
    await _append_all(log, facility.id, payloads)
    print(f"   appended in chunks of 10,000 in {time.perf_counter() - t:.1f} s")
    stream = log.keys(facility.id).events
    usage = await redis.admin.memory_usage(stream, samples=0) or 0
    await log.close()
    memory_log = open_log("memory://")
    await _append_all(memory_log, facility.id, payloads)
    rates: dict[str, list[float]] = {"redis": [], "memory": []}
    for r in range(rounds):
        for name in rates:
            gc.collect()
            elapsed, state = await _timed_load(facility, redis.log("replay") if name == "redis" else memory_log)
            if r == 0 and state.snapshot() != expected:
                raise AssertionError(f"replay from {name} did not rebuild the live state")
            rates[name].append(n / elapsed)
        print(f"   round {r + 1}: redis {rates['redis'][-1]:>9,.0f} events/s   memory {rates['memory'][-1]:>9,.0f}")
    best, med = max(rates["redis"]), statistics.median(rates["redis"])
    print(f"   best: redis {best:,.0f} events/s (median {med:,.0f}), memory {max(rates['memory']):,.0f}")
    print(f"   stream: {usage / 1e6:.1f} MB in Redis ({usage / n:.0f} bytes per event)")
    return {
        "redis_replay_events": n,
        "redis_replay_events_per_s": round(best),
        "redis_replay_events_per_s_median": round(med),
        "memory_replay_events_per_s": round(max(rates["memory"])),
        "redis_stream_mb": round(usage / 1e6, 1),
    }


# --------------------------------------------------------------------------- main


def git_tree() -> str:
    """The commit measured, and whether the engine's code (the ``queue_engine`` imported) differed from it."""
    root = Path(queue_engine.__file__).resolve().parent.parent
    git = ["git", "-C", str(root)]
    try:
        head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
        diff = subprocess.run([*git, "diff", "HEAD", "--", "queue_engine"], capture_output=True)
        new = subprocess.run(
            [*git, "ls-files", "--others", "--exclude-standard", "--", "queue_engine"], capture_output=True
        )
    except OSError:
        return "?"
    if head.returncode != 0 or diff.returncode != 0 or new.returncode != 0:
        return "?"
    if not diff.stdout.strip() and not new.stdout.strip():
        return head.stdout.strip()
    digest = sha1(diff.stdout + new.stdout).hexdigest()[:12]
    return f"{head.stdout.strip()} + uncommitted changes in queue_engine/ (diff sha1 {digest})"


def verdicts(figures: dict[str, Any]) -> Iterator[str]:
    met = figures.setdefault("targets_met", {})
    for key, (direction, target) in TARGETS.items():
        value = figures[key]
        ok = value >= target if direction == ">=" else value <= target
        met[key] = ok
        yield f"   {key:>22}: {value:>12,} target {direction} {target:,} {'ok' if ok else 'MISSED'}"


async def run(args: argparse.Namespace, redis: BenchRedis, tmp: Path) -> dict[str, Any]:
    facility = bench_facility()
    if args.quick:
        rounds, per_task, append_n, replay_n, replay_rounds, two = 8, 150, 1_000, 20_000, 3, (2, 1.0)
    else:
        rounds, per_task, append_n, replay_n, replay_rounds, two = 12, 300, 2_000, 100_000, 5, (4, 3.0)
    figures: dict[str, Any] = {"tmp_fs": tmp_fs(tmp)}
    sections: dict[str, float] = {}
    figures["sections_s"] = sections

    async def section(name: str, work: Awaitable[dict[str, Any]]) -> None:
        t = time.perf_counter()
        figures.update(await work)
        sections[name] = round(time.perf_counter() - t, 1)
        print(f"   ({name}: {sections[name]} s)")

    await section("runtime", bench_runtimes(facility, redis, tmp, rounds, per_task))
    await section("two_nodes", bench_two_nodes(facility, redis, *two))
    t = time.perf_counter()
    h = history(facility, replay_n)
    print(f"\n   (history of {len(h.payloads):,} events built in {time.perf_counter() - t:.1f} s)")
    await section("append", bench_append(facility, redis, h.payloads, append_n))
    await section("replay", bench_replay(facility, redis, h.payloads, h.live.snapshot(), replay_rounds))
    return figures


async def run_on_redis(args: argparse.Namespace, tmp: Path) -> dict[str, Any] | None:
    redis = BenchRedis(args.redis_url)
    try:
        try:
            await redis.admin.ping()
            server = await redis.describe()
        except RedisError as exc:
            print(
                f"benchmarks.log: no Redis at {redis.server} ({type(exc).__name__}: {exc}).\n"
                "Start one (redis-server) or point ANTRE_BENCH_REDIS_URL / --redis-url at one.",
                file=sys.stderr,
            )
            return None
        print(f"   redis: {server['redis_server']}, {server['redis_config']}; keys under {redis.prefix!r}")
        try:
            cpu, t = await redis.cpu_s(), time.perf_counter()
            figures = await run(args, redis, tmp)
            busy, wall = await redis.cpu_s() - cpu, time.perf_counter() - t
            print(f"   redis-server used {busy:.1f} CPU s over {wall:.0f} s ({100 * busy / wall:.0f}% of one core)")
            return server | figures | {"redis_server_cpu_s": round(busy, 1)}
        finally:
            deleted = await redis.cleanup()
            print(f"\n   deleted this run's {deleted} key(s) under {redis.prefix!r}")
    finally:
        await redis.admin.aclose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmarks of the Redis event log (see the module docstring).")
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds (about 20-30 s)")
    parser.add_argument("--dir", type=Path, default=None, help="where the SQLite file goes (default: a temp dir)")
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("ANTRE_BENCH_REDIS_URL", DEFAULT_REDIS_URL),
        help="the Redis to measure (env ANTRE_BENCH_REDIS_URL; default %(default)s)",
    )
    args = parser.parse_args(argv)

    info = machine_info()
    hiredis = version("hiredis")
    info["libs"] += f", redis-py {version('redis')}, " + ("no hiredis" if hiredis == "?" else f"hiredis {hiredis}")
    info["tree"] = git_tree()
    watch = CpuWatch()
    started = time.perf_counter()
    print(f"Antre Redis log benchmarks ({'quick' if args.quick else 'full'}) {datetime.now(UTC):%Y-%m-%d %H:%M UTC}")
    for key, value in info.items():
        print(f"   {key}: {value}")
    with tempfile.TemporaryDirectory(prefix="antre-bench-", dir=args.dir) as name:
        figures = asyncio.run(run_on_redis(args, Path(name)))
    if figures is None:
        return 2
    others = watch.others_pct()
    total = time.perf_counter() - started
    print(f"\n== against targets (best of rounds; latencies over all samples); {total:.0f} s in all ==")
    for line in verdicts(figures):
        print(line)
    if others is not None:
        print(f"   other processes (Redis included) used {others}% of the {info['cores']} cores meanwhile")
    figures.update(
        mode="quick" if args.quick else "full",
        stat="best of rounds (medians in *_median); latency percentiles over all samples",
        libs=info["libs"],
        tree=info["tree"],
        **report_fields(info, others, total),
    )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
