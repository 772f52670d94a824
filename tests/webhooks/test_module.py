"""The pure parts: options, the outbox commands, what a delivery holds, signing and verifying, outcomes."""

from __future__ import annotations

import ast
import socket
import tomllib
from pathlib import Path
from typing import Any

import httpx2 as httpx
import orjson
import pytest

from modules.outbox.message import Message, Status
from modules.outbox.progress import OutboxRefused
from modules.webhooks import module as webhooks_module
from modules.webhooks.deliver import (
    ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookDeriver,
    WebhookSender,
    message_body,
    outcome_of,
    sign,
    verify,
)
from modules.webhooks.module import OUTBOX, PUBLIC_TYPES, UnknownSubscription, WebhooksModule, matches
from queue_engine.clock import ManualClock
from queue_engine.config import ConfigError, parse_facility
from queue_engine.domain import commands as c
from queue_engine.domain.decide import decide
from queue_engine.domain.evolve import apply
from queue_engine.domain.ids import CounterId, ServiceCode, TicketId, TicketToken
from queue_engine.domain.state import FacilityState
from tests.conftest import START, make_facility, service

pytestmark = pytest.mark.anyio

SUB = {"id": "simrs", "url": "https://simrs.example/antre", "events": ["ticket.called"], "secret_env": "SIMRS_SECRET"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def with_sub(**changes: Any) -> dict[str, Any]:
    return {**SUB, **changes}


# --------------------------------------------------------------------------- options


def test_enabled_from_the_facility_file() -> None:
    facility = parse_facility(
        tomllib.loads(
            """
            [facility]
            id = "pkm-test"
            name = "Puskesmas Uji"
            [[services]]
            code = "A"
            name = "Loket"
            prefix = "A"
            [[modules]]
            use = "webhooks"
            [[modules.subscriptions]]
            id = "simrs"
            url = "https://simrs.example/antre"
            events = ["ticket.called", "counter.*"]
            secret_env = "ANTRE_WEBHOOK_SIMRS_SECRET"
            [[modules.subscriptions]]
            id = "dinkes"
            url = "http://10.0.0.5:8080/hook?k=1"
            events = ["ticket.*"]
            secret_env = "DINKES"
            """
        )
    )
    (module,) = facility.modules
    assert isinstance(module, WebhooksModule)
    assert [s.id for s in module.subscriptions] == ["simrs", "dinkes"]
    simrs = module.by_id["simrs"]
    assert simrs.events == ("ticket.called", "counter.*") and simrs.secret_env == "ANTRE_WEBHOOK_SIMRS_SECRET"
    assert simrs.wants("ticket.called") and simrs.wants("counter.paused") and not simrs.wants("ticket.completed")
    assert module.event_types == OUTBOX.events
    assert [t.TYPE for t in module.event_types] == ["webhooks.outbox_advanced", "webhooks.outbox_rewound"]


@pytest.mark.parametrize(
    "subs, error",
    [
        ([SUB, SUB], "unique"),
        ([with_sub(id="")], "subscription id"),
        ([with_sub(id="Has Space")], "subscription id"),
        ([with_sub(url="ftp://simrs.example/")], "http:// or https://"),
        ([with_sub(url="https:///nohost")], "http:// or https://"),
        ([with_sub(url="https://user:pw@simrs.example/")], "credentials"),
        ([with_sub(url="https://simrs.example:99999/")], "malformed"),
        ([with_sub(url=5)], "url must be a string"),
        ([with_sub(events=[])], "non-empty list"),
        ([with_sub(events="ticket.called")], "non-empty list"),
        ([with_sub(events=["ticket.nope"])], "unknown event pattern"),
        ([with_sub(events=["patient.*"])], "unknown event pattern"),
        ([with_sub(events=["*"])], "unknown event pattern"),
        ([with_sub(events=["command.recorded"])], "unknown event pattern"),
        ([with_sub(events=["bpjs.visit_linked"])], "unknown event pattern"),
        ([with_sub(events=[3])], "must be a string"),
        ([with_sub(secret="hunter2")], "environment"),
        ([with_sub(secret_env="lower-case")], "secret_env"),
        ([{k: v for k, v in SUB.items() if k != "secret_env"}], "secret_env"),
        ([with_sub(retries=3)], "unknown option"),
        (["simrs"], "table"),
        ({"id": "simrs"}, "list of tables"),
    ],
)
def test_bad_options_are_refused_naming_what_is_wrong(subs: Any, error: str) -> None:
    with pytest.raises(ValueError, match=error) as refused:
        WebhooksModule(subscriptions=subs)
    assert "hunter2" not in str(refused.value)


def test_bad_options_in_the_file_are_a_configuration_error() -> None:
    """Inline tables work too (TOML keeps each on one line)."""
    with pytest.raises(ConfigError, match="unique"):
        parse_facility(
            tomllib.loads(
                '[facility]\nid = "p"\nname = "P"\n[[services]]\ncode = "A"\nname = "A"\nprefix = "A"\n'
                '[[modules]]\nuse = "webhooks"\nsubscriptions = [{id = "a", url = "https://a.example", '
                'events = ["ticket.*"], secret_env = "A"}, {id = "a", url = "https://b.example", '
                'events = ["ticket.*"], secret_env = "B"}]\n'
            )
        )


def test_patterns_name_exact_types_or_a_family() -> None:
    assert matches("ticket.called", "ticket.called") and not matches("ticket.called", "ticket.calledx")
    assert matches("ticket.*", "ticket.completed") and not matches("ticket.*", "tickets.x")
    assert not matches("counter.*", "ticket.called")
    assert "command.recorded" not in PUBLIC_TYPES and {"ticket.called", "counter.opened"} <= PUBLIC_TYPES


def test_the_domain_part_does_no_io() -> None:
    """module.py imports nothing that does I/O (the web part and the sender live elsewhere)."""
    tree = ast.parse(Path(webhooks_module.__file__).read_text())
    imported = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }
    forbidden = ("os", "time", "random", "socket", "httpx", "httpx2", "starlette", "web", "queue_engine.runtime")
    assert not {m for m in imported if m.split(".")[0] in forbidden or m in forbidden}, imported


# --------------------------------------------------------------------------- the outbox commands


def test_progress_is_module_state_and_rewinds_name_a_subscription() -> None:
    module = WebhooksModule(subscriptions=[SUB])
    core = FacilityState(make_facility(service("A")))
    state = module.new_state()
    (advanced,) = module.decide(core, state, OUTBOX.advance(at=START, stream="simrs", upto=7, sent=2))
    module.apply(state, advanced)
    assert state.outbox.cursor("simrs") == 7
    assert module.decide(core, state, OUTBOX.advance(at=START, stream="simrs", upto=7, sent=0)) == []
    with pytest.raises(UnknownSubscription):
        module.decide(core, state, OUTBOX.rewind(at=START, stream="other", to=0, actor="admin"))
    with pytest.raises(OutboxRefused):  # forward of the cursor: nothing to send again
        module.decide(core, state, OUTBOX.rewind(at=START, stream="simrs", to=8, actor="admin"))
    (rewound,) = module.decide(core, state, OUTBOX.rewind(at=START, stream="simrs", to=3, actor="admin"))
    module.apply(state, rewound)
    assert state.outbox.cursor("simrs") == 3
    assert module.load(orjson.loads(orjson.dumps(module.dump(state)))).outbox.streams["simrs"].sent == 2


# --------------------------------------------------------------------------- what is delivered


def history() -> tuple[FacilityState, list[tuple[int, Any]]]:
    """Open a counter, issue a ticket (with an idempotency key), call it, complete it: (state, events)."""
    state = FacilityState(make_facility(service("A"), counters={"c1": ("A",)}))
    counter = CounterId("c1")
    commands: list[c.Command] = [
        c.OpenCounter(at=START, counter=counter, actor="petugas"),
        c.IssueTicket(
            at=START,
            ticket_id=TicketId("t1"),
            token=TicketToken("secret-token"),
            service=ServiceCode("A"),
            idempotency_key="client-key",
        ),
        c.CallNext(at=START + 1000, counter=counter, actor="petugas"),
        c.Complete(at=START + 2000, counter=counter, actor="petugas"),
    ]
    events = []
    for command in commands:
        for event in decide(state, command).events:
            apply(state, event)
            events.append((state.position, event))
    return state, events


def test_a_subscription_gets_one_message_per_event_it_asks_for() -> None:
    state, events = history()
    everything = WebhookDeriver(webhooks_module.subscription(with_sub(events=["ticket.*", "counter.opened"])))
    messages = [m for position, event in events for m in everything.derive(position, event, state)]
    assert [m.kind for m in messages] == ["counter.opened", "ticket.issued", "ticket.called", "ticket.completed"]
    assert [m.key for m in messages] == [f"simrs:{p}" for p, _ in events]
    issued = messages[1].body
    assert issued["data"]["ticket_id"] == "t1" and issued["data"]["number"] == "A001"
    assert "token" not in issued["data"] and "idempotency_key" not in issued["data"]
    assert b"secret-token" not in orjson.dumps(messages) and b"client-key" not in orjson.dumps(messages)
    calls = WebhookDeriver(webhooks_module.subscription(SUB))
    called = [m for position, event in events for m in calls.derive(position, event, state)]
    assert [m.kind for m in called] == ["ticket.called"]
    position, event = events[2]
    assert called[0].body == {
        "id": f"simrs:{position}",
        "type": "ticket.called",
        "version": 1,
        "position": position,
        "facility": "pkm-test",
        "data": {
            "at": START + 1000,
            "ticket_id": "t1",
            "counter": "c1",
            "actor": "petugas",
            "out_of_order": False,
            "reason": "",
        },
    }
    assert called[0].body == message_body("simrs", position, event, "pkm-test")


def test_module_events_are_never_forwarded() -> None:
    state, _ = history()
    deriver = WebhookDeriver(webhooks_module.subscription(with_sub(events=["ticket.*", "counter.*"])))
    advanced = OUTBOX.advanced(at=START, stream="simrs", upto=3, sent=1)
    assert deriver.derive(9, advanced, state) == []


# --------------------------------------------------------------------------- signatures


def test_verify_accepts_the_signature_and_refuses_any_change() -> None:
    body = b'{"id":"simrs:4","type":"ticket.called"}'
    ts = "1795654800"
    header = "v1=" + sign("s3cret", ts, body)
    now = 1795654800.0
    assert verify("s3cret", ts, body, header, now)
    assert verify(b"s3cret", ts, body, header, now + 300)  # bytes secret; at the edge of the tolerance
    assert verify("s3cret", ts, body, f"v1=deadbeef, {header}", now)  # rotation: any v1 may match
    assert not verify("s3cret", ts, body.replace(b"4", b"5"), header, now)  # tampered body
    assert not verify("s3cret", "1795654801", body, header, now)  # tampered timestamp
    assert not verify("other", ts, body, header, now)  # another secret
    assert not verify("s3cret", ts, body, header, now + 301)  # stale (a replayed request)
    assert not verify("s3cret", ts, body, header, now - 301)  # from the future
    assert not verify("s3cret", ts, body, header.replace("v1=", "v0="), now)
    assert not verify("s3cret", ts, body, "", now)
    assert not verify("s3cret", "", body, header, now)
    assert not verify("s3cret", "\uff11\uff12", body, header, now)  # non-ASCII (fullwidth) digits
    assert not verify("s3cret", ts, body, "v1=é", now)


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    expected = hmac.new(b"k", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert sign("k", 1700000000, b"{}") == expected


@pytest.mark.parametrize(
    "status, outcome",
    [
        (200, Status.SENT),
        (204, Status.SENT),
        (299, Status.SENT),
        (408, Status.RETRY),
        (425, Status.RETRY),
        (429, Status.RETRY),
        (500, Status.RETRY),
        (503, Status.RETRY),
        (400, Status.FAILED),
        (401, Status.FAILED),
        (404, Status.FAILED),
        (410, Status.FAILED),
        (301, Status.FAILED),
    ],
)
def test_statuses_map_to_outcomes(status: int, outcome: Status) -> None:
    assert outcome_of(status).status is outcome


async def test_a_request_is_signed_and_an_unreachable_receiver_is_tried_again() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    sub = webhooks_module.subscription(with_sub(url=f"http://127.0.0.1:{port}/hook"))
    clock = ManualClock(START)
    async with httpx.AsyncClient() as client:
        sender = WebhookSender(sub, "s3cret", client=client, clock=clock)
        message = Message(key="simrs:4", kind="ticket.called", body={"id": "simrs:4"}, at=START)
        body, headers = sender.request(message)
        assert headers[ID_HEADER] == "simrs:4" and headers["User-Agent"] == "Antre-Webhooks/1"
        assert headers[TIMESTAMP_HEADER] == str(START // 1000)
        assert verify("s3cret", headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER], START / 1000)
        outcome = await sender.send(message)
    assert outcome.status is Status.RETRY and outcome.reason.startswith("network: ConnectError")
    with pytest.raises(ValueError, match="no secret"):
        WebhookSender(sub, "", client=client, clock=clock)
