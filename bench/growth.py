"""Growth: one million stored messages, written by SQL inside the database, and the job-claim
latency measured the way the worker claims (one write transaction per batch)."""

from __future__ import annotations

import asyncio
import statistics
import time

from sqlalchemy import delete, text

from redcloud.db import Database
from redcloud.jobs.claim import claim
from redcloud.jobs.models import Job
from redcloud.jobs.queue import enqueue

SQLITE_SEED = """
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < :count)
INSERT INTO {table} SELECT {columns} FROM n
"""
MESSAGE_COLUMNS = {
    "sqlite": (
        "'msg_seed_' || x, 'rc_test_client_123', 'num_abc123', 'outbound', 'SMS',"
        " '+15551234567', '+15005550006', 'seeded message ' || x, NULL, 'seed-' || x,"
        " 'delivered', 3, 'sbx_seed_' || x, NULL, NULL,"
        " strftime('%Y-%m-%d %H:%M:%S', 'now', '-' || (x % 2592000) || ' seconds') || '.000000',"
        " strftime('%Y-%m-%d %H:%M:%S', 'now', '-' || (x % 2592000) || ' seconds') || '.000000'"
    ),
    "postgresql": (
        "'msg_seed_' || x, 'rc_test_client_123', 'num_abc123', 'outbound', 'SMS',"
        " '+15551234567', '+15005550006', 'seeded message ' || x, NULL, 'seed-' || x,"
        " 'delivered', 3, 'sbx_seed_' || x, NULL, NULL,"
        " now() - (x % 2592000) * interval '1 second', now() - (x % 2592000) * interval '1 second'"
    ),
}
EVENT_TYPES = ("message.queued", "message.sent", "message.delivery")


def _event_columns(dialect: str, sequence: int) -> str:
    delivered = (
        "strftime('%Y-%m-%d %H:%M:%S', 'now') || '.000000'" if dialect == "sqlite" else "now()"
    )
    payload = "'{\"seeded\": true}'" + ("" if dialect == "sqlite" else "::json")
    return (
        f"'evt_seed_{sequence}_' || x, 'msg_seed_' || x, 'rc_test_client_123', {sequence},"
        f" '{EVENT_TYPES[sequence - 1]}', 1700000000000 + x, {payload}, 'delivered', 1,"
        f" {delivered}"
    )


async def seed_messages(url: str, count: int) -> float:
    """Store `count` delivered messages with their three events; returns the seconds taken."""
    db = Database(url)
    started = time.perf_counter()
    try:
        dialect = db.dialect
        async with db.session(write=True) as session:
            if dialect == "sqlite":
                statement = SQLITE_SEED
            else:
                statement = "INSERT INTO {table} SELECT {columns} FROM generate_series(1, :count) x"
            await session.execute(
                text(statement.format(table="messages", columns=MESSAGE_COLUMNS[dialect])),
                {"count": count},
            )
            for sequence in (1, 2, 3):
                await session.execute(
                    text(
                        statement.format(
                            table="message_events", columns=_event_columns(dialect, sequence)
                        )
                    ),
                    {"count": count},
                )
        if dialect == "postgresql":
            async with db.engine.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.execute(text("VACUUM ANALYZE"))
                # Write the seed's dirty pages out now, not during the measurement after it.
                await connection.execute(text("CHECKPOINT"))
        else:
            async with db.session(write=True) as session:
                await session.execute(text("ANALYZE"))
    finally:
        await db.dispose()
    return time.perf_counter() - started


async def claim_latency(url: str, jobs: int = 2000, batch: int = 32) -> dict[str, float]:
    """p50/p99 (ms) of claim transactions draining `jobs` due jobs in batches of `batch`."""
    db = Database(url)
    timings: list[float] = []
    try:
        async with db.session(write=True) as session:
            for i in range(jobs):
                enqueue(session, "bench.noop", {"i": i})
        while True:
            started = time.perf_counter()
            async with db.transaction(write=True) as conn:
                claimed = await claim(conn, "bench", batch, 60)
            timings.append((time.perf_counter() - started) * 1000)
            if not claimed:
                break
        async with db.session(write=True) as session:
            await session.execute(delete(Job).where(Job.kind == "bench.noop"))
    finally:
        await db.dispose()
    timings.sort()
    return {
        "claims": len(timings),
        "p50_ms": round(statistics.median(timings), 3),
        "p99_ms": round(timings[int(len(timings) * 0.99) - 1], 3),
    }


if __name__ == "__main__":
    import sys

    print(asyncio.run(claim_latency(sys.argv[1])))
