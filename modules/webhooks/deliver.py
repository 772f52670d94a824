"""What a webhook delivery holds, how it is signed and sent, and how a receiver checks it.

**The message.** Each event of the log whose type a subscription asks for becomes one delivery,
``POST``\\ ed as JSON::

    {"id": "simrs:42", "type": "ticket.called", "version": 1, "position": 42,
     "facility": "pkm-contoh", "data": {"at": 1795654800000, "ticket_id": "…", "counter": "loket-1", …}}

``id`` is ``<subscription>:<log position>``: the same on every retry, after a restart and on a
replay, so receivers dedupe by it. ``data`` is the event's fields as the log stores them, minus
:data:`PRIVATE_FIELDS`. Only the core's ticket and counter events and the SLA alerts are
forwarded (see :data:`~.module.PUBLIC_TYPES`): they hold no names or NIKs; other modules' events
never leave.

**The signature** (Stripe's scheme). Headers of every request:

* ``Antre-Webhook-Id``: the delivery's ``id``;
* ``Antre-Webhook-Timestamp``: Unix seconds when this attempt was sent (each retry is signed anew);
* ``Antre-Signature``: ``v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>``; several
  comma-separated ``v1=`` values may come (a receiver accepts any that matches: secret rotation);
* ``User-Agent: Antre-Webhooks/1``, ``Content-Type: application/json``.

A receiver computes the HMAC over the raw bytes it received (not re-serialised JSON), compares in
constant time and refuses timestamps more than five minutes away from its clock: :func:`verify`.

**Outcomes.** 2xx: sent. 408, 425, 429, 5xx, a timeout or a network error: tried again later with
back-off (the subscription's later deliveries wait, so they stay in order). Any other status (other
4xx, and 3xx: redirects are not followed): given up, recorded as a failure, and the stream moves on.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import httpx2 as httpx
import orjson

from queue_engine import codec
from queue_engine.clock import Clock
from queue_engine.domain.events import Event
from queue_engine.domain.state import FacilityState

from ..outbox.message import Message, Outcome, Status
from .module import Subscription

USER_AGENT = "Antre-Webhooks/1"
ID_HEADER = "Antre-Webhook-Id"
TIMESTAMP_HEADER = "Antre-Webhook-Timestamp"
SIGNATURE_HEADER = "Antre-Signature"
#: how far (seconds) a signature's timestamp may be from the receiver's clock
TOLERANCE_S = 300.0
#: event fields never sent: the ticket's tracking token is its holder's only credential, and a
#: client's idempotency key is its own business
PRIVATE_FIELDS = frozenset({"token", "idempotency_key"})
#: statuses that mean "not now" (besides every 5xx)
RETRY_STATUSES = frozenset({408, 425, 429})


# --------------------------------------------------------------------------- deriving (pure)


def message_body(subscription: str, position: int, event: Event, facility: str) -> dict[str, Any]:
    """The JSON object delivered for ``event`` at log ``position``."""
    stored = codec.event_to_dict(event)
    data = {name: value for name, value in stored["d"].items() if name not in PRIVATE_FIELDS}
    return {
        "id": f"{subscription}:{position}",
        "type": stored["t"],
        "version": stored["v"],
        "position": position,
        "facility": facility,
        "data": data,
    }


class WebhookDeriver:
    """The deliveries of one subscription: one per event whose type it asks for. Pure."""

    def __init__(self, subscription: Subscription) -> None:
        self.subscription = subscription

    def derive(self, position: int, event: Event, state: FacilityState) -> list[Message]:
        if not self.subscription.wants(event.TYPE):  # only PUBLIC_TYPES: no module event with personal data
            return []
        body = message_body(self.subscription.id, position, event, state.facility.id)
        return [Message(key=body["id"], kind=event.TYPE, body=body, at=event.at)]


# --------------------------------------------------------------------------- signing


def _secret(secret: str | bytes) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def sign(secret: str | bytes, timestamp: int | str, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>.<body>"`` under ``secret``."""
    signed = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(_secret(secret), signed, hashlib.sha256).hexdigest()


def verify(
    secret: str | bytes,
    timestamp: str,
    body: bytes,
    signature: str,
    now: float,
    tolerance_s: float = TOLERANCE_S,
) -> bool:
    """Check a delivery: ``Antre-Webhook-Timestamp``, the raw body, ``Antre-Signature``, the time.

    Receivers may copy this function (it needs only ``hashlib`` and ``hmac``).

    Args:
        secret: the subscription's secret (the value of its ``secret_env`` variable).
        timestamp: the ``Antre-Webhook-Timestamp`` header (Unix seconds).
        body: the request body exactly as received.
        signature: the ``Antre-Signature`` header (``v1=<hex>``, possibly several, comma-separated).
        now: the receiver's clock, Unix seconds.
        tolerance_s: how far the timestamp may be from ``now``, either way (replayed requests are older).

    Returns:
        True when one ``v1`` signature matches and the timestamp is fresh.
    """
    if not timestamp.isascii() or not timestamp.isdigit() or abs(now - int(timestamp)) > tolerance_s:
        return False
    expected = sign(secret, timestamp, body).encode("ascii")
    matched = False
    for part in signature.split(","):
        scheme, _, value = part.strip().partition("=")
        if scheme == "v1":  # every candidate is compared (no early exit), each in constant time
            matched |= hmac.compare_digest(expected, value.encode("ascii", "replace"))
    return matched


# --------------------------------------------------------------------------- sending


def outcome_of(status: int) -> Outcome:
    """What an HTTP status means for a delivery."""
    if 200 <= status < 300:
        return Outcome(Status.SENT)
    if status in RETRY_STATUSES or status >= 500:
        return Outcome(Status.RETRY, f"HTTP {status}")
    return Outcome(Status.FAILED, f"HTTP {status}")


class WebhookSender:
    """POSTs one subscription's messages, signed; the response body is never read."""

    def __init__(self, subscription: Subscription, secret: str, *, client: httpx.AsyncClient, clock: Clock) -> None:
        if not secret:
            raise ValueError(f"webhooks: subscription {subscription.id} has no secret")
        self.url = subscription.url
        self._secret = secret.encode()
        self.client = client
        self.clock = clock

    def request(self, message: Message) -> tuple[bytes, dict[str, str]]:
        """The body and headers of one attempt, signed now."""
        body = orjson.dumps(message.body)
        timestamp = str(self.clock.now() // 1000)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            ID_HEADER: message.key,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: "v1=" + sign(self._secret, timestamp, body),
        }
        return body, headers

    async def send(self, message: Message) -> Outcome:
        body, headers = self.request(message)
        try:
            async with self.client.stream("POST", self.url, content=body, headers=headers) as response:
                status = response.status_code
        except httpx.TimeoutException:
            return Outcome(Status.RETRY, "timeout")
        except httpx.TransportError as exc:
            return Outcome(Status.RETRY, f"network: {type(exc).__name__}: {exc}"[:200])
        return outcome_of(status)


def new_client(timeout_s: float = 10.0) -> httpx.AsyncClient:
    """The HTTP client the senders share (redirects not followed: a 3xx is a failure)."""
    return httpx.AsyncClient(timeout=timeout_s, follow_redirects=False, headers={"User-Agent": USER_AGENT})
