"""Identifier types and the human ticket number."""

from __future__ import annotations

from typing import NewType

FacilityId = NewType("FacilityId", str)
ServiceCode = NewType("ServiceCode", str)
CounterId = NewType("CounterId", str)
TicketId = NewType("TicketId", str)
TicketToken = NewType("TicketToken", str)

#: Milliseconds since the Unix epoch, UTC. Every ``at`` in commands and events.
Millis = int


def format_number(prefix: str, seq: int) -> str:
    """Render a human ticket number: prefix letter plus a zero-padded daily sequence.

    >>> format_number("A", 12)
    'A012'
    >>> format_number("B", 1234)
    'B1234'
    """
    return f"{prefix}{seq:03d}"
