"""Sessions: log in (CSRF rotated), who am I, log out; failed logins are rate-limited."""

from __future__ import annotations

from starlette.testclient import TestClient

from queue_engine.clock import ManualClock
from web.auth import Accounts
from web.settings import Settings

from .conftest import MINUTE, api_client, login, make_settings


def test_login_with_the_real_demo_hashes() -> None:
    from queue_engine.config import demo_path

    with api_client(accounts=Accounts.from_toml(demo_path())) as client:
        response = client.post("/api/v1/auth/login", json={"username": "petugas-poli", "password": "petugas-demo"})
        assert response.status_code == 200
        me = response.json()
        assert me["username"] == "petugas-poli" and me["role"] == "staff"
        assert me["counters"] == ["gigi", "kia", "umum-1", "umum-2"]
        assert isinstance(me["csrf"], str) and len(me["csrf"]) >= 24
        assert "antre_session" in client.cookies


def test_me_answers_the_session_user_and_csrf(client: TestClient) -> None:
    csrf = login(client, "admin")
    me = client.get("/api/v1/auth/me").json()
    assert me == {
        "username": "admin",
        "role": "admin",
        "counters": [],
        "kelurahan": [],
        "name": "Admin Puskesmas",
        "csrf": csrf["X-CSRF-Token"],
    }


def test_login_rotates_the_csrf_token(client: TestClient) -> None:
    before = client.get("/api/v1/auth/me")
    assert before.status_code == 401
    first = login(client, "petugas-loket")
    second = login(client, "petugas-loket")
    assert first != second
    stale = client.post("/api/v1/counters/loket-1/open", headers=first)
    assert stale.status_code == 403 and stale.json()["code"] == "csrf_failed"
    assert client.post("/api/v1/counters/loket-1/open", headers=second).status_code == 200


def test_login_replaces_the_previous_user(client: TestClient) -> None:
    login(client, "admin")
    login(client, "petugas-farmasi")
    assert client.get("/api/v1/auth/me").json()["username"] == "petugas-farmasi"
    assert client.get("/metrics").status_code == 403  # admin rights are gone


def test_wrong_password_and_unknown_user_answer_the_same(client: TestClient) -> None:
    for username, password in (("admin", "nope"), ("nobody", "admin-demo")):
        response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
        assert response.status_code == 401
        assert response.json() == {
            "code": "bad_credentials",
            "message_id": "Nama pengguna atau kata sandi salah.",
            "message_en": "Wrong username or password.",
        }
    assert "antre_session" not in client.cookies


def test_logout_ends_the_session(client: TestClient) -> None:
    csrf = login(client, "admin")
    refused = client.post("/api/v1/auth/logout")
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    response = client.post("/api/v1/auth/logout", headers=csrf)
    assert response.status_code == 204 and response.content == b""
    assert client.get("/api/v1/auth/me").status_code == 401
    assert client.post("/api/v1/auth/logout", headers=csrf).status_code == 401


def test_failed_logins_are_rate_limited_per_client(clock: ManualClock) -> None:
    settings: Settings = make_settings()
    with api_client(settings, clock=clock) as client:
        for _ in range(10):
            assert client.post("/api/v1/auth/login", json={"username": "admin", "password": "x"}).status_code == 401
        limited = client.post("/api/v1/auth/login", json={"username": "admin", "password": "admin-demo"})
        assert limited.status_code == 429 and limited.json()["code"] == "rate_limited"
        assert limited.headers["Retry-After"] == "60"
        clock.advance(MINUTE)
        login(client, "admin")
