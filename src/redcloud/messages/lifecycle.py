"""The message state machine, and the one entry point for what carriers report.

queued -> sent -> delivered | failed, and queued -> failed. Each transition writes its event
(the next sequence number) and that event's webhook job in the caller's transaction. A
report that would move a message backwards, or repeats one already applied, is ignored.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import structlog
from sqlalchemy import bindparam, func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from redcloud import ids, tracing
from redcloud.compliance import consent
from redcloud.db import after_commit, table, utcnow
from redcloud.jobs.kinds import DELIVER_WEBHOOK, DeliverWebhook
from redcloud.jobs.queue import enqueue, enqueue_many
from redcloud.logs import bound
from redcloud.messages.events import now_ms, outbound_event_row
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
from redcloud.metrics import record
from redcloud.metrics.families import MESSAGES
from redcloud.numbers.models import ACTIVE, Number

log = structlog.get_logger("redcloud.lifecycle")
NEXT: dict[str, frozenset[str]] = {
    QUEUED: frozenset({SENT, FAILED}),
    SENT: frozenset({DELIVERED, FAILED}),
}
REPORT_TIMEOUT = "DELIVERY_REPORT_TIMEOUT"
VALIDITY_EXPIRED = "VALIDITY_EXPIRED"
SUBMIT_FAILED = "SUBMIT_FAILED"


_messages, _events, _numbers = table(Message), table(MessageEvent), table(Number)
_STATE_COLUMNS = (
    _messages.c.id,
    _messages.c.api_client_id,
    _messages.c.status,
    _messages.c.last_sequence,
    _messages.c.send_from,
    _messages.c.to,
    _messages.c.external_reference,
    _messages.c.provider_message_ref,
    _messages.c.error_code,
    _messages.c.error_message,
    _messages.c.created_at,
    _messages.c.traceparent,
)
# Row-locked on PostgreSQL; SQLite's write lock already serialises (it renders no FOR UPDATE).
_STATE = select(*_STATE_COLUMNS).where(_messages.c.id == bindparam("id")).with_for_update()
_BY_REF = select(_messages.c.id).where(_messages.c.provider_message_ref == bindparam("ref"))
_ADVANCE = (
    update(_messages)
    .where(_messages.c.id == bindparam("message_id"))
    .values(
        status=bindparam("status"),
        last_sequence=bindparam("last_sequence"),
        provider_message_ref=bindparam("provider_message_ref"),
        error_code=bindparam("error_code"),
        error_message=bindparam("error_message"),
        updated_at=bindparam("updated_at"),
    )
)
_INSERT_EVENTS = insert(_events)


async def advance(
    conn: AsyncConnection,
    message_id: str,
    *statuses: str,
    error: dict[str, str] | None = None,
    provider_ref: str | None = None,
) -> bool:
    """Move the message through `statuses` in order, each allowed step writing its event
    (the next sequence number) and that event's webhook job in the caller's transaction.
    True if the last status was applied; `error` belongs to the last status.

    Core statements on a locked row: every message passes here two or three times."""
    row = (await conn.execute(_STATE, {"id": message_id})).first()
    if row is None:
        return False
    current, sequence = row.status, row.last_sequence
    ref = row.provider_message_ref or provider_ref
    error_code, error_message = row.error_code, row.error_message
    events: list[dict[str, Any]] = []
    entered: list[str] = []
    applied = False
    for index, status in enumerate(statuses):
        applied = status in NEXT.get(current, frozenset())
        if not applied:
            continue
        entered.append(status)
        step_error = error if index == len(statuses) - 1 else None
        if step_error:
            error_code, error_message = step_error["code"], step_error["message"][:500]
        current, sequence = status, sequence + 1
        events.append(
            outbound_event_row(
                message_id=row.id,
                api_client_id=row.api_client_id,
                external_reference=row.external_reference,
                send_from=row.send_from,
                to=row.to,
                provider_ref=ref,
                status=status,
                sequence=sequence,
                error=step_error,
            )
        )
    if not events:
        return False
    now = utcnow()
    # A report from a carrier comes with no context of ours: it joins the send's trace.
    parent = None if tracing.active() else row.traceparent
    with tracing.span(f"message {' '.join(entered)}", parent=parent, message_id=row.id):
        await conn.execute(
            _ADVANCE,
            {
                "message_id": row.id,
                "status": current,
                "last_sequence": sequence,
                "provider_message_ref": ref,
                "error_code": error_code,
                "error_message": error_message,
                "updated_at": now,
            },
        )
        await conn.execute(_INSERT_EVENTS, events)
        rid = bound("request_id")  # the webhook jobs' spans are children of this one
        jobs = [DELIVER_WEBHOOK.job(DeliverWebhook(e["id"], request_id=rid)) for e in events]
        await enqueue_many(conn, jobs)
    connector, created_at = record.connector_label(), row.created_at
    after_commit(conn, lambda: record.transitions(entered, connector, created_at, now))
    return applied


async def delivery_report(
    conn: AsyncConnection,
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
    if not message_id and provider_ref:
        message_id = await conn.scalar(_BY_REF, {"ref": provider_ref})
    if not message_id:
        log.warning("delivery report for an unknown message", ref=provider_ref)
        return False
    statuses = (SENT, status) if status in (DELIVERED, FAILED) else (status,)
    applied = await advance(conn, message_id, *statuses, error=error, provider_ref=provider_ref)
    if not applied:
        log.info("ignored stale, duplicate or unknown report", message=message_id, status=status)
    return applied


async def expire_unreported(conn: AsyncConnection, timeout_seconds: int, limit: int = 500) -> int:
    """Fail sent messages whose delivery report never came."""
    error = {
        "code": REPORT_TIMEOUT,
        "message": f"No delivery report from the carrier within {timeout_seconds} seconds",
    }
    return await _fail_stale(conn, SENT, timeout_seconds, error, limit)


async def expire_unsubmitted(
    conn: AsyncConnection,
    validity_seconds: int,
    limit: int = 500,
    *,
    own: dict[str, int] | None = None,
    default_connector: str | None = None,
) -> int:
    """Fail queued messages the carrier has not accepted within their validity (a queued
    message is never updated, so its updated_at is its acceptance time). A connector with a
    validity of its own (`own`, by name) applies it to the messages it carries: those of its
    numbers, and of numbers without a connector when it is the default."""
    own = own or {}
    effective = func.coalesce(_numbers.c.connector, literal(default_connector))
    total = await _fail_stale(
        conn,
        QUEUED,
        validity_seconds,
        validity_error(validity_seconds),
        limit,
        [effective.not_in(list(own))] if own else [],
    )
    for name, seconds in own.items():
        error = validity_error(seconds)
        total += await _fail_stale(conn, QUEUED, seconds, error, limit, [effective == name])
    return total


def validity_error(seconds: int) -> dict[str, str]:
    return {
        "code": VALIDITY_EXPIRED,
        "message": f"Not accepted by the carrier within the message's validity of "
        f"{seconds} seconds",
    }


async def _fail_stale(
    conn: AsyncConnection,
    status: str,
    seconds: int,
    error: dict[str, str],
    limit: int,
    where: list[Any] | None = None,
) -> int:
    cutoff = utcnow() - dt.timedelta(seconds=seconds)
    query = (
        select(_messages.c.id)
        .where(
            _messages.c.status == status,
            _messages.c.direction == "outbound",
            _messages.c.updated_at < cutoff,
            *(where or []),
        )
        .order_by(_messages.c.updated_at)
        .limit(limit)
    )
    if where:
        query = query.select_from(
            _messages.outerjoin(_numbers, _numbers.c.id == _messages.c.number_id)
        )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(of=_messages, skip_locked=True)
    ids_ = list((await conn.scalars(query)).all())
    for message_id in ids_:
        await advance(conn, message_id, FAILED, error=error)
    return len(ids_)


async def receive_inbound(
    session: AsyncSession,
    *,
    from_e164: str,
    to_e164: str,
    text: str | None,
    media: list[dict[str, Any]] | None = None,
    revocation_opts_out: bool = False,
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
        traceparent=tracing.traceparent(),
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
    enqueue(session, *DELIVER_WEBHOOK.job(DeliverWebhook(event.id, request_id=bound("request_id"))))
    log.info("inbound message", message_id=message.id, number=number.id)
    after_commit(session, MESSAGES.labels("inbound", RECEIVED, record.connector_label()).inc)
    await consent.on_inbound(session, message, number, revocation_opts_out=revocation_opts_out)
    return message
