"""provider.submit: hand a queued message to its carrier, outside any transaction; and the
give-up path that fails a message whose submit cannot succeed."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import structlog
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from redcloud import tracing
from redcloud.db import Database, table
from redcloud.jobs.claim import ClaimedJob
from redcloud.jobs.kinds import SUBMIT
from redcloud.jobs.worker import RetryLater
from redcloud.messages import lifecycle
from redcloud.messages.models import FAILED, QUEUED, SENT, Message
from redcloud.metrics.families import SUBMIT_DURATION, SUBMIT_ERRORS
from redcloud.numbers.models import Number
from redcloud.pacing import slots
from redcloud.pacing.models import CampaignCap
from redcloud.providers.base import Accepted, Deferred, OutboundMessage, Rejected
from redcloud.providers.registry import Registry, Unavailable
from redcloud.segments import split

log = structlog.get_logger("redcloud.submit")
# Delays after a retryable carrier error; a failure past the last one is terminal.
SUBMIT_RETRY_DELAYS = SUBMIT.retry_delays or ()
# How often a message whose connector is unavailable looks again.
UNAVAILABLE_RETRY_SECONDS = 2.0


_messages, _numbers, _campaigns = table(Message), table(Number), table(CampaignCap)
# The message and its number's connector in one read.
_OUTBOUND = (
    select(
        _messages.c.id,
        _messages.c.status,
        _messages.c.send_from,
        _messages.c.to,
        _messages.c.message_type,
        _messages.c.text,
        _messages.c.media,
        _messages.c.created_at,
        _messages.c.number_id,
        _numbers.c.connector,
        _numbers.c.segments_per_second.label("number_cap"),
        _numbers.c.campaign_reg_id,
        _campaigns.c.segments_per_second.label("campaign_cap"),
    )
    .outerjoin(_numbers, _numbers.c.id == _messages.c.number_id)
    .outerjoin(_campaigns, _campaigns.c.campaign_reg_id == _numbers.c.campaign_reg_id)
    .where(_messages.c.id == bindparam("id"))
)


async def give_up(conn: AsyncConnection, job: ClaimedJob, error: str) -> None:
    """The submit job failed for good (an outage or a bug, not a carrier's answer): its
    message fails with SUBMIT_FAILED and gets its message.failed webhook, instead of staying
    queued. A message that moved on meanwhile is left as it is."""
    message_id = SUBMIT.payload_of(job).message_id
    failure = {
        "code": lifecycle.SUBMIT_FAILED,
        "message": f"The message could not be handed to the carrier after {job.attempts} attempts",
    }
    await lifecycle.advance(conn, message_id, FAILED, error=failure)


async def submit(db: Database, registry: Registry, job: ClaimedJob) -> None:
    message_id = SUBMIT.payload_of(job).message_id
    async with db.lone_read() as conn:
        message = (await conn.execute(_OUTBOUND, {"id": message_id})).first()
    if message is None or message.status != QUEUED:
        return  # already submitted (a rerun after a crash) or overtaken by a report
    outbound = OutboundMessage(
        message_id=message.id,
        send_from=message.send_from,
        to=message.to,
        message_type=message.message_type,
        text=message.text,
        media=message.media,
        accepted_at=message.created_at,
    )
    try:
        provider = await registry.provider_for(message.connector)
    except Unavailable as exc:
        # Held, not refused: it goes out once the connector is back, or fails when its
        # validity ends (lifecycle.expire_unsubmitted).
        raise RetryLater(UNAVAILABLE_RETRY_SECONDS, str(exc)) from exc
    connector = message.connector or provider.name
    structlog.contextvars.bind_contextvars(connector=connector)
    await wait_for_slot(db, message)
    began = time.perf_counter()
    with tracing.span(f"submit {connector}", kind=tracing.CLIENT, connector=connector) as span:
        result = await provider.submit(outbound)  # no transaction is open during network I/O
        if span is not None:
            span.set_attribute("outcome", type(result).__name__)
    SUBMIT_DURATION.labels(connector).observe(time.perf_counter() - began)
    if not isinstance(result, Accepted):
        code = result.code if isinstance(result, Rejected) else "DEFERRED"
        SUBMIT_ERRORS.labels(connector, code).inc()
    if isinstance(result, Deferred):
        raise RetryLater(result.delay, result.reason)
    retryable = isinstance(result, Rejected) and result.retryable
    if retryable and job.attempts <= len(SUBMIT_RETRY_DELAYS):
        assert isinstance(result, Rejected)
        raise RetryLater(SUBMIT_RETRY_DELAYS[job.attempts - 1], f"{result.code} {result.message}")
    async with db.transaction(write=True) as conn:
        if isinstance(result, Accepted):
            await lifecycle.advance(conn, message_id, SENT, provider_ref=result.provider_ref)
            if result.record is not None:
                await result.record(conn)
        else:
            error = {"code": result.code, "message": result.message}
            await lifecycle.advance(conn, message_id, FAILED, error=error)
    if isinstance(result, Accepted):
        log.info("submitted", provider_ref=result.provider_ref)
    else:
        log.info("refused by the carrier", code=result.code)


async def wait_for_slot(db: Database, message: Any) -> None:
    """Hold the message until its number's and its campaign's caps let it go: a slot within
    a second is waited for here, a later one by going back to the queue (with a little
    jitter, so that a capped sender's backlog does not wake all at once)."""
    caps = []
    if message.number_cap:
        caps.append(slots.Cap(f"number:{message.number_id}", message.number_cap))
    if message.campaign_cap:
        caps.append(slots.Cap(f"campaign:{message.campaign_reg_id}", message.campaign_cap))
    if not caps:
        return
    segments = 1 if message.media or not message.text else split(message.text).segments
    for cap in caps:
        async with db.transaction(write=True) as conn:
            slot = await slots.take(conn, cap, segments)
        if slot.starts_in is None:
            spread = random.uniform(0, min(5.0, 8 * segments / cap.per_second))
            raise RetryLater(slot.retry_in + spread, f"{cap.key} is at its cap")
        await asyncio.sleep(slot.starts_in)
