"""Webhook signatures: lower-case hex HMAC-SHA256 of "{timestamp}.{rawBody}"."""

from __future__ import annotations

import hashlib
import hmac

TIMESTAMP_HEADER = "X-RedCloud-Timestamp"
SIGNATURE_HEADER = "X-RedCloud-Signature"
EVENT_ID_HEADER = "X-RedCloud-Event-Id"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does: recompute over the exact bytes and compare in constant time."""
    expected = hmac.new(
        secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, signature)
