"""The BPJS outbox against the local stand-in, through a running app: the whole journey, outages, restarts.

The app runs on a manual clock (Thursday 08:00 WIB) over a memory or SQLite log; requests are
signed with the wall clock, which the stand-in checks. Waits are on the stand-in's record of
requests (a condition variable) or the worker's progress, never on time alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from modules.bpjs.module import BpjsModule, LinkVisit, Visit
from modules.bpjs.site import BpjsWeb
from queue_engine.clock import ManualClock, SequentialIds, SystemClock
from queue_engine.config import load_facility
from queue_engine.domain import commands as c
from queue_engine.domain.ids import CounterId, Millis, ServiceCode, TicketId, TicketToken
from queue_engine.log.base import EventLog
from queue_engine.log.memory import MemoryLog
from queue_engine.log.sqlite import SqliteLog
from web.app import create_app
from web.state import AppState

from ..bpjs_standin import CONS_ID, FKTP_USER_KEY, SECRET, USER_KEY, BpjsStandIn, Fault
from ..web.conftest import START, fast_accounts, make_settings

MINUTE = 60_000
POLI = {
    "UMUM": {
        "kodepoli": "INT",
        "namapoli": "Poli Umum",
        "kodedokter": 7,
        "namadokter": "dr. Sari",
        "jampraktek": "07:30-13:00",
    }
}


class FastBpjsWeb(BpjsWeb):
    """The web part with test timings: short back-off and timeout, signing with the wall clock."""

    def __init__(self, module: BpjsModule) -> None:
        super().__init__(module, backoff_s=(0.05, 0.1, 0.2), clock=SystemClock(), send_timeout_s=0.5)


class FastBpjsModule(BpjsModule):
    web = "tests.bpjs.test_outbox:FastBpjsWeb"


@pytest.fixture
def bpjs(monkeypatch: pytest.MonkeyPatch) -> Iterator[BpjsStandIn]:
    monkeypatch.setenv("ANTRE_BPJS_CONS_ID", CONS_ID)
    monkeypatch.setenv("ANTRE_BPJS_SECRET", SECRET)
    monkeypatch.setenv("ANTRE_BPJS_USER_KEY", USER_KEY)
    with BpjsStandIn(hang_s=5.0) as standin:
        yield standin


class App:
    """A started app behind a TestClient, with helpers to drive the engine as staff would."""

    def __init__(self, client: TestClient, clock: ManualClock) -> None:
        self.client = client
        self.clock = clock
        state: AppState = client.app_state  # type: ignore[assignment]
        self.runtime = state["runtime"]
        part = next(p for p in state["web_modules"] if p.name == "bpjs")
        assert isinstance(part, BpjsWeb)
        self.part = part

    def run(self, command: Any, minutes: int = 0) -> Any:
        self.clock.advance(Millis(minutes * MINUTE))
        if hasattr(command, "at"):
            command = replace(command, at=self.clock.now())
        assert self.client.portal is not None
        return self.client.portal.call(self.runtime.submit, command)

    def settle(self) -> None:
        """Wait until the worker has delivered and recorded everything in the log so far."""
        worker = self.part.worker
        assert worker is not None and self.client.portal is not None
        target = self.runtime.state.position

        async def caught_up() -> None:
            async with asyncio.timeout(10):
                await worker.until_idle(target)

        self.client.portal.call(caught_up)


@contextmanager
def app(bpjs: BpjsStandIn, log: EventLog, clock: ManualClock) -> Iterator[App]:
    module = FastBpjsModule(base_url=bpjs.rs_url, registration=["LOKET"], pharmacy=["APOTEK"], poli=POLI)
    facility = replace(load_facility(), modules=(module,))
    web_app = create_app(
        make_settings(), log=log, clock=clock, ids=SequentialIds(), facility=facility, accounts=fast_accounts()
    )
    with TestClient(web_app) as client:
        yield App(client, clock)


def journey(a: App, kodebooking: str, *, ticket: str = "t1") -> dict[int, int]:
    """Kiosk -> loket (identity linked) -> poli -> apotek; the task times as the engine recorded them."""
    times = {}
    issued = a.run(
        c.IssueTicket(at=0, ticket_id=TicketId(ticket), token=TicketToken(f"k-{ticket}"), service=ServiceCode("LOKET"))
    )
    times[1] = a.clock.now()
    ticket_id = TicketId(issued.ticket_id)
    a.run(c.CallNext(at=0, counter=CounterId("loket-1")), minutes=3)
    times[2] = a.clock.now()
    visit = Visit(
        ticket_id=ticket_id,
        kodebooking=kodebooking,
        jenispasien="JKN",
        nik="3578010101900001",
        nomorkartu="0001234567890",
        nomorreferensi="0301R0011125K000001",
    )
    a.run(LinkVisit(at=0, visit=visit))
    a.run(c.Complete(at=0, counter=CounterId("loket-1"), next_service=ServiceCode("UMUM")), minutes=4)
    times[3] = a.clock.now()
    a.run(c.CallNext(at=0, counter=CounterId("umum-1")), minutes=20)
    times[4] = a.clock.now()
    a.run(c.Complete(at=0, counter=CounterId("umum-1"), next_service=ServiceCode("APOTEK")), minutes=9)
    times[5] = a.clock.now()
    a.run(c.CallNext(at=0, counter=CounterId("apotek")), minutes=11)
    times[6] = a.clock.now()
    a.run(c.Complete(at=0, counter=CounterId("apotek")), minutes=3)
    times[7] = a.clock.now()
    return times


def open_counters(a: App) -> None:
    for counter in ("loket-1", "umum-1", "apotek"):
        a.run(c.OpenCounter(at=0, counter=CounterId(counter), actor="p"))


def test_a_journey_reaches_bpjs_as_add_then_tasks_1_to_7_with_the_real_times(bpjs: BpjsStandIn) -> None:
    with app(bpjs, MemoryLog(), ManualClock(START)) as a:
        open_counters(a)
        times = journey(a, "20261126A001")
        bpjs.wait_received(8)
        a.settle()
        assert [call.path for call in bpjs.accepted] == ["antrean/add"] + ["antrean/updatewaktu"] * 7
        assert bpjs.tasks("20261126A001") == times
        add = bpjs.accepted[0].body
        assert add["kodepoli"] == "INT" and add["nik"] == "3578010101900001" and add["nomorantrean"] == "B001"
        assert a.client.get("/api/v1/bpjs/outbox").status_code == 401  # admins only
        a.client.post("/api/v1/auth/login", json={"username": "admin", "password": "admin-demo"})
        listing = a.client.get("/api/v1/bpjs/outbox").json()
        assert listing["state"] == "idle" and listing["sent"] == 8 and listing["failures"] == []
        assert [d["status"] for d in listing["recent"]] == ["sent"] * 8


def test_bpjs_failing_for_a_while_then_recovering_loses_and_duplicates_nothing(bpjs: BpjsStandIn) -> None:
    with app(bpjs, MemoryLog(), ManualClock(START)) as a:
        open_counters(a)
        bpjs.fail_next(3, Fault.HTTP_500)
        bpjs.fail_next(1, Fault.TIMEOUT)  # lost on the way: nothing applied
        bpjs.fail_next(1, Fault.TIMEOUT_AFTER_APPLY)  # applied, the answer lost: the retry gets 208
        bpjs.fail_next(1, Fault.REFUSE, code=201, message="x-timestamp di luar toleransi")  # a clock problem: retried
        first = journey(a, "KB-1", ticket="t1")
        second = journey(a, "KB-2", ticket="t2")
        bpjs.wait_received(16 + 6)
        a.settle()
        for booking, times in (("KB-1", first), ("KB-2", second)):
            assert bpjs.tasks(booking) == times  # every task once, in order, with its time
        kinds = [(call.body.get("kodebooking"), call.body.get("taskid")) for call in bpjs.accepted]
        assert len(kinds) == len(set(kinds)) == 16  # nothing accepted twice
        repeated = [call for call in bpjs.received if call.code == 208]
        assert len(repeated) == 1  # only the one whose answer was lost was sent again
        progress = a.runtime.state.modules["bpjs"].outbox.streams["bpjs"]
        assert progress.sent == 16 and progress.failures == []


def test_a_refused_message_is_recorded_as_failed_and_the_stream_moves_on(bpjs: BpjsStandIn) -> None:
    with app(bpjs, MemoryLog(), ManualClock(START)) as a:
        open_counters(a)
        bpjs.fail_next(1, Fault.REFUSE, code=201, message="Poli tidak ditemukan")
        journey(a, "KB-1", ticket="t1")  # its add is refused, so BPJS refuses its tasks too
        second = journey(a, "KB-2", ticket="t2")
        bpjs.wait_received(16)
        a.settle()
        progress = a.runtime.state.modules["bpjs"].outbox.streams["bpjs"]
        assert [f.kind for f in progress.failures] == ["antrean/add"] + ["antrean/updatewaktu"] * 7
        assert "Poli tidak ditemukan" in progress.failures[0].reason
        assert bpjs.tasks("KB-2") == second and progress.sent == 8  # nothing waits behind a refusal


def test_a_restart_in_the_middle_resumes_where_the_log_says_it_stopped(bpjs: BpjsStandIn, tmp_path: Path) -> None:
    path = tmp_path / "antre.db"
    clock = ManualClock(START)
    with app(bpjs, SqliteLog(path), clock) as a:
        open_counters(a)
        first = journey(a, "KB-1", ticket="t1")
        bpjs.wait_received(8)
        a.settle()
        bpjs.fail_next(1000, Fault.HTTP_500)  # BPJS goes down
        second = journey(a, "KB-2", ticket="t2")
        bpjs.wait_received(8 + 2)  # the worker keeps trying...
    # ... and the server stops; it comes back over the same log, BPJS is back too
    bpjs.clear_faults()
    with app(bpjs, SqliteLog(path), clock) as a:
        bpjs.wait_received(8 + 2 + 8)
        a.settle()
        assert bpjs.tasks("KB-1") == first and bpjs.tasks("KB-2") == second
        accepted = [(call.body.get("kodebooking"), call.body.get("taskid")) for call in bpjs.accepted]
        assert len(accepted) == len(set(accepted)) == 16
        assert not [call for call in bpjs.received if call.code == 208]  # KB-1 was recorded: not sent again


def test_the_puskesmas_variant_reaches_antreanfktp(bpjs: BpjsStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTRE_BPJS_USER_KEY", FKTP_USER_KEY)
    module = FastBpjsModule(variant="fktp", base_url=bpjs.fktp_url, poli=POLI)
    facility = replace(load_facility(), modules=(module,))
    clock = ManualClock(START)
    web_app = create_app(
        make_settings(), log=MemoryLog(), clock=clock, ids=SequentialIds(), facility=facility, accounts=fast_accounts()
    )
    with TestClient(web_app) as client:
        a = App(client, clock)
        a.run(c.OpenCounter(at=0, counter=CounterId("umum-1"), actor="p"))
        for i, card in enumerate(("0001234567890", "0001234567891", "0001234567892")):
            issued = a.run(
                c.IssueTicket(
                    at=0, ticket_id=TicketId(f"t{i}"), token=TicketToken(f"k{i}"), service=ServiceCode("UMUM")
                )
            )
            visit = Visit(
                ticket_id=TicketId(issued.ticket_id), kodebooking=f"KB{i}", jenispasien="JKN", nik="3578010101900001",
                nomorkartu=card,
            )  # fmt: skip
            a.run(LinkVisit(at=0, visit=visit))
        a.run(c.CallNext(at=0, counter=CounterId("umum-1")), minutes=5)
        called = a.clock.now()
        a.run(c.Complete(at=0, counter=CounterId("umum-1")), minutes=6)
        a.run(c.CallNext(at=0, counter=CounterId("umum-1")), minutes=1)
        a.run(c.MarkMissed(at=0, counter=CounterId("umum-1")), minutes=2)
        a.run(c.Cancel(at=0, ticket_id=TicketId("t2"), actor="p", reason="pulang"), minutes=1)
        a.run(c.OpenCounter(at=0, counter=CounterId("umum-2"), actor="p"), minutes=24 * 60)  # the next day
        bpjs.wait_received(3 + 1 + 1 + 1)
        a.settle()
        paths = [(call.path, (call.body or {}).get("status")) for call in bpjs.accepted]
        assert sorted(paths, key=str) == sorted(
            [("antrean/add", None)] * 3 + [("antrean/panggil", 1), ("antrean/panggil", 2), ("antrean/batal", None)],
            key=str,
        )
        served = next(call for call in bpjs.accepted if (call.body or {}).get("status") == 1)
        assert served.body["nomorkartu"] == "0001234567890" and served.body["waktu"] == called
        assert all(call.headers.get("user_key") == FKTP_USER_KEY for call in bpjs.accepted)


def test_a_no_show_reaches_bpjs_as_task_99_when_the_day_ends(bpjs: BpjsStandIn) -> None:
    with app(bpjs, MemoryLog(), ManualClock(START)) as a:
        open_counters(a)
        issue = c.IssueTicket(at=0, ticket_id=TicketId("t1"), token=TicketToken("k1"), service=ServiceCode("UMUM"))
        issued = a.run(issue)
        visit = Visit(
            ticket_id=TicketId(issued.ticket_id), kodebooking="KB-99", jenispasien="NON JKN", nik="3578010101900001"
        )
        a.run(LinkVisit(at=0, visit=visit))
        a.run(c.CallNext(at=0, counter=CounterId("umum-1")), minutes=10)
        called = a.clock.now()
        a.run(c.MarkMissed(at=0, counter=CounterId("umum-1")), minutes=3)
        missed = a.clock.now()
        a.run(c.OpenCounter(at=0, counter=CounterId("loket-2"), actor="p"), minutes=24 * 60)  # the next morning
        bpjs.wait_received(4)  # add, 3 (arrived at the poli), 4 (called), 99 (at the missed call)
        a.settle()
        assert bpjs.tasks("KB-99") == {3: START, 4: called, 99: missed}
