"""Enqueue work in the caller's transaction, so it exists exactly when the data it concerns does."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from redcloud.db import JOBS_ENQUEUED, table, utcnow
from redcloud.jobs.models import PENDING, Job

_INSERT = insert(table(Job))


def enqueue(
    session: AsyncSession, kind: str, payload: dict[str, Any], *, run_at: dt.datetime | None = None
) -> Job:
    """Add a job to the session's transaction; it is visible to workers only once committed."""
    job = Job(kind=kind, payload=payload, run_at=run_at or utcnow())
    session.add(job)
    session.info[JOBS_ENQUEUED] = True
    return job


async def enqueue_many(
    conn: AsyncConnection,
    jobs: list[tuple[str, dict[str, Any]]],
    *,
    run_at: dt.datetime | None = None,
) -> None:
    """Core twin of `enqueue`: all in one multi-row INSERT on the caller's transaction
    (redcloud.db.Database.transaction)."""
    now = utcnow()
    rows = [
        {
            "kind": kind,
            "payload": payload,
            "status": PENDING,
            "run_at": run_at or now,
            "attempts": 0,
            "created_at": now,
            "updated_at": now,
        }
        for kind, payload in jobs
    ]
    await conn.execute(_INSERT, rows)
    conn.info[JOBS_ENQUEUED] = True
