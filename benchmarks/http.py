"""HTTP benchmark (issue #7): commands per second and latency through the real API, SQLite and Redis in one run.

Run from the repository root, under the shared benchmark lock, with a Redis reachable::

    flock /tmp/antre-bench.lock python -m benchmarks.http [--quick]

(Run as a module: as a file, ``benchmarks/`` would come first on ``sys.path`` and this module would
hide the standard library's ``http``; the guard below puts the repository root there instead.)

For each backend, one after the other with the same workload, it starts ``antre serve`` in a
process of its own on a free port (a facility file from :func:`benchmarks.server.write_facility`:
the demo puskesmas open around the clock without quotas, 12 LOKET, 10 UMUM, 4 GIGI and 6 KIA
counters), waits for its ready line, replays a morning at full speed with
:func:`benchmarks.loadgen.run_morning`, reads the server's state back and checks the ledger, and
stops the server:

* ``sqlite``: ``sqlite:///<tmp>/http.db`` (WAL, ``synchronous=FULL``: a real fsync per group commit);
* ``redis``: ``redis://127.0.0.1:6379/0?prefix=bench-<random>:`` (the node follows the log, as
  ``antre serve`` does with Redis); the prefix's keys are deleted at the end.

The load, 64 concurrent HTTP clients, each with its own connection and each awaiting its answer
before sending again: 32 kiosks (``POST /api/v1/tickets``, the service, priority and payer mix of
:mod:`benchmarks.loadgen`, an idempotency key each) and 32 desks, one per counter, logged in as the
demo staff, pressing "call next, completing the current one" (``POST
/api/v1/counters/{id}/call-next`` with ``complete_current``: the call and the completion of the
previous ticket in one command). Kiosks hold back while ``--max-waiting`` tickets of a service
wait (default 50: a busy puskesmas morning; the desks' answer lists the waiting tickets), so
issue and call go at one pace. A board and 8 phones follow over WebSockets. The client is this
process (or ``--processes N``, each with whole services), by default with the light
:mod:`benchmarks.rawhttp` client (``--client httpx`` for httpx2: see RESULTS.md for why).

Figures (the last line is one JSON object with all of them and :func:`machine.report_fields`):

* ``http_cmds_per_s_<backend>``: acknowledged (2xx) issue and call-next commands per second over
  the measured window (after a warm-up), best of its slices (``*_median`` beside it);
* ``http_p50_ms_<backend>``, ``http_p99_ms_<backend>``: latency from sending to the answer, over
  every acknowledged command of the window;
* counts, refusals (4xx, e.g. ``queue_empty``), errors (no answer or 5xx), the server's and the
  client's CPU (% of one core) in the window, Redis's CPU, and the ledger check: acknowledged
  commands lost, numbers issued twice, tickets called twice (against the server's HTTP answers for
  a sample of tickets and against the whole event log).

``--profile`` records the server with py-spy (if installed) during the window and prints where
its time went.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter as Tally
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: replace benchmarks/ (which would shadow `http`) by the root
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from benchmarks.ledger import Ledger, fetch_view, kinds, percentile
from benchmarks.loadgen import SERVICE_MIX, run_morning
from benchmarks.machine import CpuWatch, machine_info, report_fields, tmp_fs, version
from benchmarks.server import ROOT, ServerProcess, delete_prefix, redis_url, write_facility

DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
METRICS_TOKEN = "bench-metrics-token"
#: figure -> (direction, target)
TARGETS = {
    "http_cmds_per_s_sqlite": (">=", 2000),
    "http_cmds_per_s_redis": (">=", 2000),
    "http_p99_ms_sqlite": ("<=", 50),
    "http_p99_ms_redis": ("<=", 50),
}


class TreeCpuWatch(CpuWatch):
    """:class:`CpuWatch` that counts this process's waited-for children (servers, clients) as its own."""

    @staticmethod
    def _sample() -> tuple[float, float, float] | None:
        sample = CpuWatch._sample()
        if sample is None:
            return None
        t = os.times()
        return sample[0], t.user + t.system + t.children_user + t.children_system, sample[2]


class CpuSampler:
    """CPU seconds of some processes (by pid), sampled every ``every_s`` on a thread, for any window later."""

    def __init__(self, pids: dict[str, int], every_s: float = 0.25) -> None:
        self.pids = pids
        self.samples: list[tuple[float, dict[str, float]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every_s,), daemon=True)
        self._thread.start()

    @staticmethod
    def cpu_s(pid: int) -> float:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def _run(self, every_s: float) -> None:
        while True:
            try:
                self.samples.append((time.time(), {k: self.cpu_s(p) for k, p in self.pids.items()}))
            except OSError:
                return
            if self._stop.wait(every_s):
                return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def pct(self, name: str, start: float, stop: float) -> float:
        """% of one core ``name`` used between ``start`` and ``stop`` (nearest samples inside)."""
        inside = [(t, s[name]) for t, s in self.samples if start <= t <= stop]
        if len(inside) < 2:
            return 0.0
        (t0, c0), (t1, c1) = inside[0], inside[-1]
        return round(100 * (c1 - c0) / max(t1 - t0, 1e-9), 1)


@dataclass
class Plan:
    """One backend's run."""

    kiosks: int = 32
    warmup_s: float = 3.0
    slices: int = 5
    slice_s: float = 6.0
    max_waiting: int = 50
    boards: int = 1
    phones: int = 8
    processes: int = 1
    client: str = "raw"
    sample: int = 2000
    seed: int = 1
    #: extra ``antre serve`` arguments and environment (experiments: ``--loop asyncio --http h11``)
    serve_args: tuple[str, ...] = ()
    serve_env: dict[str, str] = field(default_factory=dict)
    #: the source tree the server runs from (another export of the repository: before / after)
    serve_root: Path | None = None

    @property
    def duration_s(self) -> float:
        return self.warmup_s + self.slices * self.slice_s


def split_services(n: int) -> list[dict[str, float]]:
    """The service mix cut into ``n`` parts of whole services, about equal in weight."""
    parts: list[dict[str, float]] = [{} for _ in range(n)]
    for service, weight in sorted(SERVICE_MIX.items(), key=lambda kv: -kv[1]):
        min(parts, key=lambda p: sum(p.values()))[service] = weight
    return [p for p in parts if p]


def _client(
    base_url: str, plan: Plan, services: dict[str, float], index: int, on_window: Callable[[], None] | None = None
) -> Ledger:
    """One client process's (or the only client's) morning."""
    share = sum(services.values()) / sum(SERVICE_MIX.values())
    return asyncio.run(
        run_morning(
            base_url,
            kiosks=max(1, round(plan.kiosks * share)),
            duration_s=plan.duration_s,
            warmup_s=plan.warmup_s,
            services=services,
            max_waiting=plan.max_waiting,
            boards=plan.boards if index == 0 else 0,
            phones=plan.phones if index == 0 else 0,
            client=plan.client,
            seed=plan.seed + index,
            on_window=on_window,
        )
    )


def load(base_url: str, plan: Plan, on_window: Callable[[], None] | None = None) -> Ledger:
    """Run the morning in this process, or in ``plan.processes`` client processes (merged ledger)."""
    if plan.processes <= 1:
        return _client(base_url, plan, dict(SERVICE_MIX), 0, on_window)
    parts = split_services(plan.processes)
    with multiprocessing.get_context("spawn").Pool(len(parts)) as pool:
        ledgers = pool.starmap(_client, [(base_url, plan, part, i) for i, part in enumerate(parts)])
    return ledgers[0].merge(*ledgers[1:])


def slice_rates(ledger: Ledger, slices: int) -> list[float]:
    width = (ledger.stopped - ledger.started) / slices
    counts = Tally(int((e.acked - ledger.started) // width) for e in ledger.in_window() if e.acked is not None)
    return [counts[i] / width for i in range(slices)]


def profile_summary(path: Path, top: int = 14) -> list[str]:
    """The functions with most samples in a py-spy raw (collapsed) file: inclusive, then self."""
    total, inclusive, own = 0, Tally[str](), Tally[str]()
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack:
            continue
        frames = [f.rsplit(":", 1)[0] + ")" if f.endswith(")") else f for f in stack.split(";")]
        total += int(n)
        own[frames[-1]] += int(n)
        for f in set(frames):
            inclusive[f] += int(n)
    lines = [f"   {total} samples holding the GIL; inclusive (ours and the libraries' handlers):"]
    skip = ("runpy", "cli.py", "uvicorn/server.py", "_compat.py", "runners.py", "threading.py", "base_events.py")
    shown = [(f, n) for f, n in inclusive.most_common() if not any(s in f for s in skip)][:top]
    lines += [f"   {100 * n / total:5.1f}%  {f[:110]}" for f, n in shown]
    lines.append("   self:")
    lines += [f"   {100 * n / total:5.1f}%  {f[:110]}" for f, n in own.most_common(top)]
    return lines


class Profiler:
    """py-spy on the server from when the window opens (log-ins and warm-up stay out) for ``seconds``.

    ``--gil``: only the thread holding the GIL is sampled, so the shares are of the server's Python
    CPU time (a thread waiting in fsync or epoll does not count).
    """

    def __init__(self, pid: int, seconds: float, out: Path) -> None:
        self.pid, self.seconds, self.out = pid, seconds, out
        self.proc: subprocess.Popen[bytes] | None = None
        self.spy = shutil.which("py-spy")
        if self.spy is None:
            print("   (py-spy is not installed: no profile; pip install py-spy)")

    def start(self) -> None:
        if self.spy is None:
            return
        command = [self.spy, "record", "--pid", str(self.pid), "--duration", str(round(self.seconds)), "--rate", "250"]
        self.proc = subprocess.Popen(
            [*command, "--gil", "--format", "raw", "--nonblocking", "-o", str(self.out)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def summary(self) -> list[str]:
        if self.proc is None:
            return []
        self.proc.wait()
        return profile_summary(self.out) if self.out.exists() else ["   (py-spy wrote no profile)"]


async def redis_pid(url: str) -> int | None:
    from redis.asyncio import Redis

    client = Redis.from_url(url.split("?", 1)[0])
    try:
        info = await client.info("server")
        return int(info["process_id"])
    except Exception:
        return None
    finally:
        await client.aclose()


def run_backend(name: str, log_url: str, facility: Path, tmp: Path, plan: Plan, profile: Path | None) -> dict[str, Any]:
    print(f"\n== {name}: {log_url} ==")
    out: dict[str, Any] = {}
    started = time.perf_counter()
    serve = ServerProcess(
        log_url,
        facility=facility,
        log_dir=tmp,
        name=f"antre-{name}",
        args=plan.serve_args,
        env={"ANTRE_METRICS_TOKEN": METRICS_TOKEN, **plan.serve_env},
        cwd=plan.serve_root or ROOT,
    )
    with serve as server:
        impl = next((line.rsplit("server: ", 1)[1] for line in server.output if "— server: " in line), "?")
        print(f"   server pid {server.pid} ready in {time.perf_counter() - started:.1f} s at {server.url} ({impl})")
        out[f"server_impl_{name}"] = impl
        pids = {"server": server.pid}
        rpid = asyncio.run(redis_pid(log_url)) if name == "redis" else None
        if rpid is not None:
            pids["redis"] = rpid
        sampler = CpuSampler(pids)
        profiler = Profiler(server.pid, plan.slices * plan.slice_s - 0.5, (profile or tmp) / f"profile-{name}.txt")
        ledger = load(server.url, plan, profiler.start if profile is not None else None)
        sampler.stop()
        batches = scrape_batches(server.url)
        view = asyncio.run(fetch_view(server.url, ledger, log_url=log_url, sample=plan.sample))
        for line in profiler.summary():
            print(line)
    problems = ledger.check(view)
    window = ledger.in_window()
    summary = ledger.summary()
    rates = slice_rates(ledger, plan.slices)
    lat = sorted(e.latency_s for e in window)
    in_span = [e for e in ledger.entries if ledger.started <= e.sent <= ledger.stopped and e.command != "login"]
    refused = sum(e.acked is None and e.status is not None and 400 <= e.status < 500 for e in in_span)
    errors = sum(e.acked is None and (e.status is None or e.status >= 500) for e in in_span)
    by_command = Tally(e.command for e in window)
    server_pct = sampler.pct("server", ledger.started, ledger.stopped)
    cost_us = round(server_pct / 100 * summary["window_s"] / max(len(window), 1) * 1e6)
    print(
        f"   {len(window):,} commands acknowledged in {summary['window_s']} s ({by_command['issue']:,} issues, "
        f"{by_command['call_next']:,} call-next); refused {refused:,}, errors {errors:,}"
    )
    print(f"   per slice of {plan.slice_s:g} s: " + ", ".join(f"{r:,.0f}" for r in rates) + " commands/s")
    print(
        f"   best {max(rates):,.0f} /s, median {statistics.median(rates):,.0f} /s; latency p50 "
        f"{percentile(lat, 0.5) * 1000:.1f} ms, p99 {percentile(lat, 0.99) * 1000:.1f} ms, max {lat[-1] * 1000:.0f} ms"
    )
    print(
        f"   CPU (% of one core): server {server_pct} ({cost_us} µs per command), client {summary['client_cpu_pct']}"
        + (f", redis {sampler.pct('redis', ledger.started, ledger.stopped)}" if "redis" in pids else "")
    )
    if batches is not None:
        size = batches[1] / batches[0]
        print(f"   group commit: {batches[1]:,} commands in {batches[0]:,} batches ({size:.1f} each)")
        out[f"batch_commands_{name}"] = round(batches[1] / batches[0], 1)
    checked = len(view.tickets)
    print(
        f"   ledger check: {len(ledger.issued()):,} tickets issued, {len(ledger.called()):,} called; server asked "
        f"about {checked:,} of them, log read to position {view.log.position if view.log else '?'}: "
        + ("no problem" if not problems else f"{len(problems)} PROBLEM(S) {kinds(problems)}")
    )
    for problem in problems[:10]:
        print(f"      {problem}")
    out |= {
        f"http_cmds_per_s_{name}": round(max(rates)),
        f"http_cmds_per_s_{name}_median": round(statistics.median(rates)),
        f"http_p50_ms_{name}": round(percentile(lat, 0.5) * 1000, 2),
        f"http_p99_ms_{name}": round(percentile(lat, 0.99) * 1000, 2),
        f"http_max_ms_{name}": round(lat[-1] * 1000, 1),
        f"http_commands_{name}": len(window),
        f"http_issued_{name}": by_command["issue"],
        f"http_call_next_{name}": by_command["call_next"],
        f"http_refused_{name}": refused,
        f"http_errors_{name}": errors,
        f"server_cpu_pct_{name}": server_pct,
        f"server_cpu_us_per_cmd_{name}": cost_us,
        f"client_cpu_pct_{name}": summary["client_cpu_pct"],
        f"ledger_problems_{name}": len(problems),
        f"ledger_problem_kinds_{name}": kinds(problems),
        f"ledger_tickets_checked_{name}": checked,
    }
    if "redis" in pids:
        out[f"redis_cpu_pct_{name}"] = sampler.pct("redis", ledger.started, ledger.stopped)
    return out


def scrape_batches(url: str) -> tuple[int, int] | None:
    """``antre_batches_total`` and ``antre_batched_commands_total`` from ``/metrics`` (None: not exported)."""
    import urllib.request

    request = urllib.request.Request(f"{url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        text = answer.read().decode()
    values = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in ("antre_batches_total", "antre_batched_commands_total"):
            values[name] = int(float(value))
    if len(values) < 2 or not values["antre_batches_total"]:
        return None
    return values["antre_batches_total"], values["antre_batched_commands_total"]


def verdicts(figures: dict[str, Any]) -> list[str]:
    met = figures.setdefault("targets_met", {})
    lines = []
    for key, (direction, target) in TARGETS.items():
        if key not in figures:
            continue
        value = figures[key]
        ok = value >= target if direction == ">=" else value <= target
        met[key] = ok
        lines.append(f"   {key:>24}: {value:>10,} target {direction} {target:,} {'ok' if ok else 'MISSED'}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="HTTP benchmark: SQLite and Redis in one run (see the docstring).")
    parser.add_argument("--quick", action="store_true", help="short windows (about 30 s in all)")
    parser.add_argument("--backends", default="sqlite,redis", help="comma-separated: sqlite, redis")
    parser.add_argument("--redis-url", default=os.environ.get("ANTRE_BENCH_REDIS_URL", DEFAULT_REDIS))
    parser.add_argument("--client", choices=("raw", "httpx"), default="raw", help="kiosks' and desks' HTTP client")
    parser.add_argument("--processes", type=int, default=1, help="client processes (each takes whole services)")
    parser.add_argument("--kiosks", type=int, default=32)
    parser.add_argument("--max-waiting", type=int, default=50, help="per service, before kiosks hold back")
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="DIR",
        help="py-spy the server during the window; the raw profiles go to DIR",
    )
    parser.add_argument("--slices", type=int, default=None, help="measured slices (default 5; quick 3)")
    parser.add_argument("--slice-s", type=float, default=None, help="seconds per slice (default 6; quick 2)")
    parser.add_argument("--serve-args", default="", help="extra antre serve arguments, e.g. '--loop asyncio'")
    parser.add_argument("--serve-env", action="append", default=[], help="KEY=VALUE for the server (repeatable)")
    parser.add_argument("--serve-root", type=Path, default=None, help="run the server from this source tree")
    parser.add_argument("--dir", type=Path, default=None, help="where the SQLite file and logs go")
    args = parser.parse_args(argv)
    if args.profile and args.processes > 1:
        parser.error("--profile needs --processes 1")
    common: dict[str, Any] = {"kiosks": args.kiosks, "max_waiting": args.max_waiting}
    common |= {"processes": args.processes, "client": args.client, "serve_args": tuple(shlex.split(args.serve_args))}
    common["serve_env"] = dict(item.split("=", 1) for item in args.serve_env)
    common["serve_root"] = args.serve_root
    plan = Plan(warmup_s=1.5, slices=3, slice_s=2.0, sample=300, **common) if args.quick else Plan(**common)
    plan.slices, plan.slice_s = args.slices or plan.slices, args.slice_s or plan.slice_s
    info = machine_info()
    info["libs"] += ", " + ", ".join(
        f"{n} {version(n)}" for n in ("uvicorn", "starlette", "httptools", "uvloop", "httpx2", "websockets")
    )
    watch, t0 = TreeCpuWatch(), time.perf_counter()
    print(f"Antre HTTP benchmark ({'quick' if args.quick else 'full'}) {datetime.now(UTC):%Y-%m-%d %H:%M UTC}")
    for key, value in info.items():
        print(f"   {key}: {value}")
    print(
        f"   load: {plan.kiosks} kiosks + 32 desks, client {plan.client} in {plan.processes} process(es), "
        f"max {plan.max_waiting} waiting per service; warm-up {plan.warmup_s:g} s, then {plan.slices} x "
        f"{plan.slice_s:g} s"
    )
    if plan.serve_args or plan.serve_env or plan.serve_root:
        root = f" from {plan.serve_root}" if plan.serve_root else ""
        print(f"   server: antre serve {' '.join(plan.serve_args)} {plan.serve_env or ''}{root}")
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="antre-http-", dir=args.dir) as name:
        tmp = Path(name)
        facility = write_facility(tmp / "facility.toml")
        figures["tmp_fs"] = tmp_fs(tmp)
        for backend in args.backends.split(","):
            if backend == "sqlite":
                figures |= run_backend("sqlite", f"sqlite:///{tmp}/http.db", facility, tmp, plan, args.profile)
            elif backend == "redis":
                url = redis_url(args.redis_url, "bench")
                try:
                    figures |= run_backend("redis", url, facility, tmp, plan, args.profile)
                finally:
                    print(f"   deleted {asyncio.run(delete_prefix(url))} Redis key(s) of this run")
            else:
                parser.error(f"unknown backend {backend!r}")
        if args.profile is not None:
            print(f"   raw profiles (py-spy --format raw) in {args.profile}")
    total = time.perf_counter() - t0
    others = watch.others_pct()
    print(f"\n== against targets; {total:.0f} s in all ==")
    for line in verdicts(figures):
        print(line)
    if others is not None:
        print(f"   other processes (Redis included) used {others}% of the {info['cores']} cores meanwhile")
    figures.update(
        mode="quick" if args.quick else "full",
        client=plan.client,
        client_processes=plan.processes,
        kiosks=plan.kiosks,
        desks=32,
        max_waiting=plan.max_waiting,
        serve_args=" ".join(plan.serve_args),
        stat="throughput: best slice of the window (median beside it); latency: every acknowledged command",
        libs=info["libs"],
        **report_fields(info, others, total),
    )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
