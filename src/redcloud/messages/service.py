"""Accepting a send: validate, de-duplicate by idempotency key, and queue in one transaction."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from redcloud import ids, tracing
from redcloud.auth.service import AuthenticatedClient
from redcloud.compliance import consent
from redcloud.config import Settings
from redcloud.db import table, utcnow
from redcloud.errors import Conflict, Forbidden, InvalidRequest, NotFound
from redcloud.jobs.kinds import DELIVER_WEBHOOK, SUBMIT, DeliverWebhook, Submit
from redcloud.jobs.queue import enqueue_many
from redcloud.logs import bound
from redcloud.messages import idempotency, recipients
from redcloud.messages.events import now_ms, outbound_event_row
from redcloud.messages.models import QUEUED, Message, MessageEvent
from redcloud.messages.schemas import MAX_MEDIA_BYTES, SendRequest
from redcloud.numbers.models import ACTIVE, RELEASED, Number
from redcloud.phone import Rejection
from redcloud.urls import WebhookUrlError, check_webhook_url

ACCEPTED = 202
_PHONE_LIKE = re.compile(r"\+?[0-9 ().-]{7,20}")


@dataclass(frozen=True, slots=True)
class SendingNumber:
    id: str
    e164: str


@dataclass(frozen=True, slots=True)
class SendOutcome:
    status: int
    body: dict[str, Any]
    replayed: bool = False


_messages, _events, _numbers = table(Message), table(MessageEvent), table(Number)
_INSERT_MESSAGES = insert(_messages)
_INSERT_EVENTS = insert(_events)
_NUMBER = select(
    _numbers.c.id,
    _numbers.c.e164,
    _numbers.c.status,
    _numbers.c.api_client_id,
    _numbers.c.campaign_reg_id,
    _numbers.c.sms_enabled,
    _numbers.c.mms_enabled,
).where(_numbers.c.id == bindparam("id"))


@dataclass(frozen=True, slots=True)
class PreparedSend:
    """A send checked without the database: its content, fingerprint and recipients."""

    client: AuthenticatedClient
    key: str
    request: SendRequest
    fingerprint: str
    accepted: list[str]
    rejected: list[Rejection]
    retention: dt.timedelta
    request_id: str | None = None  # carried into the send's jobs (and theirs), for the logs
    trace: str | None = None  # the request's span, when tracing is on (redcloud.tracing)


@dataclass(frozen=True, slots=True)
class PlannedSend:
    """A send's answer and the rows that make it durable, not yet written."""

    outcome: SendOutcome
    messages: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    jobs: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)


def prepare(
    client: AuthenticatedClient, key: str, request: SendRequest, settings: Settings
) -> PreparedSend:
    """Everything about a send that needs no database, done before it queues for a
    write transaction; content errors are raised here."""
    check_content(request)
    fingerprint = idempotency.request_fingerprint(
        request.model_dump(mode="json", exclude_unset=True)
    )
    accepted, rejected = recipients.screen(request.to, strict=settings.strict_recipient_validation)
    retention = dt.timedelta(hours=settings.idempotency_retention_hours)
    return PreparedSend(
        client,
        key,
        request,
        fingerprint,
        accepted,
        rejected,
        retention,
        bound("request_id"),
        tracing.traceparent(),
    )


async def plan(conn: AsyncConnection, send: PreparedSend) -> PlannedSend:
    """Decide a send inside the caller's write transaction: replay a stored answer, refuse
    it, or build its rows — every accepted recipient a message, its queued event (with the
    event's webhook job) and its submit job, plus the idempotency record. It only reads
    (and on PostgreSQL takes the key's advisory lock), so a refused send leaves the
    transaction clean for the others in its batch (redcloud.messages.batching)."""
    client, request = send.client, send.request
    await idempotency.lock_across_processes(conn, client.id, send.key)
    stored = await idempotency.find_live(conn, client.id, send.key)
    if stored is not None:
        if stored.request_hash != send.fingerprint:
            raise Conflict(idempotency.REUSED, {"field": idempotency.HEADER})
        return PlannedSend(SendOutcome(stored.status, stored.body, replayed=True))

    number = await sending_number(conn, client, request)
    accepted, rejected = send.accepted, send.rejected
    opted_out = await consent.suppressed(conn, client.id, number.id, accepted)
    if opted_out:
        accepted = [to for to in accepted if to not in opted_out]
        rejected = [*rejected, *(consent.refusal(to) for to in send.accepted if to in opted_out)]
    if not accepted:
        errors = [r.as_json() for r in rejected]
        raise InvalidRequest("No recipient could be accepted", {"errors": errors})

    media = [m.model_dump(exclude_unset=True) for m in request.media] if request.media else None
    occurred = now_ms()
    now = utcnow()
    messages: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    jobs: list[tuple[str, dict[str, Any]]] = []
    results = []
    for to in accepted:
        message_id = ids.message_id()
        messages.append(
            {
                "id": message_id,
                "api_client_id": client.id,
                "number_id": number.id,
                "direction": "outbound",
                "message_type": request.messageType,
                "send_from": number.e164,
                "to": to,
                "text": request.text,
                "media": media,
                "external_reference": request.externalReference,
                "status": QUEUED,
                "last_sequence": 1,
                "traceparent": send.trace,
                "created_at": now,
                "updated_at": now,
            }
        )
        event = outbound_event_row(
            message_id=message_id,
            api_client_id=client.id,
            external_reference=request.externalReference,
            send_from=number.e164,
            to=to,
            provider_ref=None,
            status=QUEUED,
            sequence=1,
            occurred_at_ms=occurred,
        )
        events.append(event)
        # Written by the batch's task: the request's own span is named, not the current one.
        rid, trace = send.request_id, send.trace
        jobs.append(DELIVER_WEBHOOK.job(DeliverWebhook(event["id"], request_id=rid, trace=trace)))
        jobs.append(SUBMIT.job(Submit(message_id, rid, trace)))
        results.append({"to": to, "messageId": message_id, "status": "QUEUED"})

    body = {"results": results, "errors": [r.as_json() for r in rejected]}
    record = idempotency.record_row(
        client.id, send.key, send.fingerprint, ACCEPTED, body, send.retention
    )
    return PlannedSend(SendOutcome(ACCEPTED, body), messages, events, jobs, [record])


async def write(conn: AsyncConnection, planned: list[PlannedSend]) -> None:
    """The rows of any number of planned sends: one multi-row INSERT per table."""
    messages = [row for p in planned for row in p.messages]
    if not messages:
        return  # replays only
    await conn.execute(_INSERT_MESSAGES, messages)
    await conn.execute(_INSERT_EVENTS, [row for p in planned for row in p.events])
    await enqueue_many(conn, [job for p in planned for job in p.jobs])
    await idempotency.remember(conn, [row for p in planned for row in p.records])


def check_content(request: SendRequest) -> None:
    """The text and media rules of the contract, each failure naming its field."""
    media = request.media or []
    if request.messageType == "SMS" and request.media is not None:
        raise _invalid("media", "SMS messages cannot include media; send them as MMS")
    if request.messageType == "MMS" and not media:
        raise _invalid("media", "MMS messages must include at least one media item")
    if request.text is None and not media:
        raise _invalid("text", "Give text, media, or both")
    total = sum(item.byteLength for item in media)
    if total > MAX_MEDIA_BYTES:
        raise _invalid("media", f"Media may total at most {MAX_MEDIA_BYTES} bytes, not {total}")
    for index, item in enumerate(media):
        if item.storageKey is None and item.sourceUrl is None:
            raise _invalid(f"media[{index}]", "Each media item needs a storageKey or a sourceUrl")
        if item.sourceUrl is not None:
            try:
                check_webhook_url(item.sourceUrl, allow_http=True, allow_private=True)
            except WebhookUrlError as exc:
                raise _invalid(f"media[{index}].sourceUrl", f"sourceUrl {exc}") from exc


async def sending_number(
    conn: AsyncConnection, client: AuthenticatedClient, request: SendRequest
) -> SendingNumber:
    """The number named by sendFrom, if this client may send this message type from it."""
    send_from = request.sendFrom
    if _PHONE_LIKE.fullmatch(send_from):
        raise _invalid(
            "sendFrom",
            "sendFrom must be a Red Cloud numberId such as num_abc123, not a phone number; "
            "GET /api/core/numbers lists yours",
        )
    number = (await conn.execute(_NUMBER, {"id": send_from})).first()
    if number is None or number.status == RELEASED:
        raise NotFound(f"sendFrom number {send_from} was not found", {"field": "sendFrom"})
    if number.api_client_id != client.id:
        raise Forbidden("sendFrom is not owned by this API client", {"field": "sendFrom"})
    if number.status != ACTIVE:
        raise _invalid("sendFrom", f"sendFrom number is {number.status}; only ACTIVE numbers send")
    enabled = number.sms_enabled if request.messageType == "SMS" else number.mms_enabled
    if not enabled:
        raise _invalid(
            "sendFrom",
            f"sendFrom is not enabled for {request.messageType}; "
            f"enable it with PATCH /api/core/numbers/{number.id}",
        )
    if not number.campaign_reg_id:
        raise _invalid("sendFrom", "sendFrom must have campaignregId configured")
    return SendingNumber(number.id, number.e164)


def _invalid(field: str, message: str) -> InvalidRequest:
    return InvalidRequest(message, {"field": field, "reason": message})
