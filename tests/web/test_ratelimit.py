"""Anonymous remote issuing is rate-limited per client address, on the app's injected clock."""

from __future__ import annotations

from starlette.testclient import TestClient

from queue_engine.clock import ManualClock
from web.ratelimit import SlidingWindow

from .conftest import KIOSK, api_client, issue, login, make_settings, runtime_of

SECOND = 1_000


def _anonymous(client: TestClient) -> int:
    return client.post("/api/v1/tickets", json={"service": "LOKET"}).status_code


def test_remote_issuing_slides_over_a_minute(clock: ManualClock) -> None:
    with api_client(make_settings(issue_rate_per_min=3), clock=clock) as client:
        assert _anonymous(client) == 201
        clock.advance(20 * SECOND)
        assert _anonymous(client) == 201
        clock.advance(20 * SECOND)
        assert _anonymous(client) == 201
        refused = client.post("/api/v1/tickets", json={"service": "LOKET"})
        assert refused.status_code == 429
        assert refused.json()["params"] == {"retry_after_s": 20}
        assert refused.headers["Retry-After"] == "20"

        clock.advance(20 * SECOND - 1)  # 59.999 s after the first: it still counts
        assert _anonymous(client) == 429
        clock.advance(1)  # the first hit leaves the window: one more fits, not three
        assert _anonymous(client) == 201
        assert _anonymous(client) == 429
        assert len(runtime_of(client).state.tickets) == 4


def test_devices_and_staff_are_not_limited() -> None:
    with api_client(make_settings(issue_rate_per_min=1)) as client:
        for _ in range(5):
            issue(client, headers=KIOSK)
        csrf = login(client, "petugas-loket")
        for _ in range(5):
            issue(client, headers=csrf)


def test_sliding_window_counts_per_key() -> None:
    window = SlidingWindow(60 * SECOND)
    assert window.hit("a", 0, 2) is None
    assert window.hit("a", 1, 2) is None
    assert window.hit("a", 2, 2) == 60 * SECOND - 2
    assert window.hit("b", 2, 2) is None  # another client is not affected
    assert window.hit("a", 60 * SECOND, 2) is None  # the hit at 0 expired
    assert window.hit("a", 60 * SECOND, 2) == 1


def test_retry_after_records_nothing() -> None:
    window = SlidingWindow(1_000)
    for _ in range(3):
        assert window.retry_after("a", 0, 1) is None
    window.record("a", 0)
    assert window.retry_after("a", 0, 1) == 1_000
    assert window.retry_after("a", 0, 0) == 1_000  # a limit of 0 refuses everything
    assert window.retry_after("a", 1_000, 1) is None


def test_a_lowered_limit_waits_for_enough_hits_to_expire() -> None:
    window = SlidingWindow(1_000)
    for at in (0, 100, 200):
        window.record("a", at)
    assert window.retry_after("a", 300, 1) == 900  # the newest (200) must leave first
    assert window.retry_after("a", 300, 2) == 800


def test_expired_clients_are_swept_so_memory_stays_bounded() -> None:
    window = SlidingWindow(1_000, max_keys=3)
    for n in range(3):
        window.record(f"client-{n}", 0)
    assert len(window) == 3
    window.record("late", 5_000)  # the table is full: the expired keys go first
    assert len(window) == 1
