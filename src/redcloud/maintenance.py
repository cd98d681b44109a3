"""Housekeeping: drop idempotency records, tokens, rate-limit windows and SMPP part ids past
their retention."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import structlog

from redcloud.auth.service import purge_expired_tokens
from redcloud.db import Database
from redcloud.messages.idempotency import purge_expired
from redcloud.providers.smpp import receipts
from redcloud.ratelimit import purge_windows

RATE_WINDOW_RETENTION_SECONDS = 86_400
# SMPP part ids (and unmatched receipts, kept for operators) outlive any receipt: a week.
PARTS_RETENTION_SECONDS = 7 * 86_400

log = structlog.get_logger("redcloud.maintenance")


@dataclass(frozen=True, slots=True)
class Purged:
    idempotency_records: int
    access_tokens: int


async def purge_once(db: Database) -> Purged:
    async with db.session(write=True) as session:
        purged = Purged(await purge_expired(session), await purge_expired_tokens(session))
        conn = await session.connection()
        await purge_windows(conn, time.time() - RATE_WINDOW_RETENTION_SECONDS)
        await receipts.purge(conn, PARTS_RETENTION_SECONDS)
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
