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
    return MessageEvent(
        **outbound_event_row(
            message_id=message.id,
            api_client_id=message.api_client_id,
            external_reference=message.external_reference,
            send_from=message.send_from,
            to=message.to,
            provider_ref=message.provider_message_ref,
            status=status,
            sequence=sequence,
            error=error,
            occurred_at_ms=occurred_at_ms,
        )
    )


def outbound_event_row(
    *,
    message_id: str,
    api_client_id: str,
    external_reference: str | None,
    send_from: str,
    to: str,
    provider_ref: str | None,
    status: str,
    sequence: int,
    error: dict[str, str] | None = None,
    occurred_at_ms: int | None = None,
) -> dict[str, Any]:
    """The message_events columns of one outbound transition, for ORM and Core writers."""
    occurred = occurred_at_ms if occurred_at_ms is not None else now_ms()
    data: dict[str, Any] = {
        "messageId": message_id,
        "externalReference": external_reference,
        "sendFrom": send_from,
        "to": to,
        "status": status,
        "error": error,
    }
    if provider_ref:
        data["providerMessageRef"] = provider_ref
    event_type = EVENT_TYPES[status]
    payload = {
        "eventType": event_type,
        "direction": "outbound",
        "occurredAt": occurred,
        "apiClientId": api_client_id,
        "messageId": message_id,
        "sequence": sequence,
        "data": data,
    }
    return {
        "id": ids.event_id(),
        "message_id": message_id,
        "api_client_id": api_client_id,
        "sequence": sequence,
        "event_type": event_type,
        "occurred_at_ms": occurred,
        "payload": payload,
    }
