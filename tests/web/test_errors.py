"""Every error code the API can produce: its HTTP status and its JSON body {code, message_id, message_en}.

Each scenario builds its own app, provokes one refusal and returns the response. A second test
checks that a refused request changes nothing: not the state, not the log.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import httpx2 as httpx
import pytest
from starlette.testclient import TestClient

from queue_engine.clock import ManualClock, SequentialIds
from queue_engine.config import load_facility
from queue_engine.domain.ids import ServiceCode, TicketId, TicketToken
from queue_engine.domain.model import Quota
from queue_engine.log.base import LogUnavailable
from queue_engine.log.memory import MemoryLog
from web.errors import MESSAGES

from .conftest import KIOSK, MINUTE, START, api_client, issue, login, make_settings, open_counters, runtime_of

#: codes in MESSAGES that no API request can produce, and why
NOT_FROM_THE_API = {
    "log_error": "every log failure is answered as log_unavailable (503 + Retry-After)",
    "invalid_command": "the core raises InvalidCommand only with a specific code (reason_required, same_service…)",
    "module_not_enabled": "a module's routes exist only where it is enabled; the engine refuses its commands elsewhere",
}
#: http_error wraps Starlette's own HTTP errors and keeps their status (here: 405 Method Not Allowed)
STATUS_OF_HTTP_ERRORS = {"http_error": 405}


class FlakyLog(MemoryLog):
    """A memory log that can be taken down: appends then fail with LogUnavailable."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    async def append(self, facility: str, expected: int, payloads: Sequence[bytes]) -> int:
        if self.down:
            raise LogUnavailable("the disk is gone")
        return await super().append(facility, expected, payloads)


class RepeatingIds(SequentialIds):
    """Hands out the same ticket id and token every time (a broken id source)."""

    def ticket_id(self) -> TicketId:
        return TicketId("t-same")

    def token(self) -> TicketToken:
        return TicketToken("k-same-token")


Scenario = Callable[[TestClient], httpx.Response]
SCENARIOS: dict[str, tuple[dict[str, object], Scenario]] = {}


def scenario(code: str, **app: object) -> Callable[[Scenario], Scenario]:
    def register(fn: Scenario) -> Scenario:
        SCENARIOS[code] = (app, fn)
        return fn

    return register


@contextmanager
def app_for(options: dict[str, object]) -> Iterator[TestClient]:
    kwargs: dict[str, object] = {"clock": ManualClock(START)}
    kwargs.update(options)
    with api_client(**kwargs) as client:  # type: ignore[arg-type]
        yield client


def _admin_at(client: TestClient, *counters: str) -> dict[str, str]:
    csrf = login(client, "admin")
    open_counters(client, *counters)
    return csrf


@scenario("unknown_service")
def _unknown_service(client: TestClient) -> httpx.Response:
    return client.post("/api/v1/tickets", json={"service": "NOPE"}, headers=KIOSK)


@scenario("unknown_counter")
def _unknown_counter(client: TestClient) -> httpx.Response:
    login(client, "admin")
    return client.get("/api/v1/counters/nope")


@scenario("ticket_not_found")
def _ticket_not_found(client: TestClient) -> httpx.Response:
    return client.get("/api/v1/tickets/not-a-token")


@scenario("not_found")
def _not_found(client: TestClient) -> httpx.Response:
    return client.get("/api/v1/no-such-thing")


@scenario("invalid_transition")
def _invalid_transition(client: TestClient) -> httpx.Response:
    token = issue(client)["token"]
    client.post(f"/api/v1/tickets/{token}/cancel")
    return client.post(f"/api/v1/tickets/{token}/cancel")


@scenario("invalid_counter_transition")
def _invalid_counter_transition(client: TestClient) -> httpx.Response:
    csrf = login(client, "admin")
    return client.post("/api/v1/counters/loket-1/pause", json={"reason": "rapat"}, headers=csrf)  # closed


@scenario("counter_not_open")
def _counter_not_open(client: TestClient) -> httpx.Response:
    issue(client)
    csrf = login(client, "admin")
    return client.post("/api/v1/counters/loket-1/call-next", headers=csrf)


@scenario("counter_busy")
def _counter_busy(client: TestClient) -> httpx.Response:
    issue(client)
    issue(client)
    csrf = _admin_at(client, "loket-1")
    client.post("/api/v1/counters/loket-1/call-next", headers=csrf)
    return client.post("/api/v1/counters/loket-1/call-next", headers=csrf)


@scenario("counter_idle")
def _counter_idle(client: TestClient) -> httpx.Response:
    csrf = _admin_at(client, "loket-1")
    return client.post("/api/v1/counters/loket-1/recall", headers=csrf)


@scenario("queue_empty")
def _queue_empty(client: TestClient) -> httpx.Response:
    csrf = _admin_at(client, "loket-1")
    return client.post("/api/v1/counters/loket-1/call-next", headers=csrf)


_DEMO = load_facility()
_ONE_A_DAY = dataclasses.replace(
    _DEMO,
    services={
        **_DEMO.services,
        ServiceCode("LOKET"): dataclasses.replace(_DEMO.services[ServiceCode("LOKET")], quota=Quota(total=1)),
    },
)


@scenario("quota_exhausted", facility=_ONE_A_DAY)
def _quota_exhausted(client: TestClient) -> httpx.Response:
    issue(client)
    return client.post("/api/v1/tickets", json={"service": "LOKET"}, headers=KIOSK)


@scenario("outside_opening_hours", clock=ManualClock(START + 5 * 60 * MINUTE))  # 13:00: the loket closed at 12
def _outside_opening_hours(client: TestClient) -> httpx.Response:
    return client.post("/api/v1/tickets", json={"service": "LOKET"}, headers=KIOSK)


@scenario("service_not_served")
def _service_not_served(client: TestClient) -> httpx.Response:
    token = issue(client, "UMUM")["token"]
    csrf = _admin_at(client, "loket-1")
    ticket_id = runtime_of(client).state.by_token[token]
    return client.post("/api/v1/counters/loket-1/call", json={"ticket_id": ticket_id, "reason": "x"}, headers=csrf)


@scenario("stage_not_allowed")
def _stage_not_allowed(client: TestClient) -> httpx.Response:
    issue(client)
    csrf = _admin_at(client, "loket-1")
    client.post("/api/v1/counters/loket-1/call-next", headers=csrf)
    return client.post("/api/v1/counters/loket-1/complete", json={"next_service": "APOTEK"}, headers=csrf)


@scenario("checkin_not_allowed")
def _checkin_not_allowed(client: TestClient) -> httpx.Response:
    token = issue(client, headers={})["token"]
    clock = runtime_of(client).clock
    assert isinstance(clock, ManualClock)
    clock.advance(24 * 60 * MINUTE)
    return client.post(f"/api/v1/tickets/{token}/check-in", headers=KIOSK)


@scenario("duplicate_id", ids=RepeatingIds())
def _duplicate_id(client: TestClient) -> httpx.Response:
    issue(client)
    return client.post("/api/v1/tickets", json={"service": "LOKET"}, headers=KIOSK)


@scenario("nothing_to_undo")
def _nothing_to_undo(client: TestClient) -> httpx.Response:
    csrf = _admin_at(client, "loket-1")
    return client.post("/api/v1/counters/loket-1/undo", headers=csrf)


@scenario("reason_required")
def _reason_required(client: TestClient) -> httpx.Response:
    csrf = _admin_at(client, "loket-1")
    return client.post("/api/v1/counters/loket-1/pause", json={"reason": "   "}, headers=csrf)


@scenario("same_service")
def _same_service(client: TestClient) -> httpx.Response:
    token = issue(client)["token"]
    csrf = login(client, "admin")
    ticket_id = runtime_of(client).state.by_token[token]
    return client.post(f"/api/v1/staff/tickets/{ticket_id}/transfer", json={"to_service": "LOKET"}, headers=csrf)


@scenario("appointment_in_past")
def _appointment_in_past(client: TestClient) -> httpx.Response:
    body = {"service": "UMUM", "appointment_at": START - 60 * MINUTE}
    return client.post("/api/v1/tickets", json=body, headers=KIOSK)


@scenario("invalid_body")
def _invalid_body(client: TestClient) -> httpx.Response:
    return client.post("/api/v1/tickets", json={"service": 5}, headers=KIOSK)


@scenario("invalid_json")
def _invalid_json(client: TestClient) -> httpx.Response:
    headers = {**KIOSK, "Content-Type": "application/json"}
    return client.post("/api/v1/tickets", content=b'{"service": "LOKET"', headers=headers)


@scenario("unauthenticated")
def _unauthenticated(client: TestClient) -> httpx.Response:
    return client.get("/api/v1/counters/loket-1")


@scenario("bad_credentials")
def _bad_credentials(client: TestClient) -> httpx.Response:
    return client.post("/api/v1/auth/login", json={"username": "admin", "password": "salah"})


@scenario("forbidden")
def _forbidden(client: TestClient) -> httpx.Response:
    return client.get("/api/v1/counters/loket-1", headers=KIOSK)


@scenario("csrf_failed")
def _csrf_failed(client: TestClient) -> httpx.Response:
    login(client, "petugas-loket")
    return client.post("/api/v1/counters/loket-1/open")


@scenario("rate_limited", settings=make_settings(issue_rate_per_min=1))
def _rate_limited(client: TestClient) -> httpx.Response:
    issue(client, headers={})
    return client.post("/api/v1/tickets", json={"service": "LOKET"})


@scenario("log_unavailable", log=FlakyLog())
def _log_unavailable(client: TestClient) -> httpx.Response:
    log = runtime_of(client).log
    assert isinstance(log, FlakyLog)
    log.down = True
    return client.post("/api/v1/tickets", json={"service": "LOKET"}, headers=KIOSK)


@scenario("http_error")
def _http_error(client: TestClient) -> httpx.Response:
    return client.delete("/api/v1/facility")  # 405: the route exists, the method does not


def test_every_code_is_covered() -> None:
    assert set(SCENARIOS) == set(MESSAGES) - set(NOT_FROM_THE_API)
    assert set(NOT_FROM_THE_API) <= set(MESSAGES)


@pytest.mark.parametrize("code", sorted(SCENARIOS))
def test_error_code(code: str) -> None:
    options, provoke = SCENARIOS[code]
    with app_for(options) as client:
        response = provoke(client)
    status, message_id, message_en = MESSAGES[code]
    assert response.status_code == STATUS_OF_HTTP_ERRORS.get(code, status), response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert {k: body[k] for k in ("code", "message_id", "message_en")} == {
        "code": code,
        "message_id": message_id,
        "message_en": message_en,
    }
    assert set(body) <= {"code", "message_id", "message_en", "params"}
    if code in ("rate_limited", "log_unavailable"):
        assert int(response.headers["Retry-After"]) >= 1


@pytest.mark.parametrize("code", sorted(SCENARIOS))
def test_a_refused_request_changes_nothing(code: str) -> None:
    """The scenario's last request is the refused one: state and log are as they were just before it."""
    options, provoke = SCENARIOS[code]
    with app_for(options) as client:
        runtime = runtime_of(client)
        assert client.portal is not None
        portal = client.portal
        before: list[tuple[dict[str, object], int]] = []

        def remember(request: httpx.Request) -> None:
            logged = portal.call(runtime.log.last_position, runtime.facility.id)
            before.append((runtime.state.snapshot(), logged))

        client.event_hooks["request"].append(remember)
        response = provoke(client)
        assert response.status_code >= 400
        assert (runtime.state.snapshot(), portal.call(runtime.log.last_position, runtime.facility.id)) == before[-1]
