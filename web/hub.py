"""PushHub: fans engine deltas out to WebSocket subscribers (to be completed in issue #3)."""

from __future__ import annotations

from queue_engine.runtime import Runtime

from .settings import Settings


class PushHub:
    """Topic -> subscribers; bounded per-client queues; resume from a log position."""

    def __init__(self, runtime: Runtime, settings: Settings) -> None:
        self.runtime = runtime
        self.settings = settings

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None
