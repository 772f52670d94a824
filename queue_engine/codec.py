"""Serialisation of events with orjson, by explicit type names (never Python import paths).

Stored form: ``{"t": "ticket.called", "v": 1, "d": {...fields}}``. Moving or renaming a
class changes nothing on disk; a ``VERSION`` bump comes with an upcaster in ``UPCASTERS``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import orjson

from .domain.events import EVENT_TYPES, Event
from .domain.modules import Module
from .domain.typed import Spec


class CodecError(ValueError):
    """A stored event cannot be decoded (unknown type or version, malformed payload)."""


_SPECS: dict[str, Spec] = {cls.TYPE: Spec(cls) for cls in EVENT_TYPES}
_BY_CLASS: dict[type[Event], Spec] = {s.cls: s for s in _SPECS.values()}


def register_modules(modules: Iterable[Module]) -> None:
    """Teach the codec the event types of ``modules`` (idempotent; the runtime calls it).

    Raises:
        ValueError: a type name already belongs to another class.
    """
    for module in modules:
        for cls in module.event_types:
            known = _SPECS.get(cls.TYPE)
            if known is not None and known.cls is not cls:
                raise ValueError(f"event type {cls.TYPE!r} is already {known.cls.__qualname__}")
            if known is None:
                spec = Spec(cls)
                _SPECS[cls.TYPE] = spec
                _BY_CLASS[cls] = spec


#: (type, from_version) -> function upgrading the data dict by one version.
UPCASTERS: dict[tuple[str, int], Callable[[dict[str, Any]], dict[str, Any]]] = {}


def event_to_dict(event: Event) -> dict[str, Any]:
    spec = _BY_CLASS[type(event)]
    return {"t": event.TYPE, "v": event.VERSION, "d": {n: getattr(event, n) for n in spec.names}}


def encode_event(event: Event) -> bytes:
    """One event as compact JSON bytes."""
    return orjson.dumps(event_to_dict(event))


def event_from_dict(raw: dict[str, Any]) -> Event:
    try:
        type_name, version, data = raw["t"], raw["v"], raw["d"]
        spec = _SPECS[type_name]
    except (KeyError, TypeError) as exc:
        raise CodecError(f"not an event: {exc!r}") from None
    if not isinstance(data, dict) or not isinstance(version, int) or isinstance(version, bool):
        raise CodecError(f"not an event: data {type(data).__name__}, version {version!r}")
    data = dict(data)
    while version < spec.cls.VERSION:
        upcast = UPCASTERS.get((type_name, version))
        if upcast is None:
            raise CodecError(f"no upcaster for {type_name} v{version}")
        data, version = upcast(data), version + 1
    if version != spec.cls.VERSION:
        raise CodecError(f"{type_name} v{version} is newer than this engine (v{spec.cls.VERSION})")
    try:
        for name, conv in spec.converters:
            data[name] = conv(data[name])
        event: Event = spec.cls(**data)
        return event
    except (KeyError, TypeError, ValueError) as exc:
        raise CodecError(f"bad {type_name} payload: {exc}") from None


def decode_event(payload: bytes | str) -> Event:
    """Decode bytes written by :func:`encode_event`."""
    try:
        raw = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise CodecError(f"invalid JSON: {exc}") from None
    return event_from_dict(raw)


def decode_events(payloads: list[bytes]) -> list[Event]:
    """Decode many events at once (replay): one JSON parse for the whole batch."""
    try:
        raws = orjson.loads(b"[" + b",".join(payloads) + b"]")
    except orjson.JSONDecodeError:
        return [decode_event(p) for p in payloads]  # find and report the bad one
    return [event_from_dict(raw) for raw in raws]


def dumps(value: Any) -> bytes:
    """orjson with dataclass and enum support, for snapshots and views."""
    return orjson.dumps(value)


def loads(data: bytes | str) -> Any:
    return orjson.loads(data)
