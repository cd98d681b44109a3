"""Enqueue work in the caller's transaction, so it exists exactly when the data it concerns does."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from redcloud.db import JOBS_ENQUEUED, utcnow
from redcloud.jobs.models import Job

PROVIDER_SUBMIT = "provider.submit"
WEBHOOK_DELIVER = "webhook.deliver"
SANDBOX_REPORT = "sandbox.report"


def enqueue(
    session: AsyncSession, kind: str, payload: dict[str, Any], *, run_at: dt.datetime | None = None
) -> Job:
    """Add a job to the session's transaction; it is visible to workers only once committed."""
    job = Job(kind=kind, payload=payload, run_at=run_at or utcnow())
    session.add(job)
    session.info[JOBS_ENQUEUED] = True
    return job
