"""provider.submit: hand a queued message to the carrier, outside any transaction."""

from __future__ import annotations

from sqlalchemy import bindparam, select

from redcloud.db import Database, table
from redcloud.jobs.claim import ClaimedJob
from redcloud.jobs.worker import RetryLater
from redcloud.messages import lifecycle
from redcloud.messages.models import FAILED, QUEUED, SENT, Message
from redcloud.providers.base import Accepted, OutboundMessage, Provider, Rejected

# Delays after a retryable carrier error; a failure past the last one is terminal.
SUBMIT_RETRY_DELAYS = (1.0, 5.0, 30.0, 120.0)


_messages = table(Message)
_OUTBOUND = select(
    _messages.c.id,
    _messages.c.status,
    _messages.c.send_from,
    _messages.c.to,
    _messages.c.message_type,
    _messages.c.text,
    _messages.c.media,
).where(_messages.c.id == bindparam("id"))


async def submit(db: Database, provider: Provider, job: ClaimedJob) -> None:
    message_id = job.payload["messageId"]
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
    )
    result = await provider.submit(outbound)  # no transaction is open during network I/O
    retryable = isinstance(result, Rejected) and result.retryable
    if retryable and job.attempts <= len(SUBMIT_RETRY_DELAYS):
        assert isinstance(result, Rejected)
        raise RetryLater(SUBMIT_RETRY_DELAYS[job.attempts - 1], f"{result.code} {result.message}")
    async with db.transaction(write=True) as conn:
        if isinstance(result, Accepted):
            await lifecycle.advance(conn, message_id, SENT, provider_ref=result.provider_ref)
        else:
            error = {"code": result.code, "message": result.message}
            await lifecycle.advance(conn, message_id, FAILED, error=error)
