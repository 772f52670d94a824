"""WebSocket subscribers that record every frame, connection by connection, for resume checks.

A :class:`Feed` is one board or phone: it connects (``?after=N`` when resuming), records each
frame as the server sent it (the raw text: a replay must be the same bytes live clients got), and
keeps the position of the last frame (``docs/protocol.md``: the one number a client keeps). When
its connection drops, it stops and says so; the test decides when it reconnects, so a whole crowd
can come back in the same moment. A :class:`Feed` that is never cut is the reference the others
are compared with: a frame's bytes are the same for every subscriber of a topic.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

#: frames that say "you are complete up to P" and carry no content of the topic
BEATS = ("heartbeat", "pong")


@dataclass(frozen=True, slots=True)
class Frame:
    kind: str
    position: int
    raw: str


@dataclass
class Feed:
    """One subscriber: ``url`` without ``after``; frames per connection; resumes from its last position."""

    url: str
    name: str = ""
    #: the frames of each connection, in order, and the ``after`` each connection was opened with
    connections: list[list[Frame]] = field(default_factory=list)
    afters: list[int | None] = field(default_factory=list)
    #: the position of the last frame received (-1: none yet)
    position: int = -1
    #: why the last connection ended (None while connected)
    ended: str | None = None
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _task: asyncio.Task[None] | None = None

    async def open(
        self, after: int | None = None, within: float = 30.0, *, cut_after: Callable[[Frame], bool] | None = None
    ) -> None:
        """Connect (resuming ``after`` a position) and return once the first frame arrived.

        ``cut_after``: the connection breaks right after the first frame it is true of, as a network
        that fails at that moment; frames the server sent after it are never processed.
        """
        query = "" if after is None else f"{'&' if '?' in self.url else '?'}after={after}"
        ws = await connect(self.url + query, open_timeout=within, close_timeout=5, max_size=None, compression=None)
        self.connections.append([])
        self.afters.append(after)
        self.ended = None
        self._task = asyncio.create_task(self._read(ws, cut_after), name=f"feed-{self.name}")
        await self.wait(lambda: bool(self.connections[-1]) or self.ended is not None, within, "its first frame")

    async def _read(self, ws: ClientConnection, cut_after: Callable[[Frame], bool] | None) -> None:
        frames = self.connections[-1]
        reason = "closed by the test"
        try:
            async for raw in ws:
                assert isinstance(raw, str), "frames are JSON text"
                message = orjson.loads(raw)
                frame = Frame(message["type"], message["position"], raw)
                frames.append(frame)
                async with self._changed:
                    self.position = max(self.position, message["position"])
                    self._changed.notify_all()
                if cut_after is not None and cut_after(frame):
                    ws.transport.abort()
                    reason = f"cut after the {frame.kind} at {frame.position}"
                    return
        except ConnectionClosed as closed:
            reason = f"closed: {closed.rcvd.code if closed.rcvd else 'no close frame'}"
        except (OSError, InvalidHandshake) as exc:
            reason = f"failed: {exc!r}"
        finally:
            with contextlib.suppress(Exception):
                await ws.close()
            async with self._changed:
                self.ended = reason
                self._changed.notify_all()

    async def wait(self, predicate: Callable[[], bool], within: float, what: str) -> None:
        try:
            async with asyncio.timeout(within):
                async with self._changed:
                    await self._changed.wait_for(predicate)
        except TimeoutError:
            raise AssertionError(f"feed {self.name}: no {what} within {within} s (at {self.position})") from None

    async def reached(self, position: int, within: float = 30.0) -> None:
        """Wait for a frame at ``position`` or later (a heartbeat at P: every frame up to P came)."""
        await self.wait(lambda: self.position >= position, within, f"frame at {position}")

    async def reached_or_lost(self, position: int, within: float = 30.0) -> None:
        """Wait for a frame at ``position`` or later, or for the connection to end."""
        await self.wait(lambda: self.position >= position or self.ended is not None, within, f"frame at {position}")

    async def lost(self, within: float = 30.0) -> None:
        """Wait until the connection has ended."""
        await self.wait(lambda: self.ended is not None, within, "end of its connection")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def content(self, connection: int | None = None) -> list[Frame]:
        """The frames that carry the topic's content (no heartbeats or pongs), of one connection or all."""
        chosen = self.connections if connection is None else [self.connections[connection]]
        return [f for frames in chosen for f in frames if f.kind not in BEATS]


@dataclass
class Resumes:
    """What :func:`compare` found: resumes replayed or answered with a snapshot, frames compared, problems."""

    replays: int = 0
    snapshots: int = 0
    frames: int = 0
    problems: list[str] = field(default_factory=list)


def compare(away: Feed, reference: Feed, into: Resumes) -> None:
    """Check a feed that was cut and resumed against one that never was (same topic, same first snapshot).

    Per ``docs/protocol.md`` a resume is either a replay (every frame after the client's position,
    in order, exactly once, the bytes live clients got, then a heartbeat) or a fresh snapshot. So
    between two snapshots the content frames a client holds, across all its connections, must be
    exactly the reference's frames in that span; nothing lost at a cut, nothing twice.
    """
    first, ref = away.content(0), reference.content(0)
    if not first or not ref or first[0].kind != "snapshot" or first[0].position != ref[0].position:
        into.problems.append(f"{away.name}: the feeds did not start from one snapshot ({first[:1]} vs {ref[:1]})")
        return

    def check(held: list[Frame], low: int, high: int | None, when: str) -> None:
        expected = [f for f in ref[1:] if f.position > low and (high is None or f.position <= high)]
        into.frames += len(held)
        if [f.raw for f in held] != [f.raw for f in expected]:
            missing = [(f.kind, f.position) for f in expected if f not in held]
            extra = [(f.kind, f.position) for f in held if f not in expected]
            into.problems.append(
                f"{away.name} {when}: {len(held)} frames for the reference's {len(expected)}; "
                f"missing {missing[:5]}, extra {extra[:5]}"
            )

    base, held = first[0].position, first[1:]
    for number, frames in enumerate(away.connections[1:], start=1):
        content = away.content(number)
        if not frames:
            into.problems.append(f"{away.name}: resume {number} got no frame")
        elif frames[0].kind == "snapshot":
            into.snapshots += 1
            check(held, base, away.afters[number], f"before resume {number}")
            base, held = frames[0].position, content[1:]
        else:
            into.replays += 1
            if frames[-1].kind not in BEATS and not any(f.kind == "heartbeat" for f in frames):
                into.problems.append(f"{away.name}: resume {number} did not end its replay with a heartbeat")
            held += content
    check(held, base, None, "at the end")
    positions = [f.position for frames in away.connections for f in frames]
    if positions != sorted(positions):
        into.problems.append(f"{away.name}: positions went back: {positions[:20]}")
