"""The signature of a delivery, Stripe-like: ``X-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of
"<t>.<raw body>" keyed with the hook's secret>``. The timestamp is signed with the body, so a
receiver that refuses old timestamps (``verify``) refuses a replayed delivery too."""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import datetime

from django.conf import settings

SIGNATURE_HEADER = "X-Signature"
EVENT_HEADER = "X-Webhook-Event"
DELIVERY_HEADER = "X-Webhook-Delivery"


def _unix(now: datetime | float | None) -> int:
    if now is None:
        return int(time.time())
    if isinstance(now, datetime):
        return int(now.timestamp())
    return int(now)


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature(secret: str, body: bytes, *, now: datetime | float | None = None) -> str:
    """The ``X-Signature`` value for ``body`` sent at ``now``."""
    timestamp = _unix(now)
    return f"t={timestamp},v1={_digest(secret, timestamp, body)}"


def headers(
    secret: str, body: bytes, *, event: str, delivery_id: int, now: datetime | float | None = None
) -> dict[str, str]:
    """The headers that go with a delivery's body."""
    return {
        SIGNATURE_HEADER: signature(secret, body, now=now),
        EVENT_HEADER: event,
        DELIVERY_HEADER: str(delivery_id),
    }


def verify(
    secret: str,
    header: str,
    body: bytes,
    tolerance: int | None = None,
    now: datetime | float | None = None,
) -> bool:
    """Whether ``header`` (an ``X-Signature`` value) signs ``body`` with ``secret`` at a time
    within ``tolerance`` seconds of ``now`` (default ``WEBHOOK_SIGNATURE_TOLERANCE_SECONDS``).

    Any ``v1`` in the header may match (a sender rotating its secret may send two).
    """
    if tolerance is None:
        tolerance = settings.WEBHOOK_SIGNATURE_TOLERANCE_SECONDS
    timestamp: int | None = None
    candidates: list[str] = []
    for part in (header or "").split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    if abs(_unix(now) - timestamp) > tolerance:
        return False
    expected = _digest(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
