"""Where an event's webhook goes, the attempt log, and redelivery."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from redcloud.jobs.kinds import DELIVER_WEBHOOK, DeliverWebhook
from redcloud.jobs.queue import enqueue
from redcloud.messages.models import PENDING, WEBHOOK_FAILED, MessageEvent
from redcloud.webhooks.models import WebhookAttempt


class WebhookError(ValueError):
    """An operator request on webhooks that cannot be carried out."""


async def redeliver(session: AsyncSession, event_id: str) -> MessageEvent:
    """Queue one more delivery of an event, with a fresh retry schedule."""
    event = await session.get(MessageEvent, event_id)
    if event is None:
        raise WebhookError(f"No event {event_id!r}; `redcloud messages show ID` lists a message's.")
    event.delivery_status = PENDING
    enqueue(session, *DELIVER_WEBHOOK.job(DeliverWebhook(event.id, event.delivery_attempts)))
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
