"""The ``antre`` command: serve, simulate, replay, report, forecast.

Options fall back to environment variables (``ANTRE_LOG_URL``, ``ANTRE_FACILITY``), read once here.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import os
import socket
import sys
import time
from collections import Counter as Tally
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import Any

import orjson

from . import forecast_cli, report_cli
from .config import ConfigError, is_demo, load_facility
from .domain.model import Facility
from .domain.state import FacilityState
from .log import DEFAULT_URL, LogError, open_log
from .runtime import load_state


def _parser(environ: dict[str, str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="antre", description="Antre: sistem antrean real-time / real-time queue engine"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--facility",
            default=environ.get("ANTRE_FACILITY"),
            help="facility TOML file, or demo:kelurahan (default: the bundled demo puskesmas; env ANTRE_FACILITY)",
        )

    serve = sub.add_parser("serve", help="run Antre: engine, API, push, kiosk, phone page, staff console, boards")
    common(serve)
    serve.add_argument("--log-url", default=None, help="event log URL (env ANTRE_LOG_URL; default sqlite:///antre.db)")
    serve.add_argument("--host", default=None, help="address to listen on (env ANTRE_HOST; default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (env ANTRE_PORT; default 8000)")
    serve.add_argument(
        "--loop",
        choices=("auto", "asyncio", "uvloop"),
        default=environ.get("ANTRE_LOOP", "auto"),
        help="event loop (env ANTRE_LOOP; default auto: uvloop when installed)",
    )
    serve.add_argument(
        "--http",
        choices=("auto", "h11", "httptools"),
        default=environ.get("ANTRE_HTTP", "auto"),
        help="HTTP/1.1 parser (env ANTRE_HTTP; default auto: httptools when installed)",
    )

    sim = sub.add_parser("simulate", help="simulate a puskesmas day through the real engine")
    common(sim)
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument("--patients", type=int, default=160)
    sim.add_argument("--log-url", default=None, help="also append the day's events to this log, e.g. sqlite:///sim.db")
    sim.add_argument("--date", default=None, help="the day to simulate, YYYY-MM-DD (with --log-url)")

    replay = sub.add_parser("replay", help="rebuild the state from a log and print a summary")
    common(replay)
    replay.add_argument("--log-url", default=environ.get("ANTRE_LOG_URL", DEFAULT_URL), help="event log URL")
    replay.add_argument("--json", action="store_true", help="print the summary as JSON only")
    report_cli.add_parser(sub, common, environ)
    forecast_cli.add_parser(sub, common, environ)
    return parser


def summary(state: FacilityState) -> dict[str, Any]:
    """What a replay or a running engine reports about a facility's state."""
    return {
        "facility": state.facility.id,
        "position": state.position,
        "today": state.today,
        "tickets": len(state.tickets),
        "by_status": dict(sorted(Tally(t.status.value for t in state.tickets.values()).items())),
        "waiting": {code: len(s.waitlist) for code, s in state.services.items()},
        "counters": {cid: c.status.value for cid, c in state.counters.items()},
    }


def _print_summary(facility: Facility, info: dict[str, Any]) -> None:
    print(f"{facility.name} [{facility.id}] — posisi log / log position {info['position']}")
    print(f"  tiket / tickets: {info['tickets']} {info['by_status']}")
    for code, n in info["waiting"].items():
        print(f"  {facility.services[code].name:<38} menunggu / waiting: {n}")


def _serve(
    facility_path: str | None,
    host: str | None,
    port: int | None,
    log_url: str | None,
    *,
    loop: str = "auto",
    http: str = "auto",
) -> int:
    """Run the web app (engine, API, push, pages, boards) under uvicorn until Ctrl-C.

    ``loop`` and ``http`` are uvicorn's: ``auto`` takes uvloop and httptools when they are
    installed (both are dependencies), else asyncio and h11.
    """
    import uvicorn

    from web.app import create_app
    from web.settings import Settings

    settings = Settings.from_environ(os.environ)
    settings = replace(
        settings,
        host=host or settings.host,
        port=port or settings.port,
        log_url=log_url or settings.log_url,
        facility_path=facility_path or settings.facility_path,
        tune_gc=True,
    )
    facility = load_facility(settings.facility_path)
    demo = is_demo(settings.facility_path)
    if demo:
        # The demo should work whenever someone tries it: its services take numbers around the clock.
        facility = replace(facility, services={k: replace(v, hours={}) for k, v in facility.services.items()})
    app = create_app(settings, facility=facility)
    base = f"http://{'localhost' if settings.host in ('0.0.0.0', '::') else settings.host}:{settings.port}"
    loop, http = _resolved(loop, "uvloop", "asyncio"), _resolved(http, "httptools", "h11")
    print(f"Antre — {facility.name} — log: {settings.log_url} — server: {loop}, {http}")
    for label, path in _urls(facility, demo):
        print(f"  {label:<44} {base}{path}")
    if demo:
        staff = "petugas-ketabang" if any(m.name == "elampid" for m in facility.modules) else "petugas-loket"
        print(f"  (akun demo / demo accounts: admin/admin-demo, {staff}/petugas-demo — demo only;")
        print("   demo: layanan buka 24 jam / services open around the clock; --facility for a real one)")
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        ws="websockets-sansio",
        ws_per_message_deflate=False,  # boards on a LAN: compressing each message per client costs more
        lifespan="on",
        log_level="warning",
        loop=loop,
        http=http,
    )
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises the Ctrl-C it handled, after shutdown
        _server_class()(config).run()
    print("Antre berhenti / stopped.")
    return 0


def _resolved(choice: str, fast: str, fallback: str) -> str:
    """What uvicorn's ``auto`` picks: the C implementation when it can be imported."""
    if choice != "auto":
        return choice
    try:
        importlib.import_module(fast)
    except ImportError:
        return fallback
    return fast


def _server_class() -> type:
    import uvicorn

    class Server(uvicorn.Server):
        """Says "ready" once the socket listens, so people (and tests) know when to connect."""

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                print("Antre siap / ready. Ctrl-C untuk berhenti / to stop.", flush=True)

    return Server


def _urls(facility: Facility, demo: bool) -> list[tuple[str, str]]:
    urls = [
        ("Beranda / home", "/"),
        ("Kios ambil nomor / kiosk", "/kiosk?token=kiosk-demo" if demo else "/kiosk"),
        ("Ambil nomor dari HP / book from a phone", "/ambil"),
        ("Konsol petugas / staff console", "/staff"),
    ]
    demo_tokens = {"ruang-tunggu": "papan-demo", "apotek-lab": "papan-apotek-demo"}
    for display in facility.displays:
        token = demo_tokens.get(display.id) if demo else None
        urls.append((f"Papan / board: {display.name}", f"/board/{display.id}" + (f"?token={token}" if token else "")))
    if any(module.name == "elampid" for module in facility.modules):
        urls += [
            ("e-Lampid: ajukan akta / apply", "/lampid"),
            ("e-Lampid: konsol kelurahan / staff", "/lampid/staff"),
        ]
    urls += [("API (OpenAPI)", "/api/v1/openapi.json"), ("Metrics (Prometheus)", "/metrics")]
    return urls


async def _replay(facility: Facility, log_url: str, as_json: bool) -> int:
    event_log = open_log(log_url)
    try:
        started = time.perf_counter()
        state = await load_state(facility, event_log)
        elapsed = time.perf_counter() - started
    finally:
        await event_log.close()
    info = summary(state) | {"replay_s": round(elapsed, 3)}
    if not as_json:
        _print_summary(facility, info)
    print(orjson.dumps(info).decode())
    return 0


def _simulate(facility: Facility, seed: int, patients: int, log_url: str | None = None, day: str | None = None) -> int:
    from .simulate import simulate

    started = time.perf_counter()
    if log_url is not None:
        when = date.fromisoformat(day) if day else None
        report = asyncio.run(report_cli.simulate_into_log(facility, seed, patients, log_url, when))
    else:
        report = simulate(facility, seed, patients=patients)
    report["elapsed_s"] = round(time.perf_counter() - started, 2)
    print(f"Simulasi / simulation: {facility.name}, seed {seed}, {report['tickets']} tiket / tickets")
    print(f"  rata-rata tunggu per kelas / mean wait per class (min): {report['mean_wait_min']}")
    print(f"  tunggu terlama / longest wait: {report['max_wait_min']} min")
    print(f"  throughput: {report['throughput_per_hour']} pasien/jam / patients per hour")
    print(f"  ETA: MAE {report['eta_mae_min']} min, rentang tepat / range hit {report['eta_range_hit_rate']:.0%}")
    print(orjson.dumps(report).decode())
    return 0


def main(argv: Sequence[str] | None = None, environ: dict[str, str] | None = None) -> int:
    """Entry point of the ``antre`` console script."""
    args = _parser(dict(os.environ) if environ is None else environ).parse_args(argv)
    try:
        if args.command == "serve":
            return _serve(args.facility, args.host, args.port, args.log_url, loop=args.loop, http=args.http)
        facility = load_facility(args.facility)
        if args.command == "replay":
            return asyncio.run(_replay(facility, args.log_url, args.json))
        if args.command == "report":
            return report_cli.run(facility, args)
        if args.command == "forecast":
            return forecast_cli.run(facility, args)
        return _simulate(facility, args.seed, args.patients, args.log_url, args.date)
    except (ConfigError, ValueError, LogError) as exc:
        print(f"antre: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
