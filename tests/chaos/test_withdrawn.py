"""A caller gives up on a command stuck behind a stalled write: the command must not be carried out later.

``Runtime.enqueue`` promises: "Cancelling the future withdraws a command still in the queue (one
being written is written all the same)". During a Redis stall (see ``test_redis_faults.py``) commands
pile up behind the write in flight; a caller that stops waiting (a request cancelled at shutdown, or
a deadline of its own) has been told nothing was done, so the command must never run.

The sequencer once decided and wrote every queued command, cancelled or not; it now drops withdrawn ones.
"""

from __future__ import annotations

import asyncio

import pytest

from queue_engine import IssueTicket, ManualClock, Runtime, SequentialIds, load_facility
from queue_engine.codec import decode_event
from queue_engine.domain.events import TicketIssued
from queue_engine.domain.ids import ServiceCode
from queue_engine.log.memory import MemoryLog
from tests.runtime.support import THURSDAY_0800, SpyLog

pytestmark = pytest.mark.anyio


async def test_a_command_withdrawn_while_queued_behind_a_stalled_write_is_never_carried_out() -> None:
    """Cancel a queued command while the write before it hangs: the log never gets it."""
    facility = load_facility()
    clock = ManualClock(THURSDAY_0800)
    log = SpyLog(MemoryLog())
    runtime = Runtime(facility, log, clock=clock, ids=SequentialIds())

    def issue(key: str) -> IssueTicket:
        ids = runtime.ids
        return IssueTicket(
            at=clock.now(),
            ticket_id=ids.ticket_id(),
            token=ids.token(),
            service=ServiceCode("LOKET"),
            idempotency_key=key,
        )

    async with runtime:
        log.gate = asyncio.Event()  # the next write hangs until the test lets it go
        stalled = runtime.enqueue(issue("stalled-write-0001"))
        async with asyncio.timeout(5):
            await log.entered.wait()  # its write is in flight
        withdrawn = runtime.enqueue(issue("withdrawn-cmd-0001"))
        withdrawn.cancel()  # the caller gives up while the command is still queued
        log.gate.set()
        async with asyncio.timeout(5):
            await stalled
            await runtime.submit(issue("after-the-stall-01"))  # the sequencer is past the withdrawn command
        keys = [
            e.idempotency_key
            for r in await log.inner.read(facility.id)
            if isinstance(e := decode_event(r.payload), TicketIssued)
        ]
    print(f"[chaos] withdrawn command: log has {keys}")
    assert keys == ["stalled-write-0001", "after-the-stall-01"], "the withdrawn command was carried out"
