"""Several nodes on one log: a node that follows the log applies and publishes what others wrote."""

from __future__ import annotations

import asyncio

import anyio
import pytest

from queue_engine import Announced, Delta, SequentialIds

from .support import Env

pytestmark = pytest.mark.anyio


async def test_a_following_node_applies_and_announces_calls_made_on_another_node(env: Env):
    """Node B, following the log, shows the call node A made, with its announcement, and the same state."""
    node_a = await env.runtime(follow=True)
    node_b = await env.runtime(follow=True, ids=SequentialIds("b-"))
    heard: list[Delta] = []
    announced = asyncio.Event()

    def listen(items: list[tuple[int, Delta]]) -> None:
        heard.extend(delta for _, delta in items)
        if any(isinstance(delta, Announced) for delta in heard):
            announced.set()

    node_b.subscribe(listen)
    await node_a.submit(env.open_counter())
    ticket = (await node_a.submit(env.issue())).ticket_id
    called = await node_a.submit(env.call_next())
    with anyio.fail_after(10):
        await announced.wait()
    (call,) = [d for d in heard if isinstance(d, Announced)]
    assert call.ticket_id == ticket == called.ticket_id
    assert node_b.state.position == node_a.state.position
    assert node_b.state.snapshot() == node_a.state.snapshot()


async def test_both_nodes_take_commands_and_converge(env: Env):
    """Commands on either node land once each, in one order, and both nodes end with the same state."""
    node_a = await env.runtime(follow=True)
    node_b = await env.runtime(follow=True, ids=SequentialIds("b-"))
    converged = asyncio.Event()

    def check(_items: list[tuple[int, Delta]]) -> None:
        if node_a.state.position == node_b.state.position:
            converged.set()

    node_a.subscribe(check)
    node_b.subscribe(check)
    await node_a.submit(env.open_counter())
    results = await asyncio.gather(
        *(node_a.submit(env.issue()) for _ in range(20)),
        *(node_b.submit(env.issue(ids=node_b.ids)) for _ in range(20)),  # type: ignore[arg-type]
    )
    assert len({r.ticket_id for r in results}) == 40
    converged.clear()
    check([])
    with anyio.fail_after(10):  # each node follows the other's tail until both hold every event
        await converged.wait()
    assert node_a.state.snapshot() == node_b.state.snapshot()
    numbers = [t.number for t in node_a.state.tickets.values()]
    assert len(set(numbers)) == 40
