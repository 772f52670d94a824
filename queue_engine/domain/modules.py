"""The module interface: how a secondary module (e-Lampid, a BPJS bridge…) plugs into the engine.

A module is a package enabled in the facility configuration. Its pure part is a :class:`Module`:

* its **commands** subclass :class:`ModuleCommand` (with ``MODULE`` = the module's name); the
  engine's ``decide`` hands them to :meth:`Module.decide`, which returns the module's events;
* its **events** subclass :class:`ModuleEvent`, with a namespaced ``TYPE`` (``"<module>.<what>"``)
  and a ``VERSION``; they are flat dataclasses (strings, numbers, enums, lists, dicts), stored in
  the facility's one log, encoded by the same codec, and replayed like the core's;
* its **state** lives beside the core's (``FacilityState.modules[name]``): made by
  :meth:`Module.new_state`, changed only by :meth:`Module.apply`, saved in snapshots through
  :meth:`Module.dump` / :meth:`Module.load`.

A module reads the core state but never changes it: tickets and appointments it needs are issued
through the engine's public commands (``IssueTicket`` with ``channel=module``), as any client would.
Like the core, a module's domain does no I/O and reads no clock: time and ids come in commands.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from .ids import Millis

if TYPE_CHECKING:
    from .state import FacilityState


@dataclass(frozen=True, slots=True, kw_only=True)
class ModuleCommand:
    """Base of every module's commands; ``MODULE`` names the module that decides it."""

    MODULE: ClassVar[str] = ""
    at: Millis


@dataclass(frozen=True, slots=True, kw_only=True)
class ModuleEvent:
    """Base of every module's events; ``TYPE`` is ``"<module>.<what>"``."""

    TYPE: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1
    at: Millis

    @classmethod
    def module(cls) -> str:
        return cls.TYPE.partition(".")[0]


class Module(Protocol):
    """What the engine needs of a module's domain."""

    @property
    def name(self) -> str:
        """The namespace of its events and the ``MODULE`` of its commands."""
        ...

    @property
    def event_types(self) -> tuple[type[ModuleEvent], ...]:
        """Every event class it emits (each a :class:`ModuleEvent` with ``TYPE`` under ``name.``)."""
        ...

    def new_state(self) -> Any:
        """The module's state of an empty log."""
        ...

    def decide(self, core: FacilityState, state: Any, command: ModuleCommand) -> list[ModuleEvent]:
        """The events ``command`` causes; raises a ``DomainError`` to refuse it. Changes nothing."""
        ...

    def apply(self, state: Any, event: ModuleEvent) -> None:
        """Fold one of its events into its state (the only code that changes it)."""
        ...

    def dump(self, state: Any) -> Any:
        """Its state as JSON-able data, for snapshots."""
        ...

    def load(self, data: Any) -> Any:
        """The state :meth:`dump` saved."""
        ...


def check_modules(modules: tuple[Module, ...]) -> None:
    """Names unique and non-empty; every event type namespaced under its module's name.

    Raises:
        ValueError: naming the module and the offending name.
    """
    names = [m.name for m in modules]
    if len(set(names)) != len(names) or not all(names):
        raise ValueError(f"module names must be unique and non-empty: {names}")
    for module in modules:
        if "." in module.name:
            raise ValueError(f"module name {module.name!r} must not contain '.'")
        for event_type in module.event_types:
            if not issubclass(event_type, ModuleEvent) or event_type.module() != module.name:
                raise ValueError(
                    f"module {module.name}: event {event_type.__name__} must be a ModuleEvent "
                    f"with TYPE '{module.name}.…', not {event_type.TYPE!r}"
                )
