"""SQLite on the event loop: lock waits are awaited, never block the loop, and time out."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from redcloud import sqlite_inline
from redcloud.db import Database


@pytest.fixture
async def two_processes(tmp_path: Path) -> AsyncIterator[tuple[Database, Database]]:
    """Two Database objects on one file: two engines and two write locks, like two processes."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    first, second = Database(url), Database(url)
    async with first.session(write=True) as session:
        await session.execute(text("CREATE TABLE t (n INTEGER)"))
    yield first, second
    await first.dispose()
    await second.dispose()


async def test_a_writer_waits_for_another_process_without_blocking_the_loop(
    two_processes: tuple[Database, Database],
) -> None:
    first, second = two_processes
    holding = asyncio.Event()
    ticks = 0

    async def hold_the_lock() -> None:
        async with first.session(write=True) as session:
            await session.execute(text("INSERT INTO t VALUES (1)"))
            holding.set()
            await asyncio.sleep(0.5)  # the other "process" keeps the write lock this long

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    holder = asyncio.create_task(hold_the_lock())
    clock = asyncio.create_task(ticker())
    await holding.wait()
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with second.session(write=True) as session:
        await session.execute(text("INSERT INTO t VALUES (2)"))
    waited = loop.time() - started
    await holder
    clock.cancel()
    assert waited >= 0.3  # it really waited for the lock...
    assert ticks >= 20  # ...while the loop kept running other work
    async with second.session() as session:
        assert (await session.execute(text("SELECT count(*) FROM t"))).scalar_one() == 2


async def test_a_lock_held_too_long_is_an_error_not_a_hang(
    two_processes: tuple[Database, Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = two_processes
    monkeypatch.setattr(sqlite_inline, "BUSY_TIMEOUT_SECONDS", 0.2)
    async with first.session(write=True) as session:
        await session.execute(text("INSERT INTO t VALUES (1)"))
        with pytest.raises(Exception, match="database is locked") as refused:
            async with second.session(write=True) as other:
                await other.execute(text("INSERT INTO t VALUES (2)"))
    assert isinstance(refused.value.orig, sqlite3.OperationalError)  # type: ignore[attr-defined]
