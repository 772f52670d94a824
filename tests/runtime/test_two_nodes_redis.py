"""Two engine nodes on one Redis: concurrent staff on both, one order, no ticket called twice."""

from __future__ import annotations

import asyncio
from collections import Counter as Tally
from contextlib import AsyncExitStack

import anyio
import pytest

from queue_engine import (
    Announced,
    CallNext,
    Delta,
    IssueTicket,
    ManualClock,
    OpenCounter,
    Runtime,
    SequentialIds,
    load_facility,
)
from queue_engine.codec import decode_event
from queue_engine.domain.errors import QueueEmpty
from queue_engine.domain.events import TicketCalled
from queue_engine.domain.ids import CounterId, ServiceCode
from queue_engine.log import open_log

from .support import LOKET_1, LOKET_2, THURSDAY_0800

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.redis,
]


async def test_two_nodes_calling_concurrently_never_call_a_ticket_twice(redis_url: str, key_prefix: str):
    """Staff on two nodes call next at once for a few hundred tickets: each is called once, both agree."""
    facility = load_facility()
    url = f"{redis_url}?prefix={key_prefix}"
    clock = ManualClock(THURSDAY_0800)
    async with AsyncExitStack() as stack:
        nodes: list[Runtime] = []
        for name in ("a-", "b-"):
            log = open_log(url)
            stack.push_async_callback(log.close)
            node = Runtime(facility, log, clock=clock, ids=SequentialIds(name), follow=True)
            await node.start()
            stack.push_async_callback(node.close)
            nodes.append(node)
        node_a, node_b = nodes
        announced: list[Tally[str]] = [Tally(), Tally()]
        for node, seen in zip(nodes, announced, strict=True):

            def listen(items: list[tuple[int, Delta]], seen: Tally[str] = seen) -> None:
                seen.update(d.ticket_id for _, d in items if isinstance(d, Announced) and not d.recall)

            node.subscribe(listen)
        await node_a.submit(OpenCounter(at=clock.now(), counter=LOKET_1))
        await node_b.submit(OpenCounter(at=clock.now(), counter=LOKET_2))
        tickets = 240  # the demo's daily LOKET quota is 250
        issued = await asyncio.gather(
            *(
                node.submit(
                    IssueTicket(
                        at=clock.now(),
                        ticket_id=node.ids.ticket_id(),
                        token=node.ids.token(),
                        service=ServiceCode("LOKET"),
                    )
                )
                for i in range(tickets)
                for node in (nodes[i % 2],)
            )
        )
        assert len({r.ticket_id for r in issued}) == tickets

        async def staff(node: Runtime, counter: CounterId) -> int:
            calls = 0
            while True:
                try:
                    result = await node.submit(CallNext(at=clock.now(), counter=counter, complete_current=True))
                except QueueEmpty:
                    return calls
                if result.ticket_id is None:
                    return calls
                calls += 1

        with anyio.fail_after(120):
            made = await asyncio.gather(staff(node_a, LOKET_1), staff(node_b, LOKET_2))
        assert sum(made) == tickets and min(made) > 0  # both nodes called, together exactly once each
        assert node_a.conflicts and node_b.conflicts  # they did race, and each loser decided again

        log = open_log(url)
        stack.push_async_callback(log.close)
        records = await log.read(facility.id)
        called = Tally(
            e.ticket_id for e in map(decode_event, (r.payload for r in records)) if isinstance(e, TicketCalled)
        )
        assert len(called) == tickets and max(called.values()) == 1
        numbers = [t.number for t in node_a.state.tickets.values()]
        assert len(numbers) == len(set(numbers)) == tickets
        last = records[-1].position
        converged = asyncio.Event()

        def check(_items: list[tuple[int, Delta]]) -> None:
            if node_a.state.position == node_b.state.position == last:
                converged.set()

        node_a.subscribe(check)
        node_b.subscribe(check)
        check([])
        with anyio.fail_after(10):
            await converged.wait()
        assert node_a.state.snapshot() == node_b.state.snapshot()
        for seen in announced:  # a board on either node would have seen every call once
            assert set(seen) == set(called) and max(seen.values()) == 1
