"""Claiming, finishing and rescheduling jobs: the one place the SQL forks by dialect.

A claim is one statement. On PostgreSQL the inner SELECT takes `FOR UPDATE SKIP LOCKED`,
so concurrent workers on any number of hosts take disjoint batches without waiting on each
other. On SQLite the UPDATE ... RETURNING runs under the database's single write lock,
which makes it atomic by itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from redcloud.db import table, utcnow
from redcloud.jobs.models import FAILED, PENDING, RUNNING, Job

# Core statements on the table: a worker runs these for every batch and every job.
_jobs = table(Job)
_c = _jobs.c


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int  # including this run


def _due(now: dt.datetime) -> Any:
    return or_(
        and_(_c.status == PENDING, _c.run_at <= now),
        # A lease that ran out means its worker died or hung: the job is free again.
        and_(_c.status == RUNNING, _c.lease_expires_at < now),
    )


async def claim(
    conn: AsyncConnection, worker: str, limit: int, lease_seconds: float
) -> list[ClaimedJob]:
    now = utcnow()
    due = select(_c.id).where(_due(now)).order_by(_c.run_at, _c.id).limit(limit)
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    statement = (
        update(_jobs)
        .where(_c.id.in_(due.scalar_subquery()))
        .values(
            status=RUNNING,
            locked_by=worker,
            lease_expires_at=now + dt.timedelta(seconds=lease_seconds),
            attempts=_c.attempts + 1,
            updated_at=now,
        )
        .returning(_c.id, _c.kind, _c.payload, _c.attempts)
    )
    rows = (await conn.execute(statement)).all()
    return [ClaimedJob(r.id, r.kind, r.payload, r.attempts) for r in rows]


async def finish(conn: AsyncConnection, job_ids: list[int], worker: str) -> None:
    """Jobs that succeeded are deleted: the rows they wrote are their record."""
    if not job_ids:
        return
    await conn.execute(delete(_jobs).where(_c.id.in_(job_ids), _c.locked_by == worker))


async def reschedule(
    conn: AsyncConnection,
    job_id: int,
    worker: str,
    delay_seconds: float,
    error: str | None,
    *,
    give_up: bool = False,
) -> None:
    await conn.execute(
        update(_jobs)
        .where(_c.id == job_id, _c.locked_by == worker)
        .values(
            status=FAILED if give_up else PENDING,
            run_at=utcnow() + dt.timedelta(seconds=delay_seconds),
            locked_by=None,
            lease_expires_at=None,
            last_error=(error or "")[:2000] or None,
        )
    )


async def release(conn: AsyncConnection, job_ids: list[int], worker: str) -> None:
    """Hand unfinished jobs back at shutdown; the attempt they used is given back too."""
    if not job_ids:
        return
    await conn.execute(
        update(_jobs)
        .where(_c.id.in_(job_ids), _c.locked_by == worker)
        .values(
            status=PENDING,
            run_at=utcnow(),
            locked_by=None,
            lease_expires_at=None,
            attempts=_c.attempts - 1,
        )
    )


async def extend_leases(
    conn: AsyncConnection, job_ids: list[int], worker: str, lease_seconds: float
) -> None:
    """A live worker's heartbeat: its running jobs stay its own however long they take."""
    if not job_ids:
        return
    now = utcnow()
    await conn.execute(
        update(_jobs)
        .where(_c.id.in_(job_ids), _c.locked_by == worker, _c.status == RUNNING)
        .values(lease_expires_at=now + dt.timedelta(seconds=lease_seconds))
    )


async def next_due(conn: AsyncConnection) -> dt.datetime | None:
    """When the earliest pending job becomes due (so an idle worker sleeps just that long)."""
    value: dt.datetime | None = await conn.scalar(
        select(func.min(_c.run_at)).where(_c.status == PENDING)
    )
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
