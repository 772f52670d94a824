"""An app serving the demo kelurahan office (e-Lampid enabled), and helpers to drive its API."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import httpx2 as httpx
from starlette.testclient import TestClient

from modules.elampid import CertificateKind
from modules.elampid.site import ElampidWeb
from queue_engine.clock import ManualClock, SequentialIds
from queue_engine.config import facility_file, load_facility
from queue_engine.domain.model import Facility
from queue_engine.log.base import EventLog
from queue_engine.log.memory import MemoryLog
from web.app import create_app
from web.auth import Accounts, hash_password
from web.state import AppState

from ...web.conftest import START, make_settings
from .support import all_documents, birth_data, death_data

KIOSK = {"Authorization": "Bearer kiosk-demo"}
PASSWORD = {"admin": "admin-demo", "petugas-ketabang": "petugas-demo", "petugas-genteng": "petugas-demo"}

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64 + b"\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def kelurahan_facility() -> Facility:
    """The demo kecamatan office, open around the clock like `antre serve`'s demos (slots use office hours)."""
    facility = load_facility("demo:kelurahan")
    return replace(facility, services={k: replace(v, hours={}) for k, v in facility.services.items()})


@cache
def kelurahan_accounts() -> Accounts:
    """The demo office's accounts with a cheap scrypt cost."""
    demo = Accounts.from_toml(facility_file("demo:kelurahan"))
    users = {
        name: replace(user, password_hash=hash_password(PASSWORD[name], salt=b"s" * 16, n=2))
        for name, user in demo.users.items()
    }
    return Accounts(users=users, devices=demo.devices)


@contextmanager
def lampid_client(
    data_dir: Path, *, clock: ManualClock | None = None, log: EventLog | None = None
) -> Iterator[TestClient]:
    app = create_app(
        make_settings(data_dir=str(data_dir)),
        log=log or MemoryLog(),
        clock=clock or ManualClock(START),
        ids=SequentialIds(),
        facility=kelurahan_facility(),
        accounts=kelurahan_accounts(),
    )
    with TestClient(app) as client:
        yield client


def web_part(client: TestClient) -> ElampidWeb:
    state: AppState = client.app_state  # type: ignore[assignment]
    part = next(p for p in state["web_modules"] if p.name == "elampid")
    assert isinstance(part, ElampidWeb)
    return part


def upload(client: TestClient, document: str, data: bytes = PDF, name: str = "scan.pdf") -> Any:
    return client.post(
        "/api/v1/lampid/uploads",
        params={"document": document, "name": name},
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )


def upload_all(client: TestClient, kind: CertificateKind) -> dict[str, str]:
    ids = {}
    for document in all_documents(kind):
        response = upload(client, document)
        assert response.status_code == 201, response.text
        ids[document] = response.json()["upload_id"]
    return ids


def application_body(kind: CertificateKind, documents: dict[str, str], **fields: object) -> dict[str, Any]:
    data = birth_data(**fields) if kind is CertificateKind.KELAHIRAN else death_data(**fields)
    return {"kind": kind.value, "kelurahan": "Ketabang", "fields": data, "documents": documents}


def apply(client: TestClient, kind: CertificateKind = CertificateKind.KELAHIRAN) -> dict[str, Any]:
    """Upload every document and submit; the 201 answer (receipt number and PIN)."""
    response = client.post("/api/v1/lampid/applications", json=application_body(kind, upload_all(client, kind)))
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def login(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD[username]})
    assert response.status_code == 200, response.text
    return {"X-CSRF-Token": response.json()["csrf"]}


def unlock(client: TestClient, receipt: str, pin: str) -> dict[str, str]:
    """Unlock as the applicant; the headers their changes need."""
    response = client.post("/api/v1/lampid/access", json={"receipt_number": receipt, "pin": pin})
    assert response.status_code == 200, response.text
    return {"X-CSRF-Token": response.json()["csrf"]}


class Browser:
    """Another browser on the same running app: the same TestClient, its own cookie jar."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.cookies = httpx.Cookies()
        self.app = client.app
        self.portal = client.portal

    def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        saved = self.client.cookies
        self.client.cookies = self.cookies
        try:
            response: httpx.Response = getattr(self.client, method)(url, **kwargs)
        finally:
            self.cookies = self.client.cookies
            self.client.cookies = saved
        return response

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self._call("get", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self._call("post", url, **kwargs)

    def websocket_connect(self, url: str) -> Any:
        cookie = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        return self.client.websocket_connect(url, headers={"cookie": cookie} if cookie else None)
