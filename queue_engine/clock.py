"""The only readers of time and randomness. The pure core gets both passed in."""

from __future__ import annotations

import secrets
import time
from typing import Protocol

from .domain.ids import Millis, TicketId, TicketToken


class Clock(Protocol):
    def now(self) -> Millis:
        """Milliseconds since the Unix epoch, UTC."""
        ...


class IdSource(Protocol):
    def ticket_id(self) -> TicketId: ...

    def token(self) -> TicketToken:
        """An unguessable tracking token (at least 128 random bits)."""
        ...


class SystemClock:
    def now(self) -> Millis:
        return time.time_ns() // 1_000_000


class SystemIds:
    def ticket_id(self) -> TicketId:
        return TicketId("t" + secrets.token_hex(8))

    def token(self) -> TicketToken:
        return TicketToken(secrets.token_urlsafe(16))


class ManualClock:
    """A clock tests and simulations advance explicitly."""

    def __init__(self, start: Millis) -> None:
        self.value = start

    def now(self) -> Millis:
        return self.value

    def advance(self, ms: Millis) -> Millis:
        self.value += ms
        return self.value


class SequentialIds:
    """Deterministic ids for tests, simulations and benchmarks (never for production tokens)."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.n = 0

    def ticket_id(self) -> TicketId:
        self.n += 1
        return TicketId(f"{self.prefix}t{self.n}")

    def token(self) -> TicketToken:
        return TicketToken(f"{self.prefix}k{self.n}")
