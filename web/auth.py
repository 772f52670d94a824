"""Roles and credentials.

* **admin** and **staff** log in with a username and password (scrypt hashes in the facility
  file); the session lives in a signed cookie; staff may operate only their own counters.
  Cookie-authenticated state changes need the CSRF token (header ``X-CSRF-Token`` or form field
  ``csrf``) that the session holds.
* **kiosk** and **display** devices send a device token (``Authorization: Bearer …``, or
  ``?token=…`` where a TV cannot set headers); only its SHA-256 is in the facility file.
* a **patient** is whoever holds a ticket's unguessable token; no other credential exists.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import tomllib
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from starlette.requests import HTTPConnection

from .errors import ApiError


class Role(StrEnum):
    ADMIN = "admin"
    STAFF = "staff"
    KIOSK = "kiosk"
    DISPLAY = "display"


@dataclass(frozen=True, slots=True)
class User:
    username: str
    role: Role
    password_hash: str
    counters: frozenset[str] = frozenset()
    name: str = ""
    #: the kelurahan whose e-Lampid applications this user handles
    kelurahan: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Device:
    id: str
    kind: Role  # KIOSK or DISPLAY
    token_sha256: str
    display: str | None = None  # for a display device: which board it shows


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking. ``counters`` is set for staff; ``display`` for display devices."""

    role: Role
    name: str
    counters: frozenset[str] = frozenset()
    display: str | None = None
    via_session: bool = False
    kelurahan: frozenset[str] = frozenset()

    def may_operate(self, counter: str) -> bool:
        return self.role is Role.ADMIN or (self.role is Role.STAFF and counter in self.counters)


@dataclass(frozen=True, slots=True)
class Accounts:
    users: dict[str, User] = field(default_factory=dict)
    devices: tuple[Device, ...] = ()

    @classmethod
    def from_toml(cls, path: str | Path) -> Accounts:
        return cls.from_data(tomllib.loads(Path(path).read_text(encoding="utf-8")))

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Accounts:
        users = {
            u["username"]: User(
                username=u["username"],
                role=Role(u["role"]),
                password_hash=u["password_hash"],
                counters=frozenset(u.get("counters", ())),
                name=u.get("name", ""),
                kelurahan=frozenset(u.get("kelurahan", ())),
            )
            for u in data.get("users", [])
        }
        devices = tuple(
            Device(id=d["id"], kind=Role(d["kind"]), token_sha256=d["token_sha256"], display=d.get("display"))
            for d in data.get("devices", [])
        )
        return cls(users=users, devices=devices)

    def login(self, username: str, password: str) -> User | None:
        user = self.users.get(username)
        if user is None:
            verify_password(password, _DUMMY_HASH)  # same cost whether or not the user exists
            return None
        return user if verify_password(password, user.password_hash) else None

    def device(self, token: str) -> Device | None:
        digest = hashlib.sha256(token.encode()).hexdigest()
        for device in self.devices:
            if hmac.compare_digest(device.token_sha256, digest):
                return device
        return None


def hash_password(password: str, *, salt: bytes | None = None, n: int = 2**14) -> str:
    """``scrypt$n$r$p$salt$hash`` with a random salt."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=8, p=1, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${n}$8$1${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, encoded: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
        if scheme != "scrypt":
            return False
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=32)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, base64.b64decode(digest))


_DUMMY_HASH = hash_password("x", salt=b"0" * 16)


def bearer_token(conn: HTTPConnection[Any]) -> str | None:
    header = conn.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return conn.query_params.get("token") or None


def authenticate(conn: HTTPConnection[Any], accounts: Accounts) -> Principal | None:
    """The principal behind a request or WebSocket, if any."""
    token = bearer_token(conn)
    if token is not None:
        device = accounts.device(token)
        if device is not None:
            return Principal(role=device.kind, name=device.id, display=device.display)
    username = conn.session.get("user") if "session" in conn.scope else None
    if isinstance(username, str):
        user = accounts.users.get(username)
        if user is not None:
            return Principal(
                role=user.role,
                name=user.username,
                counters=user.counters,
                via_session=True,
                kelurahan=user.kelurahan,
            )
    return None


def require(conn: HTTPConnection[Any], accounts: Accounts, *roles: Role) -> Principal:
    """The principal, if it has one of ``roles``; else 401 or 403 (as an :class:`ApiError`)."""
    principal = authenticate(conn, accounts)
    if principal is None:
        raise ApiError("unauthenticated")
    if principal.role not in roles:
        raise ApiError("forbidden")
    return principal


def csrf_token(conn: HTTPConnection[Any]) -> str:
    """The session's CSRF token, created on first use."""
    token = conn.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(24)
        conn.session["csrf"] = token
    return token


def check_csrf(conn: HTTPConnection[Any], principal: Principal, submitted: str | None) -> None:
    """Cookie-authenticated state changes must echo the session's CSRF token."""
    if not principal.via_session:
        return
    expected = conn.session.get("csrf")
    given = submitted or conn.headers.get("x-csrf-token")
    if not isinstance(expected, str) or not given or not same_secret(expected, given):
        raise ApiError("csrf_failed")


def same_secret(expected: str, given: str) -> bool:
    """Constant-time equality of two strings, whatever characters ``given`` holds.

    ``hmac.compare_digest`` raises ``TypeError`` on a ``str`` with non-ASCII characters, and a
    header value may carry any byte 0x80-0xFF (decoded as Latin-1): compare their UTF-8 bytes.
    """
    return hmac.compare_digest(expected.encode("utf-8", "surrogatepass"), given.encode("utf-8", "surrogatepass"))
