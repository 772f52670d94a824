"""The client-side ledger of a load run, what the server says afterwards, and the checks between them.

:class:`Ledger` holds one :class:`Entry` per command a client sent (retries of one command, which
carry one idempotency key, are one entry), whether or not it was acknowledged, and one
:class:`PushLog` per WebSocket subscriber. :meth:`Ledger.check` returns every problem found, as
sentences, and an empty list when the run was clean:

* **numbers**: no number acknowledged for two tickets of one service on one local day;
* **calls**: no ticket acknowledged as called by two commands;
* **idempotency**: a command acknowledged twice under one key got one ticket;
* **push**: positions a subscriber saw never went down, no call was announced twice to a board,
  and (for subscribers the run waited on at the end) every acknowledged call on a board's
  services reached it, and every phone saw its ticket called once the ledger had it called;

and, against a :class:`ServerView` read after the run (:func:`fetch_view`):

* **nothing acknowledged is lost**: every acknowledged ticket is known to the server with its
  number and service (``GET /api/v1/tickets/{token}``), and is at least as far along as the ledger
  knows (called, completed); with the log read too (:func:`read_log_view`): every acknowledged issue,
  call and completion is an event in the log, no number is in the log twice for one service and
  day, and no ticket is called twice in the log (calls taken back by an undo excepted).

A ledger is a plain dataclass: it pickles, so client processes can hand theirs to a parent that
:meth:`Ledger.merge`\\s them.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections import Counter as Tally, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx2 as httpx
import orjson

from queue_engine.log import open_log

#: how far along a ticket status is (a ticket never goes back in a load run: no undo, no requeue)
RANK = {"waiting": 0, "missed": 1, "called": 1, "serving": 1, "done": 2, "cancelled": 2}
#: commands that count towards throughput (the rest is set-up)
WORK = ("issue", "call_next")


@dataclass(slots=True)
class Entry:
    """One command as the client saw it. Times are ``time.time()`` seconds (comparable across processes)."""

    seq: int
    client: str
    command: str  # "login", "open", "issue", "call_next"
    key: str | None  # the idempotency key every attempt carried
    sent: float
    #: when the acknowledging answer (2xx) came; None: not acknowledged
    acked: float | None = None
    #: status of the last attempt (None: no answer at all)
    status: int | None = None
    attempts: int = 0
    #: the error code of a refusal, or the transport error
    error: str | None = None
    latency_s: float = 0.0
    counter: str | None = None
    service: str | None = None
    #: issue: the number issued; call_next: the number called
    number: str | None = None
    #: call_next: the ticket called (None: the queue was empty); issue by staff: the ticket issued
    ticket_id: str | None = None
    #: issue: the tracking token
    token: str | None = None
    #: issue: local day of issue (YYYY-MM-DD, the facility's timezone)
    day: str | None = None
    #: call_next: the ticket it completed, when the desk knew its current ticket
    completed: str | None = None
    #: the answer's JSON, without the long lists (``waiting``, ``missed``: replaced by their lengths)
    response: dict[str, Any] | None = None
    part: int = 0


@dataclass(slots=True)
class PushLog:
    """What one WebSocket subscriber received."""

    kind: str  # "board" or "phone"
    topic: str  # display id or ticket token
    services: tuple[str, ...] = ()
    messages: int = 0
    position: int = -1
    #: times a position was lower than one seen before (must stay 0)
    went_back: int = 0
    #: close 4008 (too slow) and other reconnects; resumes answered by a fresh snapshot
    drops: int = 0
    reconnects: int = 0
    gaps: int = 0
    #: board: (position, number, counter, recall) of every ``call`` frame, replays skipped
    calls: list[tuple[int, str, str, bool]] = field(default_factory=list)
    #: phone: the ticket's statuses in the order seen (repeats collapsed)
    statuses: list[str] = field(default_factory=list)
    #: the run waited for this subscriber at the end (what it lacks then never came)
    settled: bool = False
    error: str | None = None
    #: which ledger it came from, once merged: it is checked against the calls of that part only
    part: int = 0


@dataclass(slots=True)
class Ledger:
    """Everything the clients of one run sent and received."""

    timezone: str = "Asia/Jakarta"
    entries: list[Entry] = field(default_factory=list)
    push: list[PushLog] = field(default_factory=list)
    #: when the load started and stopped (``time.time()``), set up excluded
    started: float = 0.0
    stopped: float = 0.0
    #: CPU seconds this client process used between started and stopped
    client_cpu_s: float = 0.0

    def entry(self, client: str, command: str, *, sent: float, key: str | None = None, **fields: Any) -> Entry:
        e = Entry(seq=len(self.entries), client=client, command=command, key=key, sent=sent, **fields)
        self.entries.append(e)
        return e

    def merge(self, *others: Ledger, overlap: bool = True) -> Ledger:
        """One ledger of this one and ``others``: client processes of one run (the window is where they
        all ran, ``overlap``) or rounds one after the other (the window spans them all)."""
        out = Ledger(timezone=self.timezone)
        parts: dict[tuple[int, int], int] = {}
        for i, ledger in enumerate((self, *others)):
            for e in ledger.entries:
                e.seq, e.part = len(out.entries), parts.setdefault((i, e.part), len(parts))
                out.entries.append(e)
            for log in ledger.push:
                log.part = parts.setdefault((i, log.part), len(parts))
                out.push.append(log)
            out.client_cpu_s += ledger.client_cpu_s
        ledgers = (self, *others)
        pick = (max, min) if overlap else (min, max)
        out.started = pick[0](ledger.started for ledger in ledgers)
        out.stopped = pick[1](ledger.stopped for ledger in ledgers)
        return out

    # -- reading it -------------------------------------------------------------------------------

    def acked(self, *commands: str) -> list[Entry]:
        return [e for e in self.entries if e.acked is not None and (not commands or e.command in commands)]

    def in_window(self) -> list[Entry]:
        """Acknowledged work (issue, call-next) sent and answered between ``started`` and ``stopped``."""
        lo, hi = self.started, self.stopped
        return [e for e in self.acked(*WORK) if e.sent >= lo and e.acked is not None and e.acked <= hi]

    def summary(self) -> dict[str, Any]:
        """Counts per command and outcome, throughput and latency over the window."""
        outcomes = Tally(
            f"{e.command}:{'ok' if e.acked is not None else (e.error or e.status or 'no answer')}" for e in self.entries
        )
        window = self.in_window()
        span = max(self.stopped - self.started, 1e-9)
        lat = sorted(e.latency_s for e in window)
        return {
            "commands": len(window),
            "cmds_per_s": round(len(window) / span, 1),
            "window_s": round(span, 2),
            "p50_ms": round(percentile(lat, 0.50) * 1000, 2),
            "p99_ms": round(percentile(lat, 0.99) * 1000, 2),
            "max_ms": round(lat[-1] * 1000, 2) if lat else 0.0,
            "outcomes": dict(sorted(outcomes.items())),
            "retried": sum(e.attempts > 1 for e in self.entries),
            "client_cpu_pct": round(100 * self.client_cpu_s / span, 1),
        }

    def issued(self) -> dict[str, Entry]:
        """Acknowledged tickets by token (the first entry acknowledging each)."""
        out: dict[str, Entry] = {}
        for e in self.acked("issue"):
            if e.token is not None:
                out.setdefault(e.token, e)
        return out

    def called(self) -> dict[str, Entry]:
        """Acknowledged calls by ticket id (the first of each)."""
        out: dict[str, Entry] = {}
        for e in self.acked("call_next"):
            if e.ticket_id is not None:
                out.setdefault(e.ticket_id, e)
        return out

    def completed(self) -> set[str]:
        return {e.completed for e in self.acked("call_next") if e.completed is not None}

    def day_of(self, at_ms: int) -> str:
        return datetime.fromtimestamp(at_ms / 1000, ZoneInfo(self.timezone)).date().isoformat()

    # -- checks -----------------------------------------------------------------------------------

    def check(self, view: ServerView | None = None) -> list[str]:
        """Every problem found in the ledger, its push logs and (if given) against the server's view.

        Each starts with its kind: ``lost:``, ``duplicate number:``, ``double call:``, ``idempotency:``,
        ``mismatch:`` or ``push:`` (see :func:`kinds`).
        """
        problems = [*self._check_numbers(), *self._check_calls(), *self._check_push()]
        if view is not None:
            problems += view.check(self)
        return problems

    def _check_numbers(self) -> list[str]:
        problems: list[str] = []
        by_key: dict[str, set[str]] = defaultdict(set)
        holders: dict[tuple[str | None, str | None, str | None], set[str]] = defaultdict(set)
        for e in self.acked("issue"):
            if e.token is None:
                problems.append(f"mismatch: issue #{e.seq} by {e.client} was acknowledged without a token")
                continue
            if e.key is not None:
                by_key[e.key].add(e.token)
            holders[(e.service, e.day, e.number)].add(e.token)
        problems += [f"idempotency: key {k} got {len(v)} tickets" for k, v in by_key.items() if len(v) > 1]
        problems += [
            f"duplicate number: {number} of {service} on {day} was issued to {len(tokens)} tickets"
            for (service, day, number), tokens in holders.items()
            if len(tokens) > 1
        ]
        return problems

    def _check_calls(self) -> list[str]:
        calls: dict[str, list[Entry]] = defaultdict(list)
        for e in self.acked("call_next"):
            if e.ticket_id is not None:
                calls[e.ticket_id].append(e)
        return [
            f"double call: ticket {tid} ({es[0].number}) was called {len(es)} times: "
            + ", ".join(f"#{e.seq} at {e.counter}" for e in es)
            for tid, es in calls.items()
            if len(es) > 1
        ]

    def _check_push(self) -> list[str]:
        problems: list[str] = []
        tickets = self.issued()
        by_part: dict[int, list[Entry]] = defaultdict(list)
        for e in self.called().values():
            by_part[e.part].append(e)
        called_numbers = {(e.service, e.number) for e in self.called().values()}
        for log in self.push:
            calls = by_part[log.part]
            name = f"push: {log.kind} {log.topic[:12]}"
            if log.went_back:
                problems.append(f"{name}: positions went back {log.went_back} time(s)")
            if log.error is not None:
                problems.append(f"{name}: {log.error}")
            if log.kind == "board":
                seen = Tally((n, c) for _p, n, c, recall in log.calls if not recall)
                problems += [f"{name}: call {n} at {c} announced {k} times" for (n, c), k in seen.items() if k > 1]
                if log.settled:
                    missing = [e for e in calls if e.service in log.services and (e.number, e.counter) not in seen]
                    if missing:
                        shown = ", ".join(f"{e.number}@{e.counter}" for e in missing[:5])
                        problems.append(f"{name}: {len(missing)} acknowledged call(s) never reached it ({shown}…)")
            elif log.kind == "phone" and log.settled:
                ticket = tickets.get(log.topic)
                called_it = ticket is not None and (ticket.service, ticket.number) in called_numbers
                if called_it and not any(RANK.get(s, 0) >= 1 for s in log.statuses):
                    problems.append(f"{name}: its ticket was called but the phone never saw it")
            ranks = [RANK.get(s, 0) for s in log.statuses]
            if any(b < a for a, b in itertools.pairwise(ranks)):
                problems.append(f"{name}: the ticket's status went back: {log.statuses}")
        return problems


def kinds(problems: list[str]) -> dict[str, int]:
    """How many problems of each kind (the text before the first colon)."""
    return dict(Tally(p.split(":", 1)[0] for p in problems))


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (0.0 for an empty one)."""
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, max(0, round(q * len(sorted_values)) - 1))]


# --------------------------------------------------------------------------- the server's view


@dataclass(slots=True)
class LogView:
    """The events that matter to the checks, read straight from the event log (raw JSON, no decoding)."""

    position: int = 0
    #: token -> (ticket id, service, day, number)
    issued: dict[str, tuple[str, str, str, str]] = field(default_factory=dict)
    #: ticket id -> counters it was called at, in log order (undone calls removed)
    calls: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    completed: set[str] = field(default_factory=set)
    numbers: Tally[tuple[str, str, str]] = field(default_factory=Tally)


@dataclass(slots=True)
class ServerView:
    """What the server says after the run: tickets by token (HTTP), counters, and optionally the log."""

    #: token -> ``GET /api/v1/tickets/{token}`` body; None where it answered 404
    tickets: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    #: counter -> ``GET /api/v1/counters/{id}`` body (``waiting`` and ``missed`` trimmed)
    counters: dict[str, dict[str, Any]] = field(default_factory=dict)
    log: LogView | None = None

    def check(self, ledger: Ledger) -> list[str]:
        problems: list[str] = []
        issued, called, completed = ledger.issued(), ledger.called(), ledger.completed()
        rank_of = {(e.service, e.number): 1 for e in called.values()}
        for e in called.values():
            if e.ticket_id in completed:
                rank_of[(e.service, e.number)] = 2
        for token, body in self.tickets.items():
            if token not in issued:
                continue
            e = issued[token]
            if body is None:
                problems.append(f"lost: ticket {e.number} ({e.service}, issue #{e.seq}) is unknown to the server")
                continue
            if (body.get("number"), body.get("service")) != (e.number, e.service):
                number = body.get("number")
                problems.append(f"mismatch: ticket {token[:8]} is {number} on the server, {e.number} in the ledger")
            known = rank_of.get((e.service, e.number), 0)
            if RANK.get(body.get("status", ""), 0) < known:
                problems.append(f"lost: ticket {e.number} is {body.get('status')!r} on the server (rank {known} acked)")
        problems += self._check_counters(ledger)
        if self.log is not None:
            problems += self._check_log(self.log, issued, called, completed)
        return problems

    def _check_counters(self, ledger: Ledger) -> list[str]:
        """A counter whose desk's last command was acknowledged shows the ticket that command called."""
        last: dict[str, Entry] = {}
        for e in ledger.entries:
            if e.command == "call_next" and e.counter is not None:
                last[e.counter] = e
        problems = []
        for cid, e in last.items():
            body = self.counters.get(cid)
            if body is None or e.acked is None:
                continue
            current = (body.get("current") or {}).get("ticket_id")
            if current != e.ticket_id:
                problems.append(f"mismatch: counter {cid} shows {current}; its last acked call-next left {e.ticket_id}")
        return problems

    @staticmethod
    def _check_log(log: LogView, issued: dict[str, Entry], called: dict[str, Entry], completed: set[str]) -> list[str]:
        problems = [
            f"duplicate number: {number} of {service} on {day} is in the log {n} times"
            for (service, day, number), n in log.numbers.items()
            if n > 1
        ]
        problems += [
            f"double call: ticket {tid} is called {len(counters)} times in the log ({', '.join(counters)})"
            for tid, counters in log.calls.items()
            if len(counters) > 1
        ]
        for token, e in issued.items():
            found = log.issued.get(token)
            if found is None:
                problems.append(f"lost: issue #{e.seq} ({e.number}, {e.service}) acknowledged but not in the log")
            elif (found[1], found[3]) != (e.service, e.number):
                problems.append(f"mismatch: ticket {token[:8]} is {found[3]} in the log, {e.number} in the ledger")
        for tid, e in called.items():
            if e.counter not in log.calls.get(tid, ()):
                problems.append(f"lost: call #{e.seq} of {e.number} at {e.counter} acknowledged but not in the log")
        problems += [f"lost: completion of {tid} acknowledged but not in the log" for tid in completed - log.completed]
        return problems


async def read_log_view(log_url: str, facility_id: str, *, chunk: int = 10_000) -> LogView:
    """Read a facility's whole event log (the server may still be running) into a :class:`LogView`."""
    event_log = open_log(log_url)
    view = LogView()
    try:
        while True:
            records = await event_log.read(facility_id, after=view.position, limit=chunk)
            if not records:
                return view
            for raw in orjson.loads(b"[" + b",".join(r.payload for r in records) + b"]"):
                _fold(view, raw["t"], raw["d"])
            view.position = records[-1].position
    finally:
        await event_log.close()


def _fold(view: LogView, kind: str, d: dict[str, Any]) -> None:
    if kind == "ticket.issued":
        view.issued[d["token"]] = (d["ticket_id"], d["service"], d["day"], d["number"])
        view.numbers[(d["service"], d["day"], d["number"])] += 1
    elif kind == "ticket.called":
        view.calls[d["ticket_id"]].append(d["counter"])
    elif kind == "ticket.completed":
        view.completed.add(d["ticket_id"])
    elif kind == "counter.action_undone" and d["action"] == "call" and view.calls.get(d["ticket_id"]):
        view.calls[d["ticket_id"]].pop()
    elif kind == "counter.action_undone" and d["action"] == "complete":
        view.completed.discard(d["ticket_id"])


def trim(body: dict[str, Any]) -> dict[str, Any]:
    """A counter view without its long lists (their lengths instead), for keeping in a ledger."""
    return {k: (len(v) if k in ("waiting", "missed") and isinstance(v, list) else v) for k, v in body.items()}


async def fetch_view(
    base_url: str,
    ledger: Ledger,
    *,
    admin: tuple[str, str] = ("admin", "admin-demo"),
    log_url: str | None = None,
    facility_id: str | None = None,
    sample: int | None = None,
    concurrency: int = 16,
    seed: int = 0,
) -> ServerView:
    """Ask the server about every ticket the ledger has acknowledged (or ``sample`` of them, at
    random) and every counter a desk used; read the log too when ``log_url`` is given."""
    tokens = sorted(ledger.issued())
    if sample is not None and sample < len(tokens):
        tokens = random.Random(seed).sample(tokens, sample)
    view = ServerView()
    counters = sorted({e.counter for e in ledger.acked("call_next", "open") if e.counter is not None})
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        queue: asyncio.Queue[str] = asyncio.Queue()
        for token in tokens:
            queue.put_nowait(token)

        async def worker() -> None:
            while not queue.empty():
                token = queue.get_nowait()
                answer = await client.get(f"/api/v1/tickets/{token}")
                if answer.status_code not in (200, 404):
                    answer.raise_for_status()
                view.tickets[token] = answer.json() if answer.status_code == 200 else None

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        if counters:
            login = await client.post("/api/v1/auth/login", json={"username": admin[0], "password": admin[1]})
            login.raise_for_status()
            for cid in counters:
                answer = await client.get(f"/api/v1/counters/{cid}")
                answer.raise_for_status()
                view.counters[cid] = trim(answer.json())
        if log_url is not None:
            if facility_id is None:
                facility_id = (await client.get("/api/v1/facility")).json()["id"]
            view.log = await read_log_view(log_url, facility_id)
    return view
