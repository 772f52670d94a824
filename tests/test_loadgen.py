"""The load generator of issue #7 (``benchmarks/loadgen.py``): its ledger checks, and one small real morning.

The chaos tests and ``benchmarks/http.py`` trust ``Ledger.check`` to find lost commands, numbers
issued twice and tickets called twice; the first tests feed it ledgers with each fault planted.
The last one runs a short morning against ``antre serve`` in its own process and expects a clean
ledger, with every board and phone settled.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from benchmarks.ledger import Entry, Ledger, LogView, PushLog, ServerView, kinds
from benchmarks.loadgen import ServerProcess, fetch_view, run_morning, write_facility


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _issue(ledger: Ledger, token: str, number: str, *, key: str | None = None, acked: bool = True) -> Entry:
    e = ledger.entry("kiosk-0", "issue", sent=1.0, key=key or f"key-{token}", service="LOKET")
    e.acked = 2.0 if acked else None
    e.token, e.number, e.day = token, number, "2026-11-26"
    return e


def _call(ledger: Ledger, ticket_id: str, number: str, counter: str = "loket-1", completed: str | None = None) -> Entry:
    e = ledger.entry(f"desk-{counter}", "call_next", sent=3.0, key=f"c-{ticket_id}", counter=counter)
    e.acked, e.ticket_id, e.number, e.service, e.completed = 4.0, ticket_id, number, "LOKET", completed
    return e


def test_a_clean_ledger_has_no_problem() -> None:
    ledger = Ledger()
    _issue(ledger, "tok-1", "A001")
    _issue(ledger, "tok-2", "A002")
    _call(ledger, "t1", "A001")
    _call(ledger, "t2", "A002", completed="t1")
    view = ServerView(
        tickets={"tok-1": {"number": "A001", "service": "LOKET", "status": "done"}},
        log=LogView(
            issued={"tok-1": ("t1", "LOKET", "2026-11-26", "A001"), "tok-2": ("t2", "LOKET", "2026-11-26", "A002")},
            calls={"t1": ["loket-1"], "t2": ["loket-1"]},
            completed={"t1"},
        ),
    )
    assert ledger.check(view) == []


def test_duplicate_numbers_and_double_calls_are_found_in_the_ledger() -> None:
    ledger = Ledger()
    _issue(ledger, "tok-1", "A001")
    _issue(ledger, "tok-2", "A001")  # a second ticket with the same number, same service and day
    _call(ledger, "t1", "A001", counter="loket-1")
    _call(ledger, "t1", "A001", counter="loket-2")  # one ticket called by two commands
    assert kinds(ledger.check()) == {"duplicate number": 1, "double call": 1}


def test_acknowledged_commands_missing_on_the_server_are_lost() -> None:
    ledger = Ledger()
    _issue(ledger, "tok-1", "A001")
    _issue(ledger, "tok-2", "A002")
    _issue(ledger, "tok-3", "A003", acked=False)  # never acknowledged: whatever happened to it is fine
    _call(ledger, "t1", "A001")
    _call(ledger, "t2", "A002", completed="t1")
    view = ServerView(
        tickets={
            "tok-1": {"number": "A001", "service": "LOKET", "status": "called"},  # its completion was lost
            "tok-2": None,  # unknown to the server
        },
        log=LogView(issued={"tok-1": ("t1", "LOKET", "2026-11-26", "A001")}, calls={"t1": ["loket-1", "loket-2"]}),
    )
    problems = ledger.check(view)
    assert kinds(problems) == {"lost": 5, "double call": 1}, problems


def test_a_board_that_missed_or_repeated_a_call_is_reported() -> None:
    ledger = Ledger()
    _issue(ledger, "tok-1", "A001")
    _call(ledger, "t1", "A001")
    _call(ledger, "t2", "A002")
    board = PushLog(kind="board", topic="ruang-tunggu", services=("LOKET",), settled=True)
    board.calls = [(5, "A001", "loket-1", False), (5, "A001", "loket-1", False)]  # A002 never came; A001 twice
    ledger.push.append(board)
    problems = ledger.check()
    assert kinds(problems) == {"push": 2}, problems


def test_merged_ledgers_keep_each_board_to_its_own_calls() -> None:
    first, second = Ledger(), Ledger()
    _call(first, "t1", "A001")
    _call(second, "t2", "A002")  # called in another client process, whose board is not this one
    board = PushLog(kind="board", topic="ruang-tunggu", services=("LOKET",), settled=True)
    board.calls = [(5, "A001", "loket-1", False)]
    first.push.append(board)
    assert first.merge(second).check() == []


@pytest.mark.anyio
@pytest.mark.slow
async def test_a_short_morning_against_a_real_server_leaves_a_clean_ledger(tmp_path: Path) -> None:
    """Kiosks, desks, a board and phones on `antre serve`: every command acknowledged is on the server."""
    facility = write_facility(tmp_path / "facility.toml", {"LOKET": 2, "UMUM": 1})
    log_url = f"sqlite:///{tmp_path / 'load.db'}"
    server = ServerProcess(log_url, facility=facility, log_dir=tmp_path)
    try:
        await anyio.to_thread.run_sync(server.wait_ready)
        ledger = await run_morning(
            server.url, kiosks=3, n_tickets=40, services={"LOKET": 2, "UMUM": 1}, boards=1, phones=3, client="raw"
        )
        view = await fetch_view(server.url, ledger, log_url=log_url)
    finally:
        server.stop()
    assert ledger.check(view) == []
    assert len(ledger.issued()) == 40
    assert len(ledger.called()) == 40  # the desks drained the queues: everybody was called
    assert len(ledger.completed()) == 40  # ... and completed
    assert view.log is not None and len(view.log.issued) == 40
    assert all(log.settled and log.error is None for log in ledger.push)
    assert any(log.kind == "board" and len(log.calls) == 40 for log in ledger.push)
