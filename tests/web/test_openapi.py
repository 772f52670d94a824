"""The OpenAPI document: valid JSON, valid OpenAPI 3.1, listing every API route."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from web.errors import MESSAGES


def _document(client: TestClient) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    document: dict[str, Any] = json.loads(response.content)  # plain JSON, not just something orjson reads
    return document


def _refs(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [value["$ref"]] if "$ref" in value else [r for v in value.values() for r in _refs(v)]
    if isinstance(value, list):
        return [r for v in value for r in _refs(v)]
    return []


def test_lists_every_api_route(client: TestClient) -> None:
    document = _document(client)
    assert document["openapi"] == "3.1.0"
    routed = {
        (method.lower(), route.path)
        for route in client.app.routes  # type: ignore[attr-defined]
        if isinstance(route, Route) and (route.path.startswith("/api/") or route.path == "/metrics")
        for method in route.methods or ()
        if method != "HEAD"
    }
    documented = {(method, path) for path, ops in document["paths"].items() for method in ops}
    assert routed == documented
    assert len(documented) == 26  # 25 + GET /api/v1/forecast


def test_every_operation_is_described(client: TestClient) -> None:
    document = _document(client)
    names = set()
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            names.add(op["operationId"])
            assert op["summary"] and op["description"].startswith("Who: ")
            assert any(status.startswith("2") for status in op["responses"]), (method, path)
            for status, answer in op["responses"].items():
                if not status.startswith("2"):
                    codes = answer["description"].split(", ")
                    assert all(MESSAGES[code][0] == int(status) for code in codes), (path, status, codes)
            in_path = {p["name"] for p in op.get("parameters", ()) if p["in"] == "path"}
            assert in_path == set(path.replace("}", "{").split("{")[1::2])
            headers = {p["name"] for p in op.get("parameters", ()) if p["in"] == "header"}
            commands = method == "post" and not path.startswith("/api/v1/auth/")
            assert headers == ({"Idempotency-Key"} if commands else set()), (method, path)
    assert len(names) == 26  # operation ids are unique


def test_every_reference_resolves(client: TestClient) -> None:
    document = _document(client)
    schemas = document["components"]["schemas"]
    for ref in _refs(document["paths"]):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas
    for op in (op for ops in document["paths"].values() for op in ops.values()):
        for requirement in op.get("security", []):
            assert set(requirement) <= set(document["components"]["securitySchemes"])


def test_is_valid_openapi_3_1(client: TestClient) -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(_document(client))
