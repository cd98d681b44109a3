"""Housekeeping: drop idempotency records and tokens past their retention."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import structlog

from redcloud.auth.service import purge_expired_tokens
from redcloud.db import Database
from redcloud.messages.idempotency import purge_expired

log = structlog.get_logger("redcloud.maintenance")


@dataclass(frozen=True, slots=True)
class Purged:
    idempotency_records: int
    access_tokens: int


async def purge_once(db: Database) -> Purged:
    async with db.session(write=True) as session:
        purged = Purged(await purge_expired(session), await purge_expired_tokens(session))
    if purged.idempotency_records or purged.access_tokens:
        log.info(
            "purged expired data",
            idempotency_records=purged.idempotency_records,
            access_tokens=purged.access_tokens,
        )
    return purged


async def purge_forever(db: Database, interval_seconds: float) -> None:
    """Purge now and then every interval; a failed round is logged and retried next time."""
    while True:
        try:
            await purge_once(db)
        except Exception:
            log.exception("purge failed; will retry")
        await asyncio.sleep(interval_seconds)
