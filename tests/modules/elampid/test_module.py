"""e-Lampid as an engine module: applications through the runtime, in the log, rebuilt on restart."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path

import pytest

from modules.elampid import CertificateKind, parse_application
from modules.elampid.domain import ApplicationId, ApplicationStatus, ReceiptNumber
from modules.elampid.errors import InvalidApplicationTransition, InvalidElampidCommand
from modules.elampid.module import (
    CheckInForHandover,
    ChooseHandoverSlot,
    ElampidModule,
    HandOver,
    IssueCertificate,
    RecordView,
    RequestFix,
    ResubmitApplication,
    SubmitApplication,
    VerifyApplication,
)
from queue_engine import Runtime, load_facility, load_state
from queue_engine.clock import ManualClock, SequentialIds
from queue_engine.codec import decode_event
from queue_engine.log import EventLog
from queue_engine.log.memory import MemoryLog
from queue_engine.log.sqlite import SqliteLog

from .support import TODAY, birth_data, death_data

pytestmark = pytest.mark.anyio

START = 1_795_654_800_000
AID = ApplicationId("app-1")
HOUR = 3_600_000


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["memory", "sqlite"])
def connect(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], EventLog]:
    shared = MemoryLog()
    return (lambda: shared) if request.param == "memory" else (lambda: SqliteLog(tmp_path / "antre.db"))


@pytest.fixture
async def node(connect: Callable[[], EventLog]) -> AsyncIterator[Runtime]:
    facility = replace(load_facility(), modules=(ElampidModule(),))
    runtime = Runtime(facility, connect(), clock=ManualClock(START), ids=SequentialIds())
    await runtime.start()
    yield runtime
    await runtime.close()
    await runtime.log.close()


def documents(kind: CertificateKind) -> list[str]:
    from modules.elampid import REQUIRED_DOCUMENTS

    return [doc.id for doc in REQUIRED_DOCUMENTS[kind]]


@pytest.mark.parametrize("kind", list(CertificateKind))
async def test_an_application_goes_from_submitted_to_handed_over_and_a_restart_rebuilds_it(
    node: Runtime, connect: Callable[[], EventLog], kind: CertificateKind
) -> None:
    data = birth_data() if kind is CertificateKind.KELAHIRAN else death_data()
    application = parse_application(kind, data, today=TODAY)
    at = START
    await node.submit(
        SubmitApplication(
            at=at,
            application_id=AID,
            receipt_number=ReceiptNumber("R-0001"),
            application=application,
            documents=documents(kind),
        )
    )
    await node.submit(RequestFix(at=at + 1, application_id=AID, reasons=["Foto KK buram"], actor="petugas"))
    with pytest.raises(InvalidApplicationTransition):  # refused: nothing written
        await node.submit(IssueCertificate(at=at + 2, application_id=AID, actor="petugas"))
    position = node.state.position
    await node.submit(
        ResubmitApplication(at=at + 3, application_id=AID, application=application, documents=documents(kind))
    )
    assert node.state.position == position + 1
    for command in (
        VerifyApplication(at=at + 4, application_id=AID, actor="petugas"),
        IssueCertificate(at=at + 5, application_id=AID, actor="petugas"),
        ChooseHandoverSlot(at=at + 6, application_id=AID, slot=at + 24 * HOUR),
        HandOver(at=at + 24 * HOUR, application_id=AID, actor="petugas"),
    ):
        await node.submit(command)
    record = node.state.modules["elampid"].get(AID)
    assert record.status is ApplicationStatus.SELESAI and record.application == application
    log = connect()
    types = [decode_event(r.payload).TYPE for r in await log.read(node.facility.id)]
    assert types == [
        "elampid.submitted",
        "elampid.fix_requested",
        "elampid.resubmitted",
        "elampid.verified",
        "elampid.issued",
        "elampid.handover_slot_chosen",
        "elampid.handed_over",
    ]
    restarted = await load_state(node.facility, log)
    assert restarted.modules["elampid"] == node.state.modules["elampid"]
    assert restarted.snapshot() == node.state.snapshot()
    if log is not node.log:
        await log.close()


async def test_a_snapshot_keeps_every_application(node: Runtime) -> None:
    from queue_engine import codec
    from queue_engine.domain.state import FacilityState

    for i, kind in enumerate(CertificateKind):
        data = birth_data() if kind is CertificateKind.KELAHIRAN else death_data()
        await node.submit(
            SubmitApplication(
                at=START + i,
                application_id=ApplicationId(f"app-{i}"),
                receipt_number=ReceiptNumber(f"R-{i}"),
                application=parse_application(kind, data, today=TODAY),
                documents=documents(kind),
            )
        )
    restored = FacilityState.from_snapshot(node.facility, codec.loads(codec.dumps(node.state.snapshot())))
    assert restored.modules["elampid"] == node.state.modules["elampid"]
    assert restored.snapshot() == node.state.snapshot()


async def test_a_snapshot_keeps_the_handover_ticket_and_the_audit_log(node: Runtime) -> None:
    from queue_engine import codec
    from queue_engine.domain.commands import IssueTicket
    from queue_engine.domain.ids import ServiceCode, TicketId, TicketToken
    from queue_engine.domain.model import Channel
    from queue_engine.domain.state import FacilityState

    kind = CertificateKind.KELAHIRAN
    await node.submit(
        SubmitApplication(
            at=START,
            application_id=AID,
            receipt_number=ReceiptNumber("R-1"),
            application=parse_application(kind, birth_data(), today=TODAY),
            documents=documents(kind),
        )
    )
    await node.submit(RecordView(at=START + 1, application_id=AID, actor="petugas", what="application"))
    for command in (
        VerifyApplication(at=START + 2, application_id=AID, actor="petugas"),
        IssueCertificate(at=START + 3, application_id=AID, actor="petugas"),
        ChooseHandoverSlot(at=START + 4, application_id=AID, slot=START + HOUR),
    ):
        await node.submit(command)
    with pytest.raises(InvalidElampidCommand):  # the engine has no such ticket
        await node.submit(CheckInForHandover(at=START + 5, application_id=AID, ticket_id=TicketId("t-none")))
    issued = await node.submit(
        IssueTicket(
            at=START + 5,
            ticket_id=TicketId("t-h"),
            token=TicketToken("tok-h"),
            service=ServiceCode("LOKET"),
            channel=Channel.MODULE,
        )
    )
    assert issued.ticket_id == "t-h"
    await node.submit(CheckInForHandover(at=START + 6, application_id=AID, ticket_id=TicketId("t-h")))
    restored = FacilityState.from_snapshot(node.facility, codec.loads(codec.dumps(node.state.snapshot())))
    state = restored.modules["elampid"]
    assert state == node.state.modules["elampid"]
    assert state.tickets == {"t-h": AID} and [e.what for e in state.audit] == ["application"]


def test_options_are_checked() -> None:
    assert ElampidModule(kelurahan=[" Ketabang "]).kelurahan == ("Ketabang",)
    for bad in (
        {"kelurahan": "Ketabang"},
        {"kelurahan": [""]},
        {"slot_minutes": 1},
        {"slot_days": 0},
        {"max_upload_mb": 99},
    ):
        with pytest.raises(ValueError, match="elampid"):
            ElampidModule(**bad)


async def test_a_command_of_another_shape_is_refused(node: Runtime) -> None:
    from dataclasses import dataclass
    from typing import ClassVar

    from queue_engine.domain.modules import ModuleCommand

    @dataclass(frozen=True, slots=True, kw_only=True)
    class Stray(ModuleCommand):
        MODULE: ClassVar[str] = "elampid"

    with pytest.raises(InvalidElampidCommand):
        await node.submit(Stray(at=START))
