"""One service's waiting tickets: three lanes, each split into present and pending.

Invariants:

* an entry is ``(key, ticket_id)``; keys are unique per lane, entries are never mutated;
* *present* lanes hold tickets that may be called; *pending* lanes hold remote tickets that
  have not checked in: they keep their key (their place) but ``call_next`` passes them over;
* ``high_water[lane]`` records, in call order, each time the largest key called by
  ``call_next`` grew, with its time; a pending ticket whose key is below the high water was
  passed over at the first such time (binary search), which drives the check-in grace rule;
* every operation is O(log n) in the number of waiting tickets.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any

from sortedcontainers import SortedList

from .ids import Millis, TicketId
from .model import Lane
from .ordering import Key, key_between, next_cycle, other_slots_before, preferred_lane

Entry = tuple[Key, TicketId]
LANES = (Lane.EMERGENCY, Lane.PRIORITY, Lane.NORMAL)
# Module constants for the hot paths (an Enum class attribute is slow).
_EMERGENCY, _PRIORITY, _NORMAL = LANES
_NO_ID = TicketId("")


@dataclass(slots=True)
class HighWater:
    keys: list[Key] = field(default_factory=list)
    times: list[Millis] = field(default_factory=list)

    def raise_to(self, key: Key, at: Millis) -> None:
        if not self.keys or key > self.keys[-1]:
            self.keys.append(key)
            self.times.append(at)

    def passed_at(self, key: Key) -> Millis | None:
        """When a ticket with ``key`` was first passed over, or None."""
        i = bisect_right(self.keys, key)
        return self.times[i] if i < len(self.times) else None

    @property
    def top(self) -> Key | None:
        return self.keys[-1] if self.keys else None


class Waitlist:
    """Waiting tickets of one service, ordered for calling."""

    __slots__ = ("cycle", "high_water", "pending", "present")

    def __init__(self) -> None:
        self.present: dict[Lane, SortedList[Entry]] = {lane: SortedList() for lane in LANES}
        self.pending: dict[Lane, SortedList[Entry]] = {lane: SortedList() for lane in LANES}
        self.high_water: dict[Lane, HighWater] = {lane: HighWater() for lane in LANES}
        self.cycle = 0

    def add(self, lane: Lane, key: Key, ticket_id: TicketId, *, present: bool) -> None:
        (self.present if present else self.pending)[lane].add((key, ticket_id))

    def remove(self, lane: Lane, key: Key, ticket_id: TicketId, *, present: bool) -> None:
        (self.present if present else self.pending)[lane].remove((key, ticket_id))

    def __len__(self) -> int:
        return sum(len(s) for s in self.present.values()) + sum(len(s) for s in self.pending.values())

    def present_count(self) -> int:
        return sum(len(s) for s in self.present.values())

    def candidate(self, ratio: tuple[int, int]) -> tuple[Lane, Entry] | None:
        """The entry ``call_next`` would take: emergency first, then the interleave."""
        present = self.present
        if present[_EMERGENCY]:
            return _EMERGENCY, present[_EMERGENCY][0]
        first = preferred_lane(self.cycle, ratio)
        second = _NORMAL if first is _PRIORITY else _PRIORITY
        for lane in (first, second):
            if present[lane]:
                return lane, present[lane][0]
        return None

    def on_called(self, lane: Lane, key: Key, at: Millis, ratio: tuple[int, int]) -> None:
        """Record an in-order call: advance the interleave cycle and the high water."""
        self.cycle = next_cycle(self.cycle, ratio, lane)
        self.high_water[lane].raise_to(key, at)

    def requeue_key(self, lane: Lane, places: int, fallback: Key) -> Key:
        """A key ``places`` behind the head of the present lane (at the end if shorter)."""
        entries = self.present[lane]
        if not entries:
            return fallback
        if places <= 0:
            return key_between(None, entries[0][0])
        if places >= len(entries):
            return key_between(entries[-1][0], None)
        low, high = entries[places - 1][0], entries[places][0]
        # Keys can tie (same instant and daily number, e.g. yesterday's leftover requeued into an
        # empty line and today's first walk-in in the same millisecond): then go just after the tie.
        return key_between(low, high) if low < high else key_between(low, None)

    def ahead_in_lane(self, lane: Lane, key: Key, ticket_id: TicketId) -> int:
        """Tickets ahead in the same lane: present ones plus pending ones not yet passed over."""
        ahead = self.present[lane].bisect_left((key, ticket_id))
        pending = self.pending[lane]
        top = self.high_water[lane].top
        low = pending.bisect_left((top, _NO_ID)) if top is not None else 0
        high = pending.bisect_left((key, ticket_id))
        return ahead + max(0, high - low)

    def position(self, lane: Lane, key: Key, ticket_id: TicketId, ratio: tuple[int, int]) -> int:
        """Calls expected before this ticket's own call (0 = it is next)."""
        ahead = self.ahead_in_lane(lane, key, ticket_id)
        if lane is _EMERGENCY:
            return ahead
        other = _NORMAL if lane is _PRIORITY else _PRIORITY
        interleaved = min(len(self.present[other]), other_slots_before(self.cycle, ratio, lane, ahead + 1))
        return len(self.present[_EMERGENCY]) + ahead + interleaved

    def upcoming(self, ratio: tuple[int, int], limit: int) -> list[TicketId]:
        """The next ``limit`` present tickets in call order (does not change anything)."""
        cursors = {lane: 0 for lane in LANES}
        cycle = self.cycle
        out: list[TicketId] = []
        while len(out) < limit:
            lane = self._lane_at(cursors, cycle, ratio)
            if lane is None:
                break
            out.append(self.present[lane][cursors[lane]][1])
            cursors[lane] += 1
            cycle = next_cycle(cycle, ratio, lane)
        return out

    def _lane_at(self, cursors: dict[Lane, int], cycle: int, ratio: tuple[int, int]) -> Lane | None:
        def has(lane: Lane) -> bool:
            return cursors[lane] < len(self.present[lane])

        if has(Lane.EMERGENCY):
            return Lane.EMERGENCY
        first = preferred_lane(cycle, ratio)
        second = Lane.NORMAL if first is Lane.PRIORITY else Lane.PRIORITY
        return first if has(first) else second if has(second) else None

    def snapshot(self) -> dict[str, Any]:
        return {
            "cycle": self.cycle,
            "present": {lane.value: [[list(k), t] for k, t in self.present[lane]] for lane in LANES},
            "pending": {lane.value: [[list(k), t] for k, t in self.pending[lane]] for lane in LANES},
            "high_water": {
                lane.value: [[list(k) for k in hw.keys], list(hw.times)] for lane, hw in self.high_water.items()
            },
        }

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> Waitlist:
        wl = cls()
        wl.cycle = data["cycle"]
        for lane in LANES:
            wl.present[lane] = SortedList((tuple(k), TicketId(t)) for k, t in data["present"][lane.value])
            wl.pending[lane] = SortedList((tuple(k), TicketId(t)) for k, t in data["pending"][lane.value])
            keys, times = data["high_water"][lane.value]
            wl.high_water[lane] = HighWater([tuple(k) for k in keys], list(times))
        return wl
