"""The feedback module's pure domain: who may rate, what is stored, what reports add up to."""

from __future__ import annotations

from dataclasses import replace

import pytest

from modules.feedback.module import (
    MAX_COMMENT,
    REDACTED,
    FeedbackModule,
    FeedbackState,
    InvalidRating,
    NotDone,
    Rate,
    Rated,
    clean_comment,
)
from modules.feedback.report import Tally, report
from queue_engine import codec
from queue_engine.domain.errors import NotFound
from queue_engine.domain.ids import CounterId, ServiceCode, TicketId
from queue_engine.domain.model import Facility
from queue_engine.domain.state import FacilityState, Ticket
from tests.conftest import DAY, MINUTE, Desk, make_facility, replay, service


def facility(**options: object) -> Facility:
    """A (loket, 2 counters) -> B (poli, 1 counter), with feedback enabled."""
    base = make_facility(
        service("A", next_stages=("B",)),
        service("B"),
        counters={"L1": ("A",), "L2": ("A",), "P1": ("B",)},
    )
    return replace(base, modules=(FeedbackModule(**options),))  # type: ignore[arg-type]


def done_at(desk: Desk, counter: str = "L1", *, via: str | None = None) -> Ticket:
    """A ticket issued to A and completed at ``counter``; with ``via`` it goes on to B and is completed at ``via``."""
    ticket = desk.issue("A")
    called = desk.call_next(counter)
    assert called is not None and called.id == ticket.id
    desk.advance(MINUTE)
    desk.complete(counter, next_service="B" if via else None)
    if via:
        desk.call_next(via)
        desk.advance(MINUTE)
        desk.complete(via)
    return desk.ticket(ticket.id)


def rate(desk: Desk, ticket: Ticket, rating: object, comment: str = "") -> list[Rated]:
    decision = desk.run(Rate(at=desk.now, ticket_id=ticket.id, rating=rating, comment=comment))  # type: ignore[arg-type]
    events = [e for e in decision.events if isinstance(e, Rated)]
    assert len(events) == len(decision.events)
    return events


def state_of(desk: Desk) -> FeedbackState:
    s: FeedbackState = desk.state.modules["feedback"]
    return s


# ---- who may rate -------------------------------------------------------------------------------


def test_only_a_done_ticket_can_be_rated() -> None:
    """Waiting, called, serving, missed and cancelled tickets are refused with feedback_not_done."""
    desk = Desk(facility())
    waiting = desk.issue("A")
    with pytest.raises(NotDone):
        rate(desk, waiting, 5)
    desk.call_next("L1")
    with pytest.raises(NotDone):
        rate(desk, desk.ticket(waiting.id), 5)
    desk.start("L1")
    with pytest.raises(NotDone):
        rate(desk, desk.ticket(waiting.id), 5)
    desk.complete("L1", next_service="B")  # a stage done, the visit not: it waits at B
    with pytest.raises(NotDone):
        rate(desk, desk.ticket(waiting.id), 5)
    with pytest.raises(NotFound):
        desk.run(Rate(at=desk.now, ticket_id=TicketId("nope"), rating=5))
    assert state_of(desk).days == {} and state_of(desk).answers == {}


@pytest.mark.parametrize("bad", [0, 6, -1, 10, True, 4.5, "4", None])
def test_a_bad_rating_is_refused_and_nothing_is_stored(bad: object) -> None:
    desk = Desk(facility())
    ticket = done_at(desk)
    before = len(desk.events)
    with pytest.raises(InvalidRating) as err:
        rate(desk, ticket, bad)
    assert err.value.code == "invalid_feedback"
    assert len(desk.events) == before
    assert state_of(desk).days == {}


def test_a_comment_longer_than_500_characters_after_cleaning_is_refused() -> None:
    desk = Desk(facility())
    ticket = done_at(desk)
    rate(desk, ticket, 4, "a  " * 250)  # 750 typed, 499 once runs of spaces are one
    with pytest.raises(InvalidRating) as err:
        rate(desk, ticket, 4, "a" * (MAX_COMMENT + 1))
    assert err.value.params == {"field": "comment", "max_length": MAX_COMMENT}


# ---- what is stored -----------------------------------------------------------------------------


def test_the_rating_goes_to_the_last_stage_service_and_counter() -> None:
    """A visit A (at L2) -> B (at P1) is rated for B at P1: the last completed stage."""
    desk = Desk(facility())
    ticket = done_at(desk, "L2", via="P1")
    assert ticket.completed_by == CounterId("P1")
    [event] = rate(desk, ticket, 4, "Dokternya ramah")
    assert (event.service, event.counter, event.rating, event.comment) == ("B", "P1", 4, "Dokternya ramah")
    assert event.day == "2026-11-26"
    assert state_of(desk).days["2026-11-26"].counts == {(ServiceCode("B"), CounterId("P1")): [0, 0, 0, 1, 0]}


def test_a_second_rating_replaces_the_first_and_the_same_answer_twice_is_one() -> None:
    desk = Desk(facility())
    ticket = done_at(desk)
    rate(desk, ticket, 2, "lama sekali")
    assert rate(desk, ticket, 2, "lama  sekali ") == []  # the same answer once cleaned: a double tap
    desk.advance(MINUTE)
    rate(desk, ticket, 5)
    day = state_of(desk).days["2026-11-26"]
    assert day.counts == {(ServiceCode("A"), CounterId("L1")): [0, 0, 0, 0, 1]}
    assert day.comments == []  # the first answer's comment went with it
    result = report(state_of(desk), "2026-11-26", "2026-11-26")
    assert result.total == Tally((0, 0, 0, 0, 1))


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("  Pelayanan\n\ncepat  ", "Pelayanan cepat"),
        ("NIK saya 3578011203900001 tolong dicek", f"NIK saya {REDACTED} tolong dicek"),
        ("hubungi 0812-3456-7890 ya", f"hubungi {REDACTED} ya"),
        ("hubungi +62 812 3456 7890", f"hubungi {REDACTED}"),
        ("email budi.s@contoh.co.id", f"email {REDACTED}"),
        ("BPJS 0001234567890", f"BPJS {REDACTED}"),
        ("antre jam 09:30, nomor A012, 3 jam", "antre jam 09:30, nomor A012, 3 jam"),
        ("a\u200bb\u202ec\x00d\te", "abcd e"),
        ("bagus 👍", "bagus 👍"),
    ],
)
def test_comments_are_cleaned_before_they_reach_the_log(typed: str, stored: str) -> None:
    assert clean_comment(typed) == stored


def test_the_ticket_token_is_stripped_from_its_comment() -> None:
    desk = Desk(facility())
    ticket = done_at(desk)
    [event] = rate(desk, ticket, 3, f"kode saya {ticket.token}")
    assert ticket.token not in event.comment
    assert event.comment == f"kode saya {REDACTED}"


def test_rating_after_the_day_ended_is_refused_like_any_command_on_a_finished_ticket() -> None:
    desk = Desk(facility())
    ticket = done_at(desk)
    desk.advance(DAY)
    with pytest.raises(NotFound):
        rate(desk, ticket, 5)


# ---- aggregates and reports ---------------------------------------------------------------------


def test_report_counts_means_and_distributions_by_service_counter_and_day() -> None:
    desk = Desk(facility())
    given = [("L1", 5), ("L1", 4), ("L2", 1), ("L1", 5)]
    for counter, value in given:
        rate(desk, done_at(desk, counter), value, f"komentar {value}")
        desk.advance(MINUTE)
    rate(desk, done_at(desk, "L1", via="P1"), 3)
    desk.advance(DAY)  # the next day
    rate(desk, done_at(desk, "L2"), 2, "antrean lama")

    one = report(state_of(desk), "2026-11-26", "2026-11-26")
    assert [(s.service, s.tally.counts) for s in one.services] == [("A", (1, 0, 0, 1, 2)), ("B", (0, 0, 1, 0, 0))]
    [a, b] = one.services
    assert [(c.counter, c.tally.counts) for c in a.counters] == [("L1", (0, 0, 0, 1, 2)), ("L2", (1, 0, 0, 0, 0))]
    assert a.tally.count == 4 and a.tally.mean == pytest.approx(15 / 4)
    assert [(c.counter, c.tally.mean) for c in b.counters] == [("P1", 3.0)]
    assert one.total.count == 5 and one.total.mean == pytest.approx(18 / 5)
    assert [c.text for c in one.comments] == ["komentar 5", "komentar 1", "komentar 4", "komentar 5"]  # newest first

    both = report(state_of(desk), "2026-11-26", "2026-11-27")
    assert [(d.day, d.tally.count) for d in both.days] == [("2026-11-26", 5), ("2026-11-27", 1)]
    assert both.comments[0].text == "antrean lama" and both.comments[0].day == "2026-11-27"
    assert both.comments_total == 5
    assert report(state_of(desk), "2026-11-27", "2026-11-27", comments=0).comments == ()
    empty = report(state_of(desk), "2026-12-01", "2026-12-31")
    assert empty.total.count == 0 and empty.total.mean is None and empty.services == ()


def test_reports_hold_no_ticket_id_token_or_time_of_day() -> None:
    desk = Desk(facility())
    tickets = [done_at(desk, "L1") for _ in range(3)]
    for ticket in tickets:
        rate(desk, ticket, 4, "ok")
    result = report(state_of(desk), "2026-11-01", "2026-11-30")
    text = repr(result)
    for ticket in tickets:
        assert ticket.id not in text and ticket.token not in text
    assert "at=" not in text


def test_state_survives_snapshot_and_replay_and_old_days_are_dropped() -> None:
    fac = facility(keep_days=2)
    desk = Desk(fac)
    rate(desk, done_at(desk), 5, "pertama")
    desk.advance(MINUTE)
    again = done_at(desk)
    rate(desk, again, 1, "kedua")
    for _ in range(2):
        desk.advance(DAY)
        rate(desk, done_at(desk, "L2"), 3)
    module = fac.module("feedback")
    assert isinstance(module, FeedbackModule)
    state = state_of(desk)
    assert sorted(state.days) == ["2026-11-27", "2026-11-28"]  # keep_days=2
    assert next(iter(state.answers.values())).day == "2026-11-28"  # only today's tickets remain replaceable

    codec.register_modules(fac.modules)
    replayed = replay(fac, [codec.decode_event(codec.encode_event(e)) for e in desk.events])
    assert replayed.modules["feedback"] == state
    restored = FacilityState.from_snapshot(fac, codec.loads(codec.dumps(desk.state.snapshot())))
    assert restored.modules["feedback"] == state
    assert module.load(module.dump(state)) == state


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="keep_days"):
        FeedbackModule(keep_days=0)
    with pytest.raises(ValueError, match="keep_days"):
        FeedbackModule(keep_days=True)
