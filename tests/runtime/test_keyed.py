"""A command whose reply was lost may still have been written: sent again with its key, it is not run twice."""

from __future__ import annotations

import pytest

from queue_engine import LogUnavailable, TicketStatus
from queue_engine.codec import decode_event
from queue_engine.domain.commands import Keyed
from queue_engine.domain.events import TicketCalled, TicketCompleted

from .support import Env, SpyLog

pytestmark = pytest.mark.anyio


async def test_a_call_whose_reply_was_lost_is_retried_safely_by_its_key(env: Env):
    """The append succeeds but its answer is lost; the staff's retry with the same key calls nobody new."""
    spy = SpyLog(env.log())
    runtime = await env.runtime(spy)
    await runtime.submit(env.open_counter())
    first = await runtime.submit(env.issue())
    second = await runtime.submit(env.issue())
    press = Keyed(key="petugas:press-1", command=env.call_next(complete_current=True))
    spy.lose_next_reply = 1
    with pytest.raises(LogUnavailable):
        await runtime.submit(press)  # written, but this node was told it failed
    retry = await runtime.submit(press)
    assert (retry.ticket_id, retry.events) == (first.ticket_id, ())
    events = [decode_event(r.payload) for r in await spy.read(env.facility.id)]
    assert [e.ticket_id for e in events if isinstance(e, TicketCalled)] == [first.ticket_id]
    assert not any(isinstance(e, TicketCompleted) for e in events)  # without the key: first done, second called
    assert first.ticket_id is not None and second.ticket_id is not None
    assert runtime.state.tickets[first.ticket_id].status is TicketStatus.CALLED
    assert runtime.state.tickets[second.ticket_id].status is TicketStatus.WAITING
