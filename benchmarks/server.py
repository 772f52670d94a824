"""``antre serve`` in a process of its own, the facility file a load test needs, and Redis key prefixes.

* :func:`write_facility` writes a facility TOML for load: the demo puskesmas (its accounts and
  device tokens included) without opening hours or quotas, in a timezone where it is about noon
  (so a run cannot cross a local midnight, when numbers restart), with as many counters per
  service as asked. The demo's staff accounts operate them: ``petugas-loket`` the LOKET ones,
  ``petugas-poli`` UMUM, GIGI and KIA, ``petugas-farmasi`` LAB and APOTEK.
* :class:`ServerProcess` runs ``python -m queue_engine.cli serve`` on a free port and waits for
  the line it prints once its socket listens (never a timer). ``cpu_s()`` reads its CPU time
  from ``/proc`` so a benchmark can tell a busy server from a busy client.
* :func:`redis_url` gives a Redis log URL with a fresh key prefix; :func:`delete_prefix` removes
  the keys under it (``SCAN MATCH`` + ``UNLINK``, nothing else is touched).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from queue_engine.config import demo_path

ROOT = Path(__file__).resolve().parent.parent
#: what ``antre serve`` prints once it listens (queue_engine/cli.py)
READY = "Antre siap / ready."
#: counters per service in :func:`write_facility`'s default load facility (32 desks)
LOAD_COUNTERS: dict[str, int] = {"LOKET": 12, "UMUM": 10, "GIGI": 4, "KIA": 6}
#: which demo staff account operates a counter of each service
STAFF_OF_SERVICE = {
    "LOKET": "petugas-loket",
    "UMUM": "petugas-poli",
    "GIGI": "petugas-poli",
    "KIA": "petugas-poli",
    "LAB": "petugas-farmasi",
    "APOTEK": "petugas-farmasi",
}


def midday_zone(now: datetime) -> str:
    """An ``Etc/GMT±N`` zone in which ``now`` is between 11:30 and 12:30 (POSIX sign: GMT-7 is UTC+7)."""
    utc = now.astimezone(UTC)
    offset = 12 - round(utc.hour + utc.minute / 60)
    return "Etc/GMT" + (f"{-offset:+d}" if offset else "")


def facility_data(counters: dict[str, int] | None = None, *, now: datetime | None = None) -> dict[str, Any]:
    """The demo puskesmas for load: open around the clock, no quotas, ``counters`` per service.

    Counters are named ``<service>-<n>`` in lower case (``loket-1`` …); a service left out of
    ``counters`` keeps the demo's own counters.
    """
    counters = LOAD_COUNTERS if counters is None else counters
    data = tomllib.loads(demo_path().read_text(encoding="utf-8"))
    data["facility"]["timezone"] = midday_zone(now or datetime.now(UTC))
    for service in data["services"]:
        service.pop("hours", None)
        service.pop("quota", None)
    kept = [c for c in data["counters"] if not set(c["services"]) & set(counters)]
    made = [
        {"id": f"{code.lower()}-{i}", "name": f"{code.title()} {i}", "services": [code]}
        for code, n in counters.items()
        for i in range(1, n + 1)
    ]
    data["counters"] = made + kept
    for user in data["users"]:
        if user["role"] == "staff":
            user["counters"] = [
                c["id"] for c in data["counters"] if STAFF_OF_SERVICE.get(c["services"][0]) == user["username"]
            ]
    return data


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def dump_toml(data: dict[str, Any]) -> str:
    """TOML for the facility file's shape: tables and arrays of tables of plain values."""
    lines: list[str] = []
    for name, section in data.items():
        for table in section if isinstance(section, list) else [section]:
            lines.append(f"[[{name}]]" if isinstance(section, list) else f"[{name}]")
            lines.extend(f"{json.dumps(key)} = {_toml_value(value)}" for key, value in table.items())
            lines.append("")
    return "\n".join(lines)


def write_facility(path: Path, counters: dict[str, int] | None = None, *, now: datetime | None = None) -> Path:
    """Write :func:`facility_data` to ``path`` (a ``.toml`` file) and return it."""
    path.write_text(dump_toml(facility_data(counters, now=now)), encoding="utf-8")
    return path


def free_port() -> int:
    """A port that was free a moment ago (a server that loses it fails to start, and says so)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """``antre serve`` in a process of its own; stdout is read by a thread, stderr goes to a file.

    Args:
        log_url: the event log (``sqlite:///…``, ``redis://…?prefix=…``).
        facility: a facility file, ``demo:<name>``, or None for the demo puskesmas (open 24 h).
        log_dir: where ``<name>.stderr.log`` goes.
        env: extra environment (``ANTRE_*`` variables of this process are not passed on).
        args: extra ``antre serve`` arguments.
        cwd: the source tree to run (default: this one; another checkout compares versions).
    """

    def __init__(
        self,
        log_url: str,
        *,
        facility: str | Path | None = None,
        log_dir: Path,
        name: str = "antre",
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
        cwd: Path = ROOT,
    ) -> None:
        self.name = name
        self.log_url = log_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.stderr_path = log_dir / f"{name}.stderr.log"
        self.output: list[str] = []
        self._ready = threading.Event()
        self._seen_ready = False
        command = [sys.executable, "-u", "-m", "queue_engine.cli", "serve", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--log-url", log_url, *args]
        if facility is not None:
            command += ["--facility", str(facility)]
        clean = {k: v for k, v in os.environ.items() if not k.startswith("ANTRE_")}
        with self.stderr_path.open("wb") as stderr:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                env={**clean, **(env or {})},
                cwd=cwd,
                text=True,
            )
        self._reader = threading.Thread(target=self._read, name=f"{name}-stdout", daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line.rstrip("\n"))
            if READY in line:
                self._seen_ready = True
                self._ready.set()
        self._ready.set()  # the process ended: wait_ready() must not wait for a line that cannot come

    def wait_ready(self, timeout: float = 30.0) -> ServerProcess:
        """Return once the server listens; raise with its output if it stopped or took too long."""
        if not self._ready.wait(timeout):
            raise RuntimeError(f"{self.name} did not print {READY!r} within {timeout} s\n{self.describe()}")
        if not self._seen_ready:
            raise RuntimeError(f"{self.name} exited with {self.proc.wait()} before it was ready\n{self.describe()}")
        return self

    def cpu_s(self) -> float:
        """User + system CPU seconds the server process (all its threads) used so far."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self, timeout: float = 10.0) -> int:
        """Terminate (SIGTERM: uvicorn shuts down gracefully), kill after ``timeout``; the exit code."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        self._reader.join(timeout)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL, no shutdown (for fault tests)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def describe(self, tail: int = 40) -> str:
        err = self.stderr_path.read_text(encoding="utf-8", errors="replace").splitlines()[-tail:]
        return "\n".join([f"--- {self.name} stdout", *self.output[-tail:], f"--- {self.name} stderr", *err])

    def __enter__(self) -> ServerProcess:
        return self.wait_ready()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def redis_url(base: str = "redis://127.0.0.1:6379/0", label: str = "bench") -> str:
    """``base`` with a fresh key prefix ``<label>-<random>:`` (after any prefix it had)."""
    parts = urlsplit(base)
    query = dict(parse_qsl(parts.query))
    query["prefix"] = f"{query.get('prefix', '')}{label}-{secrets.token_hex(6)}:"
    return urlunsplit(parts._replace(query=urlencode(query)))


async def delete_prefix(url: str) -> int:
    """Delete every key under the URL's ``prefix`` (and only those); how many were deleted."""
    from redis.asyncio import Redis

    parts = urlsplit(url)
    prefix = dict(parse_qsl(parts.query)).get("prefix", "")
    if not prefix:
        raise ValueError("refusing to delete keys without a prefix")
    client = Redis.from_url(urlunsplit(parts._replace(query="")))
    deleted = 0
    try:
        batch: list[bytes] = []
        async for key in client.scan_iter(match=f"{prefix}*", count=1000):
            batch.append(key)
            if len(batch) >= 500:
                deleted += await client.unlink(*batch)
                batch = []
        if batch:
            deleted += await client.unlink(*batch)
    finally:
        await client.aclose()
    return deleted
