"""Event logs, chosen by URL: ``sqlite:///antre.db`` (default), ``memory://``.

``redis://`` (Redis Streams, several nodes) implements the same protocol in a later release.
"""

from __future__ import annotations

from .base import EventLog, LogConflict, LogError, LogUnavailable, Record, Snapshot

DEFAULT_URL = "sqlite:///antre.db"


def open_log(url: str = DEFAULT_URL) -> EventLog:
    """Open the log a URL names. Backends are imported only when chosen.

    ``sqlite:///relative/path.db`` and ``sqlite:////absolute/path.db`` follow SQLAlchemy's form.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"not a log URL: {url!r}")
    if scheme == "memory":
        from .memory import MemoryLog

        return MemoryLog()
    if scheme == "sqlite":
        from .sqlite import SqliteLog

        path = rest[1:] if rest.startswith("/") else rest
        if not path:
            raise ValueError(f"sqlite URL needs a path: {url!r}")
        return SqliteLog(path)
    raise ValueError(f"unsupported log URL scheme {scheme!r} (use sqlite:/// or memory://)")


__all__ = ["DEFAULT_URL", "EventLog", "LogConflict", "LogError", "LogUnavailable", "Record", "Snapshot", "open_log"]
