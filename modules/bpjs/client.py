"""The HTTP client to BPJS Antrean Online: signed requests, and what each answer means for the outbox.

Every request carries ``x-cons-id``, ``x-timestamp`` (Unix seconds, UTC), ``x-signature``
(base64 HMAC-SHA256 of ``consid&timestamp``) and ``user_key`` (:func:`~modules.bpjs.crypto.headers`).
An answer's ``metadata.code`` decides: 200 → sent; 208 (the booking or the task id is already
there: a repeat after a lost answer) → sent; 201 and other codes → failed for good (BPJS refused
the content: retrying cannot help), unless the message says the service is busy; an HTTP 5xx, a
timeout or a network error → try again later. Credentials come from the environment only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import httpx2 as httpx
import orjson

from queue_engine.clock import Clock

from ..outbox.worker import Message, Outcome, Status
from . import crypto

#: BPJS codes that mean "done"
DONE_CODES = (200, 208)
#: words of a refusal of the credentials rather than of the message (retried, not dropped)
AUTH_WORDS = ("signature", "timestamp", "user_key", "user key", "cons", "unauthorized", "authentication")


@dataclass(frozen=True, slots=True)
class Credentials:
    cons_id: str
    secret: str
    user_key: str

    def __repr__(self) -> str:  # never print the secret
        return f"Credentials(cons_id={self.cons_id!r})"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], names: Mapping[str, str]) -> Credentials:
        """Read the credentials from the environment variables ``names`` lists.

        Raises:
            ValueError: naming the missing variables (not their values).
        """
        missing = [var for var in names.values() if not environ.get(var)]
        if missing:
            raise ValueError(f"BPJS bridge enabled but {', '.join(missing)} not set")
        return cls(**{field: environ[var] for field, var in names.items()})


class BpjsClient:
    """Sends outbox messages to ``base_url`` + the message's kind (``antrean/add``…)."""

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        clock: Clock,
        timeout_s: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self.clock = clock
        self._http = httpx.AsyncClient(timeout=timeout_s, transport=transport)

    async def close(self) -> None:
        await self._http.aclose()

    async def send(self, message: Message) -> Outcome:
        c = self.credentials
        timestamp = str(self.clock.now() // 1000)
        headers = {**crypto.headers(c.cons_id, c.secret, c.user_key, timestamp), "Content-Type": "application/json"}
        try:
            response = await self._http.post(
                f"{self.base_url}/{message.kind}", content=orjson.dumps(message.body), headers=headers
            )
        except httpx.HTTPError as exc:
            return Outcome(Status.RETRY, f"network: {type(exc).__name__}")
        if response.status_code >= 500 or response.status_code in (408, 429):
            return Outcome(Status.RETRY, f"HTTP {response.status_code}")
        try:
            code, text, _ = crypto.parse_envelope(response.json())
        except (ValueError, KeyError, TypeError):
            return Outcome(Status.RETRY, f"HTTP {response.status_code}: not a BPJS answer")
        if code in DONE_CODES:
            return Outcome(Status.SENT, text)
        if any(word in text.lower() for word in AUTH_WORDS):
            # wrong credentials or a skewed clock: every message would fail alike; keep them, say why
            return Outcome(Status.RETRY, f"{code}: {text}")
        if response.status_code >= 400 and response.status_code not in (400, 404, 422):
            return Outcome(Status.RETRY, f"HTTP {response.status_code}: {text}")
        return Outcome(Status.FAILED, f"{code}: {text}")
