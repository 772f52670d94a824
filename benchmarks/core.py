"""Benchmarks of the Antre core: in-memory command rate, SQLite group commit, replay.

Run from the repository root, either way::

    python -m benchmarks.core [--quick]
    python benchmarks/core.py [--quick]

Figures are printed as they are measured; the last line is one JSON object with every
figure (see ``benchmarks/RESULTS.md`` for a reading). All times are ``time.perf_counter``
wall times. Each headline figure is the BEST of several rounds: on a shared machine other
processes only ever slow a round down, so the best round is the steadiest measure of the
code (the median is reported beside it, as ``*_median``, and so is the CPU other processes
took meanwhile, ``others_cpu_pct``).

What is measured:

* ``ops_per_s_1k`` / ``ops_per_s_100k``: commands per second through ``decide`` + ``apply``
  (no log, no encoding), with 1,000 and 100,000 tickets already waiting. One cycle is one
  ``IssueTicket`` and one ``CallNext(complete_current=True)`` at a counter serving the same
  service, so every queue keeps its length. The two states are measured in alternating rounds
  in the same process, so drift and noise hit both alike; ``ratio_100k_vs_1k`` is the ratio of
  the two best rounds (the median of the per-round ratios is reported too).
* ``sqlite_cmds_per_s``: commands per second through :class:`Runtime` over the SQLite log
  (WAL, ``synchronous=FULL``, so one fsync per group commit) in a temporary directory, with 64
  concurrent submitter tasks, each awaiting one command at a time.
* ``replay_events_per_s`` / ``replay_sqlite_events_per_s``: :func:`load_state` (read, decode,
  apply) over a memory log and over a SQLite log holding a multi-day history of every kind of
  ticket event; beside them, the split (decode alone, apply alone) and ``restart_sqlite_ms``, a
  restart as it really happens (the newest snapshot plus a 10,000-event tail).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.machine import CpuWatch, machine_info, report_fields, tmp_fs
from queue_engine import (
    CallNext,
    Channel,
    Command,
    Complete,
    CounterId,
    DomainError,
    Event,
    Facility,
    FacilityState,
    IssueTicket,
    ManualClock,
    MarkMissed,
    OpenCounter,
    Payer,
    Priority,
    Recall,
    Requeue,
    Runtime,
    SequentialIds,
    ServiceCode,
    StartService,
    TicketId,
    apply,
    decide,
    load_state,
    open_log,
    parse_facility,
    tune_gc,
)
from queue_engine.codec import decode_event, dumps, encode_event
from queue_engine.log import EventLog, Snapshot

#: Monday 2025-01-06 07:00 in Asia/Jakarta (UTC+7), in ms since the epoch.
T0 = 1_736_121_600_000
DAY = 86_400_000

TARGETS = {
    "ops_per_s_1k": 50_000,
    "ratio_100k_vs_1k": 0.7,
    "sqlite_cmds_per_s": 5_000,
    "replay_events_per_s": 200_000,
}


# --------------------------------------------------------------------------- the facility

#: service code -> (share of arrivals, counters serving it)
SERVICES: dict[str, tuple[float, tuple[str, ...]]] = {
    "LOKET": (0.40, ("loket-1", "loket-2", "loket-3")),
    "UMUM": (0.30, ("umum-1", "umum-2")),
    "KIA": (0.15, ("gigi-kia",)),
    "GIGI": (0.10, ("gigi-kia",)),
    "APOTEK": (0.05, ("apotek",)),
}

#: A realistic spread of classes: mostly umum, a fifth priority groups, a few emergencies.
PRIORITIES: tuple[tuple[Priority, float], ...] = (
    (Priority.UMUM, 0.75),
    (Priority.LANSIA, 0.10),
    (Priority.IBU_HAMIL, 0.05),
    (Priority.BALITA, 0.04),
    (Priority.DISABILITAS, 0.04),
    (Priority.DARURAT, 0.02),
)


def bench_facility() -> Facility:
    """Five services without opening hours or quotas, eight counters (one shared by two services)."""
    prefixes = "ABCDE"
    counters: dict[str, list[str]] = {}
    for code, (_share, serving) in SERVICES.items():
        for cid in serving:
            counters.setdefault(cid, []).append(code)
    stages = {"LOKET": ["UMUM", "KIA", "GIGI"], "UMUM": ["APOTEK"], "KIA": ["APOTEK"], "GIGI": ["APOTEK"]}
    return parse_facility(
        {
            "facility": {"id": "pkm-bench", "name": "Puskesmas Bench", "timezone": "Asia/Jakarta"},
            "policy": {"priority_ratio": [2, 1], "requeue_places": 3},
            "services": [
                {"code": code, "name": code.title(), "prefix": p, "next_stages": stages.get(code, [])}
                for code, p in zip(SERVICES, prefixes, strict=True)
            ],
            "counters": [{"id": cid, "name": cid, "services": svc} for cid, svc in counters.items()],
        }
    )


class Workload:
    """A deterministic stream of issue / call-next commands that keeps every queue's length."""

    def __init__(self, seed: int, prefix: str) -> None:
        self.rng = random.Random(seed)
        self.ids = SequentialIds(prefix)
        self.codes = [ServiceCode(c) for c in SERVICES]
        self.shares = [share for share, _ in SERVICES.values()]
        self.classes = [p for p, _ in PRIORITIES]
        self.weights = [w for _, w in PRIORITIES]
        self.rr = {code: 0 for code in SERVICES}

    def issue(self, at: int, service: ServiceCode | None = None) -> IssueTicket:
        rng = self.rng
        return IssueTicket(
            at=at,
            ticket_id=self.ids.ticket_id(),
            token=self.ids.token(),
            service=service or rng.choices(self.codes, self.shares)[0],
            priority=rng.choices(self.classes, self.weights)[0],
            channel=Channel.KIOSK if rng.random() < 0.8 else Channel.STAFF,
            payer=Payer.JKN if rng.random() < 0.7 else Payer.UMUM,
        )

    def counter_for(self, service: str) -> CounterId:
        serving = SERVICES[service][1]
        i = self.rr[service] = (self.rr[service] + 1) % len(serving)
        return CounterId(serving[i])

    def cycle(self, at: int) -> tuple[IssueTicket, CallNext]:
        issue = self.issue(at)
        call = CallNext(at=at + 1, counter=self.counter_for(issue.service), actor="bench", complete_current=True)
        return issue, call


def run_commands(state: FacilityState, commands: list[Command]) -> None:
    for command in commands:
        for event in decide(state, command).events:
            apply(state, event)


def open_all(state: FacilityState, at: int) -> None:
    run_commands(state, [OpenCounter(at=at, counter=cid) for cid in state.facility.counters])


# --------------------------------------------------------------------------- in-memory ops


@dataclass
class Subject:
    """One state under test with its own clock and command stream."""

    name: str
    waiting: int
    state: FacilityState
    workload: Workload
    at: int
    rates: list[float]

    def commands(self, cycles: int) -> list[Command]:
        out: list[Command] = []
        for _ in range(cycles):
            self.at += 20  # arrivals 20 ms apart: a day holds ~4 million commands
            out.extend(self.workload.cycle(self.at))
        return out


def prefill(facility: Facility, waiting: int, seed: int) -> Subject:
    state = FacilityState(facility)
    open_all(state, T0)
    workload = Workload(seed, f"w{waiting}-")
    at = T0 + 1
    run_commands(state, [workload.issue(at + i) for i in range(waiting)])
    # Put a ticket at every counter so each CallNext also completes one.
    run_commands(state, [CallNext(at=at + waiting, counter=cid) for cid in facility.counters])
    run_commands(state, [workload.issue(at + waiting + 1 + i) for i in range(len(facility.counters))])
    assert _waiting(state) == waiting, _waiting(state)
    return Subject(f"{waiting:,} waiting", waiting, state, workload, at + waiting + 100, [])


def _waiting(state: FacilityState) -> int:
    return sum(len(s.waitlist) for s in state.services.values())


def bench_ops(facility: Facility, rounds: int, cycles: int) -> dict[str, Any]:
    print(f"\n== in-memory decide + apply: {rounds} rounds x {2 * cycles:,} commands per state, alternating ==")
    t = time.perf_counter()
    subjects = [prefill(facility, 1_000, 1), prefill(facility, 100_000, 2)]
    print(f"   prefill of 1,000 + 100,000 waiting tickets: {time.perf_counter() - t:.1f} s")
    tune_gc()  # what Runtime.start() does once the state is loaded: the server runs this way
    run_commands(subjects[0].state, subjects[0].commands(cycles // 4))  # warm-up
    run_commands(subjects[1].state, subjects[1].commands(cycles // 4))
    for r in range(rounds):
        order = subjects if r % 2 == 0 else subjects[::-1]
        for subject in order:
            commands = subject.commands(cycles)
            gc.collect()
            t = time.perf_counter()
            run_commands(subject.state, commands)
            subject.rates.append(len(commands) / (time.perf_counter() - t))
        print(
            f"   round {r + 1}: "
            + "  ".join(f"{subject.name}: {subject.rates[-1]:>9,.0f} ops/s" for subject in subjects)
        )
    for subject in subjects:
        if _waiting(subject.state) != subject.waiting:
            raise AssertionError(f"{subject.name}: queue length drifted to {_waiting(subject.state)}")
    best = [max(subject.rates) for subject in subjects]
    med = [statistics.median(subject.rates) for subject in subjects]
    paired = statistics.median(b / a for a, b in zip(subjects[0].rates, subjects[1].rates, strict=True))
    for subject, b, m in zip(subjects, best, med, strict=True):
        tickets = len(subject.state.tickets)
        print(f"   {subject.name:>16}: best {b:>9,.0f} ops/s   median {m:>9,.0f}   ({tickets:,} tickets in state)")
    ratio = best[1] / best[0]
    print(f"   ratio 100k / 1k: {ratio:.3f} (of the best rounds); median of the per-round ratios {paired:.3f}")
    return {
        "ops_per_s_1k": round(best[0]),
        "ops_per_s_100k": round(best[1]),
        "ratio_100k_vs_1k": round(ratio, 3),
        "ops_per_s_1k_median": round(med[0]),
        "ops_per_s_100k_median": round(med[1]),
        "ratio_100k_vs_1k_paired_median": round(paired, 3),
    }


# --------------------------------------------------------------------------- Runtime over a log


class RuntimeRig:
    """The stock :class:`Runtime` over one log, and submitters; rigs with one ``seed`` submit one mix."""

    def __init__(self, facility: Facility, event_log: EventLog, *, seed: int = 3, ids: str = "s", **runtime: Any):
        self.facility, self.clock, self.batches = facility, ManualClock(T0), 0
        self.runtime = Runtime(facility, event_log, clock=self.clock, ids=SequentialIds(ids), **runtime)
        self.workload = Workload(seed, f"{ids}-")
        self.runtime.subscribe(self._count)

    def _count(self, _published: object) -> None:
        self.batches += 1

    async def start(self, prefill: int = 2_000) -> None:
        clock, submit = self.clock, self.runtime.submit
        await self.runtime.start()
        for cid in self.facility.counters:
            await submit(OpenCounter(at=clock.advance(1), counter=cid))
        await asyncio.gather(*(submit(self.workload.issue(clock.advance(1))) for _ in range(prefill)))

    async def close(self) -> None:
        await self.runtime.close()
        await self.runtime.log.close()

    async def _submitter(self, per_task: int, latencies: list[float]) -> None:
        clock, workload = self.clock, self.workload
        for i in range(per_task):
            at = clock.advance(1)
            if i % 2 == 0:
                cmd: Command = (issue := workload.issue(at))
            else:  # at a counter serving the ticket just issued: no queue ever runs dry
                cmd = CallNext(at=at, counter=workload.counter_for(issue.service), complete_current=True)
            t = time.perf_counter()
            await self.runtime.submit(cmd)
            latencies.append(time.perf_counter() - t)

    async def round(self, label: str, per_task: int, tasks: int = 64) -> tuple[float, list[float]]:
        """``tasks`` submitters, each awaiting ``per_task`` commands (alternately issue and call-next)
        one at a time; prints the round and returns commands/s and every command's latency in s."""
        latencies: list[float] = []
        self.batches, position = 0, self.runtime.state.position
        t = time.perf_counter()
        await asyncio.gather(*(self._submitter(per_task, latencies) for _ in range(tasks)))
        elapsed = time.perf_counter() - t
        rate, events = len(latencies) / elapsed, self.runtime.state.position - position
        print(
            f"   {label}: {rate:>7,.0f} commands/s  {events / elapsed:>7,.0f} events/s  "
            f"{self.batches} group commits (mean {len(latencies) / max(self.batches, 1):.1f} commands each)"
        )
        return rate, latencies


def percentiles_ms(latencies: list[float]) -> tuple[float, float]:
    lat = sorted(latencies)
    return lat[len(lat) // 2] * 1000, lat[int(len(lat) * 0.99)] * 1000


async def bench_sqlite(facility: Facility, tmp: Path, rounds: int, per_task: int, tasks: int = 64) -> dict[str, Any]:
    print(
        f"\n== Runtime over SQLite (WAL, synchronous=FULL) in {tmp} ({tmp_fs(tmp)}): "
        f"{tasks} submitters x {per_task} commands =="
    )
    rig = RuntimeRig(facility, open_log(f"sqlite:///{tmp / 'runtime.db'}"))
    results: list[tuple[float, list[float]]] = []
    try:
        await rig.start()
        for r in range(rounds):
            results.append(await rig.round(f"round {r + 1}", per_task, tasks))
    finally:
        await rig.close()
    rates = [rate for rate, _ in results]
    p50, p99 = percentiles_ms([x for _, latencies in results for x in latencies])
    med = statistics.median(rates)
    print(f"   best {max(rates):,.0f} commands/s, median {med:,.0f}; latency p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    return {
        "sqlite_cmds_per_s": round(max(rates)),
        "sqlite_cmds_per_s_median": round(med),
        "sqlite_latency_p50_ms": round(p50, 2),
        "sqlite_latency_p99_ms": round(p99, 2),
    }


# --------------------------------------------------------------------------- replay

#: a Runtime saves a snapshot every 10,000 events by default: the longest tail a restart replays
RESTART_TAIL = 10_000


@dataclass
class History:
    payloads: list[bytes]
    live: FacilityState
    #: the state's snapshot RESTART_TAIL events before the end, as a Runtime would have saved it
    snapshot: Snapshot


def history(facility: Facility, n_events: int) -> History:
    """A multi-day log of every kind of ticket event, and the state it leads to.

    Per cycle: a ticket is issued and a counter calls next (completing its current ticket);
    now and then a counter recalls, starts service, sends its patient to the next stage, or
    marks a no-show who is requeued. A day has 10 hours of cycles 2 s apart.
    """
    state = FacilityState(facility)
    workload = Workload(4, "h-")
    payloads: list[bytes] = []
    snapshot: Snapshot | None = None

    def run(command: Command) -> TicketId | None:
        try:
            decision = decide(state, command)
        except DomainError:
            return None
        for event in decision.events:
            apply(state, event)
            payloads.append(encode_event(event))
        return decision.ticket_id

    day, at = 0, T0
    for cid in facility.counters:
        run(OpenCounter(at=at, counter=cid))
    for i in range(200):
        run(workload.issue(at + i))
    cycle = 0
    while len(payloads) < n_events:
        if snapshot is None and len(payloads) >= n_events - RESTART_TAIL:
            snapshot = Snapshot(state.position, dumps(state.snapshot()))
        cycle += 1
        at += 2_000
        if at >= T0 + day * DAY + 10 * 3_600_000:
            day += 1
            at = T0 + day * DAY
        issue, call = workload.cycle(at)
        run(issue)
        _before_call(state, run, cycle, call)
        run(call)
        if cycle % 5 == 0:
            run(StartService(at=at + 2, counter=call.counter))
        if cycle % 7 == 0:
            run(Recall(at=at + 3, counter=call.counter))
    assert snapshot is not None
    return History(payloads, state, snapshot)


def _before_call(state: FacilityState, run: Callable[[Command], TicketId | None], cycle: int, call: CallNext) -> None:
    """Now and then, instead of a plain completion: the next stage, or a no-show who comes back."""
    at, counter = call.at, call.counter
    if cycle % 11 == 0:
        current = state.counters[counter].ticket
        ticket = state.tickets.get(current) if current else None
        stages = state.facility.services[ticket.service].next_stages if ticket else ()
        if stages:
            run(Complete(at=at, counter=counter, next_service=stages[cycle % len(stages)]))
    elif cycle % 17 == 0:
        missed = run(MarkMissed(at=at, counter=counter))
        if missed is not None:
            run(Requeue(at=at + 1, ticket_id=missed))


async def _append_all(event_log: EventLog, facility_id: str, payloads: list[bytes], chunk: int = 10_000) -> None:
    for start in range(0, len(payloads), chunk):
        await event_log.append(facility_id, start, payloads[start : start + chunk])


async def _timed_load(facility: Facility, event_log: EventLog) -> tuple[float, FacilityState]:
    try:
        t = time.perf_counter()
        state = await load_state(facility, event_log)
        return time.perf_counter() - t, state
    finally:
        await event_log.close()


async def bench_replay(facility: Facility, tmp: Path, rounds: int, n_events: int) -> dict[str, Any]:
    print(f"\n== replay (load_state: read + decode + apply, no snapshot), {rounds} rounds ==")
    t = time.perf_counter()
    h = history(facility, n_events)
    n = len(h.payloads)
    days = (h.live.last_at - T0) // DAY + 1
    print(
        f"   history: {n:,} events over {days} day(s), {len(h.live.tickets):,} tickets live at the end; "
        f"built in {time.perf_counter() - t:.1f} s"
    )
    expected = h.live.snapshot()

    memory_log = open_log("memory://")  # shared by the rounds: its close() does nothing
    await _append_all(memory_log, facility.id, h.payloads)
    db = tmp / "replay.db"
    sqlite_log = open_log(f"sqlite:///{db}")
    await _append_all(sqlite_log, facility.id, h.payloads)
    await sqlite_log.close()
    print(f"   sqlite file {db.stat().st_size / 1e6:.1f} MB")

    rates: dict[str, list[float]] = {"memory": [], "sqlite": []}
    for r in range(rounds):
        for name in rates:
            event_log = memory_log if name == "memory" else open_log(f"sqlite:///{db}")
            gc.collect()
            elapsed, state = await _timed_load(facility, event_log)
            if r == 0 and state.snapshot() != expected:
                raise AssertionError(f"replay from {name} did not rebuild the live state")
            rates[name].append(n / elapsed)
        mem_r, sql_r = rates["memory"][-1], rates["sqlite"][-1]
        print(f"   round {r + 1}: memory {mem_r:>9,.0f} events/s   sqlite {sql_r:>9,.0f} events/s")

    # Where replay time goes: decode alone, apply alone (best of rounds each).
    split_rounds = min(rounds, 3)
    decode_s = min(_timeit(lambda: [decode_event(p) for p in h.payloads]) for _ in range(split_rounds))
    events = [decode_event(p) for p in h.payloads]
    apply_s = min(_timeit(lambda: _apply_all(facility, events)) for _ in range(split_rounds))
    mem, sql = statistics.median(rates["memory"]), statistics.median(rates["sqlite"])
    best_mem, best_sql = max(rates["memory"]), max(rates["sqlite"])
    print(f"   best: memory {best_mem:,.0f} events/s (median {mem:,.0f}), sqlite {best_sql:,.0f} (median {sql:,.0f})")
    print(
        f"   split (best of {split_rounds}): decode alone {n / decode_s:,.0f} events/s, apply alone {n / apply_s:,.0f}"
    )

    # A restart as it really happens: the newest snapshot, then the tail after it.
    restart_db = tmp / "restart.db"
    restart_log = open_log(f"sqlite:///{restart_db}")
    await _append_all(restart_log, facility.id, h.payloads)
    await restart_log.save_snapshot(facility.id, h.snapshot)
    await restart_log.close()
    restarts = []
    for r in range(rounds):
        gc.collect()
        elapsed, state = await _timed_load(facility, open_log(f"sqlite:///{restart_db}"))
        if r == 0 and state.snapshot() != expected:
            raise AssertionError("snapshot + tail did not rebuild the live state")
        restarts.append(elapsed)
    restart = min(restarts)
    size, tail = len(h.snapshot.payload) / 1e6, n - h.snapshot.position
    print(f"   restart from sqlite (snapshot of {size:.1f} MB + {tail:,}-event tail): best {restart * 1000:,.0f} ms")
    return {
        "replay_events": n,
        "replay_events_per_s": round(best_mem),
        "replay_sqlite_events_per_s": round(best_sql),
        "replay_events_per_s_median": round(mem),
        "replay_sqlite_events_per_s_median": round(sql),
        "replay_decode_events_per_s": round(n / decode_s),
        "replay_apply_events_per_s": round(n / apply_s),
        "restart_sqlite_ms": round(restart * 1000),
    }


def _apply_all(facility: Facility, events: list[Event]) -> None:
    state = FacilityState(facility)
    for event in events:
        apply(state, event)


def _timeit(fn: Callable[[], object]) -> float:
    gc.collect()
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


# --------------------------------------------------------------------------- machine and main


def verdicts(figures: dict[str, Any]) -> Iterator[str]:
    for key, target in TARGETS.items():
        value = figures[key]
        ok = value >= target
        yield f"   {key:>22}: {value:>12,} target >= {target:,} {'ok' if ok else 'MISSED'}"
        figures.setdefault("targets_met", {})[key] = ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmarks of the Antre core (see the module docstring).")
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds (under 30 s)")
    parser.add_argument("--dir", type=Path, default=None, help="where the SQLite files go (default: a temp dir)")
    args = parser.parse_args(argv)

    info = machine_info()
    watch = CpuWatch()
    started = time.perf_counter()
    print(f"Antre core benchmarks ({'quick' if args.quick else 'full'}) {datetime.now(UTC):%Y-%m-%d %H:%M UTC}")
    for key, value in info.items():
        print(f"   {key}: {value}")

    facility = bench_facility()
    if args.quick:
        ops_rounds, ops_cycles, sql_rounds, per_task, replay_rounds, replay_n = 5, 4_000, 3, 40, 3, 30_000
    else:
        ops_rounds, ops_cycles, sql_rounds, per_task, replay_rounds, replay_n = 9, 20_000, 5, 150, 5, 200_000

    figures: dict[str, Any] = {}
    sections: dict[str, float] = {}

    def section(name: str, fn: Callable[[], dict[str, Any]]) -> None:
        t = time.perf_counter()
        figures.update(fn())
        sections[name] = round(time.perf_counter() - t, 1)
        print(f"   ({name}: {sections[name]} s)")

    section("ops", lambda: bench_ops(facility, ops_rounds, ops_cycles))
    with tempfile.TemporaryDirectory(prefix="antre-bench-", dir=args.dir) as name:
        tmp = Path(name)
        figures["tmp_fs"] = tmp_fs(tmp)
        section("sqlite", lambda: asyncio.run(bench_sqlite(facility, tmp, sql_rounds, per_task)))
        section("replay", lambda: asyncio.run(bench_replay(facility, tmp, replay_rounds, replay_n)))

    others = watch.others_pct()
    total = time.perf_counter() - started
    print(f"\n== against targets (best of rounds); {total:.0f} s in all ==")
    for line in verdicts(figures):
        print(line)
    if others is not None:
        print(f"   other processes used {others}% of the {info['cores']} cores meanwhile (noise)")
    figures.update(
        mode="quick" if args.quick else "full",
        stat="best of rounds (medians in *_median)",
        sections_s=sections,
        **report_fields(info, others, total),
    )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
