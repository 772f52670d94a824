"""Random histories against a small facility: every invariant holds after every command.

A Hypothesis state machine issues tickets on every channel and priority, checks them in, calls,
recalls, starts, completes (with and without a next stage), misses, requeues, cancels and
transfers them, undoes a counter's last action, opens / pauses / closes counters and moves an
explicit clock forward, sometimes across local midnight. After each step it checks the
invariants of ``shared/DESIGN.md``:

* a ticket is current at one counter at most, and that counter points back at it;
* numbers are unique per (service, local day) among every ticket ever issued;
* a rejected command changed nothing, and ``decide`` never mutates even when it accepts;
* folding the log from an empty state (through the codec) rebuilds exactly the live state;
* a state restored from a snapshot decides and applies the rest of the history identically;
* no lane starves: within a service, no more than ``p`` in-order calls in a row take priority
  tickets while a normal ticket is present (and no more than ``n`` normal ones the other way);
* the waitlists hold exactly the waiting tickets, each once, present iff checked in;
* a closed counter holds no ticket.
"""

from __future__ import annotations

import traceback
from collections import defaultdict
from datetime import datetime, time, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from queue_engine.codec import decode_event, encode_event
from queue_engine.domain import commands as c
from queue_engine.domain.decide import Decision, decide
from queue_engine.domain.errors import DomainError
from queue_engine.domain.events import Event, TicketCalled, TicketIssued, TicketTransferred
from queue_engine.domain.evolve import apply
from queue_engine.domain.ids import CounterId, Millis, ServiceCode, TicketId, TicketToken, format_number
from queue_engine.domain.model import Channel, CounterStatus, Lane, Payer, Policy, Priority, Quota
from queue_engine.domain.state import FacilityState
from queue_engine.domain.status import TicketStatus
from queue_engine.domain.waitlist import LANES

from ..conftest import JAKARTA, MINUTE, START, every_day, make_facility, replay, service

A, B, C = ServiceCode("A"), ServiceCode("B"), ServiceCode("C")
RATIO = (2, 1)
FACILITY = make_facility(
    service("A", next_stages=(B,), quota=Quota(total=30, jkn=22)),
    service("B", next_stages=(C,)),
    service("C", hours=every_day((6 * 60, 20 * 60))),
    counters={"L1": ("A",), "L2": ("A", "B"), "L3": ("C",)},
    policy=Policy(priority_ratio=RATIO, checkin_grace_min=15, requeue_places=3),
)

L1, L2, L3 = CounterId("L1"), CounterId("L2"), CounterId("L3")
counters = st.sampled_from([L1, L1, L1, L2, L2, L2, L3, L3, CounterId("L9")])
services = st.sampled_from([A, A, A, B, B, C, ServiceCode("Z")])
channels = st.sampled_from([Channel.KIOSK, Channel.KIOSK, Channel.STAFF, Channel.WEB, Channel.BPJS, Channel.MODULE])
priorities = st.sampled_from([Priority.UMUM] * 3 + list(Priority))
picks = st.integers(0, 10_000)
actors = st.sampled_from(["petugas", "petugas", "dr. Sari", ""])
reasons = st.sampled_from(["hasil lab", "istirahat", "kontrol", ""])


def next_local_midnight(at: Millis) -> Millis:
    day = datetime.fromtimestamp(at / 1000, JAKARTA).date() + timedelta(days=1)
    return int(datetime.combine(day, time(), JAKARTA).timestamp() * 1000)


def snapshot_roundtrip(state: FacilityState) -> FacilityState:
    return FacilityState.from_snapshot(state.facility, orjson.loads(orjson.dumps(state.snapshot())))


class QueueMachine(RuleBasedStateMachine):
    """One facility driven by random commands; invariants are checked after every step."""

    def __init__(self) -> None:
        super().__init__()
        self.now: Millis = START - 60 * MINUTE
        self.state = FacilityState(FACILITY)
        #: restored from a snapshot now and then, then fed the same commands and events
        self.restored = FacilityState(FACILITY)
        self.events: list[Event] = []
        #: the same events after a trip through the codec, as a log backend hands them back
        self.decoded: list[Event] = []
        #: an empty state that has folded ``self.decoded`` so far (the replay, kept up to date)
        self.replayed = FacilityState(FACILITY)
        self.ids: list[TicketId] = []
        self.tokens: list[TicketToken] = []
        self.n = 0
        self.numbers: set[tuple[str, str, str]] = set()
        #: (service, lane) -> consecutive in-order calls from that lane while the other lane was present
        self.runs: dict[tuple[ServiceCode, Lane], int] = defaultdict(int)
        #: the live snapshot, while known to be current (snapshots are the costly part of each step)
        self.live: dict[str, Any] | None = None
        #: a command was accepted since the live state was last compared with the replayed log
        self.unchecked = False
        #: an apply raised half-way; the failure is reported, teardown checks nothing more
        self.broken = False

    # -- plumbing ---------------------------------------------------------------------------

    def live_snapshot(self) -> dict[str, Any]:
        if self.live is None:
            self.live = self.state.snapshot()
        return self.live

    def submit(self, cmd: c.Command) -> Decision | None:
        before = self.live_snapshot()
        try:
            decision = decide(self.state, cmd)
        except DomainError as err:
            assert self.state.snapshot() == before, f"rejected {cmd!r} ({err.code}) changed the state"
            try:
                decide(self.restored, cmd)
            except DomainError as again:
                assert (type(again), again.code) == (type(err), err.code)
            else:
                raise AssertionError(f"restored state accepted {cmd!r}, live state said {err.code}") from None
            return None
        # Had this accepting decide mutated the state, the replay invariant after this step fails.
        self.live, self.unchecked = None, True
        assert decide(self.restored, cmd) == decision, "restored state decided differently"
        for event in decision.events:
            self.observe(event)
            try:
                apply(self.state, event)
            except Exception:  # an accepted command whose event cannot be applied: a poison event
                failure = traceback.format_exc()
            else:
                failure = ""
            # Raised outside the except block so that every such crash is one failure to Hypothesis
            # (one origin), which keeps shrinking fast; the original traceback is in the message.
            if failure:
                self.broken = True
                raise AssertionError(f"accepted {cmd!r}, but applying {event!r} failed:\n{failure}")
            apply(self.restored, event)
            self.events.append(event)
            self.decoded.append(decode_event(encode_event(event)))
            apply(self.replayed, self.decoded[-1])
        return decision

    def observe(self, event: Event) -> None:
        """Check the history-wide invariants on each event, just before it is applied."""
        if isinstance(event, TicketIssued | TicketTransferred):
            service_code = event.service if isinstance(event, TicketIssued) else event.to_service
            number = (service_code, event.day, event.number)
            assert number not in self.numbers, f"number {number} given twice"
            assert event.number == format_number(FACILITY.services[service_code].prefix, event.seq)
            self.numbers.add(number)
        elif isinstance(event, TicketCalled) and not event.out_of_order:
            self.check_starvation(event)

    def check_starvation(self, event: TicketCalled) -> None:
        ticket = self.state.tickets[event.ticket_id]
        assert ticket.status is TicketStatus.WAITING and ticket.checked_in, "CallNext took a ticket not present"
        lane = ticket.lane
        if lane is Lane.EMERGENCY:
            return
        other = Lane.NORMAL if lane is Lane.PRIORITY else Lane.PRIORITY
        limit = RATIO[0] if lane is Lane.PRIORITY else RATIO[1]
        waitlist = self.state.services[ticket.service].waitlist
        assert not waitlist.present[Lane.EMERGENCY], "an emergency was waiting"
        if waitlist.present[other]:
            self.runs[(ticket.service, lane)] += 1
            assert self.runs[(ticket.service, lane)] <= limit, f"{other} lane starved in {ticket.service}"
        else:
            self.runs[(ticket.service, lane)] = 0
        self.runs[(ticket.service, other)] = 0

    def pick(self, index: int, *statuses: TicketStatus, remote: bool = False) -> TicketId:
        """Mostly a ticket in one of ``statuses`` (pending remote ones if ``remote``), sometimes any, rarely none."""
        if not self.ids or index % 23 == 0:
            return TicketId("ghost")
        if index % 5:
            matching = [
                t.id for t in self.state.tickets.values() if t.status in statuses and (not remote or not t.checked_in)
            ]
            if matching:
                return matching[index % len(matching)]
        return self.ids[index % len(self.ids)]

    # -- rules --------------------------------------------------------------------------------

    @initialize()
    def open_counters(self) -> None:
        for cid in FACILITY.counters:
            self.submit(c.OpenCounter(at=self.now, counter=cid, actor="petugas"))

    @rule(minutes=st.integers(0, 20) | st.integers(0, 600))
    def advance(self, minutes: int) -> None:
        self.now += minutes * MINUTE

    @rule(minutes=st.integers(-3, 5))
    def overnight(self, minutes: int) -> None:
        """Jump to just before or just after the next local midnight (the next command may start a day)."""
        self.now = max(self.now, next_local_midnight(self.now) + minutes * MINUTE)

    @rule(
        code=services,
        priority=priorities,
        channel=channels,
        payer=st.sampled_from(list(Payer)),
        appointment_min=st.one_of(st.none(), st.none(), st.integers(-20, 24 * 60)),
        key=st.sampled_from([None] * 8 + ["k1", "k2"]),
        reuse=st.sampled_from(["fresh"] * 8 + ["id", "token"]),
        index=picks,
    )
    def issue(
        self,
        code: ServiceCode,
        priority: Priority,
        channel: Channel,
        payer: Payer,
        appointment_min: int | None,
        key: str | None,
        reuse: str,
        index: int,
    ) -> None:
        self.n += 1
        ticket_id, token = TicketId(f"t{self.n}"), TicketToken(f"tok{self.n}")
        if reuse == "id" and self.ids:
            ticket_id = self.ids[index % len(self.ids)]
        elif reuse == "token" and self.tokens:
            token = self.tokens[index % len(self.tokens)]
        cmd = c.IssueTicket(
            at=self.now,
            ticket_id=ticket_id,
            token=token,
            service=code,
            priority=priority,
            channel=channel,
            payer=payer,
            appointment_at=None if appointment_min is None else self.now + appointment_min * MINUTE,
            idempotency_key=key,
        )
        decision = self.submit(cmd)
        if decision is not None and decision.events:
            self.ids.append(ticket_id)
            self.tokens.append(token)

    @rule(code=services, priorities=st.lists(priorities, min_size=1, max_size=4))
    def walk_ins(self, code: ServiceCode, priorities: list[Priority]) -> None:
        """A few kiosk tickets in a row (queues need to build up for the interleave to matter)."""
        for priority in priorities:
            self.n += 1
            ticket_id, token = TicketId(f"t{self.n}"), TicketToken(f"tok{self.n}")
            cmd = c.IssueTicket(at=self.now, ticket_id=ticket_id, token=token, service=code, priority=priority)
            if self.submit(cmd):
                self.ids.append(ticket_id)
                self.tokens.append(token)

    @rule(index=picks, counter=counters, complete_current=st.booleans())
    def call_next(self, index: int, counter: CounterId, complete_current: bool) -> None:
        """Press "next", mostly at a counter with somebody present in its queues."""
        ready = [
            cid
            for cid, cfg in FACILITY.counters.items()
            if any(self.state.services[code].waitlist.present_count() for code in cfg.services)
        ]
        if ready and index % 4:
            counter = ready[index % len(ready)]
        self.submit(c.CallNext(at=self.now, counter=counter, actor="petugas", complete_current=complete_current))

    @rule(index=picks)
    def next_patient(self, index: int) -> None:
        """The usual button at a busy counter: complete the current ticket and call the next."""
        busy = [cid for cid, cs in self.state.counters.items() if cs.ticket is not None] or [L1]
        self.submit(c.CallNext(at=self.now, counter=busy[index % len(busy)], complete_current=True))

    @rule(
        index=picks,
        action=st.sampled_from(["recall", "start", "start", "complete", "complete", "next_stage", "miss", "miss"]),
        next_service=services,
    )
    def at_counter(self, index: int, action: str, next_service: ServiceCode) -> None:
        """Staff act on the ticket at a counter (mostly a busy counter)."""
        busy = [cid for cid, cs in self.state.counters.items() if cs.ticket is not None]
        counter = busy[index % len(busy)] if busy and index % 7 else [L1, L2, L3, CounterId("L9")][index % 4]
        cmd: c.Command
        if action == "recall":
            cmd = c.Recall(at=self.now, counter=counter)
        elif action == "start":
            cmd = c.StartService(at=self.now, counter=counter)
        elif action == "complete":
            cmd = c.Complete(at=self.now, counter=counter)
        elif action == "next_stage":
            cmd = c.Complete(at=self.now, counter=counter, next_service=next_service)
        else:
            cmd = c.MarkMissed(at=self.now, counter=counter)
        self.submit(cmd)

    @rule(index=picks, action=st.sampled_from(["requeue", "call", "cancel"]), counter=counters)
    def missed_patient_returns(self, index: int, action: str, counter: CounterId) -> None:
        """A missed patient turns up (or gives up): requeue, call by hand, or cancel."""
        ticket_id = self.pick(index, TicketStatus.MISSED)
        cmd: c.Command
        if action == "requeue":
            cmd = c.Requeue(at=self.now, ticket_id=ticket_id, actor="petugas")
        elif action == "call":
            cmd = c.CallTicket(at=self.now, counter=counter, ticket_id=ticket_id, actor="petugas", reason="datang")
        else:
            cmd = c.Cancel(at=self.now, ticket_id=ticket_id, reason="tidak datang")
        self.submit(cmd)

    @rule(
        index=picks,
        action=st.sampled_from(["check_in", "check_in", "call", "requeue", "requeue", "cancel", "transfer"]),
        counter=counters,
        actor=actors,
        reason=reasons,
        to=services,
    )
    def on_ticket(self, index: int, action: str, counter: CounterId, actor: str, reason: str, to: ServiceCode) -> None:
        """Commands that name a ticket: check in, call out of order, requeue, cancel, transfer."""
        cmd: c.Command
        if action == "check_in":
            cmd = c.CheckIn(at=self.now, ticket_id=self.pick(index, TicketStatus.WAITING, remote=True))
        elif action == "call":
            ticket_id = self.pick(index, TicketStatus.WAITING, TicketStatus.MISSED)
            cmd = c.CallTicket(at=self.now, counter=counter, ticket_id=ticket_id, actor=actor, reason=reason)
        elif action == "requeue":
            cmd = c.Requeue(at=self.now, ticket_id=self.pick(index, TicketStatus.MISSED))
        elif action == "cancel":
            ticket_id = self.pick(index, TicketStatus.WAITING, TicketStatus.CALLED, TicketStatus.MISSED)
            cmd = c.Cancel(at=self.now, ticket_id=ticket_id, reason=reason)
        else:
            ticket_id = self.pick(index, TicketStatus.WAITING, TicketStatus.CALLED, TicketStatus.SERVING)
            cmd = c.Transfer(at=self.now, ticket_id=ticket_id, to_service=to)
        self.submit(cmd)

    @rule(index=picks, seconds=st.sampled_from([0, 0, 30, 119, 121]))
    def undo(self, index: int, seconds: int) -> None:
        """Staff take back the counter's last call, skip or completion (mostly where there is one)."""
        self.now += seconds * 1000
        recorded = [cid for cid, cs in self.state.counters.items() if cs.undoable is not None]
        counter = recorded[index % len(recorded)] if recorded and index % 5 else [L1, L2, L3][index % 3]
        self.submit(c.Undo(at=self.now, counter=counter, actor="petugas"))

    @rule(counter=counters, action=st.sampled_from(["open", "open", "open", "pause", "close"]), reason=reasons)
    def counter_status(self, counter: CounterId, action: str, reason: str) -> None:
        cmd: c.Command
        if action == "open":
            cmd = c.OpenCounter(at=self.now, counter=counter)
        elif action == "pause":
            cmd = c.PauseCounter(at=self.now, counter=counter, reason=reason)
        else:
            cmd = c.CloseCounter(at=self.now, counter=counter)
        self.submit(cmd)

    @rule()
    def restart_from_snapshot(self) -> None:
        assert self.restored.snapshot() == self.live_snapshot(), "the state restored from a snapshot diverged"
        self.restored = snapshot_roundtrip(self.state)

    # -- invariants ---------------------------------------------------------------------------

    @invariant()
    def counters_and_tickets_point_at_each_other(self) -> None:
        current: dict[TicketId, CounterId] = {}
        for cid, cs in self.state.counters.items():
            if cs.ticket is None:
                continue
            assert cs.ticket not in current, f"{cs.ticket} current at {current[cs.ticket]} and {cid}"
            current[cs.ticket] = cid
            ticket = self.state.tickets[cs.ticket]
            assert ticket.counter == cid
            assert ticket.status in (TicketStatus.CALLED, TicketStatus.SERVING)
            assert ticket.service in FACILITY.counters[cid].services
            assert cs.status is not CounterStatus.CLOSED, f"closed counter {cid} holds {cs.ticket}"
        for ticket in self.state.tickets.values():
            if ticket.status in (TicketStatus.CALLED, TicketStatus.SERVING):
                assert current.get(ticket.id) == ticket.counter
            else:
                assert ticket.counter is None

    @invariant()
    def waitlists_hold_exactly_the_waiting_tickets(self) -> None:
        seen: set[TicketId] = set()
        for code, svc in self.state.services.items():
            for lane in LANES:
                for present, entries in ((True, svc.waitlist.present[lane]), (False, svc.waitlist.pending[lane])):
                    for key, tid in entries:
                        assert tid not in seen, f"{tid} twice in the waitlists"
                        seen.add(tid)
                        ticket = self.state.tickets[tid]
                        assert ticket.status is TicketStatus.WAITING
                        assert (ticket.service, ticket.lane, ticket.key) == (code, lane, key)
                        assert ticket.checked_in is present
        waiting = {t.id for t in self.state.tickets.values() if t.status is TicketStatus.WAITING}
        assert seen == waiting
        assert self.state.by_token == {t.token: t.id for t in self.state.tickets.values()}

    @invariant()
    def replaying_the_decoded_log_gives_the_live_state(self) -> None:
        if not self.unchecked:
            return  # nothing accepted since the last check; rejections were compared in submit
        self.unchecked = False
        assert self.replayed.snapshot() == self.live_snapshot(), "replaying the decoded log differs from live"

    def teardown(self) -> None:
        if not self.broken:
            live = self.state.snapshot()
            assert self.decoded == self.events, "the codec changed an event"
            # Once more in one go, as a restart does: the whole log folded into an empty state.
            assert replay(FACILITY, self.decoded).snapshot() == live
            assert self.restored.snapshot() == live, "the state restored from a snapshot diverged"


# A failure is shrunk to a minimal history before it is reported, which can take a few minutes
# (each attempt replays up to 60 steps with all the checks): allow that rather than time out.
@pytest.mark.timeout(600)
def test_random_histories_keep_every_invariant() -> None:
    """Random command histories keep every invariant checked by QueueMachine after each step."""
    run: Any = run_state_machine_as_test  # typed in some Hypothesis releases, not in others
    run(QueueMachine, settings=settings(max_examples=150, stateful_step_count=60, deadline=None))
