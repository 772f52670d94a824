"""The demo puskesmas with feedback enabled, an app around it, and a served visit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from starlette.testclient import TestClient

from modules.feedback.module import FeedbackModule
from queue_engine.clock import ManualClock, SequentialIds
from queue_engine.config import demo_path, load_facility
from queue_engine.domain.model import Facility
from queue_engine.log.base import EventLog
from queue_engine.log.memory import MemoryLog

from ..web.conftest import START, api_client, issue, login

#: every id and token the app makes starts with this, so a test can look for any of them in one go
SECRET = "fbsecret-"


def demo_with_feedback() -> Facility:
    return replace(load_facility(demo_path()), modules=(FeedbackModule(),))


@contextmanager
def feedback_client(
    *, log: EventLog | None = None, clock: ManualClock | None = None, facility: Facility | None = None
) -> Iterator[TestClient]:
    with api_client(
        facility=facility or demo_with_feedback(),
        log=log or MemoryLog(),
        clock=clock or ManualClock(START),
        ids=SequentialIds(SECRET),
    ) as client:
        yield client


def staff_action(client: TestClient, staff: dict[str, str], counter: str, action: str, **body: Any) -> None:
    response = client.post(f"/api/v1/counters/{counter}/{action}", json=body, headers=staff)
    assert response.status_code == 200, response.text


def served(client: TestClient, *, counter: str = "loket-1", then: tuple[str, str] | None = None) -> dict[str, Any]:
    """A kiosk ticket called and completed at ``counter`` (the counter opened first); with ``then`` =
    (service, counter) the visit goes on to that stage and is completed there. The issue answer."""
    staff = login(client, "admin")
    for cid in (counter, then[1]) if then else (counter,):
        if client.get(f"/api/v1/counters/{cid}", headers=staff).json()["status"] != "open":
            staff_action(client, staff, cid, "open")
    ticket = issue(client)
    staff_action(client, staff, counter, "call-next")
    staff_action(client, staff, counter, "complete", **({"next_service": then[0]} if then else {}))
    if then:
        staff_action(client, staff, then[1], "call-next")
        staff_action(client, staff, then[1], "complete")
    return ticket
