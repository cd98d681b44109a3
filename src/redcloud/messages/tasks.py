"""provider.submit: hand a queued message to the carrier, outside any transaction."""

from __future__ import annotations

from redcloud.db import Database
from redcloud.jobs.claim import ClaimedJob
from redcloud.jobs.worker import RetryLater
from redcloud.messages import lifecycle
from redcloud.messages.models import FAILED, QUEUED, SENT, Message
from redcloud.providers.base import Accepted, OutboundMessage, Provider, Rejected

# Delays after a retryable carrier error; a failure past the last one is terminal.
SUBMIT_RETRY_DELAYS = (1.0, 5.0, 30.0, 120.0)


async def submit(db: Database, provider: Provider, job: ClaimedJob) -> None:
    message_id = job.payload["messageId"]
    async with db.session() as session:
        message = await session.get(Message, message_id)
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
    async with db.session(write=True) as session:
        current = await lifecycle.locked(session, message_id)
        if current is None:
            return
        if isinstance(result, Accepted):
            lifecycle.transition(session, current, SENT, provider_ref=result.provider_ref)
        else:
            error = {"code": result.code, "message": result.message}
            lifecycle.transition(session, current, FAILED, error=error)
