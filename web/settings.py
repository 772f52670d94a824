"""Settings, read once from the environment into a frozen value and passed in explicitly."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from queue_engine.log import DEFAULT_URL


class SettingsError(ValueError):
    """An ``ANTRE_*`` variable has a value that cannot be used."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Everything the web app needs to start; build with :meth:`from_environ` or directly in tests."""

    host: str = "127.0.0.1"
    port: int = 8000
    log_url: str = DEFAULT_URL
    facility_path: str | None = None  # None = the bundled demo puskesmas
    #: signs session cookies; random per process when not set (sessions then end on restart)
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    #: cookies only over HTTPS (set in production behind TLS)
    secure_cookies: bool = False
    #: remote ticket issues allowed per client address per minute
    issue_rate_per_min: int = 6
    #: seconds between app-level heartbeats on WebSockets
    heartbeat_s: float = 10.0
    #: messages buffered per WebSocket client before it is dropped (it then resyncs)
    client_queue: int = 256
    #: follow the log's tail (several nodes on one log); None = when the log URL is redis://
    follow_log: bool | None = None
    #: tune the garbage collector for a long-running server (process-wide: `antre serve` sets it)
    tune_gc: bool = False
    #: base URL printed on tickets and in QR codes (default: from the request)
    public_url: str | None = None
    #: bearer token that may scrape ``/metrics`` (else only an admin session may)
    metrics_token: str | None = None
    #: where modules keep files (e-Lampid's uploads); default: beside the SQLite file, else ./antre-data
    data_dir: str | None = None

    def __post_init__(self) -> None:
        # asyncio.Queue(0) is unbounded and a zero interval is a busy loop: neither may pass silently.
        if self.client_queue < 1:
            raise SettingsError(f"client_queue must be at least 1, not {self.client_queue}")
        if not self.heartbeat_s > 0:
            raise SettingsError(f"heartbeat_s must be positive, not {self.heartbeat_s}")

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """Read ``ANTRE_HOST``, ``ANTRE_PORT``, ``ANTRE_LOG_URL``, ``ANTRE_FACILITY``, ``ANTRE_SECRET_KEY``…"""
        values: dict[str, object] = {}
        text = {
            "ANTRE_HOST": "host",
            "ANTRE_LOG_URL": "log_url",
            "ANTRE_FACILITY": "facility_path",
            "ANTRE_SECRET_KEY": "secret_key",
            "ANTRE_PUBLIC_URL": "public_url",
            "ANTRE_METRICS_TOKEN": "metrics_token",
            "ANTRE_DATA_DIR": "data_dir",
        }
        numbers = {
            "ANTRE_PORT": ("port", int),
            "ANTRE_ISSUE_RATE_PER_MIN": ("issue_rate_per_min", int),
            "ANTRE_HEARTBEAT_S": ("heartbeat_s", float),
            "ANTRE_CLIENT_QUEUE": ("client_queue", int),
        }
        for var, name in text.items():
            if environ.get(var):
                values[name] = environ[var]
        for var, (name, cast) in numbers.items():
            if environ.get(var):
                try:
                    values[name] = cast(environ[var])
                except ValueError:
                    raise SettingsError(f"{var}={environ[var]!r} is not a number") from None
        if environ.get("ANTRE_FOLLOW_LOG"):
            values["follow_log"] = environ["ANTRE_FOLLOW_LOG"].lower() in ("1", "true", "yes")
        if environ.get("ANTRE_SECURE_COOKIES"):
            values["secure_cookies"] = environ["ANTRE_SECURE_COOKIES"].lower() in ("1", "true", "yes")
        return cls(**values)  # type: ignore[arg-type]

    @property
    def data_path(self) -> Path:
        """The data directory (not created here)."""
        if self.data_dir:
            return Path(self.data_dir)
        if self.log_url.startswith("sqlite:///"):
            return (Path(self.log_url.removeprefix("sqlite:///")).parent / "antre-data").resolve()
        return Path("antre-data").resolve()

    @property
    def follows_log(self) -> bool:
        """Whether this node should apply and push what other nodes append to the log."""
        if self.follow_log is not None:
            return self.follow_log
        return self.log_url.startswith(("redis://", "rediss://"))
