"""The registry: which adapter carries a message, from the connectors in the database.

Connectors are read afresh at most every `refresh_seconds`, so an operator's change (a
connector disabled, another made the default, a number moved) takes effect in every running
worker within seconds and without a restart. Adapters that hold connections are started
when their connector appears or is enabled, and stopped when it is disabled or removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from sqlalchemy import select

from redcloud.aio import stop_task
from redcloud.db import Database, table
from redcloud.logs import safe_error
from redcloud.metrics.families import SMPP_BOUND, SMPP_IN_FLIGHT
from redcloud.providers.base import Provider
from redcloud.providers.models import ENABLED, SANDBOX, Connector

log = structlog.get_logger("redcloud.registry")
REFRESH_SECONDS = 2.0
Factory = Callable[["ConnectorConfig"], Provider]

_ALL = select(table(Connector))


class Unavailable(Exception):
    """No adapter can carry the message now (its connector is disabled, removed or of a
    kind this worker cannot run); the submit waits and tries again."""


@dataclass(frozen=True, slots=True)
class ConnectorConfig:
    """A connector as read from the database: what a factory builds an adapter from."""

    name: str
    kind: str
    enabled: bool
    is_default: bool
    settings: dict[str, object]


class Registry:
    def __init__(
        self, db: Database, factories: dict[str, Factory], refresh_seconds: float = REFRESH_SECONDS
    ) -> None:
        self.db = db
        self.factories = factories
        self.refresh_seconds = refresh_seconds
        self._entries: dict[str, ConnectorConfig] = {}
        self._adapters: dict[str, Provider] = {}
        self._loaded_at = float("-inf")
        # Many submits find the snapshot stale at once: one of them refreshes it, so no
        # adapter is started twice.
        self._refreshing = asyncio.Lock()
        self._watch: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.refresh()
        self._watch = asyncio.create_task(self._watch_loop(), name="connector-registry")

    async def stop(self) -> None:
        await stop_task(self._watch)
        self._watch = None
        async with self._refreshing:
            for name in list(self._adapters):
                await self._stop(name)

    async def _watch_loop(self) -> None:
        """Follow the connectors when no message asks for them too: an SMPP link that was
        disabled unbinds, a new one binds (and can take inbound traffic) within seconds."""
        while True:
            await asyncio.sleep(self.refresh_seconds)
            self.sample()
            try:
                if self._stale():
                    async with self._refreshing:
                        if self._stale():
                            await self.refresh()
            except Exception as exc:
                log.warning("could not read the connectors; will retry", error=safe_error(exc))

    def sample(self) -> None:
        """Copy the live state of this process's sessions into the metrics' gauges."""
        for name, adapter in self._adapters.items():
            state = adapter.health()
            bound, in_flight = state.get("bound_sessions"), state.get("in_flight")
            if isinstance(bound, int) and isinstance(in_flight, int):
                SMPP_BOUND.labels(name).set(bound)
                SMPP_IN_FLIGHT.labels(name).set(in_flight)

    async def provider_for(self, name: str | None) -> Provider:
        """The running adapter for connector `name` (a number's own), or the default's."""
        if self._stale():
            async with self._refreshing:
                if self._stale():
                    await self.refresh()
        if name is None:
            name = next((e.name for e in self._entries.values() if e.is_default), None)
            if name is None:
                raise Unavailable("no default connector is set")
        entry = self._entries.get(name)
        if entry is None:
            raise Unavailable(f"connector {name} does not exist")
        if not entry.enabled:
            raise Unavailable(f"connector {name} is disabled")
        adapter = self._adapters.get(name)
        if adapter is None:
            raise Unavailable(f"connector {name} ({entry.kind}) cannot run in this worker")
        return adapter

    def validities(self) -> tuple[dict[str, int], str | None]:
        """Connectors with a validity of their own (by name), and the default connector's
        name, from the last snapshot: what housekeeping expires queued messages by."""
        own = {
            e.name: seconds
            for e in self._entries.values()
            if isinstance(seconds := e.settings.get("validity_seconds"), int) and seconds > 0
        }
        default = next((e.name for e in self._entries.values() if e.is_default), None)
        return own, default

    def adapters(self) -> dict[str, Provider]:
        """The adapters running in this process, by connector name."""
        return dict(self._adapters)

    def _stale(self) -> bool:
        return time.monotonic() - self._loaded_at >= self.refresh_seconds

    async def refresh(self) -> None:
        """Read the connectors; start adapters that should run, stop those that should not."""
        async with self.db.lone_read() as conn:
            rows = (await conn.execute(_ALL)).all()
        entries = {
            row.name: ConnectorConfig(
                row.name, row.kind, row.status == ENABLED, bool(row.is_default), row.settings
            )
            for row in rows
        }
        if SANDBOX not in entries:  # built in: present even before an operator touches it
            no_default = not any(e.is_default for e in entries.values())
            entries[SANDBOX] = ConnectorConfig(SANDBOX, SANDBOX, True, no_default, {})
        for name in list(self._adapters):
            now = entries.get(name)
            before = self._entries.get(name)
            changed = (
                before is not None
                and now is not None
                and ((now.kind, now.settings) != (before.kind, before.settings))
            )
            if now is None or not now.enabled or changed:
                await self._stop(name)
        for name, entry in entries.items():
            if entry.enabled and name not in self._adapters:
                factory = self.factories.get(entry.kind)
                if factory is None:
                    continue  # a kind this version cannot run: its messages wait
                try:
                    adapter = factory(entry)
                    await adapter.start()
                except Exception as exc:  # one broken connector must not stop the others
                    log.error(
                        "connector cannot start; its messages wait",
                        connector=name,
                        error=safe_error(exc),
                    )
                    continue
                self._adapters[name] = adapter
                log.info("connector started", connector=name, kind=entry.kind)
        self._entries = entries
        self._loaded_at = time.monotonic()

    async def _stop(self, name: str) -> None:
        adapter = self._adapters.pop(name)
        try:
            await adapter.stop()
        finally:
            for gauge in (SMPP_BOUND, SMPP_IN_FLIGHT):
                with contextlib.suppress(KeyError):  # never sampled: nothing to forget
                    gauge.remove(name)
            log.info("connector stopped", connector=name)
