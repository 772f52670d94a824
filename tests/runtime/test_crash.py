"""Crash safety: SIGKILL a writer mid-stream; every acknowledged command is in the log, and the log is whole."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import anyio
import pytest

from queue_engine import (
    IssueTicket,
    ManualClock,
    Runtime,
    SequentialIds,
    ServiceCode,
    TicketId,
    TicketStatus,
    load_facility,
    load_state,
)
from queue_engine.codec import decode_event
from queue_engine.log.sqlite import SqliteLog

pytestmark = pytest.mark.anyio

WRITER = Path(__file__).with_name("crash_writer.py")
ROOT = Path(__file__).resolve().parents[2]
ACKS_BEFORE_KILL = 300

#: the status each acknowledged kind of command guarantees (later commands may move it on)
AT_LEAST = {
    "issue": set(TicketStatus),
    "call": {TicketStatus.CALLED, TicketStatus.DONE},
    "complete": {TicketStatus.DONE},
}


async def run_writer_until_killed(database: Path) -> list[tuple[str, str]]:
    """Start the writer, read ACKS_BEFORE_KILL acknowledgements, SIGKILL it; return what it acknowledged."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(WRITER),
        str(database),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    assert process.stdout is not None
    acks: list[tuple[str, str]] = []
    try:
        with anyio.fail_after(30):
            while len(acks) < ACKS_BEFORE_KILL:
                line = await process.stdout.readline()
                if not line:  # the writer died on its own
                    break
                ticket_id, kind = line.decode().split()
                acks.append((ticket_id, kind))
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGKILL)
        # Lines written after the ones we read were acknowledged too: collect them as well.
        rest, errors = await process.communicate()
    assert process.returncode == -signal.SIGKILL, errors.decode()
    acks.extend((ticket_id, kind) for ticket_id, kind in (line.split() for line in rest.decode().splitlines()))
    assert len(acks) >= ACKS_BEFORE_KILL
    return acks


async def test_sigkill_loses_no_acknowledged_command(tmp_path: Path):
    """After SIGKILL, the log holds every acknowledged command, decodes whole, has no gaps, and takes more."""
    database = tmp_path / "antre.db"
    acks = await run_writer_until_killed(database)
    facility = load_facility()

    log = SqliteLog(database)
    try:
        records = await log.read(facility.id)
        assert [r.position for r in records] == list(range(1, len(records) + 1))
        events = [decode_event(r.payload) for r in records]  # raises on half an event
        assert len(events) >= ACKS_BEFORE_KILL

        state = await load_state(facility, log)
        assert state.position == len(records)
        for ticket_id, kind in acks:
            ticket = state.tickets.get(TicketId(ticket_id))
            assert ticket is not None, f"acknowledged {kind} of {ticket_id} was lost"
            assert ticket.status in AT_LEAST[kind], (ticket_id, kind, ticket.status)

        clock = ManualClock(state.last_at + 1_000)
        async with Runtime(facility, log, clock=clock, ids=SequentialIds("after-")) as runtime:
            assert runtime.state.snapshot() == state.snapshot()
            ids = SequentialIds("after-")
            command = IssueTicket(
                at=clock.now(), ticket_id=ids.ticket_id(), token=ids.token(), service=ServiceCode("LAB")
            )
            result = await runtime.submit(command)
        assert result.position == len(records) + 1
        assert await log.last_position(facility.id) == len(records) + 1
    finally:
        await log.close()
