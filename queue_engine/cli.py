"""The ``antre`` command: serve, simulate, replay.

Options fall back to environment variables (``ANTRE_LOG_URL``, ``ANTRE_FACILITY``), read once here.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import time
from collections import Counter as Tally
from collections.abc import Sequence
from typing import Any

import orjson

from .config import ConfigError, load_facility
from .domain.model import Facility
from .domain.state import FacilityState
from .log import DEFAULT_URL, LogError, open_log
from .runtime import Runtime, load_state


def _parser(environ: dict[str, str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="antre", description="Antre: sistem antrean real-time / real-time queue engine"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--facility",
            default=environ.get("ANTRE_FACILITY"),
            help="facility TOML file (default: the bundled demo puskesmas; env ANTRE_FACILITY)",
        )

    serve = sub.add_parser("serve", help="run the engine on a facility (demo puskesmas by default)")
    common(serve)
    serve.add_argument("--log-url", default=environ.get("ANTRE_LOG_URL", DEFAULT_URL), help="event log URL")

    sim = sub.add_parser("simulate", help="simulate a puskesmas day through the real engine")
    common(sim)
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument("--patients", type=int, default=160)

    replay = sub.add_parser("replay", help="rebuild the state from a log and print a summary")
    common(replay)
    replay.add_argument("--log-url", default=environ.get("ANTRE_LOG_URL", DEFAULT_URL), help="event log URL")
    replay.add_argument("--json", action="store_true", help="print the summary as JSON only")
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


async def _serve(facility: Facility, log_url: str) -> int:
    runtime = Runtime(facility, open_log(log_url))
    started = time.perf_counter()
    await runtime.start()
    print(f"Antre siap / ready in {time.perf_counter() - started:.2f}s — log: {log_url}")
    _print_summary(facility, summary(runtime.state))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    print("Antarmuka web menyusul (issue #3) / the web interface attaches in issue #3.")
    print("Ctrl-C untuk berhenti / to stop.")
    try:
        await stop.wait()
    finally:
        await runtime.close()
        await runtime.log.close()
    print("Antre berhenti / stopped.")
    return 0


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


def _simulate(facility: Facility, seed: int, patients: int) -> int:
    from .simulate import simulate

    started = time.perf_counter()
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
        facility = load_facility(args.facility)
        if args.command == "serve":
            return asyncio.run(_serve(facility, args.log_url))
        if args.command == "replay":
            return asyncio.run(_replay(facility, args.log_url, args.json))
        return _simulate(facility, args.seed, args.patients)
    except (ConfigError, ValueError, LogError) as exc:
        print(f"antre: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
