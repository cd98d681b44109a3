"""Verify and read Red Cloud webhook deliveries.

Always verify the raw bytes you received, before parsing them:

    event = parse_event(request_body_bytes, request.headers, "rc_webhook_secret_demo")

The signature is the lower-case hex HMAC-SHA256 of `"{timestamp}.{rawBody}"` with the API
client's signing secret; `X-RedCloud-Event-Id` is stable across retries, so de-duplicate on
`event.event_id`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from redcloud_client._errors import WebhookVerificationError
from redcloud_client._models import InboundEvent, OutboundEvent, decode

TIMESTAMP_HEADER = "X-RedCloud-Timestamp"
SIGNATURE_HEADER = "X-RedCloud-Signature"
EVENT_ID_HEADER = "X-RedCloud-Event-Id"
DEFAULT_TOLERANCE = 300  # seconds; every retry is signed afresh, so this never rejects one

OUTBOUND_TYPES = frozenset({"message.queued", "message.sent", "message.delivery", "message.failed"})


def verify_signature(
    raw_body: bytes,
    timestamp: str | int,
    signature: str,
    secret: str,
    tolerance: float | None = None,
) -> bool:
    """True when `signature` is ours for these exact bytes (compared in constant time).

    With `tolerance` (seconds), a timestamp further than that from now is refused too, which
    stops a captured delivery from being replayed later.
    """
    stamp = str(timestamp).strip()
    if not stamp.isdigit():
        return False
    if tolerance is not None and abs(time.time() - int(stamp)) > tolerance:
        return False
    expected = hmac.new(secret.encode(), stamp.encode() + b"." + raw_body, hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), signature.strip().lower())


def parse_event(
    raw_body: bytes,
    headers: Mapping[str, str],
    secret: str,
    *,
    tolerance: float | None = DEFAULT_TOLERANCE,
) -> OutboundEvent | InboundEvent:
    """Verify a delivery and return its typed event, or raise WebhookVerificationError."""
    if isinstance(raw_body, str):
        raise TypeError("parse_event needs the raw body as bytes, exactly as received")
    found = {name.lower(): value for name, value in headers.items()}
    missing = [name for name in (TIMESTAMP_HEADER, SIGNATURE_HEADER) if name.lower() not in found]
    if missing:
        raise _refused("missing_header", f"missing header {', '.join(missing)}")
    timestamp = found[TIMESTAMP_HEADER.lower()]
    if not verify_signature(raw_body, timestamp, found[SIGNATURE_HEADER.lower()], secret):
        raise _refused(
            "invalid_signature",
            "the signature does not match this body and secret "
            "(verify the raw bytes, not re-serialised JSON; check the signing secret)",
        )
    if tolerance is not None and abs(time.time() - int(timestamp)) > tolerance:
        raise _refused("stale_timestamp", f"timestamp {timestamp} is outside {tolerance} s")
    try:
        body: Any = json.loads(raw_body)
        kind = body["eventType"]
        event: OutboundEvent | InboundEvent
        if kind in OUTBOUND_TYPES:
            event = decode(OutboundEvent, body)
        elif kind == "message.inbound":
            event = decode(InboundEvent, body)
        else:
            raise ValueError(f"unknown eventType {kind!r}")
    except (ValueError, KeyError, TypeError) as exc:
        raise _refused("malformed_body", f"not a Red Cloud event: {exc}") from exc
    return dataclasses.replace(
        event, event_id=found.get(EVENT_ID_HEADER.lower(), ""), timestamp=int(timestamp)
    )


def _refused(code: str, message: str) -> WebhookVerificationError:
    return WebhookVerificationError(message, code=code)
