"""The job runtime: claims, leases, retries, parking, graceful shutdown, wake-ups."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from redcloud.db import Database
from redcloud.jobs import claim as q
from redcloud.jobs.claim import ClaimedJob
from redcloud.jobs.models import Job
from redcloud.jobs.queue import enqueue
from redcloud.jobs.worker import MAX_ATTEMPTS, RetryLater, Worker


async def add_jobs(db: Database, count: int, kind: str = "test.job") -> None:
    async with db.session(write=True) as session:
        for i in range(count):
            enqueue(session, kind, {"n": i})


async def jobs(db: Database) -> list[Job]:
    async with db.session() as session:
        return list(await session.scalars(select(Job).order_by(Job.id)))


async def run_until(worker: Worker, condition: object, timeout: float = 10) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop, grace_seconds=2))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        while not await condition():  # type: ignore[operator]
            assert loop.time() < deadline, "condition never held"
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        await task


async def test_claims_are_disjoint_and_leased(db: Database) -> None:
    await add_jobs(db, 5)
    async with db.transaction(write=True) as conn:
        first = await q.claim(conn, "a", 3, 60)
    async with db.transaction(write=True) as conn:
        second = await q.claim(conn, "b", 10, 60)
    assert len(first) == 3
    assert len(second) == 2
    assert not {j.id for j in first} & {j.id for j in second}
    assert {j.attempts for j in first + second} == {1}
    async with db.transaction(write=True) as conn:
        assert await q.claim(conn, "c", 10, 60) == []


async def test_expired_lease_is_claimed_again(db: Database) -> None:
    await add_jobs(db, 1)
    async with db.transaction(write=True) as conn:
        (dead,) = await q.claim(conn, "dead-worker", 1, 60)
        await conn.execute(
            update(Job).values(lease_expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    async with db.transaction(write=True) as conn:
        (again,) = await q.claim(conn, "live-worker", 1, 60)
    assert again.id == dead.id
    assert again.attempts == 2
    async with db.transaction(write=True) as conn:
        await q.finish(conn, [dead.id], "dead-worker")  # the dead worker's late answer: ignored
    assert len(await jobs(db)) == 1


async def test_worker_runs_jobs_and_deletes_them(db: Database) -> None:
    seen: list[int] = []

    async def handler(job: ClaimedJob) -> None:
        seen.append(job.payload["n"])

    await add_jobs(db, 20)
    worker = Worker(db, {"test.job": handler}, concurrency=4, poll_seconds=0.05)

    async def all_done() -> bool:
        return not await jobs(db)

    await run_until(worker, all_done)
    assert sorted(seen) == list(range(20))
    assert worker.completed == 20


async def test_retry_later_then_parking_after_max_attempts(db: Database) -> None:
    calls: dict[str, int] = {"retry": 0, "broken": 0}

    async def retry(job: ClaimedJob) -> None:
        calls["retry"] += 1
        if job.attempts < 3:
            raise RetryLater(0.01, "not yet")

    async def broken(job: ClaimedJob) -> None:
        calls["broken"] += 1
        raise RuntimeError("bug")

    await add_jobs(db, 1, "retry")
    await add_jobs(db, 1, "broken")
    worker = Worker(db, {"retry": retry, "broken": broken}, concurrency=2, poll_seconds=0.02)

    async def settled() -> bool:
        async with db.session(write=True) as session:
            # make backoff delays due at once so the test needs no real waiting
            await session.execute(
                update(Job).where(Job.status == "pending").values(run_at=dt.datetime.now(dt.UTC))
            )
        remaining = await jobs(db)
        return len(remaining) == 1 and remaining[0].status == "failed"

    await run_until(worker, settled, timeout=20)
    assert calls["retry"] == 3
    assert calls["broken"] == MAX_ATTEMPTS
    (parked,) = await jobs(db)
    assert parked.kind == "broken"
    assert parked.last_error is not None
    assert "bug" in parked.last_error


async def test_shutdown_hands_unfinished_jobs_back(db: Database) -> None:
    started = asyncio.Event()

    async def slow(job: ClaimedJob) -> None:
        started.set()
        await asyncio.sleep(60)

    await add_jobs(db, 1, "slow")
    worker = Worker(db, {"slow": slow}, poll_seconds=0.05)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop, grace_seconds=0.2))
    await asyncio.wait_for(started.wait(), 5)
    stop.set()
    await task
    (job,) = await jobs(db)
    assert job.status == "pending"
    assert job.locked_by is None
    assert job.attempts == 0  # the interrupted run does not count against the job


async def test_a_live_worker_keeps_a_slow_job_past_its_lease(db: Database) -> None:
    """The heartbeat renews leases: a second worker never takes over a job whose worker is
    alive, however long the job takes (here 2 s against a 0.6 s lease)."""
    runs: list[str] = []

    def slow_as(name: str) -> Callable[[ClaimedJob], Awaitable[None]]:
        async def slow(job: ClaimedJob) -> None:
            runs.append(name)
            await asyncio.sleep(2)

        return slow

    await add_jobs(db, 1, "slow")
    first = Worker(db, {"slow": slow_as("first")}, poll_seconds=0.05, lease_seconds=0.6)
    second = Worker(db, {"slow": slow_as("second")}, poll_seconds=0.05, lease_seconds=0.6)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(w.run(stop, grace_seconds=5)) for w in (first, second)]

    async def finished() -> bool:
        return not await jobs(db)

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while not await finished():
        assert loop.time() < deadline, "the job never finished"
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.gather(*tasks)
    assert len(runs) == 1, runs


async def test_commit_wakes_an_idle_worker_at_once(db: Database) -> None:
    ran = asyncio.Event()

    async def handler(job: ClaimedJob) -> None:
        ran.set()

    worker = Worker(db, {"test.job": handler}, poll_seconds=30)  # polling alone would be slow
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    await asyncio.sleep(0.2)
    await add_jobs(db, 1)
    await asyncio.wait_for(ran.wait(), 5)
    stop.set()
    await task


async def test_a_wakeup_during_the_idle_check_is_not_lost(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job committed while the worker is asking the database when the next job is due
    (an await on PostgreSQL) must still wake it, not wait out the poll interval."""
    ran = asyncio.Event()
    original = q.next_due
    calls = 0

    async def commit_while_checking(conn: AsyncConnection) -> dt.datetime | None:
        nonlocal calls
        calls += 1
        due = await original(conn)  # read before the job below exists
        if calls == 1:
            await add_jobs(db, 1)  # commits and wakes the worker mid-check
        return due

    async def handler(job: ClaimedJob) -> None:
        ran.set()

    monkeypatch.setattr(q, "next_due", commit_while_checking)
    worker = Worker(db, {"test.job": handler}, poll_seconds=30)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        await asyncio.wait_for(ran.wait(), 5)
    finally:
        stop.set()
        await task
    assert calls >= 1


async def test_unknown_kind_is_retried_not_lost(db: Database) -> None:
    await add_jobs(db, 1, "from.the.future")
    worker = Worker(db, {}, poll_seconds=0.05)

    async def retried() -> bool:
        (job,) = await jobs(db)
        return job.status == "pending" and job.attempts == 1

    await run_until(worker, retried)
    (job,) = await jobs(db)
    assert job.last_error is not None
    assert "no handler" in job.last_error
