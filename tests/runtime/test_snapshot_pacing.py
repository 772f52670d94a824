"""Snapshots of a large state are paced by their cost, not only by the event count (issue #7).

Encoding a snapshot is proportional to the state and stalls every command meanwhile; a day with
tens of thousands of tickets at hundreds of commands a second would otherwise be encoded every
few seconds (``benchmarks/RESULTS.md``, HTTP benchmark). The runtime's monotonic clock is
replaced by one the test moves, so "a snapshot took 0.5 s" needs no real wait.
"""

from __future__ import annotations

import pytest

from queue_engine import runtime as runtime_module

from .support import Env, SpyLog

pytestmark = pytest.mark.anyio


class Monotonic:
    """``time.monotonic`` for the runtime: each snapshot encoding takes ``cost`` seconds."""

    def __init__(self) -> None:
        self.now = 100.0
        self.cost = 0.0
        self._inside = False

    def monotonic(self) -> float:
        # _rebase reads the clock twice, before and after encoding: the second read is "cost" later.
        self._inside = not self._inside
        if not self._inside:
            self.now += self.cost
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Monotonic:
    fake = Monotonic()
    monkeypatch.setattr(runtime_module, "time", fake)
    return fake


async def _snapshots(env: Env, spy: SpyLog) -> int | None:
    snapshot = await spy.load_snapshot(env.facility.id)
    return None if snapshot is None else snapshot.position


async def test_a_cheap_snapshot_is_taken_every_snapshot_every_events(env: Env, clock: Monotonic) -> None:
    spy = SpyLog(env.log())
    runtime = await env.runtime(spy, snapshot_every=2)
    for _ in range(3):
        await runtime.submit(env.issue())
    assert await _snapshots(env, spy) == 2


async def test_a_slow_snapshot_holds_the_next_one_back_for_fifty_times_its_cost(env: Env, clock: Monotonic) -> None:
    spy = SpyLog(env.log())
    runtime = await env.runtime(spy, snapshot_every=2)
    clock.cost = 0.5  # every encoding from now on "takes" half a second
    for _ in range(2):
        await runtime.submit(env.issue())
    assert await _snapshots(env, spy) == 2
    for _ in range(6):  # many more events, but no time has passed: held back
        await runtime.submit(env.issue())
    assert await _snapshots(env, spy) == 2
    clock.now += 0.5 / runtime_module.SNAPSHOT_MAX_SHARE  # 25 s later: due again
    await runtime.submit(env.issue())
    assert await _snapshots(env, spy) == 9
