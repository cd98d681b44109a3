"""Lifecycle event bodies, shaped exactly as the contract's webhook payloads."""

from __future__ import annotations

import time
from typing import Any

from redcloud import ids
from redcloud.messages.models import Message, MessageEvent

EVENT_TYPES = {
    "queued": "message.queued",
    "sent": "message.sent",
    "delivered": "message.delivery",
    "failed": "message.failed",
}


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def outbound_event(
    message: Message,
    status: str,
    sequence: int,
    *,
    error: dict[str, str] | None = None,
    occurred_at_ms: int | None = None,
) -> MessageEvent:
    """The event row for one outbound transition; its payload is the webhook body."""
    occurred = occurred_at_ms if occurred_at_ms is not None else now_ms()
    data: dict[str, Any] = {
        "messageId": message.id,
        "externalReference": message.external_reference,
        "sendFrom": message.send_from,
        "to": message.to,
        "status": status,
        "error": error,
    }
    if message.provider_message_ref:
        data["providerMessageRef"] = message.provider_message_ref
    event_type = EVENT_TYPES[status]
    payload = {
        "eventType": event_type,
        "direction": "outbound",
        "occurredAt": occurred,
        "apiClientId": message.api_client_id,
        "messageId": message.id,
        "sequence": sequence,
        "data": data,
    }
    return MessageEvent(
        id=ids.event_id(),
        message_id=message.id,
        api_client_id=message.api_client_id,
        sequence=sequence,
        event_type=event_type,
        occurred_at_ms=occurred,
        payload=payload,
    )
