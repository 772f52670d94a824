"""A per-client sliding-window rate limit (anonymous remote issuing, failed logins).

Invariants:

* at most ``limit`` hits are recorded for a key in any ``window_ms`` span (a sliding log, not
  fixed buckets, so a burst at a bucket edge cannot double the rate);
* the limiter never reads a clock: every call is given ``now`` (ms), which the handlers take
  from ``runtime.now()`` — so tests drive it with the app's injected ``ManualClock``;
* memory stays bounded: keys whose hits have all expired are swept once the table grows past
  ``max_keys`` (at most ``limit`` timestamps are kept per key).
"""

from __future__ import annotations

from collections import deque

from queue_engine.domain.ids import Millis

MINUTE_MS = 60_000


class SlidingWindow:
    """At most ``limit`` hits per key in any window of ``window_ms`` milliseconds."""

    def __init__(self, window_ms: int = MINUTE_MS, *, max_keys: int = 10_000) -> None:
        self.window_ms = window_ms
        self.max_keys = max_keys
        self._hits: dict[str, deque[Millis]] = {}

    def retry_after(self, key: str, now: Millis, limit: int) -> Millis | None:
        """Milliseconds until ``key`` may hit again, or None when a hit is allowed now (nothing recorded)."""
        if limit <= 0:
            return self.window_ms
        hits = self._hits.get(key)
        if hits is None:
            return None
        self._expire(hits, now)
        if len(hits) < limit:
            return None
        return max(1, hits[-limit] + self.window_ms - now)

    def record(self, key: str, now: Millis) -> None:
        """Count one hit for ``key`` at ``now``."""
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= self.max_keys:
                self.sweep(now)
            hits = self._hits[key] = deque()
        self._expire(hits, now)
        hits.append(now)

    def hit(self, key: str, now: Millis, limit: int) -> Millis | None:
        """Record a hit if allowed and return None; else return the wait in ms (and record nothing)."""
        wait = self.retry_after(key, now, limit)
        if wait is None:
            self.record(key, now)
        return wait

    def sweep(self, now: Millis) -> None:
        """Forget every key with no hit inside the window."""
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] <= now - self.window_ms]:
            del self._hits[key]

    def __len__(self) -> int:
        return len(self._hits)

    def _expire(self, hits: deque[Millis], now: Millis) -> None:
        start = now - self.window_ms
        while hits and hits[0] <= start:
            hits.popleft()
