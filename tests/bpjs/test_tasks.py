"""What BPJS is told, derived from a real engine's log: task ids 1-7 in order with the real times, 99, FKTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from modules.bpjs.module import BpjsModule, LinkVisit, Visit
from modules.bpjs.tasks import TaskDeriver, quota_fields
from queue_engine import Runtime, load_facility
from queue_engine.clock import ManualClock, SequentialIds
from queue_engine.codec import decode_event
from queue_engine.domain import commands as c
from queue_engine.domain.evolve import apply
from queue_engine.domain.ids import CounterId, ServiceCode, TicketId, TicketToken
from queue_engine.domain.model import Channel, Payer
from queue_engine.domain.state import FacilityState
from queue_engine.log.memory import MemoryLog

pytestmark = pytest.mark.anyio

START = 1_795_654_800_000  # Thursday 2026-11-26 08:00 WIB
MINUTE = 60_000
POLI = {
    "UMUM": {
        "kodepoli": "INT",
        "namapoli": "Poli Umum",
        "kodedokter": 12345,
        "namadokter": "dr. Sari",
        "jampraktek": "07:30-13:00",
    }
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _module(variant: str = "rs") -> BpjsModule:
    return BpjsModule(variant=variant, registration=["LOKET"], pharmacy=["APOTEK"], poli=POLI)


@pytest.fixture
async def engine() -> AsyncIterator[tuple[Runtime, ManualClock]]:
    clock = ManualClock(START)
    facility = replace(load_facility(), modules=(_module(),))
    runtime = Runtime(facility, MemoryLog(), clock=clock, ids=SequentialIds())
    await runtime.start()
    for counter in ("loket-1", "umum-1", "apotek"):
        await runtime.submit(c.OpenCounter(at=clock.now(), counter=CounterId(counter), actor="p"))
    yield runtime, clock
    await runtime.close()


async def _derive(runtime: Runtime, module: BpjsModule) -> list[Any]:
    """Fold the log from the start, as the outbox worker does, and collect every message."""
    state = FacilityState(runtime.facility)
    deriver = TaskDeriver(module)
    out = []
    for record in await runtime.log.read(runtime.facility.id):
        event = decode_event(record.payload)
        apply(state, event)
        out += deriver.derive(record.position, event, state)
    return out


def _visit(ticket_id: TicketId, **overrides: Any) -> Visit:
    values: dict[str, Any] = {
        "ticket_id": ticket_id,
        "kodebooking": "20261126A001",
        "jenispasien": "JKN",
        "nik": "3578010101900001",
        "nomorkartu": "0001234567890",
        "nohp": "081234567890",
        "norm": "RM-001",
        "pasienbaru": 1,
        "nomorreferensi": "0301R0011125K000001",
        "source": "loket",
    }
    values.update(overrides)
    return Visit(**values)


async def _step(runtime: Runtime, clock: ManualClock, command: Any, minutes: int = 5) -> int:
    clock.advance(minutes * MINUTE)
    await runtime.submit(replace(command, at=clock.now()))
    return clock.now()


async def test_a_walk_in_from_loket_to_poli_to_apotek_gives_tasks_1_to_7_in_order_with_real_times(
    engine: tuple[Runtime, ManualClock],
) -> None:
    runtime, clock = engine
    at = clock.now()
    issued = await runtime.submit(
        c.IssueTicket(at=at, ticket_id=TicketId("t1"), token=TicketToken("k1"), service=ServiceCode("LOKET"))
    )
    ticket = TicketId(issued.ticket_id or "")
    times = {1: at}
    times[2] = await _step(runtime, clock, c.CallNext(at=0, counter=CounterId("loket-1")))
    await runtime.submit(LinkVisit(at=clock.now(), visit=_visit(ticket)))  # the loket enters the patient's card
    times[3] = await _step(
        runtime, clock, c.Complete(at=0, counter=CounterId("loket-1"), next_service=ServiceCode("UMUM"))
    )
    times[4] = await _step(runtime, clock, c.CallNext(at=0, counter=CounterId("umum-1")), minutes=20)
    times[5] = await _step(
        runtime, clock, c.Complete(at=0, counter=CounterId("umum-1"), next_service=ServiceCode("APOTEK")), minutes=8
    )
    times[6] = await _step(runtime, clock, c.CallNext(at=0, counter=CounterId("apotek")), minutes=12)
    await _step(runtime, clock, c.Recall(at=0, counter=CounterId("apotek")), minutes=1)  # a recall sends nothing
    times[7] = await _step(runtime, clock, c.Complete(at=0, counter=CounterId("apotek")))

    messages = await _derive(runtime, _module())
    assert [m.kind for m in messages] == ["antrean/add"] + ["antrean/updatewaktu"] * 7
    add = messages[0].body
    assert add["kodebooking"] == "20261126A001" and add["kodepoli"] == "INT" and add["jenispasien"] == "JKN"
    assert add["nomorantrean"].startswith("B") and add["angkaantrean"] == 1 and add["tanggalperiksa"] == "2026-11-26"
    assert add["pasienbaru"] == 1 and add["kodedokter"] == 12345
    tasks = [(m.body["taskid"], m.body["waktu"]) for m in messages[1:]]
    assert tasks == sorted(times.items())
    assert [t for _, t in tasks] == sorted(t for _, t in tasks)  # a smaller task id has an earlier time
    assert len({m.key for m in messages}) == len(messages)
    # Deriving again gives the same messages, keys included (a restarted worker resends nothing new).
    assert await _derive(runtime, _module()) == messages


async def test_a_mobile_jkn_booking_starts_at_the_poli_with_task_3_at_check_in(
    engine: tuple[Runtime, ManualClock],
) -> None:
    runtime, clock = engine
    booked = await runtime.submit(
        c.IssueTicket(
            at=clock.now(),
            ticket_id=TicketId("t1"),
            token=TicketToken("k1"),
            service=ServiceCode("UMUM"),
            channel=Channel.BPJS,
            payer=Payer.JKN,
            appointment_at=clock.now() + 60 * MINUTE,
        )
    )
    ticket = TicketId(booked.ticket_id or "")
    await runtime.submit(LinkVisit(at=clock.now(), visit=_visit(ticket, pasienbaru=0, source="mobilejkn")))
    arrived = await _step(runtime, clock, c.CheckIn(at=0, ticket_id=ticket), minutes=50)
    called = await _step(runtime, clock, c.CallNext(at=0, counter=CounterId("umum-1")), minutes=15)
    done = await _step(runtime, clock, c.Complete(at=0, counter=CounterId("umum-1")))
    messages = await _derive(runtime, _module())
    assert [m.kind for m in messages] == [
        "antrean/add",
        "antrean/updatewaktu",
        "antrean/updatewaktu",
        "antrean/updatewaktu",
    ]
    assert [(m.body["taskid"], m.body["waktu"]) for m in messages[1:]] == [(3, arrived), (4, called), (5, done)]
    assert messages[0].body["sisakuotajkn"] == 89 and messages[0].body["kuotajkn"] == 90


async def test_a_no_show_gives_99_and_a_cancellation_too(engine: tuple[Runtime, ManualClock]) -> None:
    runtime, clock = engine
    tickets = []
    for i in range(2):
        issued = await runtime.submit(
            c.IssueTicket(
                at=clock.now(), ticket_id=TicketId(f"t{i}"), token=TicketToken(f"k{i}"), service=ServiceCode("UMUM")
            )
        )
        ticket = TicketId(issued.ticket_id or "")
        tickets.append(ticket)
        await runtime.submit(LinkVisit(at=clock.now(), visit=_visit(ticket, kodebooking=f"KB{i}", source="loket")))
    await _step(runtime, clock, c.CallNext(at=0, counter=CounterId("umum-1")))
    missed = await _step(runtime, clock, c.MarkMissed(at=0, counter=CounterId("umum-1")))
    cancelled = await _step(runtime, clock, c.Cancel(at=0, ticket_id=tickets[1], actor="p", reason="pulang"))
    # the next day's first event ends the day: the missed one never came back
    clock.advance(24 * 60 * MINUTE)
    next_day = clock.now()
    await runtime.submit(c.OpenCounter(at=next_day, counter=CounterId("loket-2"), actor="p"))
    messages = await _derive(runtime, _module())
    ninety_nines = [(m.body["kodebooking"], m.body["waktu"]) for m in messages if m.body.get("taskid") == 99]
    assert ninety_nines == [("KB1", cancelled), ("KB0", missed)]  # the no-show at its missed call
    assert next_day > missed
    assert missed < cancelled


async def test_a_visit_without_bpjs_identity_or_poli_is_not_reported(engine: tuple[Runtime, ManualClock]) -> None:
    runtime, clock = engine
    await runtime.submit(
        c.IssueTicket(at=clock.now(), ticket_id=TicketId("t1"), token=TicketToken("k1"), service=ServiceCode("UMUM"))
    )
    linked = await runtime.submit(
        c.IssueTicket(at=clock.now(), ticket_id=TicketId("t2"), token=TicketToken("k2"), service=ServiceCode("LOKET"))
    )
    await runtime.submit(LinkVisit(at=clock.now(), visit=_visit(TicketId(linked.ticket_id or ""))))
    await _step(runtime, clock, c.CallNext(at=0, counter=CounterId("loket-1")))
    await _step(runtime, clock, c.Complete(at=0, counter=CounterId("loket-1")))  # registration only, no poli
    assert await _derive(runtime, _module()) == []


async def test_the_puskesmas_variant_adds_calls_hadir_and_tidak_hadir(engine: tuple[Runtime, ManualClock]) -> None:
    runtime, clock = engine
    for i in range(2):
        issued = await runtime.submit(
            c.IssueTicket(
                at=clock.now(), ticket_id=TicketId(f"t{i}"), token=TicketToken(f"k{i}"), service=ServiceCode("UMUM")
            )
        )
        visit = _visit(TicketId(issued.ticket_id or ""), kodebooking=f"KB{i}", nomorkartu=f"000123456789{i}")
        await runtime.submit(LinkVisit(at=clock.now(), visit=visit))
    called = await _step(runtime, clock, c.CallNext(at=0, counter=CounterId("umum-1")))
    await _step(runtime, clock, c.Complete(at=0, counter=CounterId("umum-1")))
    await _step(runtime, clock, c.CallNext(at=0, counter=CounterId("umum-1")))
    missed = await _step(runtime, clock, c.MarkMissed(at=0, counter=CounterId("umum-1")))
    clock.advance(24 * 60 * MINUTE)  # the day ends with the second still missed: tidak hadir
    await runtime.submit(c.OpenCounter(at=clock.now(), counter=CounterId("loket-2"), actor="p"))
    messages = await _derive(runtime, _module("fktp"))
    kinds = [(m.kind, m.body.get("status")) for m in messages]
    assert kinds == [("antrean/add", None), ("antrean/add", None), ("antrean/panggil", 1), ("antrean/panggil", 2)]
    assert messages[2].body["waktu"] == called and messages[3].body["waktu"] == missed
    assert set(messages[0].body) == {
        "nomorkartu", "nik", "nohp", "kodepoli", "namapoli", "norm", "tanggalperiksa", "kodedokter",
        "namadokter", "jampraktek", "nomorantrean", "angkaantrean", "keterangan",
    }  # fmt: skip


async def test_quota_fields_follow_the_engines_count(engine: tuple[Runtime, ManualClock]) -> None:
    runtime, clock = engine
    for i, payer in enumerate((Payer.JKN, Payer.JKN, Payer.UMUM)):
        await runtime.submit(
            c.IssueTicket(
                at=clock.now(), ticket_id=TicketId(f"t{i}"), token=TicketToken(f"k{i}"), service=ServiceCode("UMUM"),
                payer=payer,
            )
        )  # fmt: skip
    fields = quota_fields(runtime.state, ServiceCode("UMUM"), "2026-11-26")
    assert fields == {"kuotajkn": 90, "sisakuotajkn": 88, "kuotanonjkn": 30, "sisakuotanonjkn": 29}
