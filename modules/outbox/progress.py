"""An outbox's progress, kept in the facility's log: how far each stream has delivered, and what failed.

Pure like the engine's domain. An integration module (BPJS, webhooks, notifications) makes its
own event and command classes with :func:`outbox_types` (namespaced under the module's name),
decides them with :func:`decide` and folds them with :func:`apply` into an :class:`Outbox`.

A *stream* is one ordered sequence of deliveries (all of BPJS; one webhook subscription). Its
``cursor`` is a log position: every message derived from the events up to it is done, sent or
given up. A node that restarts resumes each stream after its cursor; a message sent again after
a crash is one whose success was not yet recorded, which is why receivers dedupe by message key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from queue_engine.domain.errors import DomainError
from queue_engine.domain.ids import Millis
from queue_engine.domain.modules import ModuleCommand, ModuleEvent

#: failures kept per stream for the admin (older ones are dropped from the list, never from the log)
MAX_FAILURES = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class Failure:
    """A message given up on: its key, what it was, why."""

    key: str
    kind: str
    reason: str
    at: Millis


@dataclass(slots=True)
class StreamProgress:
    cursor: int = 0
    sent: int = 0
    failures: list[Failure] = field(default_factory=list)
    #: how many rewinds there were: progress from a pass begun before the last one is ignored
    generation: int = 0


@dataclass(slots=True)
class Outbox:
    """Every stream's progress. Changed only by :func:`apply`."""

    streams: dict[str, StreamProgress] = field(default_factory=dict)

    def cursor(self, stream: str) -> int:
        progress = self.streams.get(stream)
        return 0 if progress is None else progress.cursor

    def generation(self, stream: str) -> int:
        progress = self.streams.get(stream)
        return 0 if progress is None else progress.generation


# --------------------------------------------------------------------------- events and commands


@dataclass(frozen=True, slots=True, kw_only=True)
class Advanced(ModuleEvent):
    """A stream delivered everything derived up to ``upto`` (``sent`` messages; ``failed`` given up)."""

    stream: str
    upto: int
    sent: int
    failed: tuple[Failure, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Rewound(ModuleEvent):
    """An admin asked a stream to deliver again everything after log position ``to``."""

    stream: str
    to: int
    actor: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Advance(ModuleCommand):
    stream: str
    upto: int
    sent: int
    failed: Sequence[Failure] = ()
    #: the stream's generation when the sender's pass began (a rewind since voids this progress)
    generation: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Rewind(ModuleCommand):
    stream: str
    to: int
    actor: str


@dataclass(frozen=True, slots=True)
class OutboxTypes:
    """One module's outbox classes: its events (register them) and commands (submit them)."""

    advanced: type[Advanced]
    rewound: type[Rewound]
    advance: type[Advance]
    rewind: type[Rewind]

    @property
    def events(self) -> tuple[type[ModuleEvent], ...]:
        return (self.advanced, self.rewound)


def outbox_types(module: str) -> OutboxTypes:
    """The outbox's event and command classes of ``module`` (``<module>.outbox_advanced`` …)."""

    @dataclass(frozen=True, slots=True, kw_only=True)
    class ModuleAdvanced(Advanced):
        TYPE: ClassVar[str] = f"{module}.outbox_advanced"

    @dataclass(frozen=True, slots=True, kw_only=True)
    class ModuleRewound(Rewound):
        TYPE: ClassVar[str] = f"{module}.outbox_rewound"

    @dataclass(frozen=True, slots=True, kw_only=True)
    class ModuleAdvance(Advance):
        MODULE: ClassVar[str] = module

    @dataclass(frozen=True, slots=True, kw_only=True)
    class ModuleRewind(Rewind):
        MODULE: ClassVar[str] = module

    for cls, name in (
        (ModuleAdvanced, "Advanced"),
        (ModuleRewound, "Rewound"),
        (ModuleAdvance, "Advance"),
        (ModuleRewind, "Rewind"),
    ):
        cls.__name__ = cls.__qualname__ = f"{module.title()}Outbox{name}"
    return OutboxTypes(ModuleAdvanced, ModuleRewound, ModuleAdvance, ModuleRewind)


class OutboxRefused(DomainError):
    code = "invalid_command"
    message_id = "Perintah outbox tidak valid."
    message_en = "The outbox command is not valid."


def decide(outbox: Outbox, types: OutboxTypes, command: Advance | Rewind) -> list[ModuleEvent]:
    """Advance only forward; rewind only backward (to a position ≥ 0)."""
    cursor = outbox.cursor(command.stream)
    if isinstance(command, Advance):
        if command.upto <= cursor or command.generation != outbox.generation(command.stream):
            return []  # another node (or an earlier try) got there, or a rewind since voids it
        return [
            types.advanced(
                at=command.at,
                stream=command.stream,
                upto=command.upto,
                sent=command.sent,
                failed=tuple(command.failed),
            )
        ]
    if not 0 <= command.to <= cursor:
        raise OutboxRefused(field="to", cursor=cursor)
    return [types.rewound(at=command.at, stream=command.stream, to=command.to, actor=command.actor)]


def apply(outbox: Outbox, event: ModuleEvent) -> None:
    if isinstance(event, Advanced):
        progress = outbox.streams.setdefault(event.stream, StreamProgress())
        progress.cursor = event.upto
        progress.sent += event.sent
        progress.failures.extend(event.failed)
        del progress.failures[:-MAX_FAILURES]
    elif isinstance(event, Rewound):
        progress = outbox.streams.setdefault(event.stream, StreamProgress())
        progress.cursor = event.to
        progress.generation += 1


def dump(outbox: Outbox) -> dict[str, object]:
    return {
        name: {"cursor": p.cursor, "sent": p.sent, "failures": list(p.failures), "generation": p.generation}
        for name, p in outbox.streams.items()
    }


def load(data: dict[str, dict[str, object]]) -> Outbox:
    from queue_engine.domain.typed import from_json

    outbox = Outbox()
    for name, raw in data.items():
        failures = [from_json(Failure, f) for f in raw["failures"]]  # type: ignore[attr-defined]
        outbox.streams[name] = StreamProgress(
            cursor=int(raw["cursor"]),  # type: ignore[call-overload]
            sent=int(raw["sent"]),  # type: ignore[call-overload]
            failures=failures,
            generation=int(raw.get("generation", 0)),  # type: ignore[call-overload]
        )
    return outbox
