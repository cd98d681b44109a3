"""Where an event's webhook goes, the attempt log, and redelivery."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from redcloud.auth.models import ApiClient
from redcloud.jobs.queue import WEBHOOK_DELIVER, enqueue
from redcloud.messages.models import PENDING, WEBHOOK_FAILED, Message, MessageEvent
from redcloud.numbers.models import Number
from redcloud.webhooks.models import WebhookAttempt


class WebhookError(ValueError):
    """An operator request on webhooks that cannot be carried out."""


def destination(event: MessageEvent, number: Number | None, client: ApiClient) -> str | None:
    """Outbound events: the number's delivery override, else the client's delivery URL.
    Inbound: the number's inbound override, else the client's inbound URL."""
    if event.event_type == "message.inbound":
        override = number.webhook_inbound_override if number else None
        return override or client.inbound_webhook_url
    override = number.webhook_delivery_override if number else None
    return override or client.delivery_webhook_url


async def redeliver(session: AsyncSession, event_id: str) -> MessageEvent:
    """Queue one more delivery of an event, with a fresh retry schedule."""
    event = await session.get(MessageEvent, event_id)
    if event is None:
        raise WebhookError(f"No event {event_id!r}; `redcloud messages show ID` lists a message's.")
    event.delivery_status = PENDING
    enqueue(session, WEBHOOK_DELIVER, {"eventId": event.id, "base": event.delivery_attempts})
    await session.flush()
    return event


async def redeliver_failed(session: AsyncSession, client_id: str, since: dt.datetime) -> int:
    """Redeliver every terminally failed event of a client that occurred since `since`."""
    since_ms = int(since.timestamp() * 1000)
    events = list(
        await session.scalars(
            select(MessageEvent).where(
                MessageEvent.api_client_id == client_id,
                MessageEvent.delivery_status == WEBHOOK_FAILED,
                MessageEvent.occurred_at_ms >= since_ms,
            )
        )
    )
    for event in events:
        await redeliver(session, event.id)
    return len(events)


async def attempts(
    session: AsyncSession,
    *,
    event_id: str | None = None,
    message_id: str | None = None,
    client_id: str | None = None,
    limit: int = 50,
) -> list[tuple[WebhookAttempt, MessageEvent]]:
    """Delivery attempts, newest first, narrowed to an event, a message or a client."""
    query = (
        select(WebhookAttempt, MessageEvent)
        .join(MessageEvent, MessageEvent.id == WebhookAttempt.event_id)
        .order_by(WebhookAttempt.id.desc())
        .limit(limit)
    )
    if event_id:
        query = query.where(WebhookAttempt.event_id == event_id)
    if message_id:
        query = query.where(MessageEvent.message_id == message_id)
    if client_id:
        query = query.where(MessageEvent.api_client_id == client_id)
    return [(a, e) for a, e in (await session.execute(query)).all()]


async def delivery_context(
    session: AsyncSession, event_id: str
) -> tuple[MessageEvent, Number | None, ApiClient] | None:
    row = (
        await session.execute(
            select(MessageEvent, Number, ApiClient)
            .join(Message, Message.id == MessageEvent.message_id)
            .join(ApiClient, ApiClient.id == MessageEvent.api_client_id)
            .outerjoin(Number, Number.id == Message.number_id)
            .where(MessageEvent.id == event_id)
        )
    ).first()
    if row is None:
        return None
    return row[0], row[1], row[2]
