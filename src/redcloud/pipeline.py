"""The message pipeline assembled: provider, webhook sender, job handlers, housekeeping."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import structlog

from redcloud.auth.security import SecretBox
from redcloud.config import Settings
from redcloud.db import Database
from redcloud.jobs.claim import ClaimedJob
from redcloud.jobs.kinds import DELIVER_WEBHOOK, SANDBOX_REPORT, SUBMIT
from redcloud.jobs.worker import Handler, Worker
from redcloud.maintenance import purge_once
from redcloud.messages import lifecycle
from redcloud.providers import tasks
from redcloud.providers.registry import ConnectorConfig, Registry
from redcloud.providers.sandbox import SandboxCarrier
from redcloud.providers.smpp.connector import SmppConnector
from redcloud.providers.smpp.options import SmppOptions
from redcloud.webhooks.delivery import WebhookSender
from redcloud.webhooks.tasks import Delivery

log = structlog.get_logger("redcloud.pipeline")


@dataclass
class Pipeline:
    db: Database
    settings: Settings
    carrier: SandboxCarrier
    registry: Registry
    sender: WebhookSender

    @classmethod
    def build(cls, db: Database, settings: Settings) -> Pipeline:
        carrier = SandboxCarrier(
            db,
            delivery_delay=settings.sandbox_delivery_delay,
            submit_latency=settings.sandbox_submit_latency,
        )
        sender = WebhookSender(
            timeout_seconds=settings.webhook_timeout_seconds,
            allow_private=settings.webhooks_allow_private,
        )
        box = SecretBox.from_settings(settings.secret_key, settings.data_dir)

        def smpp(connector: ConnectorConfig) -> SmppConnector:
            return SmppConnector(
                db,
                connector.name,
                SmppOptions.from_settings(connector.settings),
                box,
                lease_seconds=settings.smpp_lease_seconds,
                default_validity_seconds=settings.message_validity_seconds,
                reassembly_seconds=settings.smpp_reassembly_seconds,
                revocation_opts_out=settings.optout_on_revocation_words,
            )

        registry = Registry(db, {"sandbox": lambda _connector: carrier, "smpp": smpp})
        return cls(db, settings, carrier, registry, sender)

    def handlers(self) -> dict[str, Handler]:
        delivery = Delivery(
            self.db,
            self.sender,
            SecretBox.from_settings(self.settings.secret_key, self.settings.data_dir),
            self.settings.webhook_retry_delays,
        )

        async def submit(job: ClaimedJob) -> None:
            await tasks.submit(self.db, self.registry, job)

        return {
            SUBMIT.name: submit,
            DELIVER_WEBHOOK.name: delivery.deliver,
            SANDBOX_REPORT.name: self.carrier.report,
        }

    def worker(self, name: str | None = None) -> Worker:
        return Worker(
            self.db,
            self.handlers(),
            concurrency=self.settings.worker_concurrency,
            poll_seconds=self.settings.worker_poll_seconds,
            lease_seconds=self.settings.worker_lease_seconds,
            name=name,
            give_up={SUBMIT.name: tasks.give_up},
        )

    async def housekeeping(self, stop: asyncio.Event) -> None:
        """Fail messages past their validity or their report's timeout often; purge expired
        keys, tokens and rate-limit windows hourly."""
        timeout = self.settings.delivery_report_timeout_seconds
        validity = self.settings.message_validity_seconds
        sweep = max(0.5, min(30.0, timeout / 4, validity / 4))
        next_purge = 0.0
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            try:
                async with self.db.transaction(write=True) as conn:
                    own, default = self.registry.validities()
                    expired = await lifecycle.expire_unreported(conn, timeout)
                    stale = await lifecycle.expire_unsubmitted(
                        conn, validity, own=own, default_connector=default
                    )
                if expired:
                    log.info("failed messages with no delivery report", count=expired)
                if stale:
                    log.info("failed messages past their validity", count=stale)
                if loop.time() >= next_purge:
                    await purge_once(self.db)
                    next_purge = loop.time() + self.settings.purge_interval_seconds
            except Exception:
                log.exception("housekeeping round failed; will retry")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), sweep)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Worker]:
        """Run a worker and the housekeeping loop until the block exits."""
        stop = asyncio.Event()
        worker = self.worker()
        await self.registry.start()
        tasks_ = [
            asyncio.create_task(worker.run(stop)),
            asyncio.create_task(self.housekeeping(stop)),
        ]
        try:
            yield worker
        finally:
            stop.set()
            await asyncio.gather(*tasks_, return_exceptions=True)
            await self.registry.stop()
            await self.sender.close()
