"""Rate limits shared by every API process, counted in the database.

Counters are fixed windows keyed by (bucket, window start): one row per bucket and window,
raised with a single upsert (`INSERT … ON CONFLICT DO UPDATE … RETURNING`, the same on SQLite
and PostgreSQL), so N processes share one limit instead of each counting alone.

Two ways to count, by what a check costs:
- `FailureCounter` (failed token attempts): exact. A check is one indexed read; only a
  failure writes. A request over the limit is refused before any secret is hashed.
- `RequestLimiter` (per-client API requests): a request touches this process's memory; at
  most every `sync_seconds` one request adds this process's counts to the shared rows and
  reads the totals back. A limit can be overshot by what other processes admitted since
  their last sync (at most `sync_seconds` of their traffic) — the price of not writing on
  every request.
Old windows are deleted by the purge (`redcloud.maintenance`).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict

import structlog
from sqlalchemy import BigInteger, Integer, String, bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import Mapped, mapped_column

from redcloud.db import Base, Database, table, upsert_into
from redcloud.logs import safe_error

log = structlog.get_logger("redcloud.ratelimit")


class RateCounter(Base):
    __tablename__ = "rate_counters"

    bucket: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)


_counters = table(RateCounter)


def _upsert(dialect: str):  # type: ignore[no-untyped-def]
    statement = upsert_into(dialect, _counters).values(
        bucket=bindparam("bucket"), window_start=bindparam("window"), hits=bindparam("delta")
    )
    return statement.on_conflict_do_update(
        index_elements=["bucket", "window_start"],
        set_={"hits": _counters.c.hits + statement.excluded.hits},
    ).returning(_counters.c.hits)


_UPSERT = {name: _upsert(name) for name in ("postgresql", "sqlite")}
_READ = select(_counters.c.bucket, _counters.c.hits).where(
    _counters.c.bucket.in_(bindparam("buckets", expanding=True)),
    _counters.c.window_start == bindparam("window"),
)


def _window(now: float, seconds: int) -> tuple[int, float]:
    """The current window's start and the seconds until it ends."""
    start = int(now // seconds) * seconds
    return start, start + seconds - now


def retry_after(seconds: float) -> str:
    """A Retry-After header value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))


async def add_hits(conn: AsyncConnection, bucket: str, window: int, delta: int) -> int:
    result = await conn.execute(
        _UPSERT[conn.dialect.name], {"bucket": bucket, "window": window, "delta": delta}
    )
    return int(result.scalar_one())


async def purge_windows(conn: AsyncConnection, before: float) -> int:
    """Delete counters of windows that started before `before` (Unix seconds)."""
    result = await conn.execute(delete(_counters).where(_counters.c.window_start < int(before)))
    return int(getattr(result, "rowcount", 0) or 0)


class FailureCounter:
    """Exact counts of failures per bucket in fixed windows, shared through the database."""

    def __init__(self, db: Database, window_seconds: int) -> None:
        self.db = db
        self.window_seconds = window_seconds

    async def blocked(self, limits: dict[str, int]) -> float | None:
        """Seconds to wait if any bucket has reached its limit (0 = unlimited), else None."""
        active = {bucket: limit for bucket, limit in limits.items() if limit > 0}
        if not active:
            return None
        window, remaining = _window(time.time(), self.window_seconds)
        async with self.db.lone_read() as conn:
            rows = await conn.execute(_READ, {"buckets": list(active), "window": window})
        if any(row.hits >= active[row.bucket] for row in rows):
            return remaining
        return None

    async def record(self, buckets: list[str]) -> None:
        window, _ = _window(time.time(), self.window_seconds)
        async with self.db.transaction(write=True) as conn:
            for bucket in buckets:
                await add_hits(conn, bucket, window, 1)


class RequestLimiter:
    """Admits requests per bucket up to `limit` a window, counted in memory and shared
    through the database at most every `sync_seconds`. The request that finds the last
    sync too old carries out the next one, so no task outlives a request."""

    def __init__(
        self, db: Database, limit: int, window_seconds: int, sync_seconds: float = 0.2
    ) -> None:
        self.db = db
        self.limit = limit
        self.window_seconds = window_seconds
        self.sync_seconds = sync_seconds
        self._unsynced: defaultdict[tuple[str, int], int] = defaultdict(int)
        self._known: dict[tuple[str, int], int] = {}  # totals as of the last sync
        self._synced_at = 0.0
        self._syncing = False

    async def admit(self, bucket: str, limit: int | None = None) -> float | None:
        """None if the request may go on, else the seconds until it may. `limit` overrides
        the limiter's own for this bucket (0: no limit)."""
        limit = self.limit if limit is None else limit
        if limit <= 0:
            return None
        now = time.time()
        window, remaining = _window(now, self.window_seconds)
        key = (bucket, window)
        if self._known.get(key, 0) + self._unsynced[key] >= limit:
            return remaining
        self._unsynced[key] += 1
        if now - self._synced_at >= self.sync_seconds and not self._syncing:
            self._syncing, self._synced_at = True, now
            try:
                await self._sync(window)
            finally:
                self._syncing = False
        return None

    async def _sync(self, current: int) -> None:
        pending, self._unsynced = self._unsynced, defaultdict(int)
        self._known = {k: v for k, v in self._known.items() if k[1] >= current}
        try:
            async with self.db.transaction(write=True) as conn:
                for (bucket, window), delta in pending.items():
                    if window >= current and delta:
                        self._known[(bucket, window)] = await add_hits(conn, bucket, window, delta)
        except Exception as exc:
            # Counts stay local until the next sync; meanwhile the limit holds per process.
            log.warning("rate limit counters could not be shared", error=safe_error(exc))
            for key, delta in pending.items():
                self._unsynced[key] += delta
