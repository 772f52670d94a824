"""Prometheus metrics on the app's own registry: queue lengths, waits, service times, calls, latency."""

from __future__ import annotations

import gc
import weakref

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from queue_engine.clock import ManualClock
from web.metrics import metrics_for, set_ws_clients

from .conftest import MINUTE, api_client, issue, login, open_counters


def _scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_a_morning_in_numbers(client: TestClient, clock: ManualClock) -> None:
    issue(client)
    issue(client)
    issue(client, headers={})  # remote, not yet here: not in the queue length
    csrf = login(client, "admin")
    open_counters(client, "loket-1")
    clock.advance(2 * MINUTE)
    client.post("/api/v1/counters/loket-1/call-next", headers=csrf)
    client.post("/api/v1/counters/loket-1/recall", headers=csrf)
    clock.advance(3 * MINUTE)
    client.post("/api/v1/counters/loket-1/complete", headers=csrf)

    m = _scrape(client)
    assert m[("antre_queue_length", (("service", "LOKET"),))] == 1
    assert m[("antre_queue_length", (("service", "APOTEK"),))] == 0
    assert m[("antre_log_conflicts_total", ())] == 0  # races lost to other nodes (one node here)
    assert m[("antre_wait_seconds_count", (("service", "LOKET"),))] == 1
    assert m[("antre_wait_seconds_sum", (("service", "LOKET"),))] == 120
    assert m[("antre_service_seconds_count", (("service", "LOKET"),))] == 1
    assert m[("antre_service_seconds_sum", (("service", "LOKET"),))] == 180
    assert m[("antre_calls_total", (("counter", "loket-1"),))] == 1
    assert m[("antre_recalls_total", (("counter", "loket-1"),))] == 1
    assert m[("antre_tickets_issued_total", (("channel", "kiosk"), ("service", "LOKET")))] == 2
    assert m[("antre_tickets_issued_total", (("channel", "web"), ("service", "LOKET")))] == 1
    assert m[("antre_append_seconds_count", (("command", "IssueTicket"),))] == 3
    assert m[("antre_append_seconds_count", (("command", "CallNext"),))] == 1
    assert m[("antre_ws_clients", (("kind", "board"),))] == 0  # read from the hub when scraped


def test_a_next_stage_starts_a_new_wait(client: TestClient, clock: ManualClock) -> None:
    issue(client)
    csrf = login(client, "admin")
    open_counters(client, "loket-1", "umum-1")
    client.post("/api/v1/counters/loket-1/call-next", headers=csrf)
    clock.advance(MINUTE)
    client.post("/api/v1/counters/loket-1/complete", json={"next_service": "UMUM"}, headers=csrf)
    clock.advance(10 * MINUTE)
    client.post("/api/v1/counters/umum-1/call-next", headers=csrf)
    m = _scrape(client)
    assert m[("antre_wait_seconds_sum", (("service", "UMUM"),))] == 600
    assert m[("antre_service_seconds_sum", (("service", "LOKET"),))] == 60


def test_the_hub_sets_ws_clients_through_a_function() -> None:
    registry = CollectorRegistry()
    set_ws_clients(registry, "ticket", 42)
    assert registry.get_sample_value("antre_ws_clients", {"kind": "ticket"}) == 42
    assert metrics_for(registry) is metrics_for(registry)


def test_a_dropped_registry_takes_its_metrics_with_it() -> None:
    registry = CollectorRegistry()
    metrics_for(registry)
    gone = weakref.ref(registry)
    del registry
    gc.collect()
    assert gone() is None


def test_each_app_owns_its_registry() -> None:
    with api_client() as one, api_client() as two:
        issue(one)
        registry_one, registry_two = one.app_state["registry"], two.app_state["registry"]
        assert registry_one is not registry_two
        kiosk_loket = {"service": "LOKET", "channel": "kiosk"}
        assert registry_one.get_sample_value("antre_tickets_issued_total", kiosk_loket) == 1
        assert registry_two.get_sample_value("antre_tickets_issued_total", kiosk_loket) is None
    assert not [name for name in REGISTRY._names_to_collectors if name.startswith("antre_")]


def test_the_metrics_token_comes_from_the_environment() -> None:
    from web.settings import Settings

    assert Settings.from_environ({"ANTRE_METRICS_TOKEN": "s3cret"}).metrics_token == "s3cret"
    assert Settings.from_environ({}).metrics_token is None
