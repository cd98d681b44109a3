"""The job queue's gauges, read from the database when /metrics is scraped: the queue is
shared by every process, so no process's own counters could tell its depth."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import case, func, select

from redcloud.db import Database, table, utcnow
from redcloud.jobs.kinds import DELIVER_WEBHOOK, SANDBOX_REPORT, SUBMIT
from redcloud.jobs.models import FAILED, PENDING, RUNNING, Job

KINDS = (SUBMIT.name, DELIVER_WEBHOOK.name, SANDBOX_REPORT.name)
STATES = ("ready", "scheduled", "running", "parked")
_jobs = table(Job)


@dataclass(frozen=True, slots=True)
class QueueSnapshot:
    depth: dict[tuple[str, str], int]  # (kind, state) -> jobs
    oldest_ready_age: dict[str, float]  # kind -> seconds the oldest due job has waited


async def snapshot(db: Database) -> QueueSnapshot:
    """One grouped read over the jobs index: how many jobs per kind are due and waiting for
    a worker (ready), waiting for their time (scheduled: retries and paced sends), being
    run (running), or parked after their last attempt (parked)."""
    now = utcnow()
    due = _jobs.c.run_at <= now
    state = case(
        (_jobs.c.status == RUNNING, "running"),
        (_jobs.c.status == FAILED, "parked"),
        (due, "ready"),
        else_="scheduled",
    ).label("state")
    query = (
        select(_jobs.c.kind, state, func.count(), func.min(_jobs.c.run_at))
        .where(_jobs.c.status.in_([PENDING, RUNNING, FAILED]))
        .group_by(_jobs.c.kind, state)
    )
    async with db.lone_read() as conn:
        rows = (await conn.execute(query)).all()
    depth = {(kind, name): 0 for kind in KINDS for name in STATES}
    oldest = dict.fromkeys(KINDS, 0.0)
    for kind, name, count, first_run_at in rows:
        depth[(kind, name)] = int(count)
        if name == "ready" and first_run_at is not None:
            oldest[kind] = max(0.0, (now - first_run_at).total_seconds())
    return QueueSnapshot(depth, oldest)


class QueueCollector(Collector):
    """Hands a snapshot taken by the async /metrics handler to prometheus-client's
    synchronous exposition."""

    def __init__(self, queue: QueueSnapshot | None) -> None:
        self.queue = queue

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if self.queue is None:
            return
        depth = GaugeMetricFamily(
            "redcloud_queue_depth",
            "Jobs in the queue by kind and state (ready, scheduled, running, parked), read "
            "from the database at scrape time: the same on every process.",
            labels=["kind", "state"],
        )
        for (kind, name), count in sorted(self.queue.depth.items()):
            depth.add_metric([kind, name], count)
        yield depth
        oldest = GaugeMetricFamily(
            "redcloud_queue_oldest_age_seconds",
            "How long the oldest ready job of each kind has been due without a worker "
            "taking it (0 when none is waiting).",
            labels=["kind"],
        )
        for kind, age in sorted(self.queue.oldest_ready_age.items()):
            oldest.add_metric([kind], age)
        yield oldest
