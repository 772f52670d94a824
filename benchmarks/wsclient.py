"""Many WebSocket clients in one process, for ``benchmarks/fanout.py``: cheap enough to hold thousands.

A client here is an :class:`asyncio.Protocol` that does the opening handshake, parses the frames
the server sends (unmasked, uncompressed: it offers no extension) and answers pings, and records
for every server message only what the benchmark needs: the ``CLOCK_MONOTONIC`` time of the read
that completed it and the log position it carries. ``websockets``' own client would cost several
times more CPU per message, and that time would be measured as fan-out latency.

The process is driven over a :mod:`multiprocessing` pipe: ``"ready"`` (answered with
``(connected, failed)`` once every client has its snapshot), ``"reset"``, ``"receipts"`` (answered
with ``{position: [ns, ...]}``: each client's first receipt of each position, updates and calls
only), ``"stop"``.
"""

from __future__ import annotations

import asyncio
import base64
import os
import resource
import struct
import time
from typing import Any, cast

CONNECTS_AT_ONCE = 64
#: the bytes of a message that come before its type's first letter: {"type":"
TYPE_AT = 9


class Client(asyncio.Protocol):
    """One connection: handshake, frames, pongs; its first receipt of each position goes to ``receipts``."""

    def __init__(self, port: int, path: str, receipts: dict[int, list[int]]) -> None:
        self.port, self.path, self.receipts = port, path, receipts
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.upgraded = False
        self.last = -1
        self.snapshot: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport = cast(asyncio.Transport, transport)  # uvloop's is no asyncio.Transport subclass
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            f"GET {self.path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.snapshot.done():
            self.snapshot.set_exception(ConnectionError(f"{self.path}: lost before its snapshot ({exc})"))

    def data_received(self, data: bytes) -> None:
        now = time.monotonic_ns()
        buf = self.buf
        buf += data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                self.snapshot.set_exception(ConnectionError(f"{self.path}: {bytes(buf[:40])!r}"))
                return
            del buf[: end + 4]
            self.upgraded = True
        i, n = 0, len(buf)
        while i + 2 <= n:
            opcode, length, start = buf[i] & 0x0F, buf[i + 1] & 0x7F, i + 2
            if length == 126:
                if start + 2 > n:
                    break
                length, start = struct.unpack_from("!H", buf, start)[0], start + 2
            elif length == 127:
                if start + 8 > n:
                    break
                length, start = struct.unpack_from("!Q", buf, start)[0], start + 8
            if start + length > n:
                break
            if opcode == 1:
                self.message(buf, start, now)
            elif opcode == 9:
                self.pong(bytes(buf[start : start + length]))
            i = start + length
        del buf[:i]

    def message(self, buf: bytearray, start: int, now: int) -> None:
        kind = buf[start + TYPE_AT]
        at = buf.find(b'"position":', start) + 11
        position = int(buf[at : buf.find(b",", at)])
        if kind == ord("s"):
            if not self.snapshot.done():
                self.snapshot.set_result(None)
        elif kind in (ord("u"), ord("c")) and position != self.last:  # a board's update, then its call
            self.last = position
            self.receipts.setdefault(position, []).append(now)

    def pong(self, payload: bytes) -> None:
        assert self.transport is not None and len(payload) < 126
        mask = os.urandom(4)
        masked = bytes(b ^ mask[j % 4] for j, b in enumerate(payload))
        self.transport.write(bytes([0x8A, 0x80 | len(payload)]) + mask + masked)


async def _connect(port: int, path: str, receipts: dict[int, list[int]], gate: asyncio.Semaphore) -> Client:
    loop = asyncio.get_running_loop()
    async with gate:
        for attempt in range(5):
            try:
                _, client = await loop.create_connection(lambda: Client(port, path, receipts), "127.0.0.1", port)
                break
            except OSError:
                if attempt == 4:
                    raise
                await asyncio.sleep(0.2 * (attempt + 1))
        async with asyncio.timeout(120):
            await client.snapshot
    return client


async def _main(pipe: Any, port: int, paths: list[str]) -> None:
    loop = asyncio.get_running_loop()
    receipts: dict[int, list[int]] = {}
    commands: asyncio.Queue[str] = asyncio.Queue()
    loop.add_reader(pipe.fileno(), lambda: commands.put_nowait(pipe.recv()))
    gate = asyncio.Semaphore(CONNECTS_AT_ONCE)
    results = await asyncio.gather(*(_connect(port, p, receipts, gate) for p in paths), return_exceptions=True)
    clients = [r for r in results if isinstance(r, Client)]
    while True:
        command = await commands.get()
        os.set_blocking(pipe.fileno(), True)  # uvloop's add_reader made it non-blocking: big answers need it
        if command == "ready":
            pipe.send((len(clients), len(results) - len(clients)))
        elif command == "reset":
            receipts.clear()
            pipe.send("ok")
        elif command == "receipts":
            pipe.send(dict(receipts))
        elif command == "stop":
            break
    for client in clients:
        if client.transport is not None:
            client.transport.abort()


def run_clients(pipe: Any, port: int, paths: list[str]) -> None:
    """Process entry point: connect ``paths`` to the server on ``port`` and obey the pipe."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        import uvloop  # a cheaper client loop leaves more of the machine to the server when it is there

        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run
    runner(_main(pipe, port, paths))
