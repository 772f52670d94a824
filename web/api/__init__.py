"""The versioned HTTP API (``/api/v1``): thin handlers that parse, submit a command, render."""

from __future__ import annotations

from starlette.routing import BaseRoute


def routes() -> list[BaseRoute]:
    return []
