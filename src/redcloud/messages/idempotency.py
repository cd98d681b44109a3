"""Idempotency keys: replay an accepted send, refuse a changed payload or a concurrent twin."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from redcloud.db import table, utcnow
from redcloud.errors import Conflict, InvalidRequest
from redcloud.messages.models import IdempotencyRecord

HEADER = "Idempotency-Key"
IN_PROGRESS = (
    "A request with this Idempotency-Key is still in progress; retry once it has completed"
)
REUSED = "Idempotency-Key was already used with a different request payload"


def check_key(value: str | None) -> str:
    """The key if it is 1-255 printable ASCII characters, else the contract's 400."""
    if value is None or value == "":
        raise InvalidRequest("Idempotency-Key header is required")
    if len(value) > 255 or any(not (0x20 <= ord(ch) <= 0x7E) for ch in value):
        raise InvalidRequest(
            "Idempotency-Key must be 1-255 printable ASCII characters",
            {"field": HEADER, "reason": "1-255 printable ASCII characters"},
        )
    return value


def request_fingerprint(payload: dict[str, Any]) -> str:
    """Equal for equal parsed JSON bodies, whatever their key order or whitespace."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class InFlightKeys:
    """Keys being processed in this process; a second request with one of them gets 409.

    Across processes on PostgreSQL, `lock_across_processes` does the same with an
    advisory lock held for the transaction.
    """

    def __init__(self) -> None:
        self._held: set[tuple[str, str]] = set()

    @asynccontextmanager
    async def hold(self, client_id: str, key: str) -> AsyncIterator[None]:
        pair = (client_id, key)
        if pair in self._held:
            raise Conflict(IN_PROGRESS, {"field": HEADER})
        self._held.add(pair)
        try:
            yield
        finally:
            self._held.discard(pair)


_records = table(IdempotencyRecord)
_LOCK = text("SELECT pg_try_advisory_xact_lock(:id)")
_FIND = select(
    _records.c.request_hash,
    _records.c.response_status,
    _records.c.response_body,
    _records.c.expires_at,
).where(_records.c.api_client_id == bindparam("client"), _records.c.key == bindparam("key"))
_DROP = delete(_records).where(
    _records.c.api_client_id == bindparam("client"), _records.c.key == bindparam("key")
)
_INSERT = insert(_records)


@dataclass(frozen=True, slots=True)
class StoredResponse:
    request_hash: str
    status: int
    body: dict[str, Any]


async def lock_across_processes(conn: AsyncConnection, client_id: str, key: str) -> None:
    """On PostgreSQL, take a transaction-scoped advisory lock on (client, key) or answer 409."""
    if conn.dialect.name != "postgresql":
        return  # SQLite serialises writers itself: a twin waits, then sees the stored record.
    digest = hashlib.sha256(f"{client_id}\0{key}".encode()).digest()
    lock_id = int.from_bytes(digest[:8], "big", signed=True)
    if not await conn.scalar(_LOCK, {"id": lock_id}):
        raise Conflict(IN_PROGRESS, {"field": HEADER})


async def find_live(conn: AsyncConnection, client_id: str, key: str) -> StoredResponse | None:
    """The stored response for (client, key) if it has not expired; an expired one is
    dropped."""
    names = {"client": client_id, "key": key}
    row = (await conn.execute(_FIND, names)).first()
    if row is None:
        return None
    if row.expires_at <= utcnow():
        await conn.execute(_DROP, names)
        return None
    return StoredResponse(row.request_hash, row.response_status, row.response_body)


def record_row(
    client_id: str,
    key: str,
    fingerprint: str,
    status: int,
    body: dict[str, Any],
    retention: dt.timedelta,
) -> dict[str, Any]:
    """The stored answer for (client, key), kept for `retention`."""
    now = utcnow()
    return {
        "api_client_id": client_id,
        "key": key,
        "request_hash": fingerprint,
        "response_status": status,
        "response_body": body,
        "created_at": now,
        "expires_at": now + retention,
    }


async def remember(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    await conn.execute(_INSERT, rows)


async def purge_expired(session: AsyncSession, now: dt.datetime | None = None) -> int:
    result = await session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= (now or utcnow()))
    )
    return int(getattr(result, "rowcount", 0) or 0)
