"""The load generator's WebSocket subscribers (boards, phones): follow a topic, resume, and settle.

A subscriber records what it receives into a :class:`~benchmarks.ledger.PushLog`. After a drop
(4008: too slow), a restart (1001, 1012) or a refused connection (within ``retry_for_s``) it
resumes from the position *before* the last one it saw and skips the frames it already holds: a
drop can cut a batch's frames in the middle, and resuming from the last position seen would lose
the rest of that batch. :meth:`Subscribers.settle` waits, once the load stopped, until every board
has every acknowledged call of its services and every phone has seen its ticket called.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from benchmarks.ledger import RANK, Ledger, PushLog

#: close codes after which a subscriber resumes: too slow, going away, server restarting
RESUMABLE = {4008, 1001, 1012}


async def wait_up(up: asyncio.Event | None, backoff_s: float, deadline: float) -> None:
    """Before sending again: wait for ``up`` (until ``deadline``, monotonic), or back off ``backoff_s``."""
    if up is None:
        await asyncio.sleep(backoff_s)  # a reconnect back-off while the server comes back
        return
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout_at(asyncio.get_running_loop().time() + max(0.0, deadline - time.monotonic())):
            await up.wait()


class Subscribers:
    """The subscribers of one run, against the server at ``ws_url`` (``ws://host:port``)."""

    def __init__(self, ws_url: str, ledger: Ledger, retry_for_s: float, up: asyncio.Event | None = None) -> None:
        self.ws_url, self.ledger, self.retry_for_s, self.up = ws_url, ledger, retry_for_s, up
        self.moved = asyncio.Condition()  # notified on every message (for settling)
        #: per subscriber (by id): what it has yet to receive once the load stopped
        self.remaining: dict[int, set[tuple[str | None, str | None]]] = {}

    async def follow(self, log: PushLog, path: str, finished: Callable[[], bool]) -> None:
        """Follow one topic until ``finished()`` or cancelled; resume after drops and restarts."""
        after: int | None = None
        deadline = time.monotonic() + self.retry_for_s
        held: set[str | bytes] = set()  # frames at the last position seen (a resume replays them)
        while True:
            query = "" if after is None else f"&after={after}"
            code: int | None = None
            try:
                async with connect(f"{self.ws_url}{path}{query}", open_timeout=10, max_size=None) as ws:
                    deadline = time.monotonic() + self.retry_for_s
                    if await self.receive(ws, log, held, resuming=after is not None, finished=finished):
                        log.settled = True
                        return
                    code = ws.close_code
            except ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd is not None else None
            except (OSError, InvalidHandshake, TimeoutError) as exc:
                if time.monotonic() >= deadline:
                    log.error = f"cannot connect: {exc!r}"
                    break
            if code is not None and code not in RESUMABLE:
                log.error = f"closed with {code}"
                break
            log.drops += code == 4008
            log.reconnects += 1
            after = max(log.position - 1, 0)
            if code != 4008:
                await wait_up(self.up, 0.2, deadline)
        self.remaining.pop(id(log), None)  # its error is reported; nothing more to wait for
        async with self.moved:
            self.moved.notify_all()

    async def receive(
        self,
        ws: ClientConnection,
        log: PushLog,
        held: set[str | bytes],
        *,
        resuming: bool,
        finished: Callable[[], bool],
    ) -> bool:
        async for raw in ws:
            message = orjson.loads(raw)
            position: int = message["position"]
            if message["type"] == "snapshot" and resuming:
                log.gaps += 1
            if position < log.position:
                log.went_back += 1
            if position != log.position:
                held.clear()
            if raw in held:
                continue  # replayed after a resume: already recorded
            held.add(raw)
            log.messages += 1
            log.position = max(log.position, position)
            data = message.get("data") or {}
            remaining = self.remaining.get(id(log))
            if message["type"] == "call":
                log.calls.append((position, data["number"], data["counter"], bool(data["recall"])))
                if remaining:
                    remaining.discard((data["number"], data["counter"]))
            elif log.kind == "phone" and "status" in data and log.statuses[-1:] != [data["status"]]:
                log.statuses.append(data["status"])
                if remaining and RANK.get(data["status"], 0) >= 1:
                    remaining.clear()
            async with self.moved:
                self.moved.notify_all()
            if finished():
                return True
        return False

    def expect(self) -> None:
        """What each subscriber still has to receive: the acknowledged calls (boards), its ticket called (phones)."""
        calls = list(self.ledger.called().values())
        tickets = self.ledger.issued()
        called = {(e.service, e.number) for e in calls}
        for log in self.ledger.push:
            if log.error is not None or log.settled:
                continue
            if log.kind == "board":
                seen = {(n, c) for _p, n, c, _r in log.calls}
                self.remaining[id(log)] = {(e.number, e.counter) for e in calls if e.service in log.services} - seen
            else:
                t = tickets.get(log.topic)
                seen_called = max((RANK.get(s, 0) for s in log.statuses), default=0) >= 1
                if t is not None and (t.service, t.number) in called and not seen_called:
                    self.remaining[id(log)] = {(None, None)}

    def caught_up(self) -> bool:
        return not any(self.remaining.values())

    async def settle(self, within_s: float) -> None:
        """Wait (at most ``within_s``) until every subscriber has what it should have received."""
        self.expect()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within_s), self.moved:
                await self.moved.wait_for(self.caught_up)
