"""SQLite statements run on the event loop's thread, and lock waits are awaited.

aiosqlite hands every call (execute, each fetch, commit) to a per-connection thread and
back. SQLite answers an indexed statement in microseconds, but each hand-off wakes another
thread; on a virtual machine that costs up to a millisecond, so a send (some twenty calls)
spent most of its time waking threads. `InlineConnection` keeps aiosqlite's interface (so
SQLAlchemy's aiosqlite dialect drives it unchanged) and runs each call directly.

A call never blocks the loop on another connection's lock: SQLite's busy timeout is 0 and
SQLITE_BUSY is retried here with an asynchronous back-off, up to BUSY_TIMEOUT_SECONDS. A
statement refused with SQLITE_BUSY has had no effect, so running it again is safe. Writers
of one process also queue on Database's lock before they begin, so only other processes
are ever waited for this way.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import aiosqlite

BUSY_TIMEOUT_SECONDS = 30.0
_FIRST_PAUSE, _LONGEST_PAUSE = 0.001, 0.05


class InlineConnection(aiosqlite.Connection):
    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        pause = _FIRST_PAUSE
        deadline: float | None = None
        while True:
            try:
                return fn(*args, **kwargs)
            except sqlite3.OperationalError as exc:
                if getattr(exc, "sqlite_errorcode", None) != sqlite3.SQLITE_BUSY:
                    raise
                loop = asyncio.get_running_loop()
                deadline = deadline or loop.time() + BUSY_TIMEOUT_SECONDS
                if loop.time() >= deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, _LONGEST_PAUSE)


def connector(path: str) -> Callable[[], Awaitable[InlineConnection]]:
    """An `async_creator` for SQLAlchemy: opens `path` as an InlineConnection."""

    async def connect() -> InlineConnection:
        # Opened on aiosqlite's thread, used on the loop's: the object is never shared
        # between threads at once, which is what check_same_thread guards against.
        opener = partial(sqlite3.connect, path, check_same_thread=False)
        connection = InlineConnection(opener, iter_chunk_size=64)
        await connection  # starts aiosqlite's thread, which only opens and closes it
        return connection

    return connect
