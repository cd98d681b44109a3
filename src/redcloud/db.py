"""Engines and sessions: the one place that commits or rolls back."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import DateTime, MetaData, Table, event, func, pool, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from redcloud import sqlite_inline
from redcloud.config import to_async_url

_NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=_NAMING)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp that is always timezone-aware UTC in Python, whatever the engine stores."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use redcloud.db.utcnow()")
        value = value.astimezone(dt.UTC)
        # SQLite has no time zones: store naive UTC so string comparison orders correctly.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def upsert_into(dialect: str, target: Table) -> Any:
    """INSERT for `target` with the dialect's ON CONFLICT clauses (PostgreSQL's or SQLite's:
    they are written the same, but are two classes)."""
    make = pg_insert if dialect == "postgresql" else sqlite_insert
    return make(target)


def hour_label(dialect: str, column: Any) -> Any:
    """A timestamp column's UTC hour as text, `YYYY-MM-DD HH:00`, to group by."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD HH24:00")
    return func.strftime("%Y-%m-%d %H:00", column)  # stored as naive UTC text


def table(model: type[Base]) -> Table:
    """A model's table, for the hot paths written in SQLAlchemy Core (bench/NOTES.md)."""
    mapped = model.__table__
    assert isinstance(mapped, Table)
    return mapped


def _configure_sqlite(engine: AsyncEngine) -> None:
    """WAL, a busy timeout, foreign keys, and BEGIN IMMEDIATE for write sessions.

    pysqlite's own transaction handling is switched off so that a write session takes the
    write lock when it begins; otherwise two writers can both read, then one fails with
    'database is locked' instead of waiting its turn.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=0")  # waits are awaited: see sqlite_inline
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        write = conn.get_execution_options().get("redcloud_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


_log = structlog.get_logger("redcloud.db")
JOBS_CHANNEL = "redcloud_jobs"
JOBS_ENQUEUED = "jobs_enqueued"  # session/connection info flag set by redcloud.jobs.queue
AFTER_COMMIT = "after_commit"  # actions to run once the transaction has committed


def after_commit(handle: AsyncSession | AsyncConnection, action: Callable[[], None]) -> None:
    """Run `action` once the transaction of `handle` (as Database.session or .transaction
    yielded it) has committed; forget it if the transaction rolls back. For what must only
    be told of committed work: metrics."""
    handle.info.setdefault(AFTER_COMMIT, []).append(action)


_NOTIFY = text(f"NOTIFY {JOBS_CHANNEL}")


class Database:
    """Owns the engine and hands out sessions whose transaction it commits or rolls back.

    A transaction that enqueued jobs wakes the workers when it commits: in this process
    through `wakeups`, and on PostgreSQL in every process through NOTIFY (delivered by the
    server only on commit).
    """

    def __init__(self, url: str, *, pool_size: int = 10, null_pool: bool = False) -> None:
        self.url = to_async_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        kwargs: dict[str, Any] = {}
        if null_pool:
            kwargs["poolclass"] = pool.NullPool
        elif not self.is_sqlite:
            kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
        if self.is_sqlite:
            path = _ensure_sqlite_dir(self.url)
            kwargs["async_creator"] = sqlite_inline.connector(path)
            if not null_pool and path != ":memory:":
                # A worker runs up to 64 jobs at once beside the API's requests; opening a
                # connection (a thread and four PRAGMAs) costs more than a job's statements,
                # so enough of them stay open. Idle, each is a file handle and a parked thread.
                kwargs.update(pool_size=32, max_overflow=64)
        # A failed statement's parameters are other clients' messages: never in an error.
        self.engine: AsyncEngine = create_async_engine(self.url, hide_parameters=True, **kwargs)
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        self._write_engine = self.engine.execution_options(redcloud_write=True)
        # A lone read needs no transaction: on PostgreSQL that saves BEGIN and ROLLBACK, two
        # round trips. SQLite reads run in-process, where a transaction costs nothing.
        self._lone_read_engine = (
            self.engine
            if self.is_sqlite
            else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self._reader = async_sessionmaker(self.engine, expire_on_commit=False)
        self._writer = async_sessionmaker(self._write_engine, expire_on_commit=False)
        self.wakeups: set[asyncio.Event] = set()
        # SQLite has one writer at a time; this process's writers queue here, not in SQLite.
        self._sqlite_writer = asyncio.Lock()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self, *, write: bool = False) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        factory = self._writer if write else self._reader
        async with self._serialised(write), factory() as session, self._committed(session):
            yield session

    @asynccontextmanager
    async def transaction(self, *, write: bool = False) -> AsyncIterator[AsyncConnection]:
        """The Core twin of `session` for the hot paths: one transaction on a plain
        connection, committed when the block ends, rolled back if it raises."""
        engine = self._write_engine if write else self.engine
        async with self._serialised(write), engine.connect() as conn:
            await conn.begin()
            async with self._committed(conn):
                yield conn

    def _serialised(self, write: bool) -> contextlib.AbstractAsyncContextManager[Any]:
        return self._sqlite_writer if write and self.is_sqlite else contextlib.nullcontext()

    @asynccontextmanager
    async def _committed(self, handle: AsyncSession | AsyncConnection) -> AsyncIterator[None]:
        """Commit `handle` after the block (rolling back if it raised); if the block enqueued
        jobs, wake the workers once the commit has made them visible."""
        try:
            yield
            enqueued = handle.info.pop(JOBS_ENQUEUED, False)
            actions = handle.info.pop(AFTER_COMMIT, ())
            if enqueued and not self.is_sqlite:
                await handle.execute(_NOTIFY)
            await handle.commit()
        except BaseException:
            handle.info.pop(JOBS_ENQUEUED, None)  # a pooled connection's info outlives it
            handle.info.pop(AFTER_COMMIT, None)
            await handle.rollback()
            raise
        for action in actions:
            try:
                action()
            except Exception as exc:  # the transaction committed: only the telling failed
                _log.warning("an after-commit action failed", error=repr(exc)[:200])
        if enqueued:
            for wakeup in self.wakeups:
                wakeup.set()

    @asynccontextmanager
    async def lone_read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for one read statement, outside any transaction where that is
        cheaper (PostgreSQL)."""
        async with self._lone_read_engine.connect() as conn:
            yield conn

    async def dispose(self) -> None:
        await self.engine.dispose()


def _ensure_sqlite_dir(url: str) -> str:
    """The database file's path, its folder created if missing (owner only). The file is
    readable and writable by its owner alone; SQLite gives its -wal and -shm files the
    database file's permissions."""
    path = url.split("///", 1)[1] if "///" in url else ""
    if not path or path == ":memory:":
        return ":memory:"
    file = Path(path).expanduser()
    file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(file, os.O_RDWR | os.O_CREAT, 0o600))
    if file.stat().st_mode & 0o077:
        file.chmod(0o600)
    return str(file)
