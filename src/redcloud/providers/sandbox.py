"""The sandbox carrier: a realistic simulator, not a mock.

It accepts submits after a small latency, records everything it receives, and sends
delivery reports after REDCLOUD_SANDBOX_DELIVERY_DELAY seconds through the same entry point
a real carrier's callbacks use. Scenario recipients give each outcome deterministically
(docs/sandbox.md).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets

import structlog
from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from redcloud.db import Database, table, utcnow
from redcloud.jobs.claim import ClaimedJob
from redcloud.jobs.kinds import SANDBOX_REPORT, SandboxReport
from redcloud.jobs.queue import enqueue_many
from redcloud.logs import bound
from redcloud.messages import lifecycle
from redcloud.messages.models import DELIVERED, FAILED, Message
from redcloud.providers.base import Accepted, OutboundMessage, Rejected, SubmitResult
from redcloud.providers.models import SandboxSubmission

REJECT_AT_SUBMIT = "+15005550001"
FAIL_AFTER_SENT = "+15005550002"
TRANSIENT_THEN_DELIVER = "+15005550003"
NEVER_REPORTED = "+15005550004"

UNKNOWN_HANDSET = ("30005", "Unknown destination handset")
UNREACHABLE = ("30003", "Unreachable destination handset")
CARRIER_BUSY = ("30001", "Queue overflow at the carrier; try again")


_submissions = table(SandboxSubmission)
# What the carrier already has of a message: how many submits, and the accepted one's ref.
_EARLIER = select(
    func.count().label("submissions"),
    func.max(_submissions.c.provider_ref).label("accepted_ref"),
).where(_submissions.c.message_id == bindparam("message_id"))
_RECORD = insert(_submissions)


class SandboxCarrier:
    name = "sandbox"

    def __init__(self, db: Database, *, delivery_delay: float, submit_latency: float) -> None:
        self.db = db
        self.delivery_delay = delivery_delay
        self.submit_latency = submit_latency

    async def start(self) -> None:
        """Nothing to connect: the sandbox lives in the database."""

    async def stop(self) -> None:
        """Nothing to close."""

    def health(self) -> dict[str, object]:
        return {"state": "up", "kind": "sandbox"}

    async def submit(self, message: OutboundMessage) -> SubmitResult:
        if self.submit_latency:
            await asyncio.sleep(self.submit_latency)
        async with self.db.transaction(write=True) as conn:
            return await self._submit(conn, message)

    async def _submit(self, conn: AsyncConnection, message: OutboundMessage) -> SubmitResult:
        earlier = (await conn.execute(_EARLIER, {"message_id": message.message_id})).one()
        if earlier.accepted_ref:
            # An idempotent carrier: a repeated submit of the same message is not a new SMS.
            return Accepted(earlier.accepted_ref)
        attempt = 1 + int(earlier.submissions or 0)
        result: SubmitResult
        if message.to == REJECT_AT_SUBMIT:
            result = Rejected(*UNKNOWN_HANDSET, retryable=False)
        elif message.to == TRANSIENT_THEN_DELIVER and attempt == 1:
            result = Rejected(*CARRIER_BUSY, retryable=True)
        else:
            result = Accepted("sbx_" + secrets.token_hex(10))
            if message.to != NEVER_REPORTED:
                ids = (message.message_id, result.provider_ref)
                rid = bound("request_id")
                report = (
                    SandboxReport(*ids, FAILED, *UNREACHABLE, request_id=rid)
                    if message.to == FAIL_AFTER_SENT
                    else SandboxReport(*ids, DELIVERED, request_id=rid)
                )
                due = utcnow() + dt.timedelta(seconds=self.delivery_delay)
                await enqueue_many(conn, [SANDBOX_REPORT.job(report)], run_at=due)
        row = {
            "message_id": message.message_id,
            "attempt": attempt,
            "provider_ref": result.provider_ref if isinstance(result, Accepted) else None,
            "from_e164": message.send_from,
            "to_e164": message.to,
            "message_type": message.message_type,
            "text": message.text,
            "media": message.media,
            "outcome": "accepted" if isinstance(result, Accepted) else f"rejected {result.code}",
            "received_at": utcnow(),
        }
        await conn.execute(_RECORD, row)
        return result

    async def report(self, job: ClaimedJob) -> None:
        """The carrier's delivery-report callback, arriving through the lifecycle entry point."""
        report = SANDBOX_REPORT.payload_of(job)
        structlog.contextvars.bind_contextvars(connector=self.name)  # this job's task only
        error = None
        if report.status == FAILED:
            error = {"code": report.code or "", "message": report.message or ""}
        async with self.db.transaction(write=True) as conn:
            await lifecycle.delivery_report(
                conn,
                message_id=report.message_id,
                provider_ref=report.provider_ref,
                status=report.status,
                error=error,
            )


async def captured(
    session: AsyncSession, *, to: str | None = None, client_id: str | None = None, limit: int = 50
) -> list[SandboxSubmission]:
    """What the sandbox carrier received, newest first."""
    query = select(SandboxSubmission).order_by(SandboxSubmission.id.desc()).limit(limit)
    if to:
        query = query.where(SandboxSubmission.to_e164 == to)
    if client_id:
        query = query.join(Message, Message.id == SandboxSubmission.message_id).where(
            Message.api_client_id == client_id
        )
    return list((await session.scalars(query)).all())
