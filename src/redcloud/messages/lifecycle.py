"""The message state machine, and the one entry point for what carriers report.

queued -> sent -> delivered | failed, and queued -> failed. Each transition writes its event
(the next sequence number) and that event's webhook job in the caller's transaction. A
report that would move a message backwards, or repeats one already applied, is ignored.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from redcloud import ids
from redcloud.db import utcnow
from redcloud.jobs.queue import WEBHOOK_DELIVER, enqueue
from redcloud.messages.events import now_ms, outbound_event
from redcloud.messages.models import (
    DELIVERED,
    FAILED,
    QUEUED,
    RECEIVED,
    SENT,
    Message,
    MessageEvent,
    UnroutedInbound,
)
from redcloud.numbers.models import ACTIVE, Number

log = structlog.get_logger("redcloud.lifecycle")
NEXT: dict[str, frozenset[str]] = {
    QUEUED: frozenset({SENT, FAILED}),
    SENT: frozenset({DELIVERED, FAILED}),
}
REPORT_TIMEOUT = "DELIVERY_REPORT_TIMEOUT"


async def locked(session: AsyncSession, message_id: str) -> Message | None:
    """The message, row-locked on PostgreSQL (SQLite's write lock already serialises)."""
    return await session.scalar(select(Message).where(Message.id == message_id).with_for_update())


def transition(
    session: AsyncSession,
    message: Message,
    status: str,
    *,
    error: dict[str, str] | None = None,
    provider_ref: str | None = None,
) -> MessageEvent | None:
    """Move the message on and record the event; None if the move is not allowed now."""
    if status not in NEXT.get(message.status, frozenset()):
        return None
    if provider_ref and not message.provider_message_ref:
        message.provider_message_ref = provider_ref
    message.status = status
    message.last_sequence += 1
    message.updated_at = utcnow()
    if error:
        message.error_code, message.error_message = error["code"], error["message"][:500]
    event = outbound_event(message, status, message.last_sequence, error=error)
    session.add(event)
    enqueue(session, WEBHOOK_DELIVER, {"eventId": event.id})
    return event


async def delivery_report(
    session: AsyncSession,
    *,
    status: str,
    message_id: str | None = None,
    provider_ref: str | None = None,
    error: dict[str, str] | None = None,
) -> bool:
    """Apply a carrier's delivery report; False if it was stale, duplicate or unknown.

    A report can overtake the submit's own answer; a final report for a message still
    queued means the carrier had it, so `sent` is recorded first.
    """
    message = None
    if message_id:
        message = await locked(session, message_id)
    elif provider_ref:
        found = await session.scalar(
            select(Message.id).where(Message.provider_message_ref == provider_ref)
        )
        message = await locked(session, found) if found else None
    if message is None:
        log.warning("delivery report for an unknown message", ref=provider_ref, id=message_id)
        return False
    if message.status == QUEUED and status in (DELIVERED, FAILED):
        transition(session, message, SENT, provider_ref=provider_ref)
    applied = transition(session, message, status, error=error, provider_ref=provider_ref)
    if applied is None:
        log.info("ignored stale report", message=message.id, status=status, now=message.status)
    return applied is not None


async def expire_unreported(session: AsyncSession, timeout_seconds: int, limit: int = 500) -> int:
    """Fail sent messages whose delivery report never came."""
    cutoff = utcnow() - dt.timedelta(seconds=timeout_seconds)
    query = (
        select(Message)
        .where(Message.status == SENT, Message.updated_at < cutoff)
        .order_by(Message.updated_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    messages = list((await session.scalars(query)).all())
    error = {
        "code": REPORT_TIMEOUT,
        "message": f"No delivery report from the carrier within {timeout_seconds} seconds",
    }
    for message in messages:
        transition(session, message, FAILED, error=error)
    return len(messages)


async def receive_inbound(
    session: AsyncSession,
    *,
    from_e164: str,
    to_e164: str,
    text: str | None,
    media: list[dict[str, Any]] | None = None,
) -> Message | UnroutedInbound:
    """A customer's message to one of our numbers, routed to its owner as message.inbound."""
    number = await session.scalar(select(Number).where(Number.e164 == to_e164))
    if number is None or number.api_client_id is None or number.status != ACTIVE:
        reason = "no such number" if number is None else f"number is {number.status}"
        if number is not None and number.api_client_id is None:
            reason = "number is not assigned"
        unrouted = UnroutedInbound(
            id=ids.new_id("inb_"),
            from_e164=from_e164,
            to_e164=to_e164,
            text=text,
            media=media,
            reason=reason,
        )
        session.add(unrouted)
        log.warning("inbound message kept as unrouted", to=to_e164, reason=reason, id=unrouted.id)
        return unrouted
    message = Message(
        id=ids.message_id(),
        api_client_id=number.api_client_id,
        number_id=number.id,
        direction="inbound",
        message_type="MMS" if media else "SMS",
        send_from=from_e164,
        to=to_e164,
        text=text,
        media=media,
        status=RECEIVED,
        last_sequence=1,
    )
    session.add(message)
    occurred = now_ms()
    event = MessageEvent(
        id=ids.event_id(),
        message_id=message.id,
        api_client_id=message.api_client_id,
        sequence=1,
        event_type="message.inbound",
        occurred_at_ms=occurred,
        payload={
            "eventType": "message.inbound",
            "direction": "inbound",
            "occurredAt": occurred,
            "apiClientId": message.api_client_id,
            "messageId": message.id,
            "sequence": 1,
            "data": {
                "messageId": message.id,
                "from": from_e164,
                "to": to_e164,
                "numberId": number.id,
                "messageType": message.message_type,
                "text": text,
                "media": media,
            },
        },
    )
    session.add(event)
    enqueue(session, WEBHOOK_DELIVER, {"eventId": event.id})
    return message
