"""Two engine nodes, each a server process of its own, on one Redis: staff on both call next at once.

Issue #4: "two engine nodes (separate processes with their own servers) on one Redis, staff on both
calling next concurrently on the same services for a few thousand calls: no ticket called twice, no
number issued twice, both nodes end with identical state, and a board on each node saw every call."

The run, all through the public HTTP API and WebSockets of two ``antre serve`` processes that share
one Redis stream (same ``?prefix=``):

1. kiosks on both nodes take :data:`CALLS` numbers between them, concurrently (LOKET and UMUM,
   one in five ``lansia``);
2. a board connects to each node and gets its snapshot;
3. staff log in on both nodes, three desks per node, and open six Loket counters that all serve
   LOKET and UMUM; then every desk presses "call next (completing the current one)" until the
   queue is empty;
4. the log is read from Redis, both boards are waited for up to its last position (a heartbeat at P
   means "you have every message up to P"), and both nodes are asked for every counter, every board
   and every ticket.

A 503 (the engine giving up, "log kept moving") is recorded and fails the test; it is never retried
away. Issuing carries an idempotency key, so only an issue may be sent again after a 503 (and the
503 is still reported). Every problem found is collected and reported together at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter as Tally
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2
import pytest

from queue_engine.codec import decode_event
from queue_engine.config import load_facility
from queue_engine.domain.events import TicketCalled, TicketIssued
from queue_engine.domain.model import Facility
from queue_engine.log import open_log

from .support import (
    ADMIN,
    BOARD_TOKEN,
    DISPLAY,
    KIOSK_TOKEN,
    SERVICES,
    STAFF,
    BoardWatcher,
    ServerProcess,
    write_facility,
)

#: tickets issued, and so calls made, across both nodes
CALLS = 2000
#: the counters each node's staff operate (all serve LOKET and UMUM)
DESKS = {"node-a": ("loket-1", "loket-3", "loket-5"), "node-b": ("loket-2", "loket-4", "loket-6")}
#: kiosk requests in flight per node
ISSUERS_PER_NODE = 8
#: time budgets (s): the whole test stays under the 120 s pytest timeout
START_S, ISSUE_S, CALL_S, SETTLE_S, COMPARE_S = 15, 15, 55, 10, 20
SECRET = "cluster-test-secret-0123456789abcdef"

pytestmark = [pytest.mark.anyio, pytest.mark.redis, pytest.mark.slow, pytest.mark.timeout(120)]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Cluster:
    nodes: dict[str, ServerProcess]
    facility: Facility
    log_url: str


@pytest.fixture
def cluster(tmp_path: Path, redis_url: str, key_prefix: str) -> Iterator[Cluster]:
    """Two ``antre serve`` processes on one Redis log; stopped (terminate, then kill) whatever happens."""
    desks = tuple(sorted(c for counters in DESKS.values() for c in counters))
    path = write_facility(tmp_path / "facility.toml", desks, datetime.now(UTC))
    log_url = f"{redis_url}{'&' if '?' in redis_url else '?'}prefix={key_prefix}"
    env = {
        "ANTRE_LOG_URL": log_url,
        "ANTRE_FACILITY": str(path),
        "ANTRE_SECRET_KEY": SECRET,
        "ANTRE_HEARTBEAT_S": "1",  # a board learns within a second that it is complete up to position P
    }
    nodes: dict[str, ServerProcess] = {}
    try:
        for name in DESKS:
            nodes[name] = ServerProcess(name, env, tmp_path)
        for node in nodes.values():
            node.wait_ready(START_S)
        yield Cluster(nodes, load_facility(path), log_url)
    finally:
        for node in nodes.values():
            node.stop()


# -- what the clients saw -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Issued:
    node: str
    number: str
    token: str


@dataclass(frozen=True, slots=True)
class Called:
    node: str
    counter: str
    ticket_id: str
    number: str
    status: str


@dataclass(frozen=True, slots=True)
class Refusal:
    """An answer the run did not expect (a 503 above all)."""

    node: str
    what: str
    status: int
    body: str


@dataclass
class Run:
    issued: list[Issued] = field(default_factory=list)
    called: list[Called] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def refuse(self, node: str, what: str, response: httpx2.Response) -> None:
        self.refusals.append(Refusal(node, what, response.status_code, response.text[:300]))


@contextlib.contextmanager
def timed(run: Run, phase: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        run.timings[phase] = round(time.perf_counter() - started, 2)


def client(node: ServerProcess, **headers: str) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(base_url=node.url, headers=headers, timeout=httpx2.Timeout(30.0))


async def log_in(http: httpx2.AsyncClient, user: tuple[str, str]) -> None:
    """A session cookie in the client's jar, and its CSRF token on every request."""
    response = await http.post("/api/v1/auth/login", json={"username": user[0], "password": user[1]})
    assert response.status_code == 200, response.text
    http.headers["X-CSRF-Token"] = response.json()["csrf"]


# -- the phases ---------------------------------------------------------------------------------


async def issue(kiosk: httpx2.AsyncClient, node: str, i: int, run: Run) -> None:
    """Take number ``i``; after a 503 (recorded) send it again with the same idempotency key."""
    body = {
        "service": SERVICES[i % len(SERVICES)],
        "priority": "lansia" if i % 5 == 0 else "umum",
        "idempotency_key": f"cluster-test-ticket-{i:06d}",
    }
    for _attempt in range(3):
        response = await kiosk.post("/api/v1/tickets", json=body)
        if response.status_code in (200, 201):
            answer = response.json()
            run.issued.append(Issued(node, answer["number"], answer["token"]))
            return
        run.refuse(node, f"issue #{i}", response)
        if response.status_code != 503:
            return


async def issue_all(kiosks: dict[str, httpx2.AsyncClient], run: Run) -> None:
    """:data:`CALLS` tickets, alternately on each node, :data:`ISSUERS_PER_NODE` requests in flight per node."""
    names = list(kiosks)

    async def issuer(node: str, numbers: list[int]) -> None:
        for i in numbers:
            await issue(kiosks[node], node, i, run)

    plan = {name: [i for i in range(CALLS) if names[i % len(names)] == name] for name in names}
    async with asyncio.TaskGroup() as tg:
        for name, numbers in plan.items():
            for w in range(ISSUERS_PER_NODE):
                tg.create_task(issuer(name, numbers[w::ISSUERS_PER_NODE]))


async def desk(http: httpx2.AsyncClient, node: str, counter: str, run: Run) -> None:
    """Press "call next, completing the current one" until the queue is empty.

    A 503 is recorded and the desk presses again, as staff would: call-next has no idempotency key,
    so if the failed press was in fact written, its call is in the log but in no answer, and the
    comparison of answers with the log shows it.
    """
    for _press in range(CALLS + 2):  # bounded: each success calls a ticket; one more completes the last
        response = await http.post(f"/api/v1/counters/{counter}/call-next", json={"complete_current": True})
        if response.status_code == 200:
            current = response.json()["current"]
            if current is None:
                return  # the last ticket here was completed and nobody is waiting
            run.called.append(Called(node, counter, current["ticket_id"], current["number"], current["status"]))
            continue
        if response.status_code == 409 and response.json().get("code") == "queue_empty":
            return
        run.refuse(node, f"call-next at {counter}", response)
        if response.status_code != 503:
            return  # unexpected: stop this desk rather than loop on it
    run.problems.append(f"{counter} on {node} was still calling after {CALLS + 2} presses")


# -- checks -------------------------------------------------------------------------------------


def check_issued(run: Run, events: list[Any]) -> None:
    issued = [e for e in events if isinstance(e, TicketIssued)]
    numbers = Tally((e.day, e.number) for e in issued)
    answered = Tally(i.number for i in run.issued)
    if len(run.issued) != CALLS:
        run.problems.append(f"{len(run.issued)} of {CALLS} issues were answered with a ticket")
    if len(issued) != CALLS:
        run.problems.append(f"the log has {len(issued)} TicketIssued events for {CALLS} tickets")
    twice = sorted(n for n, k in numbers.items() if k > 1) + sorted(n for n, k in answered.items() if k > 1)
    if twice:
        run.problems.append(f"numbers issued twice (log, then answers): {twice[:10]}")
    if len({e.ticket_id for e in issued}) != len(issued):
        run.problems.append("a ticket id was issued twice")
    for code in SERVICES:  # and none was skipped: each service counts 1, 2, 3… (one local day)
        seqs = sorted(e.seq for e in issued if e.service == code)
        if seqs != list(range(1, len(seqs) + 1)):
            run.problems.append(
                f"{code} numbers are not 1..{len(seqs)}: {sorted(set(range(1, len(seqs) + 1)) - set(seqs))[:5]} missing"
            )


def check_called(run: Run, events: list[Any]) -> set[tuple[str, str]]:
    """Answers against the log; the (number, counter) of every call, from the log."""
    number_of: dict[str, str] = {e.ticket_id: e.number for e in events if isinstance(e, TicketIssued)}
    calls = [e for e in events if isinstance(e, TicketCalled)]
    in_log = Tally(e.ticket_id for e in calls)
    answered = Tally(c.ticket_id for c in run.called)
    by_node = Tally(c.node for c in run.called)
    if len(run.called) != CALLS:
        run.problems.append(f"{len(run.called)} successful calls for {CALLS} tickets (per node: {dict(by_node)})")
    if len(by_node) != len(DESKS):
        run.problems.append(f"not every node called: {dict(by_node)}")
    for what, tally in (("answers", answered), ("log", in_log)):
        twice = [t for t, k in tally.items() if k > 1]
        if twice:
            run.problems.append(f"tickets called twice ({what}): {len(twice)}, e.g. {twice[:5]}")
    if set(in_log) != set(number_of):
        run.problems.append(f"{len(set(number_of) - set(in_log))} tickets were never called (log)")
    from_log = {(e.ticket_id, e.counter) for e in calls}
    from_answers = {(c.ticket_id, c.counter) for c in run.called}
    unanswered, unlogged = sorted(from_log - from_answers), sorted(from_answers - from_log)
    if unanswered or unlogged:
        run.problems.append(
            f"calls in the log but in no answer: {len(unanswered)}, e.g. {unanswered[:5]}; "
            f"in an answer but not in the log: {len(unlogged)}, e.g. {unlogged[:5]}"
        )
    if any(c.number != number_of.get(c.ticket_id) for c in run.called):
        run.problems.append("a call answer's number is not the number its ticket was issued with")
    if any(c.status != "called" for c in run.called):
        run.problems.append("a call answer's current ticket is not in status 'called'")
    return {(number_of[e.ticket_id], e.counter) for e in calls if e.ticket_id in number_of}


def check_board(run: Run, board: BoardWatcher, expected: set[tuple[str, str]]) -> None:
    recalls = [c for c in board.calls if c.recall]
    seen = Tally((c.number, c.counter) for c in board.calls if not c.recall)
    twice = [k for k, n in seen.items() if n > 1]
    missing = expected - set(seen)
    extra = set(seen) - expected
    where = f"board on {board.name}"
    if recalls:
        run.problems.append(f"{where}: {len(recalls)} recall frames, but nobody recalled")
    if twice or missing or extra:
        run.problems.append(
            f"{where}: {len(seen)} calls announced for {len(expected)} in the log; announced twice: {twice[:5]}, "
            f"never: {sorted(missing)[:5]}, not in the log: {sorted(extra)[:5]}"
        )
    if board.gaps:
        run.problems.append(f"{where}: {board.gaps} resumes came back as a snapshot (calls may be lost)")
    if board.error:
        run.problems.append(f"{where}: {board.error}")


async def node_view(http: httpx2.AsyncClient, facility: Facility, tokens: list[str]) -> dict[str, Any]:
    """Everything the API shows of the facility: counters, boards, every ticket (clock-dependent fields out)."""

    async def get(path: str) -> Any:
        response = await http.get(path)
        assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text[:200]}"
        return response.json()

    view: dict[str, Any] = {}
    for cid in facility.counters:
        counter = await get(f"/api/v1/counters/{cid}")
        counter.pop("undo")  # "can still be undone" depends on the moment of the request
        view[f"counter {cid}"] = counter
    for display in facility.displays:
        board = await get(f"/api/v1/boards/{display.id}")
        board.pop("now")
        view[f"board {display.id}"] = board
    limit = asyncio.Semaphore(16)

    async def ticket(token: str) -> Any:
        async with limit:
            answer = await get(f"/api/v1/tickets/{token}")
        answer.pop("eta")  # computed for the moment of the request (None once done, as every ticket should be)
        return answer

    for answer in await asyncio.gather(*map(ticket, tokens)):
        view[f"ticket {answer['number']}"] = answer
    return view


def compare_nodes(run: Run, views: dict[str, dict[str, Any]], last: int) -> None:
    """The nodes agree with each other, are at the log's last position, and show every ticket done."""
    (name_a, a), (name_b, b) = views.items()
    differ = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
    if differ:
        first = differ[0]
        run.problems.append(
            f"{name_a} and {name_b} differ in {len(differ)} views, e.g. {first}: {a.get(first)} != {b.get(first)}"
        )
    for name, view in views.items():
        behind = {k: v["position"] for k, v in view.items() if v.get("position") != last}
        if behind:
            run.problems.append(f"{name}: {len(behind)} views not at the log's last position {last}")
        unfinished = sorted(v["number"] for k, v in view.items() if k.startswith("ticket ") and v["status"] != "done")
        if unfinished:
            run.problems.append(f"{name}: {len(unfinished)} tickets not done, e.g. {unfinished[:5]}")


# -- the test -----------------------------------------------------------------------------------


async def issue_phase(stack: contextlib.AsyncExitStack, cluster: Cluster, run: Run) -> None:
    kiosks = {
        name: await stack.enter_async_context(client(node, authorization=f"Bearer {KIOSK_TOKEN}"))
        for name, node in cluster.nodes.items()
    }
    with timed(run, "issue"):
        try:
            async with asyncio.timeout(ISSUE_S):
                await issue_all(kiosks, run)
        except TimeoutError:
            logs = "\n".join(node.describe() for node in cluster.nodes.values())
            pytest.fail(f"{len(run.issued)} of {CALLS} tickets issued in {ISSUE_S} s; {run.refusals[:3]}\n{logs}")


async def call_phase(stack: contextlib.AsyncExitStack, cluster: Cluster, run: Run) -> None:
    """Log the desks in and open their counters, then let them all call at once."""
    desks: list[tuple[str, str, httpx2.AsyncClient]] = []
    for name, counters in DESKS.items():
        for counter in counters:
            http = await stack.enter_async_context(client(cluster.nodes[name]))
            await log_in(http, STAFF)
            opened = await http.post(f"/api/v1/counters/{counter}/open")
            assert opened.status_code == 200, f"opening {counter} on {name}: {opened.text}"
            desks.append((name, counter, http))
    with timed(run, "calls"):
        tasks = [asyncio.create_task(desk(http, name, counter, run)) for name, counter, http in desks]
        done, pending = await asyncio.wait(tasks, timeout=CALL_S)
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if pending:
        run.problems.append(f"{len(pending)} desks still calling after {CALL_S} s ({len(run.called)} calls made)")
    run.problems.extend(f"a desk failed: {t.exception()!r}" for t in done if t.exception() is not None)


async def read_log(cluster: Cluster) -> tuple[list[Any], int]:
    """Every event of the facility, straight from Redis, and the log's last position."""
    log = open_log(cluster.log_url)
    try:
        records = await log.read(cluster.facility.id)
    finally:
        await log.close()
    return [decode_event(r.payload) for r in records], records[-1].position if records else 0


async def settle(run: Run, boards: dict[str, BoardWatcher], last: int) -> None:
    with timed(run, "settle"):
        for name, board in boards.items():
            try:
                async with asyncio.timeout(SETTLE_S):
                    await board.reached(last)
            except TimeoutError:
                run.problems.append(f"board on {name} stayed at position {board.position}, the log is at {last}")


async def compare_phase(stack: contextlib.AsyncExitStack, cluster: Cluster, run: Run, last: int) -> None:
    """Ask both nodes (at once) for everything the API shows, and compare."""
    tokens = [i.token for i in run.issued]
    admins: dict[str, httpx2.AsyncClient] = {}
    for name, node in cluster.nodes.items():
        admins[name] = await stack.enter_async_context(client(node))
        await log_in(admins[name], ADMIN)
    with timed(run, "compare"):
        try:
            async with asyncio.timeout(COMPARE_S):
                views = await asyncio.gather(*(node_view(a, cluster.facility, tokens) for a in admins.values()))
        except TimeoutError:
            run.problems.append(f"the nodes did not show every counter, board and ticket within {COMPARE_S} s")
            return
    compare_nodes(run, dict(zip(admins, views, strict=True)), last)


def check_servers(run: Run, cluster: Cluster) -> None:
    for name, node in cluster.nodes.items():
        errors = [line for line in node.stderr().splitlines() if "Traceback" in line or "kept moving" in line]
        if errors:
            run.problems.append(f"{name} logged {len(errors)} errors:\n{node.describe()}")
    if run.refusals:
        refused = Tally((r.node, r.status) for r in run.refusals)
        run.problems.insert(0, f"unexpected answers {dict(refused)}, e.g. {run.refusals[:3]}")


async def test_two_server_processes_on_one_redis_call_every_ticket_once(cluster: Cluster) -> None:
    """Kiosks and staff on two processes at once: one order, both nodes agree, both boards announce all."""
    run = Run()
    async with contextlib.AsyncExitStack() as stack:
        await issue_phase(stack, cluster, run)
        boards = {
            name: await stack.enter_async_context(
                BoardWatcher(name, f"{node.ws_url}/ws/board/{DISPLAY}?token={BOARD_TOKEN}")
            )
            for name, node in cluster.nodes.items()
        }
        await call_phase(stack, cluster, run)
        events, last = await read_log(cluster)
        await settle(run, boards, last)
        later_events, later = await read_log(cluster)
        if later != last:  # a desk was cancelled while its command was still running in a node
            run.problems.append(f"the log moved on from {last} to {later} after the desks had stopped")
            events, last = later_events, later
            await settle(run, boards, last)
        check_issued(run, events)
        expected_calls = check_called(run, events)
        for board in boards.values():
            check_board(run, board, expected_calls)
        await compare_phase(stack, cluster, run, last)
    check_servers(run, cluster)
    summary = {
        "tickets": CALLS,
        "log_position": last,
        "calls_per_node": dict(Tally(c.node for c in run.called)),
        "calls_per_counter": dict(sorted(Tally(c.counter for c in run.called).items())),
        "board_drops": {n: b.drops for n, b in boards.items()},
        "timings_s": run.timings,
    }
    print(f"two-process run: {summary}")
    assert not run.problems, "\n".join([*run.problems, f"run: {summary}"])
