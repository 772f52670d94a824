"""Event logs, chosen by URL: ``sqlite:///antre.db`` (default), ``redis://…``, ``memory://``.

``redis://`` (Redis Streams) is the one several engine nodes can share.
"""

from __future__ import annotations

from .base import EventLog, LogConflict, LogError, LogUnavailable, Record, Snapshot

DEFAULT_URL = "sqlite:///antre.db"


def open_log(url: str = DEFAULT_URL) -> EventLog:
    """Open the log a URL names. Backends are imported only when chosen.

    ``sqlite:///relative/path.db`` and ``sqlite:////absolute/path.db`` follow SQLAlchemy's form.
    ``redis://host:port/db?prefix=…&retain=…`` (or ``rediss://``) opens Redis Streams: ``prefix``
    goes before every key, ``retain`` turns on trimming behind snapshots (see
    :mod:`queue_engine.log.redis_streams`). No backend connects before its first call.

    Raises:
        ValueError: the URL names no supported backend, or its options are invalid.
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
    if scheme in ("redis", "rediss"):
        from .redis_streams import RedisLog

        return RedisLog(url)
    raise ValueError(f"unsupported log URL scheme {scheme!r} (use sqlite:///, redis:// or memory://)")


__all__ = ["DEFAULT_URL", "EventLog", "LogConflict", "LogError", "LogUnavailable", "Record", "Snapshot", "open_log"]
