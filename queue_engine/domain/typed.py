"""JSON values back into typed dataclasses: enums, dates, tuples, optionals, nested dataclasses.

Pure (no I/O, no JSON library): the codec uses it for events, and a module's domain uses
:func:`from_json` to load its snapshot data.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from datetime import date
from enum import StrEnum
from typing import Any, TypeVar

T = TypeVar("T")

Converter = Callable[[Any], Any]


def converter(hint: Any) -> Converter | None:
    """A function turning a JSON value back into ``hint``'s type (None when it is as-is).

    Core events are flat; modules' events may also hold dates, tuples and nested dataclasses
    (each nested dataclass decoded field by field the same way). A union of several classes is
    left as JSON: a module that needs one uses an optional field per class instead.
    """
    origin = typing.get_origin(hint)
    if isinstance(hint, type) and issubclass(hint, StrEnum):
        return _enumconverter(hint)
    if hint is date:
        return date.fromisoformat
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return Spec(hint).build
    if isinstance(hint, types.UnionType) or origin is typing.Union:
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        conv = converter(inner[0]) if len(inner) == 1 else None
        if conv is None:
            return None
        return lambda v: None if v is None else conv(v)
    if origin is tuple or hint is tuple:
        return _tuple_converter(typing.get_args(hint))
    return None


def _tuple_converter(args: tuple[Any, ...]) -> Converter:
    """``tuple[X, ...]``: each item as X; ``tuple[X, Y]``: each position as its own type."""
    if len(args) == 2 and args[1] is Ellipsis:
        item = converter(args[0])
        return tuple if item is None else lambda v: tuple(map(item, v))
    positions = [converter(a) or _same for a in args]
    if not args or all(c is _same for c in positions):
        return tuple

    def convert(value: Any) -> tuple[Any, ...]:
        if len(value) != len(positions):
            raise ValueError(f"expected {len(positions)} items, not {len(value)}")
        return tuple(c(v) for c, v in zip(positions, value, strict=True))

    return convert


def _same(value: Any) -> Any:
    return value


def _enumconverter(enum: type[StrEnum]) -> Converter:
    """``enum(value)``, with the usual case (a member's value) as one dict lookup (replay speed)."""
    members = enum._value2member_map_

    def convert(value: Any) -> Any:
        try:
            return members[value]
        except (KeyError, TypeError):
            return enum(value)  # not a member's value: the same result or ValueError as before

    return convert


class Spec:
    __slots__ = ("cls", "converters", "names")

    def __init__(self, cls: type[Any]) -> None:
        hints = typing.get_type_hints(cls)
        self.cls = cls
        self.names = tuple(f.name for f in dataclasses.fields(cls))
        self.converters = tuple((n, c) for n in self.names if (c := converter(hints[n])) is not None)

    def build(self, data: Any) -> Any:
        """An instance from its JSON object (a nested dataclass inside a module's event)."""
        if not isinstance(data, dict):
            raise TypeError(f"{self.cls.__name__}: expected an object, not {type(data).__name__}")
        data = dict(data)
        for name, conv in self.converters:
            data[name] = conv(data[name])
        return self.cls(**data)


def from_json(cls: type[T], data: Any) -> T:
    """An instance of the dataclass ``cls`` from its JSON object (fields converted by their hints).

    Raises:
        TypeError, KeyError, ValueError: ``data`` does not fit ``cls``.
    """
    built: T = Spec(cls).build(data)
    return built
