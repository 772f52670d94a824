"""The supervisor's page, its API and its live push over a real server socket; who may see them."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2 as httpx
import orjson
import pytest
from websockets.asyncio.client import ClientConnection

from modules.sla.site import SlaWeb
from queue_engine.domain import commands as c
from queue_engine.domain.ids import CounterId
from tests.web.conftest import PASSWORDS, fast_accounts
from tests.web.wsutil import Served, connect_ws, receive, refusal, serve, session_cookie, settings

from .support import MINUTE, SUPERVISOR, demo_with, sla_module

pytestmark = pytest.mark.anyio

ADMIN = {"Cookie": session_cookie("admin")}
SUPERVISING = {"Cookie": session_cookie(SUPERVISOR)}
NOT_SUPERVISING = {"Cookie": session_cookie("petugas-loket")}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTRE_SLA_PHONES", raising=False)
    monkeypatch.delenv("ANTRE_OUTBOX", raising=False)


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    module = sla_module(services={"LOKET": {"queue_max": 1}}, counter_paused_min=20)
    async with serve(settings(), facility=demo_with(module), accounts=fast_accounts()) as running:
        yield running


def web_of(served: Served) -> SlaWeb:
    part = next(p for p in served.state["web_modules"] if p.name == "sla")
    assert isinstance(part, SlaWeb)
    return part


async def next_data(ws: ClientConnection) -> dict[str, Any]:
    """The next snapshot or update's data (heartbeats are off in these settings)."""
    message = await receive(ws)
    assert message["type"] in ("snapshot", "update"), message
    data: dict[str, Any] = message["data"]
    return data


def counter(data: dict[str, Any], counter_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in data["counters"] if c["counter"] == counter_id)
    return found


def queue(data: dict[str, Any], service: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in data["services"] if s["service"] == service)
    return found


async def test_the_overview_updates_live_on_issues_pauses_and_alerts(served: Served) -> None:
    async with connect_ws(served, "/ws/sla", additional_headers=SUPERVISING) as ws:
        first = await receive(ws)
        assert first["type"] == "snapshot"
        assert queue(first["data"], "LOKET")["waiting"] == 0
        assert first["data"]["totals"] == {"waiting": 0, "open": 0, "paused": 0, "closed": 8, "alerts": 0}

        await served.issue()
        data = await next_data(ws)
        assert (queue(data, "LOKET")["waiting"], queue(data, "LOKET")["longest_wait_min"]) == (1, 0)

        await served.open("loket-1")  # a counter's change alone reaches the overview too
        data = await next_data(ws)
        assert counter(data, "loket-1")["status"] == "open"
        await served.pause("loket-1")
        data = await next_data(ws)
        paused = counter(data, "loket-1")
        assert (paused["status"], paused["pause_reason"], paused["since"], paused["minutes"]) == (
            "paused",
            "istirahat",
            served.clock.now(),
            0,
        )

        await served.issue()  # two waiting, over the limit of one: the judge opens an alert after the change
        data = await next_data(ws)
        if not data["alerts"]:  # the queue's update came first; the alert is the next one
            data = await next_data(ws)
        assert [(a["id"], a["kind"], a["name"], a["value"]) for a in data["alerts"]] == [
            ("sla-1", "queue_length", "Loket Pendaftaran", 2)
        ]
        assert queue(data, "LOKET")["alerts"] == ["sla-1"]

        served.clock.advance(20 * MINUTE)
        await web_of(served).tick()  # the timer's step: the pause reached 20 minutes
        data = await next_data(ws)
        assert [a["kind"] for a in data["alerts"]] == ["queue_length", "counter_paused"]
        assert counter(data, "loket-1")["alert"] == "sla-2"
        assert queue(data, "LOKET")["longest_wait_min"] == 20

        await served.submit(c.OpenCounter(at=served.clock.now(), counter=CounterId("loket-1"), actor="petugas"))
        data = await next_data(ws)
        if data["alerts"] and len(data["alerts"]) == 2:  # the counter's update first, then the cleared alert
            data = await next_data(ws)
        assert [a["id"] for a in data["alerts"]] == ["sla-1"]
        assert [(a["id"], a["cleared_at"]) for a in data["recent"]] == [("sla-2", served.clock.now())]


async def test_a_resumed_connection_gets_what_it_missed(served: Served) -> None:
    async with connect_ws(served, "/ws/sla", additional_headers=ADMIN) as ws:
        snapshot = await receive(ws)
    await served.issue()
    async with connect_ws(served, f"/ws/sla?after={snapshot['position']}", additional_headers=ADMIN) as ws:
        missed = await receive(ws)
        assert missed["type"] == "update" and queue(missed["data"], "LOKET")["waiting"] == 1
        assert (await receive(ws))["type"] == "heartbeat"


@pytest.mark.parametrize(
    "headers, code",
    [
        pytest.param({}, 4401, id="no-session"),
        pytest.param(NOT_SUPERVISING, 4403, id="staff-not-supervisor"),
        pytest.param({"Authorization": "Bearer papan-demo"}, 4403, id="display-device"),
        pytest.param({**SUPERVISING, "Origin": "http://evil.example"}, 4403, id="cross-site"),
        pytest.param({"Cookie": session_cookie("admin", "forged")}, 4401, id="forged"),
    ],
)
async def test_the_push_refuses_everyone_else_before_any_data(served: Served, headers: dict[str, str], code: int):
    assert await refusal(served, "/ws/sla", additional_headers=headers) == (code, [])


@asynccontextmanager
async def login(served: Served, username: str | None) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client with ``username``'s session (None: anonymous)."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{served.port}") as client:
        if username is not None:
            password = PASSWORDS[username]
            response = await client.post("/api/v1/auth/login", json={"username": username, "password": password})
            assert response.status_code == 200, response.text
        yield client


@pytest.mark.parametrize(
    "username, page, api, outbox",
    [
        (None, 401, 401, 401),
        ("petugas-loket", 403, 403, 403),
        (SUPERVISOR, 200, 200, 403),
        ("admin", 200, 200, 200),
    ],
)
async def test_only_admins_and_named_supervisors_see_it(
    served: Served, username: str | None, page: int, api: int, outbox: int
) -> None:
    async with login(served, username) as client:
        got = [(await client.get(path)).status_code for path in ("/supervisor", "/api/v1/sla", "/api/v1/sla/outbox")]
    assert got == [page, api, outbox]


async def test_the_page_renders_the_overview_in_indonesian_first(served: Served) -> None:
    await served.issue()
    await served.issue()
    await web_of(served).tick()
    async with login(served, "admin") as client:
        response = await client.get("/supervisor")
        overview = (await client.get("/api/v1/sla")).json()
    html = response.text
    assert response.headers["cache-control"] == "no-store"
    assert "Pengawasan antrean" in html and "Peringatan aktif" in html and "Antrean per layanan" in html
    assert re.search(r'<script src="/sla/static/supervisor\.js\?v=[0-9a-f]{10}" defer>', html)
    boot = orjson.loads(re.search(r'<script type="application/json" id="boot">(.*?)</script>', html, re.S)[1])  # type: ignore[index]
    assert boot["user"] == "admin" and boot["heartbeat_s"] == 3600.0
    assert [a["id"] for a in boot["view"]["alerts"]] == ["sla-1"]
    assert overview["alerts"] == boot["view"]["alerts"]
    assert overview["rules"]["counter_paused_min"] == 20 and overview["position"] > 0
    async with login(served, None) as client:
        refused = (await client.get("/supervisor")).text
        script = await client.get("/sla/static/supervisor.js")
    assert 'id="login-form"' in refused and 'id="boot"' not in refused
    assert script.status_code == 200 and "/ws/sla" in script.text


async def test_the_openapi_document_lists_the_endpoints(served: Served) -> None:
    async with login(served, None) as client:
        document = (await client.get("/api/v1/openapi.json")).json()
    assert "get" in document["paths"]["/api/v1/sla"] and "get" in document["paths"]["/api/v1/sla/outbox"]
    assert {"SlaOverview", "SlaOutbox"} <= set(document["components"]["schemas"])
