"""Who may see an application: its applicant (receipt + PIN, then the session) or staff of its kelurahan.

The PIN is six random digits shown once on the receipt; only its scrypt hash is in the log.
Wrong PINs are counted per receipt and per client address in sliding windows: past the limit
the receipt (or the client) is locked for the rest of the window, even for the right PIN, so
guessing a million PINs takes years. A right PIN puts the application's id in the signed
session cookie; the applicant's later requests and WebSocket ride on that.
"""

from __future__ import annotations

import secrets
from typing import Any

from starlette.requests import HTTPConnection

from queue_engine.domain.ids import Millis
from web.auth import Principal, Role, authenticate, hash_password, same_secret, verify_password
from web.errors import ApiError
from web.ratelimit import MINUTE_MS, SlidingWindow

from ..domain import ApplicationRecord
from ..errors import PinLocked, WrongPin

#: wrong PINs allowed per receipt, and per client address, in :data:`PIN_WINDOW_MS`
PIN_TRIES_PER_RECEIPT = 5
PIN_TRIES_PER_CLIENT = 20
PIN_WINDOW_MS = 15 * MINUTE_MS
#: applications one browser session may hold open at once
SESSION_APPLICATIONS = 8
_SESSION_KEY = "lampid"
#: receipt numbers: LMP-XXXX-XXXX over an alphabet without look-alikes (0/O, 1/I/L)
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_receipt_number() -> str:
    draw = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"LMP-{draw[:4]}-{draw[4:]}"


def new_pin() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def hash_pin(pin: str, *, n: int = 2**14) -> str:
    return hash_password(pin, n=n)


class PinGuard:
    """Checks PINs with per-receipt and per-client limits on failures."""

    def __init__(self) -> None:
        self._receipts = SlidingWindow(PIN_WINDOW_MS)
        self._clients = SlidingWindow(PIN_WINDOW_MS)

    def check(self, record: ApplicationRecord | None, pin: str, *, receipt: str, client: str, now: Millis) -> None:
        """Pass, or raise :class:`PinLocked` / :class:`WrongPin` (an unknown receipt is a wrong PIN)."""
        waits = [
            self._receipts.retry_after(receipt, now, PIN_TRIES_PER_RECEIPT),
            self._clients.retry_after(client, now, PIN_TRIES_PER_CLIENT),
        ]
        wait = max((w for w in waits if w is not None), default=None)
        if wait is not None:
            raise PinLocked(retry_after_s=-(-wait // 1000))
        ok = record is not None and bool(record.pin_hash) and verify_password(pin, record.pin_hash)
        if not ok:
            self._receipts.record(receipt, now)
            self._clients.record(client, now)
            left = self._receipts.retry_after(receipt, now, PIN_TRIES_PER_RECEIPT)
            if left is not None:
                raise PinLocked(retry_after_s=-(-left // 1000))
            raise WrongPin(attempts_left=PIN_TRIES_PER_RECEIPT - self._tries(receipt, now))

    def _tries(self, receipt: str, now: Millis) -> int:
        for used in range(PIN_TRIES_PER_RECEIPT, 0, -1):
            if self._receipts.retry_after(receipt, now, used) is not None:
                return used
        return 0


def grant(conn: HTTPConnection[Any], record: ApplicationRecord) -> None:
    """Remember in the session that its holder unlocked ``record``."""
    held = [a for a in conn.session.get(_SESSION_KEY, []) if isinstance(a, str) and a != record.application_id]
    conn.session[_SESSION_KEY] = [*held, record.application_id][-SESSION_APPLICATIONS:]


def is_applicant(conn: HTTPConnection[Any], record: ApplicationRecord) -> bool:
    held = conn.session.get(_SESSION_KEY, []) if "session" in conn.scope else []
    return isinstance(held, list) and record.application_id in held


def staff_of(conn: HTTPConnection[Any], record: ApplicationRecord) -> Principal | None:
    """The logged-in staff or admin principal, if any; refused (403) when not of the record's kelurahan."""
    principal = authenticate(conn, conn.state["accounts"])
    if principal is None or principal.role not in (Role.STAFF, Role.ADMIN) or not principal.via_session:
        return None
    if record.kelurahan not in principal.kelurahan:
        raise ApiError("forbidden", field="kelurahan")
    return principal


def check_session_csrf(conn: HTTPConnection[Any]) -> None:
    """The applicant's changes ride on the session cookie: they must echo its CSRF token."""
    expected = conn.session.get("csrf")
    given = conn.headers.get("x-csrf-token")
    if not isinstance(expected, str) or not given or not same_secret(expected, given):
        raise ApiError("csrf_failed")
