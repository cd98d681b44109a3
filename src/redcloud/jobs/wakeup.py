"""Cross-process wake-ups on PostgreSQL: LISTEN on the jobs channel, kick the worker."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import structlog

from redcloud.db import JOBS_CHANNEL

log = structlog.get_logger("redcloud.worker")


def asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


class PostgresListener:
    """Sets `kick` on every NOTIFY; if the connection fails, polling still runs the queue."""

    def __init__(self, url: str, kick: asyncio.Event) -> None:
        self.url = url
        self.kick = kick
        self._connection: Any = None

    async def start(self) -> None:
        try:
            self._connection = await asyncpg.connect(asyncpg_dsn(self.url), timeout=10)
            await self._connection.add_listener(JOBS_CHANNEL, self._notified)
        except (TimeoutError, OSError, asyncpg.PostgresError):
            log.warning("LISTEN unavailable; falling back to polling", exc_info=True)
            self._connection = None

    def _notified(self, *_: Any) -> None:
        self.kick.set()

    async def stop(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = None
