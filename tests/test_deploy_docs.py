"""``deploy/grafana/antre.json`` and ``docs/deploy.md`` against the code: real metric names and labels, real settings.

The dashboard's queries may name only series a running app exports (read from its ``/metrics``
after some traffic, so every histogram and labelled metric has samples) and Prometheus's own
``up``; grouping and matching only by labels those series carry (plus ``job``, ``instance`` and
``le``). Every ``ANTRE_*`` variable the deployment guide names must be one the code reads.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from .web.conftest import KIOSK, METRICS_TOKEN, api_client, login, open_counters

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "deploy" / "grafana" / "antre.json"
GUIDE = ROOT / "docs" / "deploy.md"
#: labels Prometheus adds to every scraped series, and the bucket label of histograms
TARGET_LABELS = {"job", "instance", "le"}
SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count", "_created")}


def _traffic(client: TestClient) -> None:
    """Enough activity for every instrument to have samples: issue, call, recall, complete."""
    open_counters(client, "loket-1")
    for _ in range(2):
        assert client.post("/api/v1/tickets", json={"service": "LOKET"}, headers=KIOSK).status_code == 201
    staff = login(client, "petugas-loket")
    for action in ("call-next", "recall", "complete"):
        response = client.post(f"/api/v1/counters/loket-1/{action}", json={}, headers=staff)
        assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def exported() -> dict[str, set[str]]:
    """Series name -> its label names, as a running app exports them."""
    with api_client() as client:
        _traffic(client)
        client.cookies.clear()
        response = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert response.status_code == 200
    series: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(response.text):
        names = [family.name + suffix for suffix in SUFFIXES.get(family.type, ())] or [family.name]
        for name in names:
            series.setdefault(name, set())
        for sample in family.samples:
            series.setdefault(sample.name, set()).update(sample.labels)
    return series


def _dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return data


def _queries(dashboard: dict[str, Any]) -> list[str]:
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", ())]
    exprs += [v["query"]["query"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    return exprs


def test_the_dashboard_is_importable_json() -> None:
    dashboard = _dashboard()
    assert dashboard["uid"] == "antre-overview" and dashboard["title"] == "Antre"
    assert isinstance(dashboard["schemaVersion"], int)
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in dashboard["panels"]:
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"]) and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        if panel["type"] != "row":
            assert panel["targets"] and panel["datasource"]["uid"] == "${datasource}", panel["title"]
    names = {v["name"] for v in dashboard["templating"]["list"]}
    assert {"datasource", "job", "service"} <= names


def test_the_dashboard_shows_what_the_issue_asks_for() -> None:
    """Command rate and latency, log conflicts, WebSocket clients by kind, queue lengths."""
    joined = "\n".join(_queries(_dashboard()))
    for needle in (
        "rate(antre_append_seconds_count",
        "antre_append_seconds_bucket",
        "antre_log_conflicts_total",
        "sum by (kind) (antre_ws_clients",
        "max by (service) (antre_queue_length",
    ):
        assert needle in joined


def test_every_metric_and_label_in_the_dashboard_is_exported(exported: dict[str, set[str]]) -> None:
    assert "antre_queue_length" in exported  # the app was scraped
    for expr in _queries(_dashboard()):
        metrics = set(re.findall(r"\b(antre_[a-z_]+)\b", expr))
        if not metrics:  # Prometheus's own series, and nothing else
            assert re.fullmatch(r'sum\(up\{job=~"\$job"\}\)', expr), expr
            continue
        unknown = metrics - set(exported)
        assert not unknown, f"{expr}: not exported by web/metrics.py: {unknown}"
        known_labels = set().union(*(exported[m] for m in metrics)) | TARGET_LABELS
        used = set(re.findall(r"(\w+)\s*(?:=~|!~|!=|=)\s*\"", expr))
        for group in re.findall(r"\bby \(([^)]*)\)", expr):
            used |= {label.strip() for label in group.split(",")}
        assert used <= known_labels, f"{expr}: labels {used - known_labels} are not on {metrics}"


def test_the_guide_names_only_real_settings() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    named = set(re.findall(r"\bANTRE_[A-Z0-9_]*[A-Z0-9]\b", guide))
    assert {"ANTRE_SECRET_KEY", "ANTRE_LOG_URL", "ANTRE_OUTBOX", "ANTRE_METRICS_TOKEN"} <= named
    code = "\n".join(
        path.read_text(encoding="utf-8")
        for package in ("web", "queue_engine", "modules")
        for path in (ROOT / package).rglob("*.py")
    )
    read = set(re.findall(r"\bANTRE_[A-Z0-9_]*[A-Z0-9]\b", code))
    assert named <= read, f"docs/deploy.md names variables nothing reads: {named - read}"
    assert "../deploy/grafana/antre.json" in guide and "(redis.md" in guide and "(integrations.md" in guide
