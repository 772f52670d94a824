"""The forecast over a real log: the history reader, ``GET /api/v1/forecast`` and ``antre forecast``."""

from __future__ import annotations

import asyncio
import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from queue_engine.cli import main
from queue_engine.clock import ManualClock
from queue_engine.demand import EVENT_TYPES, forecast, forecast_dict
from queue_engine.history import forecast_from_log, position_before, read_stretch
from queue_engine.log import open_log
from queue_engine.log.memory import MemoryLog

from ..conftest import local_ms
from ..web.conftest import api_client, login
from .support import FIRST_DAY, TARGET, facility_file, local, synthetic, write


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory):
    return synthetic(tmp_path_factory.mktemp("facility"))


def test_the_reader_finds_the_window_by_binary_search_and_reads_only_ticket_events(history) -> None:
    async def go() -> None:
        log = MemoryLog()
        await write(log, history.facility, history.events)
        fid = history.facility.id
        since, until = local(FIRST_DAY + timedelta(days=7), 0), local(FIRST_DAY + timedelta(days=14), 0)
        after = await position_before(log, fid, since)
        first_inside = history.events[after]
        assert first_inside.at >= since and history.events[after - 1].at < since
        assert await position_before(log, fid, 0) == 0
        assert await position_before(log, fid, local(TARGET, 0)) == len(history.events)

        stretch = await read_stretch(log, fid, since=since, until=until, types=EVENT_TYPES, chunk=500)
        wanted = [e for e in history.events if since <= e.at < until and e.TYPE in EVENT_TYPES]
        assert stretch.events == wanted
        assert stretch.first_at is not None and stretch.first_at < since  # one record before: coverage known
        empty = await read_stretch(MemoryLog(), fid, since=since, until=until, types=EVENT_TYPES)
        assert empty.events == [] and empty.first_at is None

        from_log = await forecast_from_log(log, history.facility, TARGET, today=TARGET)
        assert from_log == forecast(history.facility, history.events, TARGET)

    asyncio.run(go())


def test_the_api_answers_the_admin_with_the_forecast(history) -> None:
    log = MemoryLog()
    asyncio.run(write(log, history.facility, history.events))
    clock = ManualClock(local_ms(2026, 11, 29, 18, 0))  # Sunday evening: tomorrow is the target Monday
    with api_client(log=log, clock=clock, facility=history.facility) as client:
        assert client.get("/api/v1/forecast").status_code == 401
        staff = login(client, "petugas-loket")
        assert client.get("/api/v1/forecast", headers=staff).status_code == 403
        admin = login(client, "admin")
        response = client.get("/api/v1/forecast", headers=admin)  # default: tomorrow
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer == forecast_dict(forecast(history.facility, history.events, TARGET), history.facility)
        a = answer["services"][0]
        assert (answer["date"], answer["status"], a["service"], a["expected_total"]) == ("2026-11-30", "ok", "A", 80.0)
        assert [(h["from"], h["expected"], h["low"], h["high"], h["counters"]) for h in a["hours"]][1] == (
            "08:00",
            30.0,
            23,
            37,
            3,
        )
        tight = client.get("/api/v1/forecast?date=2026-11-30&wait=1&weeks=2", headers=admin).json()
        assert tight["weeks"] == 2 and tight["target_wait_min"] == 1
        assert tight["services"][1]["peak_counters"] >= a["peak_counters"]
        for bad in ("date=30-11-2026", "date=2026-13-01", "weeks=0", "weeks=13", "wait=0", "wait=x"):
            refused = client.get(f"/api/v1/forecast?{bad}", headers=admin)
            assert refused.status_code == 422, bad
            assert refused.json()["code"] == "invalid_body"
        far = client.get("/api/v1/forecast?date=2026-10-01", headers=admin).json()
        assert far["status"] == "not_enough_data" and far["services"] == []
        assert "Belum cukup data" in far["message_id"]
        paths = client.get("/api/v1/openapi.json").json()["paths"]
        assert "get" in paths["/api/v1/forecast"]


def test_the_cli_prints_a_table_or_json_and_says_when_data_is_short(
    history, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/forecast.db"

    async def fill() -> None:
        log = open_log(url)
        try:
            await write(log, history.facility, history.events)
        finally:
            await log.close()

    asyncio.run(fill())
    toml = str(facility_file(tmp_path))
    args = ["forecast", "--facility", toml, "--log-url", url, "--date", "2026-11-30", "--today", "2026-11-30"]
    assert main(args, environ={}) == 0
    out = capsys.readouterr().out
    assert "Perkiraan kunjungan / demand forecast — Puskesmas Uji Perkiraan" in out
    assert "Senin / Monday 2026-11-30" in out
    assert "Loket Pendaftaran [A] — 4.0 min/pasien (observed" in out
    assert "  08:00\u201309:00        30.0     23\u201337         3       44%     0.0 m" in out

    assert main([*args, "--json"], environ={}) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == forecast_dict(forecast(history.facility, history.events, TARGET), history.facility)

    assert main([*args[:-4], "--date", "2026-11-09", "--today", "2026-11-09"], environ={}) == 1
    out = capsys.readouterr().out
    assert "Belum cukup data: baru 1 hari Senin" in out and "Not enough data" in out

    with pytest.raises(SystemExit) as exited:  # argparse refuses a date in another form
        main(["forecast", "--date", "30-11-2026"], environ={})
    assert exited.value.code == 2
    assert date.fromisoformat(data["date"]) == TARGET
