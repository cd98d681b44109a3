"""Reading messages back: one with its events, or a filtered, paginated list."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from redcloud import segments
from redcloud.errors import InvalidRequest, NotFound
from redcloud.messages.models import Message, MessageEvent
from redcloud.webhooks.models import WebhookAttempt


def summary(message: Message) -> dict[str, Any]:
    error = (
        {"code": message.error_code, "message": message.error_message}
        if message.error_code
        else None
    )
    return {
        "messageId": message.id,
        "direction": message.direction,
        "status": message.status,
        "messageType": message.message_type,
        "sendFrom": message.send_from,
        "to": message.to,
        "numberId": message.number_id,
        "externalReference": message.external_reference,
        "providerMessageRef": message.provider_message_ref,
        "error": error,
        "createdAt": _iso(message.created_at),
        "updatedAt": _iso(message.updated_at),
    }


async def detail(session: AsyncSession, client_id: str | None, message_id: str) -> dict[str, Any]:
    """One message with its events and each event's webhook delivery summary."""
    message = await session.get(Message, message_id)
    if message is None or (client_id is not None and message.api_client_id != client_id):
        raise NotFound(f"Message {message_id} was not found", {"messageId": message_id})
    events = list(
        await session.scalars(
            select(MessageEvent)
            .where(MessageEvent.message_id == message_id)
            .order_by(MessageEvent.sequence)
        )
    )
    last_attempts: dict[str, WebhookAttempt] = {}
    if events:
        rows = await session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.event_id.in_([e.id for e in events]))
            .order_by(WebhookAttempt.id)
        )
        for attempt in rows:
            last_attempts[attempt.event_id] = attempt
    return {
        **summary(message),
        "text": message.text,
        "media": message.media,
        **segments_of(message),
        "events": [_event(e, last_attempts.get(e.id)) for e in events],
    }


def segments_of(message: Message) -> dict[str, Any]:
    """How the text travels as SMS (an MMS travels whole: one segment, no SMS encoding)."""
    if message.message_type != "SMS" or message.text is None:
        return {"encoding": None, "segments": 1}
    plan = segments.split(message.text)
    return {"encoding": plan.encoding, "segments": plan.segments}


def _event(event: MessageEvent, last: WebhookAttempt | None) -> dict[str, Any]:
    return {
        "eventId": event.id,
        "eventType": event.event_type,
        "sequence": event.sequence,
        "occurredAt": event.occurred_at_ms,
        "webhook": {
            "status": event.delivery_status,
            "attempts": event.delivery_attempts,
            "deliveredAt": _iso(event.delivered_at) if event.delivered_at else None,
            "lastAttempt": None
            if last is None
            else {
                "at": _iso(last.attempted_at),
                "url": last.url,
                "statusCode": last.status_code,
                "latencyMs": last.latency_ms,
                "error": last.error,
            },
        },
    }


async def page(
    session: AsyncSession,
    client_id: str,
    *,
    external_reference: str | None = None,
    status: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Newest first; `nextCursor` continues where this page stopped."""
    query = select(Message).where(Message.api_client_id == client_id)
    if external_reference is not None:
        query = query.where(Message.external_reference == external_reference)
    if status is not None:
        query = query.where(Message.status == status)
    if since is not None:
        query = query.where(Message.created_at >= since)
    if until is not None:
        query = query.where(Message.created_at < until)
    rows, next_cursor = await newest_first(session, query, cursor, limit)
    return {"messages": [summary(m) for m in rows], "nextCursor": next_cursor}


async def newest_first(
    session: AsyncSession, query: Select[Message], cursor: str | None, limit: int
) -> tuple[list[Message], str | None]:
    """A page of `query`'s messages, newest first, after `cursor`; and the next cursor."""
    if cursor:
        created, last_id = decode_cursor(cursor)
        query = query.where(
            or_(
                Message.created_at < created,
                and_(Message.created_at == created, Message.id < last_id),
            )
        )
    rows = list(
        await session.scalars(
            query.order_by(Message.created_at.desc(), Message.id.desc()).limit(limit + 1)
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1]) if more and rows else None


def encode_cursor(message: Message) -> str:
    raw = json.dumps([message.created_at.isoformat(), message.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, last_id = json.loads(raw)
        return dt.datetime.fromisoformat(created), str(last_id)
    except (ValueError, TypeError) as exc:
        raise InvalidRequest(
            "cursor is not one this API returned", {"field": "cursor", "reason": "malformed"}
        ) from exc


async def count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Message)) or 0)


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
