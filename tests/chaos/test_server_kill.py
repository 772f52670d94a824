"""SIGKILL the server under load, start it again on the same log, carry on: nothing acknowledged is lost.

Issue #7, chaos tests 1 and 2. One ``antre serve`` process serves kiosks (issuing tickets, each
with its own idempotency key) and three desks (pressing "call next, completing the current one",
each press with its own ``Idempotency-Key``). Once enough commands are acknowledged the process
gets SIGKILL: no shutdown, whatever it was doing. It is started again on the same port and the
same log (the SQLite file; or its own redis-server, append-only file fsynced on every write), and
the load goes on. That happens :data:`KILLS` times.

Clients send a command that got no answer again with the same key (the staff console does), so
at the end every command has an answer and the ledger can be held to the log exactly:

* every acknowledged ticket and call is in the log, as answered; nothing is in the log that no
  answer covers;
* no number is issued twice, no key is carried out twice, no ticket is called twice;
* the restarted node shows every acknowledged ticket as the log has it, at the log's position.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from queue_engine.domain.model import Facility
from tests.redis_server import RedisServer

from .nodes import Node, node_env, running
from .support import Ledger, Load, audit_log, audit_node, read_events

pytestmark = [pytest.mark.anyio, pytest.mark.slow, pytest.mark.timeout(120)]

#: how many times the server is killed, and the commands acknowledged before each kill and after the last restart
KILLS = 3
ACKS = 150
#: the longest the run may wait for ACKS more acknowledgements
PHASE_S = 30


def log_url_for(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'antre.db'}"
    redis: RedisServer = request.getfixturevalue("private_redis")
    return f"{redis.url}?prefix=chaos:"


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def test_server_killed_under_load_restarts_on_the_same_log_and_loses_nothing(
    backend: str, tmp_path: Path, facility_path: Path, facility: Facility, request: pytest.FixtureRequest
) -> None:
    """SIGKILL ``antre serve`` mid-load, restart it on the same log: every acknowledged command is there, once."""
    started = time.monotonic()
    log_url = log_url_for(backend, tmp_path, request)
    node = Node(f"serve-{backend}", node_env(log_url, facility_path), tmp_path)
    ledger = Ledger()
    restarts: list[float] = []
    async with running(node):
        async with Load(node.url, ledger) as load:
            await ledger.acked_more(ACKS, PHASE_S, "load before the first kill")
            for kill in range(1, KILLS + 1):
                node.kill()  # synchronous: no client learns of it before `up` is cleared
                load.up.clear()
                ledger.phase = f"killed-{kill}"
                await node.wait_dead()
                restarts.append(await node.start())
                ledger.phase = "load"
                load.up.set()
                await ledger.acked_more(ACKS, PHASE_S, f"load after restart {kill}")
        events = await read_events(log_url, facility.id)
        audit = audit_log(ledger, events)
        audit.problems += await audit_node(node.url, ledger, log_url, facility)
    audit.problems += node.errors()
    audit.counts |= {"kills": KILLS, "restart_s_max": round(max(restarts), 2)}
    print(audit.line(f"server SIGKILL x{KILLS} ({backend})", time.monotonic() - started))
    assert audit.counts["lost"] == 0 and not audit.problems, "\n".join(audit.problems)
    assert audit.counts["no_answer"] >= KILLS, "the kills landed while no command was in flight"
