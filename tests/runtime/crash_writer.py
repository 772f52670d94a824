"""A writer process for the crash test: run by ``test_crash.py`` and killed with SIGKILL mid-stream.

Usage: ``python crash_writer.py DATABASE``. Opens a Runtime on the SQLite file, opens the lab and
apotek counters, then runs issuers and callers concurrently. After each *acknowledged* command it
prints ``<ticket id> <kind>`` (kind: issue, call or complete) and flushes, so every line the parent
reads is a promise the log must keep. It stops on its own after ``MAX_ACKS`` lines, or when stdout
is closed.
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

from queue_engine import (
    CallNext,
    Complete,
    CounterId,
    IssueTicket,
    ManualClock,
    OpenCounter,
    Runtime,
    SequentialIds,
    ServiceCode,
    load_facility,
)
from queue_engine.log.sqlite import SqliteLog

#: Thursday 26 November 2026, 08:00 in Jakarta (the lab and apotek are open until 13:00 and 14:00).
START = int(datetime(2026, 11, 26, 8, 0, tzinfo=ZoneInfo("Asia/Jakarta")).timestamp() * 1000)
#: one line per counter: the service it serves (neither has a daily quota in the demo)
LINES = {CounterId("lab"): ServiceCode("LAB"), CounterId("apotek"): ServiceCode("APOTEK")}
ISSUERS_PER_LINE = 2
MAX_ACKS = 20_000


class Writer:
    def __init__(self, runtime: Runtime, clock: ManualClock, ids: SequentialIds) -> None:
        self.runtime = runtime
        self.clock = clock
        self.ids = ids
        self.acks = 0
        self.waiting = {counter: asyncio.Semaphore(0) for counter in LINES}
        self.done = asyncio.Event()

    def ack(self, ticket_id: str | None, kind: str) -> None:
        sys.stdout.write(f"{ticket_id} {kind}\n")
        sys.stdout.flush()
        self.acks += 1
        if self.acks >= MAX_ACKS:
            self.done.set()

    def now(self) -> int:
        return self.clock.advance(50)

    async def issuer(self, counter: CounterId) -> None:
        while not self.done.is_set():
            command = IssueTicket(
                at=self.now(), ticket_id=self.ids.ticket_id(), token=self.ids.token(), service=LINES[counter]
            )
            result = await self.runtime.submit(command)
            self.ack(result.ticket_id, "issue")
            self.waiting[counter].release()

    async def caller(self, counter: CounterId) -> None:
        while not self.done.is_set():
            await self.waiting[counter].acquire()  # this counter is the only one calling its line
            called = await self.runtime.submit(CallNext(at=self.now(), counter=counter, actor="crash"))
            self.ack(called.ticket_id, "call")
            done = await self.runtime.submit(Complete(at=self.now(), counter=counter, actor="crash"))
            self.ack(done.ticket_id, "complete")


class Finished(Exception):
    """Raised once ``MAX_ACKS`` commands were acknowledged, to stop every task."""


async def main(path: str) -> None:
    clock, ids = ManualClock(START), SequentialIds()
    async with Runtime(load_facility(), SqliteLog(path), clock=clock, ids=ids) as runtime:
        writer = Writer(runtime, clock, ids)
        for counter in LINES:
            await runtime.submit(OpenCounter(at=writer.now(), counter=counter, actor="crash"))
        try:
            async with asyncio.TaskGroup() as tasks:
                for counter in LINES:
                    tasks.create_task(writer.caller(counter))
                    for _ in range(ISSUERS_PER_LINE):
                        tasks.create_task(writer.issuer(counter))
                await writer.done.wait()
                raise Finished
        except* Finished:
            pass


if __name__ == "__main__":
    try:
        asyncio.run(main(sys.argv[1]))
    except* BrokenPipeError:  # the parent went away: exit quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
