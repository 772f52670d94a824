"""Fixtures for the HTTP API tests: an app on a memory log, a manual clock and sequential ids.

Every test gets its own app (its own lifespan, registry and rate limiter) through
:func:`api_client`, a context manager, so the lifespan runs. Demo accounts are re-hashed with a
cheap scrypt cost for speed (same users, passwords, counters and devices); one test logs in
against the real demo hashes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from functools import cache
from typing import Any

import pytest
from starlette.testclient import TestClient

from queue_engine.clock import IdSource, ManualClock, SequentialIds
from queue_engine.config import demo_path
from queue_engine.domain.commands import Command, OpenCounter
from queue_engine.domain.ids import CounterId
from queue_engine.domain.model import Facility
from queue_engine.log.base import EventLog
from queue_engine.log.memory import MemoryLog
from queue_engine.runtime import Result, Runtime
from web.app import create_app
from web.auth import Accounts, hash_password
from web.settings import Settings

#: Thursday 2026-11-26 08:00 Asia/Jakarta (01:00 UTC), in ms since the epoch
START = 1_795_654_800_000
MINUTE = 60_000

PASSWORDS = {
    "admin": "admin-demo",
    "petugas-loket": "petugas-demo",
    "petugas-poli": "petugas-demo",
    "petugas-farmasi": "petugas-demo",
}
KIOSK = {"Authorization": "Bearer kiosk-demo"}
BOARD = {"Authorization": "Bearer papan-demo"}  # display ruang-tunggu
BOARD_APOTEK = {"Authorization": "Bearer papan-apotek-demo"}  # display apotek-lab
METRICS_TOKEN = "metrics-secret-for-tests"


@cache
def fast_accounts() -> Accounts:
    """The demo accounts with scrypt n=2 instead of 2**14."""
    demo = Accounts.from_toml(demo_path())
    users = {
        name: replace(user, password_hash=hash_password(PASSWORDS[name], salt=b"s" * 16, n=2))
        for name, user in demo.users.items()
    }
    return Accounts(users=users, devices=demo.devices)


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"secret_key": "test-secret-key-0123456789abcdef", "metrics_token": METRICS_TOKEN}
    values.update(overrides)
    return Settings(**values)


@contextmanager
def api_client(
    settings: Settings | None = None,
    *,
    clock: ManualClock | None = None,
    ids: IdSource | None = None,
    log: EventLog | None = None,
    facility: Facility | None = None,
    accounts: Accounts | None = None,
) -> Iterator[TestClient]:
    """A started app (lifespan run) behind a TestClient."""
    app = create_app(
        settings or make_settings(),
        log=log or MemoryLog(),
        clock=clock or ManualClock(START),
        ids=ids or SequentialIds(),
        facility=facility,
        accounts=accounts or fast_accounts(),
    )
    with TestClient(app) as client:
        yield client


def runtime_of(client: TestClient) -> Runtime:
    runtime = client.app_state["runtime"]
    assert isinstance(runtime, Runtime)
    return runtime


def submit(client: TestClient, command: Command) -> Result:
    """Run a command straight on the app's runtime (test set-up without going through the API)."""
    assert client.portal is not None
    return client.portal.call(runtime_of(client).submit, command)


def open_counters(client: TestClient, *counters: str) -> None:
    for counter in counters:
        submit(client, OpenCounter(at=runtime_of(client).now(), counter=CounterId(counter), actor="setup"))


def login(client: TestClient, username: str, password: str | None = None) -> dict[str, str]:
    """Log in; the headers a cookie-authenticated change needs (the CSRF token)."""
    response = client.post(
        "/api/v1/auth/login", json={"username": username, "password": password or PASSWORDS[username]}
    )
    assert response.status_code == 200, response.text
    return {"X-CSRF-Token": response.json()["csrf"]}


def issue(
    client: TestClient, service: str = "LOKET", headers: dict[str, str] | None = None, **body: Any
) -> dict[str, Any]:
    """Issue a ticket (by default at the kiosk) and return the answer."""
    response = client.post(
        "/api/v1/tickets", json={"service": service, **body}, headers=KIOSK if headers is None else headers
    )
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def client(clock: ManualClock) -> Iterator[TestClient]:
    with api_client(clock=clock) as c:
        yield c


@pytest.fixture
def runtime(client: TestClient) -> Runtime:
    return runtime_of(client)
