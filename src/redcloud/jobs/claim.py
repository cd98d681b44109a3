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
from sqlalchemy.ext.asyncio import AsyncSession

from redcloud.db import utcnow
from redcloud.jobs.models import FAILED, PENDING, RUNNING, Job


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int  # including this run


def _due(now: dt.datetime) -> Any:
    return or_(
        and_(Job.status == PENDING, Job.run_at <= now),
        # A lease that ran out means its worker died or hung: the job is free again.
        and_(Job.status == RUNNING, Job.lease_expires_at < now),
    )


async def claim(
    session: AsyncSession, worker: str, limit: int, lease_seconds: float
) -> list[ClaimedJob]:
    now = utcnow()
    due = select(Job.id).where(_due(now)).order_by(Job.run_at, Job.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    statement = (
        update(Job)
        .where(Job.id.in_(due.scalar_subquery()))
        .values(
            status=RUNNING,
            locked_by=worker,
            lease_expires_at=now + dt.timedelta(seconds=lease_seconds),
            attempts=Job.attempts + 1,
            updated_at=now,
        )
        .returning(Job.id, Job.kind, Job.payload, Job.attempts)
        .execution_options(synchronize_session=False)
    )
    rows = (await session.execute(statement)).all()
    return [ClaimedJob(r.id, r.kind, r.payload, r.attempts) for r in rows]


async def finish(session: AsyncSession, job_ids: list[int], worker: str) -> None:
    """Jobs that succeeded are deleted: the rows they wrote are their record."""
    if not job_ids:
        return
    await session.execute(
        delete(Job)
        .where(Job.id.in_(job_ids), Job.locked_by == worker)
        .execution_options(synchronize_session=False)
    )


async def reschedule(
    session: AsyncSession,
    job_id: int,
    worker: str,
    delay_seconds: float,
    error: str | None,
    *,
    give_up: bool = False,
) -> None:
    await session.execute(
        update(Job)
        .where(Job.id == job_id, Job.locked_by == worker)
        .values(
            status=FAILED if give_up else PENDING,
            run_at=utcnow() + dt.timedelta(seconds=delay_seconds),
            locked_by=None,
            lease_expires_at=None,
            last_error=(error or "")[:2000] or None,
        )
        .execution_options(synchronize_session=False)
    )


async def release(session: AsyncSession, job_ids: list[int], worker: str) -> None:
    """Hand unfinished jobs back at shutdown; the attempt they used is given back too."""
    if not job_ids:
        return
    await session.execute(
        update(Job)
        .where(Job.id.in_(job_ids), Job.locked_by == worker)
        .values(
            status=PENDING,
            run_at=utcnow(),
            locked_by=None,
            lease_expires_at=None,
            attempts=Job.attempts - 1,
        )
        .execution_options(synchronize_session=False)
    )


async def extend_leases(
    session: AsyncSession, job_ids: list[int], worker: str, lease_seconds: float
) -> None:
    """A live worker's heartbeat: its running jobs stay its own however long they take."""
    if not job_ids:
        return
    now = utcnow()
    await session.execute(
        update(Job)
        .where(Job.id.in_(job_ids), Job.locked_by == worker, Job.status == RUNNING)
        .values(lease_expires_at=now + dt.timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)
    )


async def next_due(session: AsyncSession) -> dt.datetime | None:
    """When the earliest pending job becomes due (so an idle worker sleeps just that long)."""
    value = await session.scalar(select(func.min(Job.run_at)).where(Job.status == PENDING))
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
