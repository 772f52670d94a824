"""Event codec: every event type survives encode / decode; bad input is a CodecError."""

from __future__ import annotations

import dataclasses
import types
import typing
from enum import StrEnum
from typing import Any

import orjson
import pytest
from hypothesis import given, strategies as st

from queue_engine.codec import CodecError, decode_event, encode_event, event_from_dict, event_to_dict
from queue_engine.domain.events import EVENT_TYPES, Event, TicketCalled, TicketIssued
from queue_engine.domain.ids import CounterId, ServiceCode, TicketId, TicketToken
from queue_engine.domain.model import Channel, Payer, Priority
from queue_engine.domain.modules import ModuleEvent

MAX_MS = 2**53


def strategy_for(hint: Any) -> st.SearchStrategy[Any]:
    """A strategy for one event field, from its type hint (JSON-safe ranges)."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        assert len(inner) == 1
        return st.none() | strategy_for(inner[0])
    supertype = getattr(hint, "__supertype__", None)  # NewType
    if supertype is not None:
        return strategy_for(supertype)
    if hint is bool:
        return st.booleans()
    if hint is int:
        return st.integers(-MAX_MS, MAX_MS)
    if hint is str:
        return st.text(max_size=20)
    if isinstance(hint, type) and issubclass(hint, StrEnum):
        return st.sampled_from(list(hint))
    raise AssertionError(f"no strategy for {hint!r}")


def event_strategy(cls: type[Event]) -> st.SearchStrategy[Event]:
    hints = typing.get_type_hints(cls)
    fields = {f.name: strategy_for(hints[f.name]) for f in dataclasses.fields(cls)}
    return st.builds(cls, **fields)


any_event = st.sampled_from(EVENT_TYPES).flatmap(event_strategy)


def test_event_type_names_are_unique_and_cover_the_union() -> None:
    """Each event class has its own stable TYPE name, and EVENT_TYPES lists every core member of Event
    (the union's last member, ModuleEvent, is the base of modules' events, which register themselves)."""
    assert len({cls.TYPE for cls in EVENT_TYPES}) == len(EVENT_TYPES)
    assert {*EVENT_TYPES, ModuleEvent} == set(typing.get_args(Event))


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=[cls.TYPE for cls in EVENT_TYPES])
@given(data=st.data())
def test_every_event_type_round_trips(cls: type[Event], data: st.DataObject) -> None:
    """decode_event(encode_event(e)) == e for every event type, with enums decoded as enums."""
    event = data.draw(event_strategy(cls))
    decoded = decode_event(encode_event(event))
    assert decoded == event
    assert type(decoded) is cls
    for field in dataclasses.fields(cls):
        assert type(getattr(decoded, field.name)) is type(getattr(event, field.name)), field.name


@given(event=any_event)
def test_decode_accepts_str_as_well_as_bytes(event: Event) -> None:
    """A payload read back as text decodes the same."""
    assert decode_event(encode_event(event).decode()) == event


def test_stored_form_uses_type_names_not_import_paths() -> None:
    """The wire form is {"t": TYPE, "v": VERSION, "d": fields}: no module or class path."""
    event = TicketCalled(at=1, ticket_id=TicketId("t1"), counter=CounterId("L1"), actor="a")
    assert orjson.loads(encode_event(event)) == {
        "t": "ticket.called",
        "v": 1,
        "d": {"at": 1, "ticket_id": "t1", "counter": "L1", "actor": "a", "out_of_order": False, "reason": ""},
    }
    assert b"queue_engine" not in encode_event(event)


def valid_called() -> dict[str, Any]:
    event = TicketCalled(at=1, ticket_id=TicketId("t1"), counter=CounterId("L1"), actor="a")
    return event_to_dict(event)


def broken(**changes: Any) -> dict[str, Any]:
    raw = valid_called()
    raw["d"] = {**raw["d"], **changes}
    return raw


BAD_DICTS = {
    "unknown-type": {**valid_called(), "t": "ticket.teleported"},
    "no-type": {"v": 1, "d": {}},
    "no-data": {"t": "ticket.called", "v": 1},
    "newer-version": {**valid_called(), "v": 2},
    "old-version-without-upcaster": {**valid_called(), "v": 0},
    "missing-field": {"t": "ticket.called", "v": 1, "d": {"at": 1}},
    "extra-field": broken(colour="red"),
    "not-an-object": ["ticket.called", 1, {}],
}


@pytest.mark.parametrize("raw", list(BAD_DICTS.values()), ids=list(BAD_DICTS))
def test_bad_event_dict_is_a_codec_error(raw: Any) -> None:
    """Unknown types, unknown versions and malformed payloads raise CodecError, not a bare exception."""
    with pytest.raises(CodecError):
        event_from_dict(raw)


def test_bad_enum_value_is_a_codec_error() -> None:
    """A value that is not a member of the field's enum is a CodecError."""
    raw = event_to_dict(
        TicketIssued(
            at=1,
            ticket_id=TicketId("t1"),
            token=TicketToken("k"),
            service=ServiceCode("A"),
            number="A001",
            seq=1,
            day="2026-11-26",
            priority=Priority.UMUM,
            channel=Channel.KIOSK,
            payer=Payer.UMUM,
            appointment_at=None,
            checked_in=True,
            idempotency_key=None,
        )
    )
    raw["d"]["priority"] = "vip"
    with pytest.raises(CodecError):
        event_from_dict(raw)


@pytest.mark.parametrize("payload", [b"", b"{", b"not json", b"\xff\xfe"])
def test_invalid_json_is_a_codec_error(payload: bytes) -> None:
    """Bytes that are not JSON raise CodecError."""
    with pytest.raises(CodecError):
        decode_event(payload)


def test_data_that_is_a_string_is_a_codec_error() -> None:
    """A "d" that is a string (not an object) is a CodecError."""
    with pytest.raises(CodecError):
        event_from_dict({"t": "ticket.called", "v": 1, "d": "xy"})


def test_non_integer_version_is_a_codec_error() -> None:
    """A version that is not an integer is a CodecError."""
    with pytest.raises(CodecError):
        event_from_dict({**valid_called(), "v": "1"})
