"""Counter actions: call next, call out of order, recall, start, complete, next stage, miss, requeue,
cancel and transfer."""

from __future__ import annotations

import pytest

from queue_engine.domain import commands as c
from queue_engine.domain.decide import decide
from queue_engine.domain.deltas import Announced, QueueChanged
from queue_engine.domain.errors import (
    CounterBusy,
    CounterIdle,
    InvalidCommand,
    NotFound,
    QueueEmpty,
    ServiceNotServed,
    StageNotAllowed,
)
from queue_engine.domain.events import TicketCalled, TicketCompleted, TicketRecalled, TicketTransferred
from queue_engine.domain.ids import CounterId, ServiceCode
from queue_engine.domain.model import Channel, Priority
from queue_engine.domain.state import Ticket
from queue_engine.domain.status import TicketStatus

from ..conftest import HOUR, MINUTE, NEXT_MIDNIGHT, SECOND, Desk, make_facility, service

L1, L2 = CounterId("L1"), CounterId("L2")


def called(desk: Desk, counter: str = "L1") -> Ticket:
    ticket = desk.call_next(counter)
    assert ticket is not None
    return ticket


# -- call next ---------------------------------------------------------------------------------


def test_call_next_calls_the_head_to_the_counter(desk: Desk) -> None:
    """CallNext marks the best ticket called at this counter and takes it out of the waitlist."""
    first = desk.issue()
    desk.issue()
    ticket = called(desk)
    assert ticket.id == first.id
    assert (ticket.status, ticket.counter, ticket.called_at, ticket.calls) == (TicketStatus.CALLED, L1, desk.now, 1)
    assert desk.state.counters[L1].ticket == first.id
    assert desk.state.services[ServiceCode("A")].waitlist.present_count() == 1
    assert Announced(L1, first.id, "A001", ServiceCode("A"), recall=False) in desk.deltas


def test_call_next_on_an_empty_queue_is_queue_empty(desk: Desk) -> None:
    """Nobody waiting: CallNext is refused with QueueEmpty."""
    with pytest.raises(QueueEmpty):
        desk.call_next()


def test_call_next_while_busy_is_counter_busy(desk: Desk) -> None:
    """A counter with a called ticket cannot call another without completing it."""
    desk.issue()
    desk.issue()
    called(desk)
    with pytest.raises(CounterBusy):
        desk.call_next()


def test_call_next_with_complete_current_completes_and_calls(desk: Desk) -> None:
    """The "next patient" button completes the current ticket and calls the next in one decision."""
    first, second = desk.issue(), desk.issue()
    called(desk)
    desk.advance(4 * MINUTE)
    decision = desk.run(c.CallNext(at=desk.now, counter=L1, actor="petugas", complete_current=True))
    assert [type(e) for e in decision.events] == [TicketCompleted, TicketCalled]
    assert decision.ticket_id == second.id
    assert first.status is TicketStatus.DONE
    assert desk.state.counters[L1].ticket == second.id


def test_call_next_with_complete_current_and_empty_queue_only_completes(desk: Desk) -> None:
    """With nobody left, complete_current finishes the current ticket and leaves the counter idle."""
    first = desk.issue()
    called(desk)
    decision = desk.run(c.CallNext(at=desk.now, counter=L1, complete_current=True))
    assert [type(e) for e in decision.events] == [TicketCompleted]
    assert decision.ticket_id is None
    assert first.status is TicketStatus.DONE
    assert desk.state.counters[L1].ticket is None


def test_call_next_with_complete_current_on_idle_counter_just_calls(desk: Desk) -> None:
    """complete_current on an idle counter simply calls the next ticket."""
    first = desk.issue()
    decision = desk.run(c.CallNext(at=desk.now, counter=L1, complete_current=True))
    assert [type(e) for e in decision.events] == [TicketCalled]
    assert decision.ticket_id == first.id


def test_call_next_at_unknown_counter_is_not_found(desk: Desk) -> None:
    """An unknown counter id is NotFound."""
    with pytest.raises(NotFound):
        decide(desk.state, c.CallNext(at=desk.now, counter=CounterId("L9")))


# -- call out of order -------------------------------------------------------------------------


def test_call_ticket_out_of_order_records_actor_and_reason(desk: Desk) -> None:
    """CallTicket calls a chosen ticket; the event says out_of_order with who and why."""
    desk.issue()
    chosen = desk.issue()
    decision = desk.run(
        c.CallTicket(at=desk.now, counter=L1, ticket_id=chosen.id, actor="dr. Sari", reason="hasil lab")
    )
    assert decision.events == [
        TicketCalled(
            at=desk.now, ticket_id=chosen.id, counter=L1, actor="dr. Sari", out_of_order=True, reason="hasil lab"
        )
    ]
    assert chosen.status is TicketStatus.CALLED


@pytest.mark.parametrize(("actor", "reason"), [("dr. Sari", ""), ("dr. Sari", "   "), ("", "hasil lab")])
def test_call_ticket_requires_actor_and_reason(desk: Desk, actor: str, reason: str) -> None:
    """An out-of-order call without a reason or an actor is refused."""
    ticket = desk.issue()
    with pytest.raises(InvalidCommand):
        decide(desk.state, c.CallTicket(at=desk.now, counter=L1, ticket_id=ticket.id, actor=actor, reason=reason))


def test_call_ticket_does_not_advance_the_interleave() -> None:
    """Calling a priority ticket out of order leaves the ratio cycle: two priority calls still come next."""
    desk = Desk(make_facility(service("A")))
    prio = [desk.issue(priority=Priority.LANSIA) for _ in range(3)]
    normal = [desk.issue(priority=Priority.UMUM) for _ in range(2)]
    waitlist = desk.state.services[ServiceCode("A")].waitlist
    desk.run(c.CallTicket(at=desk.now, counter=L1, ticket_id=prio[2].id, actor="dr. Sari", reason="kontrol"))
    assert waitlist.cycle == 0
    desk.complete()
    assert desk.call_all() == [prio[0].number, prio[1].number, normal[0].number, normal[1].number]


def test_call_ticket_of_a_service_the_counter_does_not_serve_is_refused(desk: Desk) -> None:
    """A counter may only call tickets of its own services."""
    ticket = desk.issue("B")
    with pytest.raises(ServiceNotServed):
        decide(desk.state, c.CallTicket(at=desk.now, counter=L1, ticket_id=ticket.id, actor="x", reason="y"))


def test_call_ticket_at_a_busy_counter_is_refused(desk: Desk) -> None:
    """CallTicket does not silently drop the counter's current ticket."""
    desk.issue()
    other = desk.issue()
    called(desk)
    with pytest.raises(CounterBusy):
        decide(desk.state, c.CallTicket(at=desk.now, counter=L1, ticket_id=other.id, actor="x", reason="y"))


def test_call_ticket_of_a_remote_ticket_checks_it_in(desk: Desk) -> None:
    """Calling a pending remote ticket by hand takes it out of the pending lane and marks it present."""
    remote = desk.issue(channel=Channel.WEB)
    desk.run(c.CallTicket(at=desk.now, counter=L1, ticket_id=remote.id, actor="x", reason="datang"))
    assert (remote.status, remote.checked_in) == (TicketStatus.CALLED, True)
    assert len(desk.state.services[ServiceCode("A")].waitlist) == 0


# -- recall, start, complete -------------------------------------------------------------------


def test_recall_announces_the_current_ticket_again(desk: Desk) -> None:
    """Recall keeps the ticket called, counts the call and announces it as a recall."""
    ticket = desk.issue()
    called(desk)
    desk.advance(MINUTE)
    decision = desk.run(c.Recall(at=desk.now, counter=L1, actor="petugas"))
    assert decision.events == [TicketRecalled(at=desk.now, ticket_id=ticket.id, counter=L1, actor="petugas")]
    assert (ticket.status, ticket.calls) == (TicketStatus.CALLED, 2)
    assert desk.deltas[-1] == Announced(L1, ticket.id, "A001", ServiceCode("A"), recall=True)


def test_recall_at_an_idle_counter_is_counter_idle(desk: Desk) -> None:
    """Nothing to recall at a counter with no current ticket."""
    with pytest.raises(CounterIdle):
        desk.run(c.Recall(at=desk.now, counter=L1))


def test_start_service_marks_serving(desk: Desk) -> None:
    """Start moves the called ticket to serving and records when."""
    ticket = desk.issue()
    called(desk)
    desk.advance(MINUTE)
    desk.start()
    assert (ticket.status, ticket.started_at, ticket.counter) == (TicketStatus.SERVING, desk.now, L1)


def test_complete_finishes_the_ticket_and_frees_the_counter(desk: Desk) -> None:
    """Complete marks done, frees the counter and feeds the service-time statistics."""
    ticket = desk.issue()
    called(desk)
    desk.start()
    desk.advance(7 * MINUTE)
    desk.complete()
    stats = desk.state.services[ServiceCode("A")].stats
    assert (ticket.status, ticket.finished_at, ticket.counter) == (TicketStatus.DONE, desk.now, None)
    assert desk.state.counters[L1].ticket is None
    assert stats.count == 1
    assert stats.mean == pytest.approx((5 * MINUTE + 7 * MINUTE) / 2)


def test_complete_at_an_idle_counter_is_counter_idle(desk: Desk) -> None:
    """Nothing to complete at an idle counter."""
    with pytest.raises(CounterIdle):
        desk.complete()


def test_complete_with_next_service_moves_the_same_ticket_to_the_next_stage(desk: Desk) -> None:
    """The visit goes on to B: same id and token, B's next number, waiting in B's line."""
    desk.issue("B")
    ticket = desk.issue("A")
    token = ticket.token
    called(desk)
    decision = desk.complete(next_service="B")
    assert [type(e) for e in decision.events] == [TicketCompleted, TicketTransferred]
    moved = desk.state.tickets[ticket.id]
    assert (moved.token, moved.service, moved.number, moved.status) == (token, "B", "B002", TicketStatus.WAITING)
    assert moved.stages == ["A", "B"]
    assert desk.state.by_token[token] == ticket.id
    assert desk.state.counters[L1].ticket is None
    assert QueueChanged(ServiceCode("B")) in desk.deltas
    assert desk.call_all("L2") == ["B001", "B002"]


def test_next_stage_not_in_next_stages_is_refused() -> None:
    """Completing into a service that is not one of the allowed next stages is StageNotAllowed."""
    facility = make_facility(
        service("A", next_stages=(ServiceCode("B"),)), service("B"), service("C"), counters={"L1": ("A",)}
    )
    desk = Desk(facility)
    desk.issue("A")
    called(desk)
    before = desk.state.snapshot()
    with pytest.raises(StageNotAllowed):
        desk.complete(next_service="C")
    assert desk.state.snapshot() == before


def test_next_stage_that_does_not_exist_is_not_found(desk: Desk) -> None:
    """An unknown next service is NotFound, not a silent completion."""
    desk.issue("A")
    called(desk)
    with pytest.raises(NotFound):
        desk.complete(next_service="Z")


# -- miss and requeue --------------------------------------------------------------------------


def test_mark_missed_frees_the_counter(desk: Desk) -> None:
    """A no-show is marked missed; the counter is free and the ticket is not waiting."""
    ticket = desk.issue()
    called(desk)
    desk.miss()
    assert (ticket.status, ticket.counter) == (TicketStatus.MISSED, None)
    assert desk.state.counters[L1].ticket is None
    assert len(desk.state.services[ServiceCode("A")].waitlist) == 0


def requeue_after(waiting: int) -> tuple[Desk, Ticket, list[str]]:
    """A missed ticket and ``waiting`` tickets behind it; the missed one is requeued."""
    desk = Desk(make_facility(service("A")))
    missed = desk.issue()
    others = []
    for _ in range(waiting):
        desk.advance(SECOND)
        others.append(desk.issue().number)
    called(desk)
    desk.miss()
    desk.advance(MINUTE)
    desk.run(c.Requeue(at=desk.now, ticket_id=missed.id, actor="petugas"))
    assert (missed.status, missed.checked_in) == (TicketStatus.WAITING, True)
    return desk, missed, others


def test_requeue_puts_the_missed_ticket_requeue_places_behind_the_head() -> None:
    """With five waiting, a requeued ticket is called fourth (policy.requeue_places = 3 ahead of it)."""
    desk, missed, others = requeue_after(5)
    assert desk.facility.policy.requeue_places == 3
    assert desk.call_all() == [*others[:3], missed.number, *others[3:]]


@pytest.mark.parametrize("waiting", [0, 1, 2, 3])
def test_requeue_goes_to_the_end_when_fewer_wait(waiting: int) -> None:
    """With no more than requeue_places waiting, the requeued ticket goes last."""
    desk, missed, others = requeue_after(waiting)
    assert desk.call_all() == [*others, missed.number]


def test_missed_ticket_may_be_called_again_by_hand(desk: Desk) -> None:
    """A missed ticket who turns up can be called directly (out of order)."""
    ticket = desk.issue()
    called(desk)
    desk.miss()
    desk.run(c.CallTicket(at=desk.now, counter=L1, ticket_id=ticket.id, actor="x", reason="datang"))
    assert (ticket.status, ticket.calls) == (TicketStatus.CALLED, 2)


# -- cancel and transfer -----------------------------------------------------------------------


def test_cancel_a_waiting_ticket_takes_it_out_of_line(desk: Desk) -> None:
    """A cancelled waiting ticket is no longer waiting and is never called."""
    gone = desk.issue()
    stays = desk.issue()
    desk.cancel(gone)
    assert gone.status is TicketStatus.CANCELLED
    assert desk.call_all() == [stays.number]


def test_cancel_a_called_ticket_frees_the_counter(desk: Desk) -> None:
    """Cancelling the ticket at a counter frees that counter."""
    ticket = desk.issue()
    called(desk)
    desk.cancel(ticket)
    assert (ticket.status, ticket.counter) == (TicketStatus.CANCELLED, None)
    assert desk.state.counters[L1].ticket is None


def test_transfer_moves_a_waiting_ticket_to_another_service(desk: Desk) -> None:
    """Transfer takes the ticket out of A's line into B's, with B's next number and the same token."""
    ticket = desk.issue("A")
    token = ticket.token
    desk.run(c.Transfer(at=desk.now, ticket_id=ticket.id, to_service=ServiceCode("B"), actor="x", reason="salah poli"))
    assert (ticket.service, ticket.number, ticket.token, ticket.status) == ("B", "B001", token, TicketStatus.WAITING)
    assert len(desk.state.services[ServiceCode("A")].waitlist) == 0
    assert desk.call_all("L2") == ["B001"]


def test_transfer_a_called_ticket_frees_the_counter(desk: Desk) -> None:
    """Transferring the ticket being served frees its counter and queues it at the other service."""
    ticket = desk.issue("A")
    called(desk)
    desk.start()
    desk.run(c.Transfer(at=desk.now, ticket_id=ticket.id, to_service=ServiceCode("B")))
    assert (ticket.status, ticket.counter, ticket.service) == (TicketStatus.WAITING, None, "B")
    assert desk.state.counters[L1].ticket is None


def test_transfer_to_the_same_service_is_refused(desk: Desk) -> None:
    """A transfer must go somewhere else."""
    ticket = desk.issue("A")
    with pytest.raises(InvalidCommand):
        decide(desk.state, c.Transfer(at=desk.now, ticket_id=ticket.id, to_service=ServiceCode("A")))


def test_transfer_of_an_unknown_ticket_is_not_found(desk: Desk) -> None:
    """A transfer naming an unknown ticket is NotFound."""
    with pytest.raises(NotFound) as err:
        decide(desk.state, c.Transfer(at=desk.now, ticket_id=desk.fresh_ids()[0], to_service=ServiceCode("B")))
    assert err.value.code == "ticket_not_found"


def test_requeue_between_tickets_with_equal_keys_does_not_crash() -> None:
    """Requeue behind two tickets whose sort keys tie (same instant, same daily sequence) still works."""
    # Yesterday's leftover A001, requeued at 08:00:00.000 into an empty line, gets key (08:00, 1);
    # today's first walk-in at that same millisecond gets (08:00, 1) too.
    desk = Desk(make_facility(service("A")), now=NEXT_MIDNIGHT - HOUR)
    leftover = desk.issue()
    desk.now = NEXT_MIDNIGHT + 8 * 60 * MINUTE
    called(desk)
    desk.miss()
    desk.run(c.Requeue(at=desk.now, ticket_id=leftover.id))
    walk_in = desk.issue()
    assert walk_in.key == leftover.key
    appointments = [
        desk.issue(channel=Channel.STAFF, appointment_at=desk.now - 5 * MINUTE + i * SECOND) for i in range(3)
    ]
    first = called(desk)
    assert first.id == appointments[0].id
    desk.miss()
    desk.run(c.Requeue(at=desk.now, ticket_id=first.id))  # 3 places behind the head: between the tied keys
    order = desk.call_all()
    assert sorted(order) == sorted(t.number for t in [leftover, walk_in, *appointments])
    assert order[:2] == [appointments[1].number, appointments[2].number]
