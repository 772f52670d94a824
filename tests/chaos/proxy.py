"""A TCP fault proxy for chaos tests: forwards bytes between a listening port and an upstream server.

It sits between a client and a server (an Antre node and Redis, or a browser and an Antre node)
and misbehaves on request, the way a real network does:

* ``latency_s`` delays every chunk, in each direction, by that long (order is kept);
* :meth:`drop_all` resets every open connection (RST, as a crashed NAT or a pulled cable that
  comes back at once);
* :meth:`refuse` stops listening, so new connections get ``ECONNREFUSED``; :meth:`accept` listens
  again on the same port;
* :meth:`blackhole` stops moving bytes: connections stay open, nothing is delivered, as in a
  network partition; :meth:`heal` delivers what was held, in order, as TCP retransmission would.
  A side that closes meanwhile still has its held bytes delivered after the heal (a command sent
  before the partition reaches the server late, after its client gave up on the answer).

Everything runs on the test's event loop; nothing here sleeps except to add the latency asked for.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from dataclasses import dataclass, field

#: SO_LINGER on, zero seconds: close() sends RST instead of FIN
_RESET = struct.pack("ii", 1, 0)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close a connection with RST (what a peer sees when a middlebox or the network drops it)."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
    writer.transport.abort()


@dataclass(eq=False)  # compared (and hashed) by identity: kept in a set
class _Pipe:
    """One accepted connection and its upstream connection."""

    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


class FaultProxy:
    """``127.0.0.1:<port>`` -> ``upstream_host:upstream_port``, with faults switched on and off by the test.

    Args:
        upstream_host: where to forward to.
        upstream_port: where to forward to.
        port: the port to listen on (0: a free one, kept across :meth:`refuse` / :meth:`accept`).
    """

    def __init__(self, upstream_host: str, upstream_port: int, *, port: int = 0) -> None:
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port
        self.port = port
        self.latency_s = 0.0
        #: connections accepted in all, and refused by an upstream that was not there
        self.accepted = 0
        self.upstream_failures = 0
        self._server: asyncio.Server | None = None
        self._pipes: set[_Pipe] = set()
        self._flowing = asyncio.Event()
        self._flowing.set()
        #: directions of connections holding bytes in the blackhole right now (client to upstream, and back)
        self.held_up = 0
        self.held_down = 0
        self._held_changed = asyncio.Condition()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def open_connections(self) -> int:
        return len(self._pipes)

    async def start(self) -> FaultProxy:
        """Listen (on a free port the first time, then on the same one)."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(1024)
        self.port = sock.getsockname()[1]
        self._server = await asyncio.start_server(self._handle, sock=sock)
        return self

    async def close(self) -> None:
        """Stop listening and reset every connection."""
        await self.refuse()
        self.drop_all()
        self._flowing.set()

    # -- faults -------------------------------------------------------------------------------

    def drop_all(self) -> int:
        """Reset every open connection, both sides; the number of connections dropped."""
        pipes, self._pipes = self._pipes, set()
        for pipe in pipes:
            for writer in (pipe.client, pipe.upstream):
                _reset(writer)
            for task in pipe.tasks:
                task.cancel()
        return len(pipes)

    async def refuse(self) -> None:
        """Stop listening: new connections are refused (open ones are left alone)."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def accept(self) -> None:
        """Listen again, on the same port."""
        if self._server is None:
            await self.start()

    def blackhole(self) -> None:
        """Hold every byte from now on (connections stay open; new ones are accepted and held too)."""
        self._flowing.clear()

    def heal(self) -> None:
        """Deliver what was held, and forward again."""
        self._flowing.set()

    async def wait_held_from_client(self) -> None:
        """Wait until the blackhole holds bytes a client sent (a request in flight, unanswered)."""
        async with self._held_changed:
            await self._held_changed.wait_for(lambda: self.held_up > 0)

    # -- forwarding ---------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(self.upstream_host, self.upstream_port)
        except OSError:
            self.upstream_failures += 1
            _reset(writer)
            return
        pipe = _Pipe(writer, up_writer)
        self._pipes.add(pipe)
        pipe.tasks = [
            asyncio.create_task(self._pump(reader, up_writer, True), name="proxy-up"),
            asyncio.create_task(self._pump(up_reader, writer, False), name="proxy-down"),
        ]
        try:
            await asyncio.gather(*pipe.tasks, return_exceptions=True)
        finally:
            self._pipes.discard(pipe)
            for end in (writer, up_writer):
                end.transport.abort()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: bool) -> None:
        """Copy one direction: each chunk waits for its latency and for the network to flow."""
        loop = asyncio.get_running_loop()
        held: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        sender = asyncio.create_task(self._send(held, writer, upstream))
        try:
            while not sender.done() and (chunk := await reader.read(65536)):
                held.put_nowait((loop.time() + self.latency_s, chunk))
            held.put_nowait((loop.time() + self.latency_s, b""))  # EOF: deliver what is held, then FIN
            await sender
        except OSError:
            pass  # this side was reset: the pipe ends
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender

    async def _hold(self, upstream: bool) -> None:
        async with self._held_changed:
            if upstream:
                self.held_up += 1
            else:
                self.held_down += 1
            self._held_changed.notify_all()
        try:
            await self._flowing.wait()
        finally:
            if upstream:
                self.held_up -= 1
            else:
                self.held_down -= 1

    async def _send(
        self, held: asyncio.Queue[tuple[float, bytes]], writer: asyncio.StreamWriter, upstream: bool
    ) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due, chunk = await held.get()
            if (delay := due - loop.time()) > 0:
                await asyncio.sleep(delay)  # the latency this proxy was asked to add
            if not self._flowing.is_set():
                await self._hold(upstream)
            try:
                if not chunk:
                    writer.write_eof()
                    return
                writer.write(chunk)
                await writer.drain()
            except OSError:
                return  # the receiving side is gone: the pipe ends when its reader sees it
