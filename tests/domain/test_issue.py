"""Issuing tickets: quotas, opening hours, idempotency and duplicate ids."""

from __future__ import annotations

import pytest

from queue_engine.domain import commands as c
from queue_engine.domain.decide import decide
from queue_engine.domain.errors import DuplicateId, InvalidCommand, NotFound, OutsideOpeningHours, QuotaExhausted
from queue_engine.domain.ids import ServiceCode, TicketId, TicketToken
from queue_engine.domain.model import Channel, Payer, Quota

from ..conftest import HOUR, MINUTE, NEXT_MIDNIGHT, START, Desk, every_day, local_ms, make_facility, service

# -- quota -------------------------------------------------------------------------------------


def quota_desk(**quota: int) -> Desk:
    return Desk(
        make_facility(service("A", quota=Quota(**quota), next_stages=(ServiceCode("B"),)), service("B")),
        now=START,
    )


def test_total_quota_rejects_the_ticket_after_the_last() -> None:
    """With a total quota of 3, the fourth ticket of the day is refused with QuotaExhausted."""
    desk = quota_desk(total=3)
    for _ in range(3):
        desk.issue(payer=Payer.JKN)
    with pytest.raises(QuotaExhausted) as err:
        desk.issue(payer=Payer.UMUM)
    assert err.value.code == "quota_exhausted"
    assert err.value.params["limit"] == 3


def test_jkn_and_non_jkn_shares_are_capped_separately() -> None:
    """A JKN / non-JKN split caps each payer on its own; one payer's share full leaves the other open."""
    desk = quota_desk(jkn=2, non_jkn=1)
    desk.issue(payer=Payer.JKN)
    desk.issue(payer=Payer.JKN)
    with pytest.raises(QuotaExhausted) as err:
        desk.issue(payer=Payer.JKN)
    assert err.value.params["payer"] == "jkn"
    assert desk.issue(payer=Payer.UMUM).number == "A003"
    with pytest.raises(QuotaExhausted):
        desk.issue(payer=Payer.UMUM)


def test_total_quota_caps_even_when_payer_shares_have_room() -> None:
    """The total cap applies on top of the payer split."""
    desk = quota_desk(total=2, jkn=5, non_jkn=5)
    desk.issue(payer=Payer.JKN)
    desk.issue(payer=Payer.UMUM)
    with pytest.raises(QuotaExhausted):
        desk.issue(payer=Payer.JKN)


def test_cancelling_a_waiting_first_stage_ticket_gives_the_quota_back() -> None:
    """Cancel a waiting ticket of a full service and another one can be issued (with a new number)."""
    desk = quota_desk(total=1, jkn=1)
    first = desk.issue(payer=Payer.JKN)
    with pytest.raises(QuotaExhausted):
        desk.issue(payer=Payer.JKN)
    desk.cancel(first)
    assert desk.issue(payer=Payer.JKN).number == "A002"


def test_cancelling_a_called_ticket_keeps_its_quota_used() -> None:
    """Only a ticket still waiting gives its quota back; one already called has used it."""
    desk = quota_desk(total=1)
    first = desk.issue()
    desk.call_next()
    desk.cancel(first)
    with pytest.raises(QuotaExhausted):
        desk.issue()


def test_cancelling_at_a_later_stage_does_not_give_first_stage_quota_back() -> None:
    """A visit moved on to its next stage has used its first-stage quota for good."""
    desk = quota_desk(total=1)
    first = desk.issue()
    desk.call_next()
    desk.complete(next_service="B")
    desk.cancel(first)
    with pytest.raises(QuotaExhausted):
        desk.issue()


def test_quota_is_per_local_day() -> None:
    """A full quota today does not limit tomorrow."""
    desk = quota_desk(total=1)
    desk.issue()
    desk.now = NEXT_MIDNIGHT + 8 * HOUR
    assert desk.issue().number == "A001"


# -- opening hours -----------------------------------------------------------------------------


def hours_desk(now: int) -> Desk:
    """Service A open 07:30-12:00 every day."""
    return Desk(make_facility(service("A", hours=every_day((7 * 60 + 30, 12 * 60)))), now=now)


@pytest.mark.parametrize(("hour", "minute"), [(6, 0), (7, 29), (12, 0), (15, 0)])
def test_walk_in_outside_opening_hours_is_rejected(hour: int, minute: int) -> None:
    """A kiosk ticket before opening or after closing (the end is exclusive) is refused."""
    desk = hours_desk(local_ms(2026, 11, 26, hour, minute))
    with pytest.raises(OutsideOpeningHours):
        desk.issue(channel=Channel.KIOSK)


@pytest.mark.parametrize(("hour", "minute"), [(7, 30), (11, 59)])
def test_walk_in_inside_opening_hours_is_accepted(hour: int, minute: int) -> None:
    """Opening hours include their start minute and the last minute before the end."""
    desk = hours_desk(local_ms(2026, 11, 26, hour, minute))
    assert desk.issue(channel=Channel.KIOSK).number == "A001"


@pytest.mark.parametrize("channel", [Channel.WEB, Channel.BPJS, Channel.MODULE])
def test_remote_ticket_before_opening_is_allowed(channel: Channel) -> None:
    """Remote channels may take today's number before the service opens (they check in later)."""
    desk = hours_desk(local_ms(2026, 11, 26, 5, 0))
    ticket = desk.issue(channel=channel)
    assert (ticket.number, ticket.checked_in) == ("A001", False)


def test_remote_ticket_after_closing_is_rejected() -> None:
    """Once the day's last window has closed, remote channels are refused too."""
    desk = hours_desk(local_ms(2026, 11, 26, 12, 0))
    with pytest.raises(OutsideOpeningHours):
        desk.issue(channel=Channel.WEB)


def test_appointment_outside_opening_hours_is_rejected() -> None:
    """An appointment slot after closing is refused even when booked during opening hours."""
    desk = hours_desk(local_ms(2026, 11, 26, 9, 0))
    with pytest.raises(OutsideOpeningHours):
        desk.issue(channel=Channel.BPJS, appointment_at=local_ms(2026, 11, 26, 13, 0))


def test_appointment_inside_opening_hours_may_be_booked_at_night() -> None:
    """The slot, not the booking time, must fall in opening hours."""
    desk = hours_desk(local_ms(2026, 11, 25, 22, 0))
    ticket = desk.issue(channel=Channel.BPJS, appointment_at=local_ms(2026, 11, 26, 9, 0))
    assert (ticket.number, ticket.day) == ("A001", "2026-11-26")


def test_appointment_in_the_past_beyond_the_grace_is_rejected(desk: Desk) -> None:
    """A slot more than the check-in grace in the past is not a valid appointment."""
    grace = desk.facility.policy.checkin_grace_min * MINUTE
    with pytest.raises(InvalidCommand):
        desk.issue(appointment_at=desk.now - grace - 1)
    assert desk.issue(appointment_at=desk.now - grace).number == "A001"


def test_unknown_service_is_rejected(desk: Desk) -> None:
    """Issuing for a service the facility does not have is NotFound."""
    with pytest.raises(NotFound) as err:
        desk.issue("Z")
    assert err.value.code == "unknown_service"


# -- idempotency and ids -----------------------------------------------------------------------


def test_idempotency_key_returns_the_same_ticket_with_no_events(desk: Desk) -> None:
    """A retried request with the same idempotency key gets the first ticket back and changes nothing."""
    first = desk.issue(idempotency_key="kiosk-1:req-7")
    before = desk.state.snapshot()
    retry = desk.issue_cmd(idempotency_key="kiosk-1:req-7")  # fresh ids, same key
    decision = decide(desk.state, retry)
    assert decision.events == []
    assert decision.ticket_id == first.id
    assert desk.state.snapshot() == before
    assert desk.issue(idempotency_key="kiosk-1:req-8").number == "A002"


def test_duplicate_ticket_id_is_rejected(desk: Desk) -> None:
    """A new ticket may not reuse an existing ticket id."""
    first = desk.issue()
    cmd = c.IssueTicket(at=desk.now, ticket_id=first.id, token=TicketToken("other"), service=ServiceCode("A"))
    with pytest.raises(DuplicateId):
        decide(desk.state, cmd)


def test_duplicate_token_is_rejected(desk: Desk) -> None:
    """A new ticket may not reuse an existing tracking token."""
    first = desk.issue()
    cmd = c.IssueTicket(at=desk.now, ticket_id=TicketId("other"), token=first.token, service=ServiceCode("A"))
    with pytest.raises(DuplicateId):
        decide(desk.state, cmd)
