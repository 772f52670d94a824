"""A module's commands through the runtime: appended to the one log, and rebuilt on restart."""

from __future__ import annotations

from dataclasses import replace

import pytest

from queue_engine import Runtime, load_state

from ..domain.test_modules import Guestbook, Sign, Signed
from .support import Env

pytestmark = pytest.mark.anyio


async def test_module_events_share_the_log_and_a_restart_rebuilds_the_module_state(env: Env):
    facility = replace(env.facility, modules=(Guestbook(),))
    runtime = Runtime(facility, env.log(), clock=env.clock, ids=env.ids)
    await runtime.start()
    try:
        await runtime.submit(env.issue())  # a core event and module events, one sequence
        signed = await runtime.submit(Sign(at=env.clock.now(), name="Siti"))
        await runtime.submit(Sign(at=env.clock.now(), name="Budi"))
    finally:
        await runtime.close()
    assert signed.events == (Signed(at=env.clock.now(), name="Siti", tickets=1),)
    assert signed.position == 2
    restarted = await load_state(facility, env.log())
    assert restarted.modules["guestbook"] == ["Siti", "Budi"]
    assert restarted.snapshot() == runtime.state.snapshot()
