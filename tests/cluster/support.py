"""Support for multi-process tests: a facility file, ``antre serve`` processes, a board client.

* :func:`write_facility` writes the demo puskesmas to a file with what a load test needs: no
  opening hours and no quotas (thousands of numbers at any hour), more Loket counters serving
  both LOKET and UMUM, and a timezone in which it is about noon, so that a run cannot cross a
  local midnight (numbers restart every local day).
* :class:`ServerProcess` runs ``python -m queue_engine.cli serve`` on a free port with its own
  environment. "Ready" is the line ``antre serve`` prints once its socket listens; the test waits
  on that line (a thread reads the process's output), never on a timer. :meth:`ServerProcess.stop`
  terminates, then kills.
* :class:`BoardWatcher` is a TV board over ``/ws/board/{display}``: it records every ``call``
  frame, follows positions, and resumes after a drop as ``docs/protocol.md`` says.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from queue_engine.config import demo_path

ROOT = Path(__file__).resolve().parents[2]
#: what ``antre serve`` prints once it listens (queue_engine/cli.py)
READY = "Antre siap / ready."
#: demo credentials (queue_engine/demo/puskesmas.toml; public, demo only)
STAFF = ("petugas-loket", "petugas-demo")
ADMIN = ("admin", "admin-demo")
KIOSK_TOKEN = "kiosk-demo"
BOARD_TOKEN = "papan-demo"  # display ruang-tunggu
DISPLAY = "ruang-tunggu"
#: the services every Loket counter of the test facility serves
SERVICES = ("LOKET", "UMUM")
#: the close code of a client dropped for being slow (web/hub.py)
SLOW_CLIENT = 4008


# -- the facility file --------------------------------------------------------------------------


def midday_zone(now: datetime) -> str:
    """An ``Etc/GMT±N`` zone in which ``now`` is between 11:30 and 12:30 (POSIX sign: GMT-7 is UTC+7)."""
    utc = now.astimezone(UTC)
    offset = 12 - round(utc.hour + utc.minute / 60)  # -12 … +12: every one of them exists
    return "Etc/GMT" + (f"{-offset:+d}" if offset else "")


def facility_data(counters: tuple[str, ...], now: datetime) -> dict[str, Any]:
    """The demo puskesmas, open around the clock without quotas, with ``counters`` serving :data:`SERVICES`."""
    data = tomllib.loads(demo_path().read_text(encoding="utf-8"))
    data["facility"]["timezone"] = midday_zone(now)
    for service in data["services"]:
        service.pop("hours", None)
        service.pop("quota", None)
    others = [c for c in data["counters"] if not c["id"].startswith("loket-")]
    lokets = [{"id": cid, "name": f"Loket {cid.split('-')[-1]}", "services": list(SERVICES)} for cid in counters]
    data["counters"] = lokets + others
    for user in data["users"]:
        if user["username"] == STAFF[0]:
            user["counters"] = list(counters)
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
        tables = section if isinstance(section, list) else [section]
        for table in tables:
            lines.append(f"[[{name}]]" if isinstance(section, list) else f"[{name}]")
            lines.extend(f"{json.dumps(key)} = {_toml_value(value)}" for key, value in table.items())
            lines.append("")
    return "\n".join(lines)


def write_facility(path: Path, counters: tuple[str, ...], now: datetime) -> Path:
    path.write_text(dump_toml(facility_data(counters, now)), encoding="utf-8")
    return path


# -- server processes ---------------------------------------------------------------------------


def free_port() -> int:
    """A port that was free a moment ago (a server that loses it fails to start, and says so)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """``antre serve`` in a process of its own; stdout is read by a thread, stderr goes to a file."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.stderr_path = log_dir / f"{name}.stderr.log"
        self.output: list[str] = []
        self._ready = threading.Event()
        self._done = threading.Event()
        self._seen_ready = False
        clean = {k: v for k, v in os.environ.items() if not k.startswith("ANTRE_")}
        with self.stderr_path.open("wb") as stderr:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-u",
                    "-m",
                    "queue_engine.cli",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                env={**clean, **env},
                cwd=ROOT,
                text=True,
            )
        self._reader = threading.Thread(target=self._read, name=f"{name}-stdout", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line.rstrip("\n"))
            if READY in line:
                self._seen_ready = True
                self._ready.set()
        self._ready.set()  # the process ended: wait_ready() must not wait for a line that cannot come
        self._done.set()

    def wait_ready(self, timeout: float) -> None:
        """Return once the server listens; raise with its output if it stopped or took too long."""
        if not self._ready.wait(timeout):
            raise RuntimeError(f"{self.name} did not print {READY!r} within {timeout} s\n{self.describe()}")
        if not self._seen_ready:
            raise RuntimeError(f"{self.name} exited with {self.proc.wait()} before it was ready\n{self.describe()}")

    def stop(self, timeout: float = 10.0) -> int:
        """Terminate (SIGTERM: uvicorn shuts down gracefully), kill after ``timeout``; the exit code."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        self._done.wait(timeout)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return self.proc.returncode

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def describe(self, tail: int = 40) -> str:
        err = self.stderr().splitlines()[-tail:]
        return "\n".join([f"--- {self.name} stdout", *self.output[-tail:], f"--- {self.name} stderr", *err])


# -- a board ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BoardCall:
    """One ``call`` frame as a board received it."""

    position: int
    number: str
    counter: str
    recall: bool


@dataclass
class BoardWatcher:
    """A board client that records calls and resumes after a drop.

    A dropped client resumes from the position *before* the last one it saw, and skips the frames of
    that position it already has: the hub queues a batch's frames together, but a drop can cut the
    send in the middle of a batch, and resuming from the last position seen would lose the rest of
    that batch (``docs/protocol.md`` says to resume from it).
    """

    name: str
    url: str
    calls: list[BoardCall] = field(default_factory=list)
    #: the position of the last message received
    position: int = -1
    #: times the server dropped this client (4008), and resumes that came back as a snapshot
    drops: int = 0
    gaps: int = 0
    #: a close that was neither a drop nor the test closing
    error: str | None = None
    _at_position: set[str] = field(default_factory=set)
    _moved: asyncio.Condition = field(default_factory=asyncio.Condition)
    _subscribed: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> BoardWatcher:
        self._task = asyncio.create_task(self._run(), name=f"board-{self.name}")
        subscribed = asyncio.create_task(self._subscribed.wait())
        try:
            async with asyncio.timeout(10):
                await asyncio.wait({self._task, subscribed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            subscribed.cancel()
        if self._task.done():
            self._task.result()
            raise RuntimeError(f"board {self.name} stopped before its snapshot: {self.error}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def reached(self, position: int) -> None:
        """Wait until a message at ``position`` or later came (a heartbeat at P: every message up to P)."""
        async with self._moved:
            await self._moved.wait_for(lambda: self.position >= position or self.error is not None)
        if self.error is not None:
            raise AssertionError(f"board {self.name}: {self.error}")

    async def _run(self) -> None:
        after: int | None = None
        while True:
            query = "" if after is None else f"&after={after}"
            try:
                async with connect(f"{self.url}{query}", open_timeout=10, close_timeout=5, max_size=None) as ws:
                    await self._receive(ws, resuming=after is not None)
                await self._fail("the server closed the connection (1000/1001)")
                return
            except ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd is not None else None
                if code != SLOW_CLIENT:
                    await self._fail(f"closed with {code}")
                    return
                self.drops += 1
                after = max(self.position - 1, 0)
            except OSError as exc:
                await self._fail(f"connection failed: {exc!r}")
                return

    async def _receive(self, ws: ClientConnection, *, resuming: bool) -> None:
        async for raw in ws:
            assert isinstance(raw, str), "messages are JSON text frames"
            message = orjson.loads(raw)
            position: int = message["position"]
            if message["type"] == "snapshot":
                if resuming:  # a resume that the history could not cover: calls may be lost
                    self.gaps += 1
                self._subscribed.set()
            if position != self.position:
                self._at_position = set()
            if raw in self._at_position:
                continue  # replayed after a resume: already recorded
            self._at_position.add(raw)
            if message["type"] == "call":
                data = message["data"]
                self.calls.append(BoardCall(position, data["number"], data["counter"], data["recall"]))
            async with self._moved:
                self.position = max(self.position, position)
                self._moved.notify_all()

    async def _fail(self, error: str) -> None:
        async with self._moved:
            self.error = error
            self._moved.notify_all()
