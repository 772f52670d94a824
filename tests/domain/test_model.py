"""Facility configuration is checked when it is built."""

from __future__ import annotations

import pytest

from queue_engine.domain import commands as c
from queue_engine.domain.ids import ServiceCode, TicketId
from queue_engine.domain.model import Policy
from queue_engine.domain.status import TicketStatus
from tests.conftest import Desk, make_facility, service


def test_duplicate_prefixes_are_refused() -> None:
    """Two services may not share a number prefix."""
    with pytest.raises(ValueError, match="prefixes"):
        make_facility(service("A"), service("AB", prefix="A"))


def test_unknown_next_stage_is_refused() -> None:
    """A next stage must be a service of the facility."""
    with pytest.raises(ValueError, match="next stage"):
        make_facility(service("A", next_stages=(ServiceCode("Z"),)))


def test_counter_of_an_unknown_service_is_refused() -> None:
    """A counter may serve only the facility's services."""
    with pytest.raises(ValueError, match="unknown service"):
        make_facility(service("A"), counters={"L1": ("Z",)})


@pytest.mark.parametrize("ratio", [(0, 1), (1, 0)])
def test_priority_ratio_parts_must_be_positive(ratio: tuple[int, int]) -> None:
    """A ratio part of zero would starve a lane: refused."""
    with pytest.raises(ValueError, match="priority_ratio"):
        make_facility(service("A"), policy=Policy(priority_ratio=ratio))


def test_requeue_with_zero_places_goes_to_the_head() -> None:
    """With requeue_places = 0 a returning missed ticket is called next."""
    desk = Desk(make_facility(service("A"), policy=Policy(requeue_places=0)))
    first, second = desk.issue(), desk.issue()
    desk.call_next()
    desk.miss()
    desk.run(c.Requeue(at=desk.now, ticket_id=TicketId(first.id)))
    assert desk.ticket(first.id).status is TicketStatus.WAITING
    called = desk.call_next()
    assert called is not None and called.id == first.id
    assert second.status is TicketStatus.WAITING
