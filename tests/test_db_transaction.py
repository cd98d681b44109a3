"""Database.transaction and lone_read: the Core paths sends and jobs run on.

A failed block leaves nothing behind, workers are woken only by a committed enqueue, and a
lone read on PostgreSQL runs outside any transaction (it saves BEGIN and ROLLBACK).
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, text

from redcloud.db import Database, table
from redcloud.jobs.models import Job
from redcloud.jobs.queue import enqueue_many

_jobs = table(Job)


async def job_count(db: Database, kind: str) -> int:
    async with db.lone_read() as conn:
        return int(await conn.scalar(select(func.count()).where(_jobs.c.kind == kind)) or 0)


async def test_a_block_that_raises_writes_nothing_and_wakes_no_worker(db: Database) -> None:
    wakeup = asyncio.Event()
    db.wakeups.add(wakeup)
    try:

        async def enqueue_then_fail() -> None:
            async with db.transaction(write=True) as conn:
                await enqueue_many(conn, [("test.rollback", {"n": 1})])
                raise RuntimeError("after the insert")

        with pytest.raises(RuntimeError, match="after the insert"):
            await enqueue_then_fail()
        assert await job_count(db, "test.rollback") == 0
        assert not wakeup.is_set()
        # The enqueue flag must not leak to the next user of the pooled connection.
        async with db.transaction(write=True) as conn:
            await conn.execute(text("SELECT 1"))
        assert not wakeup.is_set()
    finally:
        db.wakeups.discard(wakeup)


async def test_a_committed_enqueue_wakes_workers_once_visible(db: Database) -> None:
    wakeup = asyncio.Event()
    db.wakeups.add(wakeup)
    try:
        async with db.transaction(write=True) as conn:
            await enqueue_many(conn, [("test.commit", {"n": 1}), ("test.commit", {"n": 2})])
            assert not wakeup.is_set()
        assert wakeup.is_set()
        assert await job_count(db, "test.commit") == 2
    finally:
        db.wakeups.discard(wakeup)


async def test_lone_read_on_postgresql_is_outside_a_transaction(db: Database) -> None:
    if db.dialect != "postgresql":
        pytest.skip("SQLite reads run in-process, where a transaction costs nothing")
    # Inside a transaction now() is frozen at its start; in autocommit each statement is its
    # own transaction, so two reads apart in time differ.
    async with db.lone_read() as conn:
        first = await conn.scalar(text("SELECT now()"))
        await asyncio.sleep(0.02)
        second = await conn.scalar(text("SELECT now()"))
    assert first != second
    async with db.transaction() as conn:
        first = await conn.scalar(text("SELECT now()"))
        await asyncio.sleep(0.02)
        second = await conn.scalar(text("SELECT now()"))
    assert first == second
