"""Alerts end to end: a running server judges, and tells each alert once to a real gateway and a real webhook receiver.

Time moves only with the manual clock; the judge's timer is what :meth:`Sla.tick` does. Every wait
is for a condition (the worker idle past the last event, the receiver holding N deliveries) under
a timeout. "Nothing more was sent" is checked once the worker is idle past the last event: it
sends in log order, so anything it would have sent is already at the gateway.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from modules.sla.module import AlertCleared, AlertOpened, SlaModule
from queue_engine import codec
from queue_engine.clock import ManualClock
from tests.notify.support import Gateway, gateway
from tests.web.conftest import START, fast_accounts, make_settings
from tests.webhooks.support import SECRET, SECRET_ENV, FastWebhooksModule, Receiver, receiving, subscriptions
from web.app import create_app

from .support import MINUTE, PHONES, PHONES_E164, demo_with, running, sla_module

pytestmark = pytest.mark.anyio

TOKEN = "gateway-token-for-sla-tests"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTRE_SLA_PHONES", PHONES)
    monkeypatch.setenv("ANTRE_NOTIFY_TOKEN", TOKEN)
    monkeypatch.setenv(SECRET_ENV, SECRET)
    monkeypatch.delenv("ANTRE_OUTBOX", raising=False)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def gw() -> Iterator[Gateway]:
    with gateway() as server:
        yield server


@pytest.fixture
async def receiver(clock: ManualClock) -> AsyncIterator[Receiver]:
    async with receiving(clock) as running_receiver:
        yield running_receiver


def texts(gw: Gateway) -> list[tuple[str, str, str]]:
    """(id, to, message) of every request answered 2xx, in order."""
    return [(b["id"], b["to"], b["message"]) for b in gw.delivered]


async def test_a_queue_alert_is_told_once_to_every_phone_and_webhook_even_across_a_restart(
    tmp_path: Path, clock: ManualClock, gw: Gateway, receiver: Receiver
) -> None:
    log_url = f"sqlite:///{tmp_path / 'antre.db'}"
    modules = (
        sla_module(services={"LOKET": {"queue_max": 3}}, gateway_url=gw.url),
        FastWebhooksModule(subscriptions=subscriptions(receiver.url, events=["sla.*"])),
    )
    async with running(log_url, modules, clock=clock) as server:
        gw.fail(503)  # the first message waits for one retry; the stream keeps its order
        await server.issue("LOKET", 3)
        await server.tick()
        assert server.open_alerts() == []
        await server.issue("LOKET")
        await server.tick()  # the check after the change may have opened it already: never twice
        assert server.open_alerts() == [("sla-1", "queue_length", "LOKET")]
        await server.sent()
        (hook,) = await receiver.wait_delivered(1)
        opened_position = server.runtime.state.position

    assert [r.status for r in gw.requests] == [503, 200, 200]
    assert {r.authorization for r in gw.requests} == {f"Bearer {TOKEN}"}
    opened = (
        "Antre Puskesmas Ketabang (demo) PERINGATAN: antrean Loket Pendaftaran 4 orang menunggu (batas 3). "
        "/ ALERT: Loket Pendaftaran queue has 4 waiting (limit 3)."
    )
    assert texts(gw) == [
        ("sla:sla-1:opened:1", PHONES_E164[0], opened),
        ("sla:sla-1:opened:2", PHONES_E164[1], opened),
    ]
    assert hook.valid and hook.body["type"] == "sla.alert_opened"
    assert hook.body["data"] == {
        "at": START,
        "alert_id": "sla-1",
        "kind": "queue_length",
        "subject": "LOKET",
        "value": 4,
        "threshold": 3,
        "since": None,
    }

    # A restart: the breach is still on; nothing is opened or sent again. Then it clears, told once.
    async with running(log_url, modules, clock=clock, id_prefix="r") as server:
        assert await server.tick() is None
        assert server.open_alerts() == [("sla-1", "queue_length", "LOKET")]
        await server.open("loket-1")
        await server.call("loket-1")
        await server.tick()
        assert server.open_alerts() == []
        assert [a.id for a in server.sla.history] == ["sla-1"]
        await server.sent()
        hooks = await receiver.wait_delivered(2)
        assert server.runtime.state.position > opened_position

    cleared = (
        "Antre Puskesmas Ketabang (demo) PULIH: antrean Loket Pendaftaran kembali 3 orang (batas 3). "
        "/ RESOLVED: Loket Pendaftaran queue back to 3 waiting."
    )
    assert texts(gw)[2:] == [
        ("sla:sla-1:cleared:1", PHONES_E164[0], cleared),
        ("sla:sla-1:cleared:2", PHONES_E164[1], cleared),
    ]
    assert len(gw.delivered) == 4 and len({b["id"] for b in gw.delivered}) == 4
    assert [h.body["type"] for h in hooks] == ["sla.alert_opened", "sla.alert_cleared"]
    assert len({h.key for h in receiver.attempts}) == 2


async def test_waits_and_pauses_cross_their_limits_as_the_clock_moves(
    clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Without a gateway the messages are logged (numbers masked); each alert once, on time."""
    caplog.set_level(logging.INFO, logger="antre.notify")
    module = sla_module(services={"UMUM": {"longest_wait_min": 45}}, counters={"loket-2": {"counter_paused_min": 20}})
    async with running("memory://", (module,), clock=clock) as server:
        await server.issue("UMUM")
        await server.open("loket-2")
        await server.pause("loket-2", "Rapat")
        clock.advance(19 * MINUTE)
        assert await server.tick() is None
        clock.advance(MINUTE)
        result = await server.tick()
        assert result is not None
        (paused,) = result.events
        assert isinstance(paused, AlertOpened)
        assert (paused.alert_id, paused.subject, paused.value, paused.at) == (
            "sla-1",
            "loket-2",
            20,
            START + 20 * MINUTE,
        )
        assert server.web.judge is not None
        assert server.web.judge.delay() == 1500.0  # the timer sleeps until the wait reaches 45 minutes (25 more)
        clock.advance(25 * MINUTE - 1)
        assert await server.tick() is None
        clock.advance(1)
        result = await server.tick()
        assert result is not None
        (waited,) = result.events
        assert isinstance(waited, AlertOpened)
        assert (waited.alert_id, waited.kind.value, waited.value, waited.since) == ("sla-2", "longest_wait", 45, START)
        clock.advance(10 * MINUTE)
        assert await server.tick() is None  # still breached: no second alert
        await server.open("loket-2")  # the pause ends; the judge clears it after the change
        await server.tick()
        assert server.open_alerts() == [("sla-2", "longest_wait", "UMUM")]
        cleared = server.sla.history[-1]
        assert (cleared.id, cleared.cleared_at) == ("sla-1", START + 55 * MINUTE)
        await server.sent()
    logged = [r.getMessage() for r in caplog.records if r.name == "antre.notify"]
    assert len(logged) == 6  # (paused opened, wait opened, paused cleared) x 2 phones
    assert all("2222" not in line and "4444" not in line for line in logged)
    assert sum("dijeda 20 menit (batas 20 menit), alasan: Rapat" in line for line in logged) == 2
    assert sum("ada pasien menunggu 45 menit" in line for line in logged) == 2


async def test_a_message_the_gateway_holds_up_past_stale_min_is_given_up(clock: ManualClock, gw: Gateway) -> None:
    module = sla_module(services={"LOKET": {"queue_max": 1}}, gateway_url=gw.url, stale_min=30)
    async with running("memory://", (module,), clock=clock) as server:
        gw.answer(503)
        await server.issue("LOKET", 2)
        await server.tick()
        await asyncio.to_thread(gw.wait_for, lambda requests: len(requests) >= 1)
        clock.advance(31 * MINUTE)  # the next tries find both messages stale
        await server.sent()
        failures = server.sla.outbox.streams["sla"].failures
        assert [(f.key, f.reason) for f in failures] == [
            ("sla:sla-1:opened:1", "stale: 31 min after its alert"),
            ("sla:sla-1:opened:2", "stale: 31 min after its alert"),
        ]
        await server.login("admin")
        outbox = (await server.http.get("/api/v1/sla/outbox")).json()
    assert gw.delivered == []
    assert (outbox["enabled"], outbox["notifier"], outbox["phones"]) == (
        True,
        "gateway",
        ["***********222", "***********444"],
    )
    assert [f["reason"] for f in outbox["failures"]] == ["stale: 31 min after its alert"] * 2


async def test_bad_phone_numbers_or_unknown_services_stop_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTRE_SLA_PHONES", "0812-1111-2222, 12345")
    with pytest.raises(ValueError, match="supervisors' phone 2 is not") as refused:
        await lifespan(sla_module(queue_max=5))
    assert "12345" not in str(refused.value)
    monkeypatch.setenv("ANTRE_SLA_PHONES", "")
    with pytest.raises(ValueError, match="unknown service"):
        await lifespan(sla_module(services={"POLI": {"queue_max": 5}}))


async def lifespan(module: SlaModule) -> None:
    """Start and stop the app's lifespan (no server: its error is the test's)."""
    app = create_app(make_settings(log_url="memory://"), facility=demo_with(module), accounts=fast_accounts())
    async with app.router.lifespan_context(app):
        pass


async def test_cleared_events_carry_what_they_close(clock: ManualClock) -> None:
    async with running("memory://", (sla_module(services={"LOKET": {"queue_max": 1}}),), clock=clock) as server:
        await server.issue("LOKET", 2)
        await server.tick()
        await server.open("loket-1")
        clock.advance(MINUTE)
        await server.call("loket-1")
        await server.tick()
        records = await server.runtime.log.read(server.runtime.facility.id, after=0, limit=100)
        events = [codec.decode_event(r.payload) for r in records]
        (cleared,) = [e for e in events if isinstance(e, AlertCleared)]
        assert (cleared.alert_id, cleared.value, cleared.threshold, cleared.opened_at) == ("sla-1", 1, 1, START)
