"""What an outbox delivers and what delivering it gave (pure: derivers import only this).

A :class:`Deriver` turns each event of the log, with the facility state right after it, into
:class:`Message` s; a :class:`Sender` delivers one and answers an :class:`Outcome`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from queue_engine.domain.events import Event
from queue_engine.domain.ids import Millis
from queue_engine.domain.state import FacilityState


@dataclass(frozen=True, slots=True)
class Message:
    """One delivery. ``key`` is stable across restarts (receivers dedupe by it)."""

    key: str
    kind: str
    body: dict[str, Any]
    at: Millis


class Status(StrEnum):
    SENT = "sent"  # delivered (or the receiver already had it)
    RETRY = "retry"  # not now: a timeout, a 5xx, the network
    FAILED = "failed"  # never: the receiver refuses it for good


@dataclass(frozen=True, slots=True)
class Outcome:
    status: Status
    reason: str = ""


class Deriver(Protocol):
    """Pure: the messages an event causes, given the state right after it. Called for every event, in order."""

    def derive(self, position: int, event: Event, state: FacilityState) -> list[Message]: ...


class Sender(Protocol):
    async def send(self, message: Message) -> Outcome: ...
