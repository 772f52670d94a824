"""Ticket numbers: prefix + daily sequence per service, reset at local midnight, never reused."""

from __future__ import annotations

from queue_engine.domain import commands as c
from queue_engine.domain.ids import ServiceCode, format_number
from queue_engine.domain.model import Channel, Facility

from ..conftest import HOUR, MINUTE, NEXT_MIDNIGHT, START, Desk, local_ms, make_facility, service


def test_numbers_count_up_per_service(desk: Desk) -> None:
    """Each service numbers its tickets A001, A002, … independently of the others."""
    numbers = [desk.issue("A").number, desk.issue("A").number, desk.issue("B").number, desk.issue("A").number]
    assert numbers == ["A001", "A002", "B001", "A003"]


def test_number_format_pads_to_three_digits_and_grows_beyond() -> None:
    """The sequence is zero-padded to three digits and keeps counting past 999."""
    assert [format_number("C", n) for n in (1, 42, 999, 1000)] == ["C001", "C042", "C999", "C1000"]


def test_numbers_reset_at_local_midnight_not_utc_midnight(facility: Facility) -> None:
    """16:59 UTC and 17:01 UTC are different days in Jakarta (UTC+7): the second starts at A001."""
    before = NEXT_MIDNIGHT - 1 * MINUTE  # 23:59 WIB = 16:59 UTC
    after = NEXT_MIDNIGHT + 1 * MINUTE  # 00:01 WIB = 17:01 UTC
    assert before % (24 * 60 * MINUTE) == (16 * 60 + 59) * MINUTE
    desk = Desk(facility, now=before)
    first, second = desk.issue(), desk.issue()
    desk.now = after
    third = desk.issue()
    assert (first.number, second.number, third.number) == ("A001", "A002", "A001")
    assert (first.day, third.day) == ("2026-11-26", "2026-11-27")


def test_utc_midnight_does_not_reset_numbers(facility: Facility) -> None:
    """Crossing midnight UTC (07:00 WIB) keeps the local day and its sequence."""
    desk = Desk(facility, now=local_ms(2026, 11, 26, 6, 59))
    first = desk.issue()
    desk.now = local_ms(2026, 11, 26, 7, 1)
    assert desk.issue().number == "A002"
    assert first.day == "2026-11-26"


def test_cancelled_number_is_not_reused(desk: Desk) -> None:
    """Cancelling A002 does not free its number: the next ticket is A003."""
    desk.issue()
    second = desk.issue()
    desk.cancel(second)
    assert desk.issue().number == "A003"


def test_transferred_ticket_number_is_not_reused(desk: Desk) -> None:
    """A ticket transferred away keeps its old number used: A's next number still counts up."""
    desk.issue("B")
    moved = desk.issue("A")
    desk.run(c.Transfer(at=desk.now, ticket_id=moved.id, to_service=ServiceCode("B"), actor="x", reason="salah poli"))
    assert moved.number == "B002"
    assert desk.issue("A").number == "A002"
    assert desk.issue("B").number == "B003"


def test_appointment_is_numbered_on_its_slot_day() -> None:
    """An appointment booked today for tomorrow takes tomorrow's sequence, not today's."""
    desk = Desk(make_facility(service("A")), now=START)
    desk.issue()
    appt = desk.issue(channel=Channel.BPJS, appointment_at=NEXT_MIDNIGHT + 9 * 60 * MINUTE)
    assert (appt.number, appt.day) == ("A001", "2026-11-27")
    assert desk.issue().number == "A002"
    desk.now = NEXT_MIDNIGHT + 8 * 60 * MINUTE
    assert desk.issue().number == "A002"


def test_appointment_slot_just_before_midnight_does_not_reuse_a_number() -> None:
    """A 23:55 slot booked at 00:05 (within the check-in grace) never repeats a number already given."""
    desk = Desk(make_facility(service("A")), now=NEXT_MIDNIGHT - HOUR)
    evening = desk.issue()
    desk.now = NEXT_MIDNIGHT + 1 * MINUTE
    desk.issue()  # the first event of the new day: yesterday's sequence is forgotten
    desk.now = NEXT_MIDNIGHT + 5 * MINUTE
    late = desk.issue(channel=Channel.STAFF, appointment_at=NEXT_MIDNIGHT - 5 * MINUTE)
    waiting = [(t.day, t.number) for t in desk.state.tickets.values()]
    assert len(set(waiting)) == len(waiting)
    assert (late.day, late.number) != (evening.day, evening.number)
    assert (late.day, late.number) == ("2026-11-27", "A002")  # numbered on the day it was booked
