"""A puskesmas morning replayed against a running Antre, over its real HTTP API and WebSockets.

The server runs in another process (:class:`ServerProcess` starts ``antre serve``; any running
Antre will do). This module is the client side only: kiosks take numbers, staff at desks open
their counters and press "call next (completing the current one)", boards and phones follow over
WebSockets, and every command goes into a :class:`Ledger` with its answer and its time. The checks
over the ledger and the server's state afterwards are in :mod:`benchmarks.ledger`.

Usage as a library (the chaos tests in ``tests/chaos/`` use it so)::

    from benchmarks.loadgen import ServerProcess, fetch_view, run_morning, write_facility

    facility = write_facility(tmp / "facility.toml")              # open 24 h, no quotas, 32 counters
    with ServerProcess("sqlite:///" + str(tmp / "a.db"), facility=facility, log_dir=tmp) as server:
        ledger = await run_morning(server.url, kiosks=8, n_tickets=500, phones=4, retry_for_s=20)
        view = await fetch_view(server.url, ledger, log_url=server.log_url)
    assert ledger.check(view) == []

API:

* ``await run_morning(base_url, *, kiosks=4, desks=None, n_tickets=None, duration_s=None,
  ledger=None, stop=None, **options) -> Ledger``: runs one morning and returns the ledger (the one
  passed in, if any, so a caller can read it while the run goes on). Stops after ``n_tickets``
  issue commands (then desks call until their queues are empty: everybody is served), after
  ``duration_s`` seconds (desks stop too), or when ``stop`` is set, whichever comes first; at
  least one of the three is required. ``desks`` names the counters to staff, one desk each (None:
  every counter serving a service of the mix). ``options`` are the other :class:`Morning` fields:
  the service, priority and payer mix, pauses between commands (``kiosk_gap_s``, ``desk_gap_s``),
  ``max_waiting``, ``boards``, ``phones``, ``retry_for_s`` and ``up`` (see below), ``client``
  (``httpx``: httpx2.AsyncClient, the default; ``raw``: :mod:`benchmarks.rawhttp`, for load the
  client must not limit), ``warmup_s`` and ``on_window`` (the ledger's window opens after the
  warm-up), ``settle_s``, ``seed``, credentials.
* :class:`Ledger` (``entries``, ``push``, ``summary()``, ``check(view)``, ``merge()``),
  :class:`Entry`, :class:`PushLog`: see :mod:`benchmarks.ledger`.
* ``await fetch_view(base_url, ledger, *, log_url=None, sample=None) -> ServerView``: the
  server's answer for every acknowledged ticket and every desk's counter, and the event log.
* :class:`ServerProcess`, :func:`write_facility`, :func:`redis_url`, :func:`delete_prefix`: see
  :mod:`benchmarks.server`.

Semantics a test can rely on:

* one desk per counter, so a call-next answer's current ticket is the one that command called;
* every issue carries an ``idempotency_key`` and every call-next an ``Idempotency-Key`` header
  (as the kiosk and the staff console do). A command without an answer (connection refused or
  reset, timeout) or answered 503 is sent again with the same key until ``retry_for_s`` has
  passed (0: never), so after a server restart each command has at most one effect and the
  ledger learns its outcome. The attempts are counted in :attr:`Entry.attempts`. Between
  attempts a client backs off, or, when ``up`` (an :class:`asyncio.Event`) is given, waits for the
  test to set it (the fault is over): no timer decides when the server is back;
* WebSocket subscribers resume after a drop (4008) or a restart (1001, 1012, or a refused
  connection within ``retry_for_s``) from the position before the last one seen and skip frames
  they hold (:mod:`benchmarks.push`);
* a refusal (4xx: ``queue_empty``, a quota) is an answer, not a loss: the entry keeps its code in
  :attr:`Entry.error` and is not acknowledged; only 2xx answers are;
* at the end the run waits (up to ``settle_s``) for every board to have every acknowledged call of
  its services and for every phone to have seen its ticket called, so the push checks mean
  "never arrived", not "not yet".

Run as a script against a running server: ``python -m benchmarks.loadgen URL [--tickets N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import secrets
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx2 as httpx

from benchmarks.ledger import Entry, Ledger, PushLog, ServerView, fetch_view, read_log_view, trim
from benchmarks.push import Subscribers, wait_up
from benchmarks.rawhttp import HttpClient, http_client
from benchmarks.server import ServerProcess, delete_prefix, redis_url, write_facility

__all__ = [
    "Entry",
    "Ledger",
    "Morning",
    "PushLog",
    "ServerProcess",
    "ServerView",
    "delete_prefix",
    "fetch_view",
    "read_log_view",
    "redis_url",
    "run_morning",
    "write_facility",
]

#: arrivals per service (the puskesmas's first stop is LOKET; polis take walk-ins with a referral)
SERVICE_MIX = {"LOKET": 0.40, "UMUM": 0.30, "GIGI": 0.12, "KIA": 0.18}
PRIORITY_MIX = {"umum": 0.75, "lansia": 0.10, "ibu_hamil": 0.05, "balita": 0.04, "disabilitas": 0.04, "darurat": 0.02}
#: demo credentials (public, demo only): the staff account of each demo counter prefix, and devices
DEMO_STAFF = {
    "loket": ("petugas-loket", "petugas-demo"),
    "umum": ("petugas-poli", "petugas-demo"),
    "gigi": ("petugas-poli", "petugas-demo"),
    "kia": ("petugas-poli", "petugas-demo"),
    "lab": ("petugas-farmasi", "petugas-demo"),
    "apotek": ("petugas-farmasi", "petugas-demo"),
}
DEMO_ADMIN = ("admin", "admin-demo")
DEMO_KIOSK = "kiosk-demo"
DEMO_BOARDS = {"ruang-tunggu": "papan-demo", "apotek-lab": "papan-apotek-demo"}
#: desks logging in at the same time
LOGINS_AT_ONCE = 4
#: a desk with nothing to call (as far as this client knows) tries anyway after this long
POLL_S = 0.5


@dataclass(frozen=True, slots=True, kw_only=True)
class Morning:
    """What a morning looks like; :func:`run_morning` takes these as keyword arguments."""

    kiosks: int = 4
    desks: tuple[str, ...] | None = None
    n_tickets: int | None = None
    duration_s: float | None = None
    services: dict[str, float] = field(default_factory=lambda: dict(SERVICE_MIX))
    priorities: dict[str, float] = field(default_factory=lambda: dict(PRIORITY_MIX))
    jkn_share: float = 0.7
    #: mean pause (exponential) between one kiosk's tickets, and between one desk's calls; 0: none
    kiosk_gap_s: float = 0.0
    desk_gap_s: float = 0.0
    #: kiosks hold back while this many of a service's tickets wait (as far as this client knows)
    max_waiting: int = 200
    boards: int = 1
    phones: int = 4
    #: resend an unanswered command (or one answered 503) with the same key for this long
    retry_for_s: float = 0.0
    #: set while the server is reachable (a fault test clears it while a fault is on): when given, a
    #: command without an answer, and a subscriber that lost its connection, wait for it (instead of
    #: a back-off) before trying again, within ``retry_for_s``
    up: asyncio.Event | None = None
    timeout_s: float = 10.0
    #: the first seconds of load are left out of the ledger's window (``started``)
    warmup_s: float = 0.0
    #: called when the window opens (a benchmark starts its profiler there)
    on_window: Callable[[], None] | None = None
    #: the HTTP client of kiosks and desks: ``httpx`` (httpx2.AsyncClient) or ``raw`` (benchmarks.rawhttp,
    #: about an eighth of the client CPU per request, for load the client must not limit)
    client: str = "httpx"
    settle_s: float = 10.0
    seed: int = 1
    kiosk_token: str = DEMO_KIOSK
    staff: dict[str, tuple[str, str]] = field(default_factory=lambda: dict(DEMO_STAFF))
    admin: tuple[str, str] = DEMO_ADMIN
    board_tokens: dict[str, str] = field(default_factory=lambda: dict(DEMO_BOARDS))

    def credentials(self, counter: str) -> tuple[str, str]:
        """The staff account for a counter: by its id's prefix (``loket-3`` → LOKET's), else the admin."""
        return self.staff.get(counter.rsplit("-", 1)[0], self.staff.get(counter, self.admin))


class Pressure:
    """What this client knows of each queue: kiosks hold back when one is full, desks wait for work.

    A desk claims one waiting ticket before it calls, so desks do not all rush at one ticket. It
    is a hint, not the truth (other clients may issue and call): a desk that waited ``poll_s``
    in vain calls all the same.
    """

    def __init__(self, services: Iterable[str], cap: int) -> None:
        self.cap = cap
        self.waiting = dict.fromkeys(services, 0)
        self.work = {s: asyncio.Event() for s in self.waiting}
        self.room = {s: asyncio.Event() for s in self.waiting}
        for s in self.waiting:
            self.room[s].set()

    def add(self, service: str | None, n: int) -> None:
        if service not in self.waiting:
            return
        w = self.waiting[service] = max(self.waiting[service] + n, 0)
        (self.work[service].set if w > 0 else self.work[service].clear)()
        (self.room[service].set if w < self.cap else self.room[service].clear)()

    def claim(self, services: Iterable[str]) -> str | None:
        """Take one waiting ticket of ``services`` (the fullest queue) off the hint; None if none wait."""
        known = [s for s in services if self.waiting.get(s, 0) > 0]
        if not known:
            return None
        service = max(known, key=self.waiting.__getitem__)
        self.add(service, -1)
        return service

    def wake(self) -> None:
        for s in self.waiting:
            self.work[s].set()
            self.room[s].set()

    async def wait(self, events: list[asyncio.Event], within_s: float) -> None:
        if not events or any(e.is_set() for e in events):
            return
        if len(events) == 1:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(within_s):
                    await events[0].wait()
            return
        waiters = [asyncio.ensure_future(e.wait()) for e in events]
        try:
            await asyncio.wait(waiters, timeout=within_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()


class Device:
    """One kiosk or desk: its own HTTP connection (and session cookie), sending commands into the ledger."""

    def __init__(self, run: Run, name: str, headers: dict[str, str] | None = None) -> None:
        self.run, self.name = run, name
        m = run.morning
        self.http: HttpClient = http_client(m.client, run.base_url, headers, m.timeout_s)

    async def send(self, entry: Entry, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
        """POST until answered (or ``retry_for_s`` passed); the JSON of a 2xx answer, else None."""
        started, backoff = time.perf_counter(), 0.05
        deadline = time.monotonic() + self.run.morning.retry_for_s
        while True:
            entry.attempts += 1
            retry = True
            try:
                answer = await self.http.post(path, json=body, headers=headers)
            except httpx.TransportError as exc:
                entry.status, entry.error = None, type(exc).__name__
            else:
                entry.status = answer.status_code
                if answer.is_success:
                    entry.acked, entry.error = time.time(), None
                    entry.latency_s = time.perf_counter() - started
                    return answer.json() if answer.content else {}
                with contextlib.suppress(ValueError):
                    entry.error = answer.json().get("code")
                entry.error = entry.error or str(answer.status_code)
                retry = answer.status_code == 503
            entry.latency_s = time.perf_counter() - started
            if not retry or time.monotonic() >= deadline:
                return None
            await wait_up(self.run.morning.up, backoff, deadline)
            backoff = min(backoff * 2, 1.0)

    async def close(self) -> None:
        await self.http.aclose()


class Run:
    """The shared state of one :func:`run_morning`."""

    def __init__(self, base_url: str, morning: Morning, ledger: Ledger, stop: asyncio.Event) -> None:
        self.base_url = base_url.rstrip("/")
        self.morning, self.ledger, self.stop = morning, ledger, stop
        self.rng = random.Random(morning.seed)
        self.tag = secrets.token_hex(4)
        self.budget = itertools.count() if morning.n_tickets is None else iter(range(morning.n_tickets))
        self.issuing = True  # kiosks still issue; desks drain once this is False
        self.pressure = Pressure(morning.services, morning.max_waiting)
        self.phones: set[asyncio.Task[None]] = set()
        self.logins = asyncio.Semaphore(LOGINS_AT_ONCE)
        self.push = Subscribers("ws" + self.base_url.removeprefix("http"), ledger, morning.retry_for_s, morning.up)

    def key(self, who: str, n: int) -> str:
        return f"load-{self.tag}-{who}-{n:06d}"

    def pick(self, weights: dict[str, float]) -> str:
        return self.rng.choices(list(weights), list(weights.values()))[0]

    async def pause(self, mean_s: float) -> None:
        if mean_s > 0 and not self.stop.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.rng.expovariate(1 / mean_s)):
                    await self.stop.wait()

    # -- kiosks -----------------------------------------------------------------------------------

    async def kiosk(self, i: int) -> None:
        device = Device(self, f"kiosk-{i}", {"Authorization": f"Bearer {self.morning.kiosk_token}"})
        try:
            for n in itertools.count():
                if self.stop.is_set() or next(self.budget, None) is None:
                    return
                service = self.pick(self.morning.services)
                while not self.pressure.room[service].is_set() and not self.stop.is_set():
                    await self.pressure.wait([self.pressure.room[service]], 1.0)
                await self.issue(device, service, self.key(f"k{i}", n))
                await self.pause(self.morning.kiosk_gap_s)
        finally:
            await device.close()

    async def issue(self, device: Device, service: str, key: str) -> None:
        m = self.morning
        body = {
            "service": service,
            "priority": self.pick(m.priorities),
            "payer": "jkn" if self.rng.random() < m.jkn_share else "umum",
            "idempotency_key": key,
        }
        entry = self.ledger.entry(device.name, "issue", sent=time.time(), key=key, service=service)
        data = await device.send(entry, "/api/v1/tickets", body, {})
        if data is None:
            return
        entry.token, entry.number, entry.ticket_id = data["token"], data["number"], data.get("ticket_id")
        entry.day = self.ledger.day_of(data["issued_at"])
        entry.response = data
        self.pressure.add(service, 1)
        if len(self.phones) < m.phones and not self.stop.is_set():
            task = asyncio.create_task(self.phone(entry.token))
            self.phones.add(task)
            task.add_done_callback(self.phones.discard)

    # -- desks ------------------------------------------------------------------------------------

    async def desk(self, counter: str, services: tuple[str, ...], ready: asyncio.Barrier) -> None:
        device = Device(self, f"desk-{counter}")
        try:
            csrf = await self.login(device, counter)
            headers = {"X-CSRF-Token": csrf}
            entry = self.ledger.entry(device.name, "open", sent=time.time(), counter=counter)
            await device.send(entry, f"/api/v1/counters/{counter}/open", {}, headers)
            if entry.acked is None and entry.error != "invalid_counter_transition":  # open already: fine
                raise RuntimeError(f"{device.name}: could not open the counter: {entry.error}")
            view = await device.http.get(f"/api/v1/counters/{counter}")
            view.raise_for_status()
            current: str | None = (view.json()["current"] or {}).get("ticket_id")
            known = True
            await ready.wait()
            for n in itertools.count():
                if self.stop.is_set():
                    return
                waiting = [self.pressure.work[s] for s in services if s in self.pressure.work]
                claimed = self.pressure.claim(services)
                give_up = time.monotonic() + POLL_S
                while claimed is None and self.issuing and current is None and time.monotonic() < give_up:
                    await self.pressure.wait(waiting, give_up - time.monotonic())
                    claimed = self.pressure.claim(services)
                if self.stop.is_set():
                    return
                key = self.key(counter, n)
                entry = self.ledger.entry(
                    device.name, "call_next", sent=time.time(), key=key, counter=counter, completed=current
                )
                if not known:
                    entry.completed = None  # an earlier call-next's outcome is unknown
                data = await device.send(
                    entry,
                    f"/api/v1/counters/{counter}/call-next",
                    {"complete_current": True},
                    {**headers, "Idempotency-Key": key},
                )
                if data is not None:
                    called = data["current"]
                    current, known = (called or {}).get("ticket_id"), True
                    if called is not None:
                        entry.ticket_id, entry.number, entry.service = current, called["number"], called["service"]
                        if entry.service != claimed:  # called another queue than the one claimed
                            self.pressure.add(claimed, 1)
                            self.pressure.add(entry.service, -1)
                    entry.response = trim(data)
                elif entry.error == "queue_empty":
                    current, known = None, True
                else:
                    known = False
                if not self.issuing and (current is None or (entry.error is not None and not known)):
                    return  # draining: this desk's queue is empty and its last ticket is completed
                await self.pause(self.morning.desk_gap_s)
        finally:
            await device.close()

    async def login(self, device: Device, counter: str) -> str:
        username, password = self.morning.credentials(counter)
        # A few at a time: each login is a deliberate scrypt on the server's event loop (tens of ms),
        # so thirty-two at once would keep the last waiting past its timeout on a busy machine.
        async with self.logins:
            entry = self.ledger.entry(device.name, "login", sent=time.time(), counter=counter)
            data = await device.send(entry, "/api/v1/auth/login", {"username": username, "password": password}, {})
        if data is None:
            raise RuntimeError(f"{device.name}: login as {username} failed: {entry.error}")
        return str(data["csrf"])

    # -- subscribers ------------------------------------------------------------------------------

    async def board(self, display: str, services: tuple[str, ...]) -> None:
        token = self.morning.board_tokens.get(display, "")
        log = PushLog(kind="board", topic=display, services=services)
        self.ledger.push.append(log)
        await self.push.follow(log, f"/ws/board/{display}?token={token}", lambda: False)

    async def phone(self, token: str) -> None:
        log = PushLog(kind="phone", topic=token)
        self.ledger.push.append(log)
        await self.push.follow(log, f"/ws/ticket/{token}?", lambda: log.statuses[-1:] in (["done"], ["cancelled"]))


async def run_morning(
    base_url: str,
    *,
    kiosks: int = 4,
    desks: Iterable[str] | None = None,
    n_tickets: int | None = None,
    duration_s: float | None = None,
    ledger: Ledger | None = None,
    stop: asyncio.Event | None = None,
    **options: Any,
) -> Ledger:
    """Replay one morning against ``base_url``; see the module docstring. Returns the ledger."""
    if n_tickets is None and duration_s is None and stop is None:
        raise ValueError("give n_tickets, duration_s or stop")
    morning = Morning(
        kiosks=kiosks, desks=None if desks is None else tuple(desks), n_tickets=n_tickets, duration_s=duration_s
    )
    morning = replace(morning, **options)
    async with httpx.AsyncClient(base_url=base_url, timeout=morning.timeout_s) as client:
        answer = await client.get("/api/v1/facility")
        answer.raise_for_status()
        facility = answer.json()
    ledger = ledger if ledger is not None else Ledger()
    ledger.timezone = facility["timezone"]
    run = Run(base_url, morning, ledger, stop or asyncio.Event())
    serves = {c["id"]: tuple(c["services"]) for c in facility["counters"]}
    chosen = morning.desks or tuple(c for c, s in serves.items() if set(s) & set(morning.services))
    ready = asyncio.Barrier(len(chosen) + 1)
    boards = [d for d in facility["displays"] if d["id"] in morning.board_tokens][: morning.boards]
    watchers = [asyncio.create_task(run.board(d["id"], tuple(d["services"]))) for d in boards]
    desk_tasks = [asyncio.create_task(run.desk(c, serves[c], ready)) for c in chosen]
    try:
        await _started(ready, desk_tasks)
        loop, cpu = asyncio.get_running_loop(), [time.process_time()]
        ledger.started = time.time() + morning.warmup_s

        def window_opens() -> None:  # the warm-up is over
            ledger.started, cpu[0] = time.time(), time.process_time()
            if morning.on_window is not None:
                morning.on_window()

        warm = loop.call_later(morning.warmup_s, window_opens)
        kiosk_tasks = [asyncio.create_task(run.kiosk(i)) for i in range(morning.kiosks)]
        timer = loop.call_later(morning.duration_s or 1e9, run.stop.set)
        await asyncio.gather(*kiosk_tasks)
        run.issuing = False
        run.pressure.wake()
        await asyncio.gather(*desk_tasks)
        timer.cancel()
        warm.cancel()
        ledger.stopped, ledger.client_cpu_s = time.time(), time.process_time() - cpu[0]
        await run.push.settle(morning.settle_s)
    finally:
        run.stop.set()
        for task in [*desk_tasks, *watchers, *run.phones]:
            task.cancel()
        await asyncio.gather(*desk_tasks, *watchers, *run.phones, return_exceptions=True)
    for log in ledger.push:
        log.settled = log.settled or log.error is None  # waited for at the end
    return ledger


async def _started(ready: asyncio.Barrier, desks: list[asyncio.Task[None]]) -> None:
    """Wait until every desk is logged in with its counter open; a desk that failed raises here."""
    waiting = asyncio.ensure_future(ready.wait())
    try:
        async with asyncio.timeout(120):
            while not waiting.done():
                await asyncio.wait({waiting, *desks}, return_when=asyncio.FIRST_COMPLETED)
                for task in desks:
                    if task.done():
                        task.result()  # raises the desk's error
                        raise RuntimeError("a desk stopped before the morning began")
    finally:
        waiting.cancel()


async def _main(args: argparse.Namespace) -> int:
    ledger = await run_morning(
        args.url,
        kiosks=args.kiosks,
        n_tickets=args.tickets,
        duration_s=args.seconds,
        boards=args.boards,
        phones=args.phones,
        seed=args.seed,
    )
    view = await fetch_view(args.url, ledger, log_url=args.log_url)
    problems = ledger.check(view)
    for problem in problems:
        print("PROBLEM:", problem)
    print(json.dumps(ledger.summary() | {"problems": len(problems)}))
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Replay a puskesmas morning against a running Antre.")
    parser.add_argument("url", help="the server, e.g. http://127.0.0.1:8000")
    parser.add_argument("--tickets", type=int, default=None, help="tickets to issue (then desks drain the queues)")
    parser.add_argument("--seconds", type=float, default=None, help="or: run this long")
    parser.add_argument("--kiosks", type=int, default=4)
    parser.add_argument("--boards", type=int, default=1)
    parser.add_argument("--phones", type=int, default=4)
    parser.add_argument("--seed", type=int, default=int(os.environ.get("ANTRE_LOAD_SEED", "1")))
    parser.add_argument("--log-url", default=None, help="the server's event log, to check it too")
    args = parser.parse_args(argv)
    if args.tickets is None and args.seconds is None:
        args.tickets = 200
    return asyncio.run(_main(args))


if __name__ == "__main__":
    raise SystemExit(main())
