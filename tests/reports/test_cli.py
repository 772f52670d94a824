"""``antre simulate --log-url`` then ``antre report``: the terminal summary, the CSV and the workbook."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from queue_engine.cli import main
from queue_engine.reports import day_report, to_csv

from .support import DAY, demo, simulated


def test_a_simulated_day_is_reported_in_the_terminal_and_as_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The report of a simulated SQLite log: bilingual headings, the simulation's figures, the same CSV."""
    url = f"sqlite:///{tmp_path / 'sim.db'}"
    assert main(["simulate", "--seed", "1", "--log-url", url], environ={}) == 0
    assert '"log_position":' in capsys.readouterr().out
    out_csv, out_xlsx = tmp_path / "hari.csv", tmp_path / "hari.xlsx"
    argv = ["report", "--date", DAY.isoformat(), "--log-url", url, "--csv", str(out_csv), "--xlsx", str(out_xlsx)]
    assert main(argv, environ={}) == 0
    out = capsys.readouterr().out
    sim, records = simulated(1)
    for heading in (
        "Laporan antrean / Queue report",
        "Ringkasan / Summary",
        "Waktu tunggu sampai dipanggil / Waiting time until the first call",
        "Kedatangan dan panggilan per jam / Arrivals and calls per hour",
        "Pemakaian loket / Counter utilisation",
    ):
        assert heading in out
    assert f"Tiket / Tickets                            {sim.report()['tickets']}" in out
    held = f"{sim.report()['eta_range_hit_rate'] * 100:.1f}%"
    assert f"Rentang ETA tepat / ETA range held         {held}" in out
    # The file holds exactly what the report of the same events gives.
    assert out_csv.read_bytes().decode("utf-8") == to_csv(day_report(demo(), records, DAY))
    lines = list(csv.DictReader(io.StringIO(out_csv.read_text(encoding="utf-8"))))
    assert {"table": "summary", "group": "", "subgroup": "", "metric": "tickets", "value": "154"} in lines
    assert out_xlsx.read_bytes()[:2] == b"PK"


def test_more_days_go_into_one_log_and_a_range_adds_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A second simulated day needs --date (later than the log); the range report covers both."""
    url = f"sqlite:///{tmp_path / 'week.db'}"
    assert main(["simulate", "--seed", "1", "--log-url", url, "--date", "2026-11-26"], environ={}) == 0
    assert main(["simulate", "--seed", "2", "--log-url", url], environ={}) == 2
    assert "choose the day" in capsys.readouterr().err
    assert main(["simulate", "--seed", "2", "--log-url", url, "--date", "2026-11-26"], environ={}) == 2
    assert "later day" in capsys.readouterr().err
    assert main(["simulate", "--seed", "2", "--log-url", url, "--date", "2026-11-27"], environ={}) == 0
    capsys.readouterr()

    def tickets(*argv: str) -> int:
        assert main(["report", "--log-url", url, *argv], environ={}) == 0
        line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("  Tiket / Tickets"))
        return int(line.split()[-1])

    thursday, friday = tickets("--date", "2026-11-26"), tickets("--date", "2026-11-27")
    assert thursday == 154 and friday > 100
    assert tickets("--date", "2026-11-26", "--to", "2026-11-27") == thursday + friday


def test_bad_dates_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    with pytest.raises(SystemExit):
        main(["report", "--date", "26-11-2026", "--log-url", url], environ={})
    assert "not a date" in capsys.readouterr().err
    assert main(["report", "--date", "2026-11-27", "--to", "2026-11-26", "--log-url", url], environ={}) == 2
    assert "before the first day" in capsys.readouterr().err
