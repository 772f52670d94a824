"""Redis goes away under a running app: commands fail fast with 503 + Retry-After, reads go on, and
the app carries on by itself once Redis is back (no restart of the app)."""

from __future__ import annotations

import time

import pytest

from queue_engine.clock import ManualClock
from queue_engine.log.redis_streams import RedisLog
from tests.redis_server import RedisServer

from .conftest import BOARD, KIOSK, START, api_client, issue, login, make_settings

pytestmark = pytest.mark.redis

#: the log's per-call bound in this test; a refusal must come well within a couple of these
COMMAND_TIMEOUT_S = 1.0


def test_with_redis_down_commands_get_503_reads_go_on_and_service_resumes(private_redis: RedisServer) -> None:
    log = RedisLog(private_redis.url, connect_timeout_s=0.5, command_timeout_s=COMMAND_TIMEOUT_S)
    settings = make_settings(log_url=private_redis.url)
    with api_client(settings, log=log, clock=ManualClock(START)) as client:
        first = issue(client)
        csrf = login(client, "petugas-loket")
        assert client.post("/api/v1/counters/loket-1/open", headers=csrf).status_code == 200

        private_redis.kill()
        started = time.monotonic()
        refused = client.post("/api/v1/tickets", json={"service": "LOKET"}, headers=KIOSK)
        took = time.monotonic() - started
        assert refused.status_code == 503 and refused.json()["code"] == "log_unavailable"
        assert int(refused.headers["Retry-After"]) >= 1
        assert took < 2 * COMMAND_TIMEOUT_S  # fails fast: no client-side retries, no hanging
        press = {**csrf, "Idempotency-Key": "press-outage-000000001"}
        assert client.post("/api/v1/counters/loket-1/call-next", headers=press).status_code == 503
        # Reads are answered from memory: the patient's page and the board still work.
        mine = client.get(f"/api/v1/tickets/{first['token']}")
        assert mine.status_code == 200 and mine.json()["number"] == first["number"]
        board = client.get("/api/v1/boards/ruang-tunggu", headers=BOARD)
        assert board.status_code == 200 and board.json()["queues"][0]["next"] == [first["number"]]

        private_redis.start()  # the same data directory: the AOF brings the log back
        called = client.post("/api/v1/counters/loket-1/call-next", headers=press)
        assert called.status_code == 200, called.text  # the node reconnected by itself
        assert called.json()["current"]["number"] == first["number"]
        second = issue(client)
        assert second["number"] != first["number"]  # numbering carried on from the log
        assert client.portal is not None
        client.portal.call(log.close)  # on the app's own event loop, where its connections live
