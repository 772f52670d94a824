"""Ordering policy: sort keys and the priority/normal interleave. Pure functions.

A waiting ticket's sort key is a tuple of ints compared lexicographically:

* ``(arrival_ms, seq)`` for a walk-in, where ``seq`` is its daily number (a tie-break);
* ``(slot_ms, seq)`` for an appointment: it ranks as if it arrived at its slot time;
* a requeued ticket gets a key strictly between two neighbours (:func:`key_between`), so
  keys are never renumbered and a re-rank is always remove + add (sortedcontainers caveat).

Lanes: emergency tickets always go first; the priority and normal lanes are interleaved by a
cycle of ``p`` priority slots then ``n`` normal slots. A call from the preferred lane advances
the cycle; a call from the other lane (because the preferred one was empty) does not, so
the lane that was empty gets its turn as soon as somebody joins it.
"""

from __future__ import annotations

from functools import lru_cache

from .model import Lane

Key = tuple[int, ...]

# Module constants: these functions run on every call and every join (an Enum class attribute is slow).
_EMERGENCY, _PRIORITY, _NORMAL = Lane.EMERGENCY, Lane.PRIORITY, Lane.NORMAL


def key_between(low: Key | None, high: Key | None) -> Key:
    """A key strictly greater than ``low`` and strictly less than ``high`` (either may be open).

    ``low`` and ``high`` must be neighbours in the list (nothing lies between them).
    """
    if low is None:
        if high is None:
            raise ValueError("need at least one bound")
        return (high[0] - 1, *high[1:])
    if high is not None and high[: len(low)] == low:
        # high extends low: go just below high's next component.
        return (*low, high[len(low)] - 1)
    return (*low, 0)


def preferred_lane(cycle: int, ratio: tuple[int, int]) -> Lane:
    """Which of priority / normal the cycle position prefers."""
    return _PRIORITY if cycle < ratio[0] else _NORMAL


def next_cycle(cycle: int, ratio: tuple[int, int], called: Lane) -> int:
    """The cycle position after a call from ``called``."""
    if called is _EMERGENCY or called is not preferred_lane(cycle, ratio):
        return cycle
    return (cycle + 1) % (ratio[0] + ratio[1])


def other_slots_before(cycle: int, ratio: tuple[int, int], lane: Lane, k: int) -> int:
    """How many slots of the *other* lane come before the ``k``-th (1-based) slot of ``lane``.

    O(p + n) once per (cycle, ratio, lane): one period of the cycle is laid out (and cached); the rest is arithmetic.
    """
    p, n = ratio
    own = _own_slots(cycle, p, n, lane)
    full, rest = divmod(k - 1, len(own))
    index = full * (p + n) + own[rest]
    return index - (k - 1)


@lru_cache(maxsize=256)
def _own_slots(cycle: int, p: int, n: int, lane: Lane) -> tuple[int, ...]:
    """Offsets in one period, from ``cycle`` on, of the slots that prefer ``lane``."""
    period = p + n
    return tuple(i for i in range(period) if preferred_lane((cycle + i) % period, (p, n)) is lane)
