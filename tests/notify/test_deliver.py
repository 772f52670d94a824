"""The deriver on states built by the real engine, and the notifiers against a real HTTP gateway."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import httpx2 as httpx
import pytest

from modules.notify.deliver import HttpGatewayNotifier, LogNotifier, Notice, NotifyDeriver, ahead_text, called_text
from modules.notify.module import OUTBOX, NotifyModule, Subscribe, Unsubscribe
from modules.outbox.message import Message, Status
from queue_engine.domain import commands as c
from queue_engine.domain.ids import CounterId, ServiceCode
from queue_engine.domain.model import Priority
from queue_engine.domain.state import Ticket
from queue_engine.domain.views import ticket_view
from tests.conftest import Desk, make_facility, service
from tests.redis_server import free_port

from .support import GATEWAY_TOKEN, PHONE, PHONE_FORMS, derive_all, gateway

FACILITY_NAME = "Puskesmas Uji"  # tests.conftest.make_facility


def desk(*, stages: bool = False, **options: Any) -> Desk:
    if stages:
        facility = make_facility(
            service("A", next_stages=(ServiceCode("B"),)), service("B"), counters={"L1": ("A",), "L2": ("B",)}
        )
    else:
        facility = make_facility(service("A"))
    return Desk(replace(facility, modules=(NotifyModule(**options),)))


def subscribe(d: Desk, ticket: Ticket, phone: str = PHONE) -> None:
    d.run(Subscribe(at=d.now, ticket_id=ticket.id, phone=phone))


def call(d: Desk, counter: str = "L1") -> Ticket:
    called = d.call_next(counter, complete_current=d.state.counters[CounterId(counter)].ticket is not None)
    assert called is not None
    return called


def texts(messages: list[Message]) -> list[tuple[str, str]]:
    return [(m.kind, m.body["notice"].text) for m in messages]


def test_six_ahead_is_told_at_five_at_two_and_when_called() -> None:
    d = desk()
    for _ in range(6):
        d.issue()
    mine = d.issue()
    subscribe(d, mine)
    assert ticket_view(d.state, mine, d.now).people_ahead == 6
    for _ in range(7):
        call(d)
    messages = derive_all(d.facility, d.events)
    assert texts(messages) == [
        ("ahead", ahead_text(FACILITY_NAME, "A007", 5)),
        ("ahead", ahead_text(FACILITY_NAME, "A007", 2)),
        ("called", called_text(FACILITY_NAME, "A007", "Loket L1")),
    ]
    assert messages[1].body["notice"].text == (
        "Antre Puskesmas Uji: nomor A007, tinggal 2 orang lagi sebelum Anda. Mohon bersiap. / 2 patients ahead of you."
    )
    assert messages[2].body["notice"].text == (
        "Antre Puskesmas Uji: nomor A007 dipanggil ke Loket L1. / Your number is called to Loket L1."
    )
    # keyed by the log position of the event that caused each; at = that event's time
    for message in messages:
        position, ticket, kind = message.key.split(":")[1:]
        assert ticket == mine.id and kind == message.kind
        assert message.at == d.events[int(position) - 1].at
        assert message.body["notice"].phone == "+6281234567890"


def test_a_ticket_close_already_gets_only_the_smallest_position_crossed() -> None:
    d = desk()
    d.issue()
    mine = d.issue()
    subscribe(d, mine)  # 1 ahead: below 5 and 2 at once
    call(d)
    call(d)
    assert texts(derive_all(d.facility, d.events)) == [
        ("ahead", ahead_text(FACILITY_NAME, "A002", 1)),
        ("called", called_text(FACILITY_NAME, "A002", "Loket L1")),
    ]
    assert ahead_text(FACILITY_NAME, "A002", 1).endswith("/ 1 patient ahead of you.")


def test_next_in_line_is_told_it_is_next() -> None:
    d = desk(ahead=[3])
    mine = d.issue()
    subscribe(d, mine)
    (message,) = derive_all(d.facility, d.events)
    assert (
        message.body["notice"].text
        == "Antre Puskesmas Uji: nomor A001, Anda berikutnya. Mohon bersiap. / You are next."
    )


def test_a_count_that_rises_again_does_not_repeat_a_position() -> None:
    d = desk()
    for _ in range(3):
        d.issue()
    mine = d.issue()
    subscribe(d, mine)  # 3 ahead: "5"
    call(d)  # 2 ahead: "2"
    d.issue(priority=Priority.DARURAT)  # an emergency goes first: 3 ahead
    call(d)  # 2 again
    call(d)  # 1
    assert [m.body["notice"].ahead for m in derive_all(d.facility, d.events)] == [3, 2]


def test_a_recall_is_told_again_and_a_requeued_wait_afresh() -> None:
    d = desk(ahead=[2])
    mine = d.issue()
    for _ in range(4):
        d.issue()
    subscribe(d, mine)
    call(d)
    d.run(c.Recall(at=d.now, counter=CounterId("L1")))
    d.miss()
    d.run(c.Requeue(at=d.now, ticket_id=mine.id))  # behind 3 people (the policy's requeue_places)
    while d.state.tickets[mine.id].status.value == "waiting":
        call(d)
    kinds = [(m.kind, m.body["notice"].ahead) for m in derive_all(d.facility, d.events)]
    assert kinds == [("ahead", 0), ("called", 0), ("recalled", 0), ("ahead", 2), ("called", 0)]


def test_the_next_stage_of_a_visit_is_told_under_its_new_number() -> None:
    d = desk(stages=True, ahead=[1])
    for _ in range(2):
        d.issue("B")
    mine = d.issue("A")
    subscribe(d, mine)
    call(d, "L1")
    d.complete("L1", next_service="B")  # now B003 with 2 ahead in B
    call(d, "L2")
    call(d, "L2")
    call(d, "L2")
    assert texts(derive_all(d.facility, d.events)) == [
        ("ahead", ahead_text(FACILITY_NAME, "A001", 0)),
        ("called", called_text(FACILITY_NAME, "A001", "Loket L1")),
        ("ahead", ahead_text(FACILITY_NAME, "B003", 1)),
        ("called", called_text(FACILITY_NAME, "B003", "Loket L2")),
    ]


def test_only_subscribed_tickets_are_told_and_unsubscribing_stops_it() -> None:
    d = desk()
    tickets = [d.issue() for _ in range(8)]
    subscribe(d, tickets[7])
    subscribe(d, tickets[3], "0813-0000-1111")
    d.run(Unsubscribe(at=d.now, ticket_id=tickets[7].id))
    for _ in range(8):
        call(d)
    messages = derive_all(d.facility, d.events)
    assert {m.body["notice"].ticket_id for m in messages} == {tickets[3].id}
    assert [m.kind for m in messages] == ["ahead", "ahead", "called"]


def test_derivation_is_deterministic() -> None:
    d = desk()
    tickets = [d.issue() for _ in range(9)]
    for ticket in tickets[4:]:
        subscribe(d, ticket)
    for _ in range(9):
        call(d)
    first = derive_all(d.facility, d.events)
    again = derive_all(d.facility, d.events)
    assert first == again
    assert len({m.key for m in first}) == len(first)


def test_reprs_of_notices_and_messages_mask_the_number() -> None:
    d = desk()
    subscribe(d, d.issue())
    (message,) = derive_all(d.facility, d.events)
    assert isinstance(message.body["notice"], Notice)
    for text in (repr(message), str(message), repr(message.body)):
        assert not any(form in text for form in PHONE_FORMS), text


def test_module_events_of_the_outbox_derive_nothing() -> None:
    d = desk()
    module = d.facility.modules[0]
    assert isinstance(module, NotifyModule)
    subscribe(d, d.issue())
    deriver = NotifyDeriver(module)
    assert len(derive_all(d.facility, d.events, deriver)) == 1
    advanced = d.run(OUTBOX.advance(at=d.now, stream="notify", upto=len(d.events), sent=1)).events
    assert deriver.derive(len(d.events), advanced[0], d.state) == []


# --------------------------------------------------------------------------- notifiers


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_the_gateway_gets_json_with_the_bearer_token_and_its_answers_map_to_outcomes() -> None:
    with gateway() as gw:
        notifier = HttpGatewayNotifier(gw.url, GATEWAY_TOKEN, "sms")
        try:
            gw.fail(503, 429, 400, 404)
            outcomes = [(await notifier.send("+6281234567890", "halo", key=f"k{i}")).status for i in range(5)]
        finally:
            await notifier.close()
        assert outcomes == [Status.RETRY, Status.RETRY, Status.FAILED, Status.FAILED, Status.SENT]
        last = gw.requests[-1]
        assert last.body == {"to": "+6281234567890", "message": "halo", "channel": "sms", "id": "k4"}
        assert last.authorization == f"Bearer {GATEWAY_TOKEN}"


@pytest.mark.anyio
async def test_no_gateway_listening_or_a_timeout_is_retried() -> None:
    refused = HttpGatewayNotifier(f"http://127.0.0.1:{free_port()}/send", "", "whatsapp")
    try:
        outcome = await refused.send("+6281234567890", "halo", key="k")
    finally:
        await refused.close()
    assert outcome.status is Status.RETRY

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("too slow", request=request)

    timing_out = HttpGatewayNotifier("http://gateway.test/send", "t", "whatsapp", transport=httpx.MockTransport(slow))
    try:
        outcome = await timing_out.send("+6281234567890", "halo", key="k")
    finally:
        await timing_out.close()
    assert (outcome.status, outcome.reason) == (Status.RETRY, "timeout")


@pytest.mark.anyio
async def test_the_log_notifier_logs_the_number_masked(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    outcome = await LogNotifier("whatsapp").send("+6281234567890", "halo", key="notify:3:t1:ahead")
    assert outcome.status is Status.SENT
    (record,) = [r for r in caplog.records if r.name == "antre.notify"]
    assert "***890" in record.getMessage() and "halo" in record.getMessage()
    assert not any(form in record.getMessage() for form in PHONE_FORMS)
