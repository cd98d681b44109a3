"""webhook.deliver: sign and POST one event, log the attempt, retry by the schedule."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import structlog

from redcloud.auth.security import SecretBox
from redcloud.db import Database, utcnow
from redcloud.jobs.claim import ClaimedJob
from redcloud.jobs.worker import RetryLater
from redcloud.messages.models import (
    NO_DESTINATION,
    PENDING,
    WEBHOOK_DELIVERED,
    WEBHOOK_FAILED,
    MessageEvent,
)
from redcloud.webhooks import signing
from redcloud.webhooks.delivery import WebhookSender
from redcloud.webhooks.models import WebhookAttempt
from redcloud.webhooks.service import delivery_context, destination

log = structlog.get_logger("redcloud.webhooks")


@dataclass(frozen=True, slots=True)
class Delivery:
    db: Database
    sender: WebhookSender
    box: SecretBox
    retry_delays: list[float]

    async def deliver(self, job: ClaimedJob) -> None:
        event_id = job.payload["eventId"]
        base = int(job.payload.get("base", 0))
        async with self.db.session() as session:
            context = await delivery_context(session, event_id)
            if context is None:
                return
            event, number, client = context
            if event.delivery_status != PENDING:
                return  # delivered (or given up) already: this run is a duplicate
            url = destination(event, number, client)
            secret = (
                self.box.decrypt(client.webhook_secret_encrypted)
                if client.webhook_secret_encrypted
                else None
            )
            body = json.dumps(event.payload, separators=(",", ":")).encode()
            attempt = event.delivery_attempts + 1

        if url is None:
            async with self.db.session(write=True) as session:
                current = await session.get(MessageEvent, event_id)
                if current is not None and current.delivery_status == PENDING:
                    current.delivery_status = NO_DESTINATION
                    session.add(
                        WebhookAttempt(
                            event_id=event_id,
                            attempt=attempt,
                            url=None,
                            error="no webhook URL configured for this client or number",
                        )
                    )
            log.warning("event has no webhook destination", event_id=event_id)
            return

        headers = {"Content-Type": "application/json", signing.EVENT_ID_HEADER: event_id}
        if secret is not None:
            timestamp = int(time.time())  # fresh for every attempt
            headers[signing.TIMESTAMP_HEADER] = str(timestamp)
            headers[signing.SIGNATURE_HEADER] = signing.sign(secret, timestamp, body)
        result = await self.sender.post(url, body, headers)

        retries_used = attempt - base - 1
        terminal = not result.ok and retries_used >= len(self.retry_delays)
        async with self.db.session(write=True) as session:
            current = await session.get(MessageEvent, event_id)
            if current is None:
                return
            session.add(
                WebhookAttempt(
                    event_id=event_id,
                    attempt=attempt,
                    url=url,
                    status_code=result.status_code,
                    latency_ms=result.latency_ms,
                    error=result.error,
                    response_excerpt=result.response_excerpt,
                )
            )
            current.delivery_attempts = attempt
            if result.ok:
                current.delivery_status = WEBHOOK_DELIVERED
                current.delivered_at = utcnow()
            elif terminal:
                current.delivery_status = WEBHOOK_FAILED
        if not result.ok and not terminal:
            raise RetryLater(self.retry_delays[retries_used], result.error or "failed attempt")
        if terminal:
            log.warning("webhook delivery failed for good", event_id=event_id, attempts=attempt)
