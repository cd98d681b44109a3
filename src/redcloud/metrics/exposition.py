"""/metrics in Prometheus's text format: on the API's port, and on a worker's health port.

Scraping needs `Authorization: Bearer <REDCLOUD_METRICS_TOKEN>`. With no token set the
endpoint is refused (403), except in demo mode, where it is open like the rest of the demo.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Iterable, Iterator

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from redcloud.config import Settings
from redcloud.db import Database
from redcloud.logs import safe_error
from redcloud.metrics import processes
from redcloud.metrics.queue import QueueCollector, QueueSnapshot, snapshot

log = structlog.get_logger("redcloud.metrics")
CONTENT_TYPE = CONTENT_TYPE_LATEST
OFF = (
    "Metrics are off: set REDCLOUD_METRICS_TOKEN and scrape with 'Authorization: Bearer <token>'.\n"
)
SNAPSHOT_SECONDS = 5.0
WRONG = "Scrape /metrics with 'Authorization: Bearer <REDCLOUD_METRICS_TOKEN>'.\n"


def refusal(settings: Settings, authorization: str | None) -> tuple[int, str] | None:
    """Why this scrape is refused (status, text), or None when it may go ahead."""
    token = settings.metrics_token
    if token is None:
        return None if settings.demo else (403, OFF)
    scheme, _, given = (authorization or "").partition(" ")
    expected = token.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
        return 401, WRONG
    return None


async def render(db: Database) -> bytes:
    """This process's metrics (or, with several processes, all of theirs) and the queue's."""
    queue: QueueSnapshot | None
    try:
        async with asyncio.timeout(SNAPSHOT_SECONDS):  # a stuck database must not stall it
            queue = await snapshot(db)
    except Exception as exc:  # the other metrics still tell what happened
        log.warning("queue metrics unavailable", error=safe_error(exc))
        queue = None
    registry = CollectorRegistry(auto_describe=False)
    path = processes.directory()
    if path is None:
        registry.register(_Proxy())
    else:
        processes.mark_dead(path)
        MultiProcessCollector(registry, str(path))  # type: ignore[no-untyped-call]
    registry.register(QueueCollector(queue))
    registry.register(_DatabaseUp(queue is not None))
    # Reading the other processes' files is disk I/O: off the event loop.
    return await asyncio.to_thread(generate_latest, registry)


class _Proxy(Collector):
    """This process's default registry (its metrics, and the process and GC collectors)."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


class _DatabaseUp(Collector):
    def __init__(self, up: bool) -> None:
        self.up = up

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            "redcloud_database_up",
            "1 if the database answered this scrape's queue query, else 0.",
            value=1.0 if self.up else 0.0,
        )
