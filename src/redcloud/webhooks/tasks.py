"""webhook.deliver: sign and POST one event, log the attempt, retry by the schedule."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import bindparam, insert, select, update

from redcloud import tracing
from redcloud.auth.models import ApiClient
from redcloud.auth.security import SecretBox
from redcloud.db import Database, table, utcnow
from redcloud.jobs.claim import ClaimedJob
from redcloud.jobs.kinds import DELIVER_WEBHOOK
from redcloud.jobs.worker import RetryLater
from redcloud.messages.models import (
    NO_DESTINATION,
    PENDING,
    WEBHOOK_DELIVERED,
    WEBHOOK_FAILED,
    Message,
    MessageEvent,
)
from redcloud.metrics.families import (
    WEBHOOK_ATTEMPT_DURATION,
    WEBHOOK_ATTEMPTS,
    WEBHOOK_DELIVERY_LATENCY,
    WEBHOOK_GIVEN_UP,
)
from redcloud.numbers.models import Number
from redcloud.webhooks import signing
from redcloud.webhooks.delivery import AttemptResult, WebhookSender
from redcloud.webhooks.models import WebhookAttempt

log = structlog.get_logger("redcloud.webhooks")


_events, _messages = table(MessageEvent), table(Message)
_numbers, _clients, _attempts = table(Number), table(ApiClient), table(WebhookAttempt)
# Everything one delivery needs, in one Core statement (three run per message).
_CONTEXT = (
    select(
        _events.c.event_type,
        _events.c.payload,
        _events.c.delivery_status,
        _events.c.delivery_attempts,
        _numbers.c.webhook_inbound_override,
        _numbers.c.webhook_delivery_override,
        _clients.c.inbound_webhook_url,
        _clients.c.delivery_webhook_url,
        _clients.c.webhook_secret_encrypted,
    )
    .join(_messages, _messages.c.id == _events.c.message_id)
    .join(_clients, _clients.c.id == _events.c.api_client_id)
    .outerjoin(_numbers, _numbers.c.id == _messages.c.number_id)
    .where(_events.c.id == bindparam("event_id"))
)
_LOG_ATTEMPT = insert(_attempts)
# Only a still-pending event moves on, so a duplicate run never overwrites a final outcome.
_SETTLE = (
    update(_events)
    .where(_events.c.id == bindparam("event_id"), _events.c.delivery_status == PENDING)
    .values(
        delivery_status=bindparam("new_status"),
        delivery_attempts=bindparam("attempts"),
        delivered_at=bindparam("at"),
    )
)


@dataclass(frozen=True, slots=True)
class Delivery:
    db: Database
    sender: WebhookSender
    box: SecretBox
    retry_delays: list[float]

    async def deliver(self, job: ClaimedJob) -> None:
        payload = DELIVER_WEBHOOK.payload_of(job)
        event_id, base = payload.event_id, payload.base
        async with self.db.lone_read() as conn:
            event = (await conn.execute(_CONTEXT, {"event_id": event_id})).first()
        if event is None or event.delivery_status != PENDING:
            return  # gone, or delivered (or given up) already: this run is a duplicate
        # Inbound events go to the number's inbound override, else the client's inbound URL;
        # outbound ones to the number's delivery override, else the client's delivery URL.
        if event.event_type == "message.inbound":
            url = event.webhook_inbound_override or event.inbound_webhook_url
        else:
            url = event.webhook_delivery_override or event.delivery_webhook_url
        ciphertext = event.webhook_secret_encrypted
        secret = self.box.decrypt(ciphertext) if ciphertext else None
        body = json.dumps(event.payload, separators=(",", ":")).encode()
        attempt = event.delivery_attempts + 1

        if url is None:
            error = "no webhook URL configured for this client or number"
            await self._settle(event_id, attempt, None, NO_DESTINATION, {"error": error})
            log.warning("event has no webhook destination", event_id=event_id)
            return

        headers = {"Content-Type": "application/json", signing.EVENT_ID_HEADER: event_id}
        if secret is not None:
            timestamp = int(time.time())  # fresh for every attempt
            headers[signing.TIMESTAMP_HEADER] = str(timestamp)
            headers[signing.SIGNATURE_HEADER] = signing.sign(secret, timestamp, body)
        with tracing.span("webhook POST", kind=tracing.CLIENT, event_id=event_id) as span:
            result = await self.sender.post(url, body, headers)
            if span is not None and result.status_code is not None:
                span.set_attribute("http.response.status_code", result.status_code)
        _measure(result, event.payload.get("occurredAt"))

        retries_used = attempt - base - 1
        terminal = not result.ok and retries_used >= len(self.retry_delays)
        outcome = WEBHOOK_DELIVERED if result.ok else WEBHOOK_FAILED if terminal else PENDING
        logged = {
            "status_code": result.status_code,
            "latency_ms": result.latency_ms,
            "error": result.error,
            "response_excerpt": result.response_excerpt,
        }
        await self._settle(event_id, attempt, url, outcome, logged)
        log.info(
            "webhook attempt",
            event_id=event_id,
            event_type=event.event_type,
            message_id=event.payload.get("messageId"),
            attempt=attempt,
            outcome=outcome,
            status_code=result.status_code,
            latency_ms=result.latency_ms,
        )
        if not result.ok and not terminal:
            raise RetryLater(self.retry_delays[retries_used], result.error or "failed attempt")
        if terminal:
            WEBHOOK_GIVEN_UP.inc()
            log.warning("webhook delivery failed for good", event_id=event_id, attempts=attempt)

    async def _settle(
        self, event_id: str, attempt: int, url: str | None, outcome: str, logged: dict[str, Any]
    ) -> None:
        """Log the attempt and move the event on, in one transaction."""
        now = utcnow()
        async with self.db.transaction(write=True) as conn:
            await conn.execute(
                _LOG_ATTEMPT,
                {
                    "event_id": event_id,
                    "attempt": attempt,
                    "url": url,
                    "status_code": None,
                    "latency_ms": None,
                    "error": None,
                    "response_excerpt": None,
                    **logged,
                    "attempted_at": now,
                },
            )
            await conn.execute(
                _SETTLE,
                {
                    "event_id": event_id,
                    "new_status": outcome,
                    "attempts": attempt,
                    "at": now if outcome == WEBHOOK_DELIVERED else None,
                },
            )


def _measure(result: AttemptResult, occurred_at_ms: Any) -> None:
    outcome = "delivered" if result.ok else "http_error" if result.status_code else "network_error"
    WEBHOOK_ATTEMPTS.labels(outcome).inc()
    WEBHOOK_ATTEMPT_DURATION.observe(result.latency_ms / 1000)
    if result.ok and isinstance(occurred_at_ms, int):
        WEBHOOK_DELIVERY_LATENCY.observe(max(0.0, time.time() - occurred_at_ms / 1000))
