"""``antre serve`` processes for chaos tests: start, SIGKILL, start again on the same port and log.

:class:`Node` runs the server as a process of its own on a fixed port, so clients keep their
address across a restart. "Ready" is the line the server prints once it listens, read from its
stdout: nothing polls. :meth:`Node.kill` is SIGKILL, synchronous, so a test can clear its own
"the system is up" flag in the same breath. :meth:`Node.errors` lists the tracebacks the server
logged, which the tests hold against it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2

from tests.cluster.support import READY, ROOT, STAFF, free_port

SECRET = "chaos-test-secret-0123456789abcdef"
#: how long a server may take to print "ready"
START_S = 30.0


class Node:
    """``antre serve`` on a fixed port: start, SIGKILL, start again on the same port and log."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path, *, port: int | None = None) -> None:
        self.name = name
        self.env = {**{k: v for k, v in os.environ.items() if not k.startswith("ANTRE_")}, **env}
        self.log_dir = log_dir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.output: list[str] = []
        self.starts = 0
        self.proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    @property
    def stderr_path(self) -> Path:
        return self.log_dir / f"{self.name}.{self.starts}.stderr.log"

    async def start(self, within: float = START_S) -> float:
        """Start the server and return once it listens; the seconds that took."""
        started = time.monotonic()
        self.starts += 1
        with self.stderr_path.open("wb") as stderr:  # the child keeps its own descriptor
            self.proc = await asyncio.create_subprocess_exec(
                *(sys.executable, "-u", "-m", "queue_engine.cli", "serve", "--host", "127.0.0.1"),
                *("--port", str(self.port)),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
                env=self.env,
                cwd=ROOT,
            )
        ready = asyncio.Event()
        self._reader = asyncio.create_task(self._read(self.proc, ready), name=f"{self.name}-stdout")
        waiter = asyncio.create_task(ready.wait())
        try:
            async with asyncio.timeout(within):
                await asyncio.wait({self._reader, waiter}, return_when=asyncio.FIRST_COMPLETED)
        except TimeoutError:
            raise RuntimeError(f"{self.name} did not print {READY!r} within {within} s\n{self.describe()}") from None
        finally:
            waiter.cancel()
        if not ready.is_set():
            raise RuntimeError(f"{self.name} exited with {await self.proc.wait()} before ready\n{self.describe()}")
        return time.monotonic() - started

    async def _read(self, proc: asyncio.subprocess.Process, ready: asyncio.Event) -> None:
        assert proc.stdout is not None
        async for raw in proc.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            self.output.append(line)
            if READY in line:
                ready.set()

    def kill(self) -> None:
        """SIGKILL, now (synchronous, so nothing else runs between the kill and the caller's next line)."""
        if self.proc is not None and self.proc.returncode is None:
            os.kill(self.proc.pid, signal.SIGKILL)

    async def wait_dead(self) -> None:
        if self.proc is not None:
            await self.proc.wait()
        if self._reader is not None:
            await self._reader

    async def stop(self, within: float = 10.0) -> None:
        """SIGTERM (a graceful stop), SIGKILL after ``within`` seconds."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            try:
                async with asyncio.timeout(within):
                    await self.proc.wait()
            except TimeoutError:
                self.kill()
        await self.wait_dead()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    def errors(self) -> list[str]:
        """Each traceback in every run's stderr (an error the server did not handle): its message and last line."""
        found: list[str] = []
        for run in range(1, self.starts + 1):
            path = self.log_dir / f"{self.name}.{run}.stderr.log"
            lines = path.read_text(errors="replace").splitlines() if path.exists() else []
            for i, line in enumerate(lines):
                if line.startswith("Traceback"):
                    end = next((j for j in range(i + 1, len(lines)) if not lines[j].startswith(" ")), len(lines) - 1)
                    found.append(f"run {run}: {lines[i - 1] if i else ''}: {lines[end]}")
        return found

    def describe(self, tail: int = 30) -> str:
        err = self.stderr_path.read_text(errors="replace").splitlines()[-tail:] if self.stderr_path.exists() else []
        return "\n".join([f"--- {self.name} stdout", *self.output[-tail:], f"--- {self.name} stderr", *err])


def node_env(log_url: str, facility_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a test node: its log, the facility file, a fixed secret (sessions outlive restarts)."""
    return {
        "ANTRE_LOG_URL": log_url,
        "ANTRE_FACILITY": str(facility_path),
        "ANTRE_SECRET_KEY": SECRET,
        "ANTRE_HEARTBEAT_S": "1",
        **extra,
    }


@contextlib.asynccontextmanager
async def running(*nodes: Node) -> AsyncIterator[tuple[Node, ...]]:
    """Start the nodes; stop (then kill) them whatever happens."""
    try:
        for node in nodes:
            await node.start()
        yield nodes
    finally:
        for node in nodes:
            await node.stop()


def client(base_url: str, **headers: str) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(base_url=base_url, headers=headers, timeout=httpx2.Timeout(30.0))


async def log_in(http: httpx2.AsyncClient, user: tuple[str, str] = STAFF) -> None:
    """A session cookie in the client's jar, and its CSRF token on every request."""
    response = await http.post("/api/v1/auth/login", json={"username": user[0], "password": user[1]})
    assert response.status_code == 200, response.text
    http.headers["X-CSRF-Token"] = response.json()["csrf"]
