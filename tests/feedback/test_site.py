"""Feedback over HTTP: the ticket holder's endpoint, the admin's report, and the phone page's card."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from modules.feedback.module import FeedbackState
from queue_engine import codec
from queue_engine.clock import ManualClock
from queue_engine.log.memory import MemoryLog

from ..web.conftest import START, api_client, issue, login, runtime_of
from .support import SECRET, feedback_client, served

MINUTE = 60_000


def url(ticket: dict[str, Any]) -> str:
    return f"/api/v1/tickets/{ticket['token']}/feedback"


def feedback_state(client: TestClient) -> FeedbackState:
    state: FeedbackState = runtime_of(client).state.modules["feedback"]
    return state


def feedback_records(client: TestClient) -> list[Any]:
    """The feedback events in the app's log."""
    assert client.portal is not None
    runtime = runtime_of(client)
    records = client.portal.call(runtime.log.read, runtime.facility.id)
    events = [codec.decode_event(r.payload) for r in records]
    return [e for e in events if e.TYPE.startswith("feedback.")]


def test_only_a_done_ticket_can_be_rated_and_the_holder_sees_the_answer() -> None:
    with feedback_client() as client:
        done = served(client, counter="loket-2")
        waiting = issue(client)
        response = client.put(url(waiting), json={"rating": 5})
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "feedback_not_done"
        assert client.get(url(waiting)).json() == {
            "done": False,
            "rated": False,
            "rating": None,
            "comment": None,
            "max_comment": 500,
        }

        response = client.put(url(done), json={"rating": 4, "comment": "Cepat.\nHP saya 0812 3456 7890"})
        assert response.status_code == 200, response.text
        answer = {"done": True, "rated": True, "rating": 4, "comment": "Cepat. HP saya […]", "max_comment": 500}
        assert response.json() == answer
        assert client.get(url(done)).json() == answer
        [event] = feedback_records(client)
        assert (event.service, event.counter, event.rating) == ("LOKET", "loket-2", 4)
        assert "3456" not in orjson.dumps(event).decode()  # stripped before the log

        assert client.put("/api/v1/tickets/no-such-token/feedback", json={"rating": 3}).status_code == 404


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"rating": 0}, "invalid_feedback"),
        ({"rating": 6}, "invalid_feedback"),
        ({"rating": "5"}, "invalid_body"),
        ({"rating": 4.0}, "invalid_body"),
        ({"rating": True}, "invalid_body"),
        ({"rating": None}, "invalid_body"),
        ({}, "invalid_body"),
        ({"rating": 4, "comment": 12}, "invalid_body"),
        ({"rating": 4, "comment": "x" * 501}, "invalid_feedback"),
        ({"rating": 4, "name": "Budi"}, "invalid_body"),
    ],
)
def test_a_bad_rating_is_refused_with_422_and_nothing_is_stored(body: dict[str, Any], code: str) -> None:
    with feedback_client() as client:
        done = served(client)
        response = client.put(url(done), json=body)
        assert response.status_code == 422, response.text
        assert response.json()["code"] == code
        assert feedback_records(client) == []
        assert feedback_state(client).days == {} and feedback_state(client).answers == {}


def test_a_second_rating_replaces_the_first() -> None:
    with feedback_client() as client:
        done = served(client)
        assert client.put(url(done), json={"rating": 1, "comment": "salah pencet"}).status_code == 200
        assert client.put(url(done), json={"rating": 5}).json()["rating"] == 5
        report = client.get("/api/v1/feedback", headers=login(client, "admin")).json()
        assert report["total"] == {"count": 1, "mean": 5.0, "distribution": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 1}}
        assert report["comments"] == []


def test_rating_is_rate_limited_per_ticket() -> None:
    clock = ManualClock(START)
    with feedback_client(clock=clock) as client:
        done = served(client)
        for value in (1, 2, 3, 4, 5):
            assert client.put(url(done), json={"rating": value}).status_code == 200
        response = client.put(url(done), json={"rating": 4})
        assert response.status_code == 429
        assert response.headers["retry-after"] == "60"
        clock.advance(MINUTE)
        assert client.put(url(done), json={"rating": 4}).status_code == 200
        assert [e.rating for e in feedback_records(client)] == [1, 2, 3, 4, 5, 4]


def test_the_admin_report_aggregates_by_service_and_counter_without_ticket_ids_or_tokens() -> None:
    with feedback_client() as client:
        given: list[tuple[str, tuple[str, str] | None, int, str]] = [
            ("loket-1", None, 5, "Petugas ramah"),
            ("loket-1", None, 3, ""),
            ("loket-2", None, 1, "lama"),
        ]
        given += [("loket-1", ("UMUM", "umum-1"), 4, "dokter jelas, NIK 3578011203900001")]
        tickets = []
        for counter, then, value, comment in given:
            ticket = served(client, counter=counter, then=then)
            tickets.append(ticket)
            assert client.put(url(ticket), json={"rating": value, "comment": comment}).status_code == 200

        client.cookies.clear()  # served() logged in as the admin
        assert client.get("/api/v1/feedback").status_code == 401
        staff = login(client, "petugas-loket")
        assert client.get("/api/v1/feedback", headers=staff).status_code == 403
        admin = login(client, "admin")
        response = client.get("/api/v1/feedback?from=2026-11-26&to=2026-11-26", headers=admin)
        assert response.status_code == 200, response.text
        report = response.json()

        assert report["from"] == report["to"] == "2026-11-26"
        assert report["total"]["count"] == 4 and report["total"]["mean"] == 3.25
        [loket, umum] = report["services"]
        assert (loket["service"], loket["name"], loket["count"], loket["mean"]) == (
            "LOKET",
            "Loket Pendaftaran",
            3,
            3.0,
        )
        assert loket["distribution"] == {"1": 1, "2": 0, "3": 1, "4": 0, "5": 1}
        assert [(c["counter"], c["name"], c["count"], c["mean"]) for c in loket["counters"]] == [
            ("loket-1", "Loket 1", 2, 4.0),
            ("loket-2", "Loket 2", 1, 1.0),
        ]
        assert [(c["counter"], c["count"], c["mean"]) for c in umum["counters"]] == [("umum-1", 1, 4.0)]
        assert report["days"] == [
            {"day": "2026-11-26", "count": 4, "mean": 3.25, "distribution": {"1": 1, "2": 0, "3": 1, "4": 1, "5": 1}}
        ]
        assert [(c["text"], c["rating"], c["counter"]) for c in report["comments"]] == [
            ("dokter jelas, NIK […]", 4, "umum-1"),
            ("lama", 1, "loket-2"),
            ("Petugas ramah", 5, "loket-1"),
        ]
        assert set(report["comments"][0]) == {
            "day",
            "service",
            "service_name",
            "counter",
            "counter_name",
            "rating",
            "text",
        }
        text = response.text
        assert SECRET not in text  # no ticket id and no token (both start with it)
        for ticket in tickets:
            assert ticket["token"] not in text and ticket["number"] not in text
        assert not re.search(r"\d\d:\d\d", text)  # no time of day

        assert client.get("/api/v1/feedback?from=2026-11-27", headers=admin).status_code == 422  # after `to`
        assert client.get("/api/v1/feedback?from=26-11-2026", headers=admin).status_code == 422
        assert client.get("/api/v1/feedback?from=2025-01-01&to=2026-11-26", headers=admin).status_code == 422
        default = client.get("/api/v1/feedback", headers=admin).json()
        assert (default["from"], default["to"]) == ("2026-10-28", "2026-11-26")  # the last 30 days
        assert default["total"]["count"] == 4


def test_ratings_are_rebuilt_from_the_log_after_a_restart() -> None:
    log = MemoryLog()
    with feedback_client(log=log) as client:
        done = served(client)
        client.put(url(done), json={"rating": 2, "comment": "panas"})
        before = client.get("/api/v1/feedback", headers=login(client, "admin")).json()
    with feedback_client(log=log) as client:
        assert client.get("/api/v1/feedback", headers=login(client, "admin")).json() == before
        assert client.get(url(done)).json()["rating"] == 2


def test_the_endpoints_are_in_the_openapi_document() -> None:
    with feedback_client() as client:
        paths = client.get("/api/v1/openapi.json").json()["paths"]
        assert set(paths["/api/v1/tickets/{token}/feedback"]) == {"get", "put"}
        assert "422" in paths["/api/v1/tickets/{token}/feedback"]["put"]["responses"]
        assert "get" in paths["/api/v1/feedback"]


# ---- the phone page -----------------------------------------------------------------------------


def card(html: str) -> str | None:
    """The opening tag of the feedback card, if the page has one."""
    found = re.search(r'<section id="fb"[^>]*>', html)
    return found.group(0) if found else None


def test_the_phone_page_shows_the_rating_card_once_the_visit_is_done() -> None:
    with feedback_client() as client:
        done = served(client)
        waiting = issue(client)
        html = client.get(f"/t/{waiting['token']}").text
        assert card(html) is not None and " hidden" in (card(html) or "")  # there, for when it finishes live

        response = client.get(f"/t/{done['token']}")
        assert response.status_code == 200
        html = response.text
        tag = card(html)
        assert tag is not None and "hidden" not in tag
        assert "Bagaimana pelayanan kami?" in html
        radios = re.findall(r'<input type="radio" name="rating" id="fb-(\d)" value="(\d)">', html)
        assert radios == [(str(n), str(n)) for n in range(1, 6)]
        for n in range(1, 6):  # each big button has a label naming its value in both languages
            assert re.search(rf'<label for="fb-{n}">.*?{n} dari 5 · .*?{n} of 5', html)
        assert 'maxlength="500"' in html
        assert "Jangan menuliskan nama, nomor HP, atau nomor identitas" in html
        assert "/feedback" in html and "antrePhone" in html  # its script is inlined and hooked to phone.js
        assert len(response.content) < 50_000


def test_without_the_module_the_phone_page_has_no_card() -> None:
    with api_client() as client:
        ticket = issue(client)
        html = client.get(f"/t/{ticket['token']}").text
        assert card(html) is None and "/feedback" not in html and "fb-form" not in html
