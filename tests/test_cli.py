"""The antre command: simulate, replay, serve."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from queue_engine import IssueTicket, ManualClock, OpenCounter, Runtime, SequentialIds, load_facility, open_log
from queue_engine.cli import main
from queue_engine.simulate import Simulation

REQUIRED = {"tickets", "mean_wait_min", "max_wait_min", "eta_mae_min", "eta_range_hit_rate", "throughput_per_hour"}


def _last_json(out: str) -> dict[str, object]:
    line = out.strip().splitlines()[-1]
    data = json.loads(line)
    assert isinstance(data, dict)
    return data


def test_simulate_prints_report_as_last_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    """`antre simulate --seed 1` ends with one JSON object holding the agreed keys."""
    assert main(["simulate", "--seed", "1"], environ={}) == 0
    report = _last_json(capsys.readouterr().out)
    assert report.keys() >= REQUIRED
    assert isinstance(report["mean_wait_min"], dict) and "umum" in report["mean_wait_min"]
    assert report["tickets"] == 154


def test_simulation_is_deterministic_per_seed() -> None:
    """The same seed gives the same day; another seed gives another day."""
    facility = load_facility()
    first = Simulation(facility=facility, seed=7).run()
    again = Simulation(facility=facility, seed=7).run()
    other = Simulation(facility=facility, seed=8).run()
    assert first == again
    assert first != other


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_simulated_eta_range_is_trustworthy_but_not_vacuous(seed: int) -> None:
    """The shown ETA range holds the real call time for 70-90% of tickets."""
    report = Simulation(facility=load_facility(), seed=seed).run()
    assert 0.7 <= report["eta_range_hit_rate"] <= 0.9
    assert report["eta_judged"] > 300


def test_simulated_priority_classes_wait_less_but_normals_are_served() -> None:
    """Priority classes wait less on average, and every umum patient is still called."""
    report = Simulation(facility=load_facility(), seed=1).run()
    waits = report["mean_wait_min"]
    assert waits["lansia"] < waits["umum"]
    assert report["still_waiting"] <= 3
    assert report["calls_per_class"]["umum"] > 200


def test_replay_prints_summary_of_a_sqlite_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`antre replay` rebuilds the state from a SQLite log and reports its position and tickets."""
    url = f"sqlite:///{tmp_path / 'antre.db'}"
    facility = load_facility()

    async def write() -> int:
        clock, ids = ManualClock(1_795_654_800_000), SequentialIds()  # Thu 2026-11-26 08:00 WIB
        async with Runtime(facility, open_log(url), clock=clock, ids=ids) as runtime:
            await runtime.submit(OpenCounter(at=clock.now(), counter="loket-1"))  # type: ignore[arg-type]
            for _ in range(5):
                cmd = IssueTicket(at=clock.now(), ticket_id=ids.ticket_id(), token=ids.token(), service="LOKET")  # type: ignore[arg-type]
                await runtime.submit(cmd)
            await runtime.log.close()
            return runtime.state.position

    position = asyncio.run(write())
    assert main(["replay", "--log-url", url, "--json"], environ={}) == 0
    summary = _last_json(capsys.readouterr().out)
    assert summary["position"] == position == 6
    assert summary["tickets"] == 5
    assert summary["waiting"] == {"LOKET": 5, "UMUM": 0, "GIGI": 0, "KIA": 0, "LAB": 0, "APOTEK": 0}


def test_bad_facility_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A broken facility file exits 2 with a message naming the file."""
    bad = tmp_path / "bad.toml"
    bad.write_text("[facility]\nid = 'x'\n", encoding="utf-8")
    assert main(["simulate", "--facility", str(bad)], environ={}) == 2
    assert "bad.toml" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_starts_the_web_app_on_the_demo_and_stops_on_sigint(tmp_path: Path) -> None:
    """`antre serve` prints each page's URL, serves the landing page, and exits cleanly on Ctrl-C."""
    port = _free_port()
    env = {"ANTRE_LOG_URL": f"sqlite:///{tmp_path / 'serve.db'}", "PATH": "/usr/bin:/bin"}
    with subprocess.Popen(
        [sys.executable, "-u", "-m", "queue_engine.cli", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[1],
    ) as proc:
        try:
            assert proc.stdout is not None
            seen = []
            for line in proc.stdout:  # blocks on the process's own output; the test timeout bounds it
                seen.append(line)
                if "ready" in line:
                    break
            printed = "".join(seen)
            for path in ("/kiosk", "/staff", "/board/ruang-tunggu", "/ambil", "/api/v1/openapi.json", "/metrics"):
                assert f"http://127.0.0.1:{port}{path}" in printed
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
                assert response.status == 200
            assert (tmp_path / "serve.db").exists()
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=20) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
