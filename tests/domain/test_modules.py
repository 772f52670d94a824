"""The module interface: a module's commands, events and state ride on the engine's decide/apply/log."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any, ClassVar

import pytest

from queue_engine import codec
from queue_engine.domain.decide import decide
from queue_engine.domain.deltas import ModuleChanged
from queue_engine.domain.errors import DomainError, ModuleNotEnabled
from queue_engine.domain.evolve import apply
from queue_engine.domain.model import Priority
from queue_engine.domain.modules import ModuleCommand, ModuleEvent
from queue_engine.domain.state import FacilityState
from queue_engine.domain.typed import from_json

from ..conftest import START, make_facility


@dataclass(frozen=True, slots=True, kw_only=True)
class Sign(ModuleCommand):
    MODULE: ClassVar[str] = "guestbook"
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Signed(ModuleEvent):
    TYPE: ClassVar[str] = "guestbook.signed"
    name: str
    #: the core state is readable: how many tickets existed when the guest signed
    tickets: int


class AlreadySigned(DomainError):
    code = "already_signed"


class Guestbook:
    """A minimal module: a list of names, each signed once."""

    name = "guestbook"
    event_types = (Signed,)

    def new_state(self) -> list[str]:
        return []

    def decide(self, core: FacilityState, state: list[str], command: ModuleCommand) -> list[ModuleEvent]:
        assert isinstance(command, Sign)
        if command.name in state:
            raise AlreadySigned(name=command.name)
        return [Signed(at=command.at, name=command.name, tickets=len(core.tickets))]

    def apply(self, state: list[str], event: ModuleEvent) -> None:
        assert isinstance(event, Signed)
        state.append(event.name)

    def dump(self, state: list[str]) -> Any:
        return list(state)

    def load(self, data: Any) -> list[str]:
        return list(data)


def with_guestbook() -> FacilityState:
    return FacilityState(replace(make_facility(), modules=(Guestbook(),)))


def run(state: FacilityState, command: Any) -> list[Any]:
    events = decide(state, command).events
    for event in events:
        assert apply(state, event) == [ModuleChanged("guestbook")]
    return events


def test_a_module_decides_its_commands_and_folds_its_events_beside_the_core() -> None:
    state = with_guestbook()
    events = run(state, Sign(at=START, name="Siti"))
    assert events == [Signed(at=START, name="Siti", tickets=0)]
    assert state.modules["guestbook"] == ["Siti"] and state.position == 1
    with pytest.raises(AlreadySigned):
        decide(state, Sign(at=START, name="Siti"))  # a module refuses like the core: nothing changes
    assert state.position == 1


def test_module_events_go_through_the_codec_and_snapshots() -> None:
    state = with_guestbook()
    events = run(state, Sign(at=START, name="Siti")) + run(state, Sign(at=START + 1, name="Budi"))
    codec.register_modules(state.facility.modules)
    decoded = [codec.decode_event(codec.encode_event(e)) for e in events]
    assert decoded == events and all(type(e) is Signed for e in decoded)
    replayed = with_guestbook()
    for event in decoded:
        apply(replayed, event)
    restored = FacilityState.from_snapshot(state.facility, codec.loads(codec.dumps(state.snapshot())))
    assert replayed.snapshot() == restored.snapshot() == state.snapshot()
    assert restored.modules["guestbook"] == ["Siti", "Budi"]


def test_a_command_of_a_module_not_enabled_is_refused() -> None:
    state = FacilityState(make_facility())
    with pytest.raises(ModuleNotEnabled):
        decide(state, Sign(at=START, name="Siti"))


def test_module_names_and_event_types_are_checked() -> None:
    class Unnamespaced(Guestbook):
        name = "tamu"  # its event says "guestbook."

    with pytest.raises(ValueError, match="TYPE"):
        replace(make_facility(), modules=(Unnamespaced(),))
    with pytest.raises(ValueError, match="unique"):
        replace(make_facility(), modules=(Guestbook(), Guestbook()))


def test_the_codec_refuses_a_type_name_taken_by_another_class() -> None:
    @dataclass(frozen=True, slots=True, kw_only=True)
    class Impostor(ModuleEvent):
        TYPE: ClassVar[str] = "guestbook.signed"

    class Other(Guestbook):
        event_types = (Impostor,)  # type: ignore[assignment]

    codec.register_modules([Guestbook()])
    with pytest.raises(ValueError, match="already"):
        codec.register_modules([Other()])


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    born: date


@dataclass(frozen=True, slots=True, kw_only=True)
class Registered(ModuleEvent):
    TYPE: ClassVar[str] = "registry.registered"
    person: Person
    witness: Person | None
    documents: tuple[str, ...]
    kinds: tuple[Priority, ...]


class Registry(Guestbook):
    name = "registry"
    event_types = (Registered,)  # type: ignore[assignment]


def test_module_events_may_hold_dates_tuples_and_nested_dataclasses() -> None:
    """What a module's event holds comes back as the same types, not as JSON lists and objects."""
    codec.register_modules([Registry()])
    event = Registered(
        at=START,
        person=Person("Siti", date(2024, 2, 29)),
        witness=None,
        documents=("ktp", "kk"),
        kinds=(Priority.LANSIA,),
    )
    for sample in (event, replace(event, witness=Person("Budi", date(1990, 1, 1)))):
        decoded = codec.decode_event(codec.encode_event(sample))
        assert decoded == sample
        assert isinstance(decoded, Registered) and type(decoded.documents) is tuple
        assert type(decoded.person.born) is date and type(decoded.kinds[0]) is Priority
    with pytest.raises(codec.CodecError):
        codec.decode_event(
            b'{"t": "registry.registered", "v": 1, "d": {"at": 1, "person": "Siti",'
            b' "witness": null, "documents": [], "kinds": []}}'
        )


@dataclass(frozen=True, slots=True)
class Pair:
    people: tuple[Person, Person]
    anything: tuple  # type: ignore[type-arg]
    plain: tuple[str, int]


def test_from_json_decodes_fixed_length_tuples_position_by_position() -> None:
    people = [{"name": "A", "born": "2000-01-01"}, {"name": "B", "born": "2001-02-03"}]
    raw: dict[str, Any] = {
        "people": people,
        "anything": [1, "x"],
        "plain": ["a", 1],
    }
    pair = from_json(Pair, raw)
    assert pair.people == (Person("A", date(2000, 1, 1)), Person("B", date(2001, 2, 3)))
    assert pair.anything == (1, "x") and pair.plain == ("a", 1)
    with pytest.raises(ValueError, match="expected 2 items"):
        from_json(Pair, {**raw, "people": people[:1]})
