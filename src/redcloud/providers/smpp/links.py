"""A link: the session (or TX+RX pair, `--bind split`) a worker runs for one bind slot it
holds, kept up by a supervisor that reconnects with jittered backoff (1 s doubling to 60 s,
reset once a bind succeeds)."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from dataclasses import dataclass

import structlog

from redcloud.aio import stop_task
from redcloud.metrics.families import SMPP_RECONNECTS
from redcloud.providers.smpp.options import SmppOptions
from redcloud.providers.smpp.pdu import Status
from redcloud.providers.smpp.session import BindFailed, DeliverHandler, Session

log = structlog.get_logger("redcloud.smpp")
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 60.0


def backoff(failures: int) -> float:
    """Full jitter between half and all of 1 s * 2^(failures-1), capped at 60 s."""
    ceiling = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** max(0, failures - 1))
    return random.uniform(ceiling / 2, ceiling)


@dataclass
class LinkStats:
    reconnects: int = 0
    binds: int = 0
    last_error: str | None = None
    last_error_at: float | None = None

    def fail(self, error: str) -> None:
        self.last_error, self.last_error_at = error, time.time()


class Link:
    def __init__(
        self,
        name: str,
        slot: int,
        options: SmppOptions,
        password: str,
        on_deliver: DeliverHandler,
        stats: LinkStats,
    ) -> None:
        self.name, self.slot, self.options = name, slot, options
        self._password = password
        self._on_deliver = on_deliver
        self.stats = stats
        self.sender: Session | None = None  # bound and able to submit
        self._sessions: list[Session] = []
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._supervise(), name=f"smpp-{self.name}-{self.slot}")

    @property
    def outstanding(self) -> int:
        return self.sender.outstanding if self.sender else 0

    def _session(self, bind: str) -> Session:
        o = self.options
        return Session(
            o.host,
            o.port,
            system_id=o.system_id,
            password=self._password,
            system_type=o.system_type,
            bind=bind,
            window=o.window,
            response_timeout=o.response_timeout_seconds,
            enquire_link_seconds=o.enquire_link_seconds,
            on_deliver=self._on_deliver,
            tls=o.tls,
        )

    async def _supervise(self) -> None:
        failures = 0
        while not self._stopping:
            binds = ["transmitter", "receiver"] if self.options.bind == "split" else ["transceiver"]
            sessions = [self._session(bind) for bind in binds]
            try:
                for session in sessions:
                    self._sessions.append(session)  # closed by stop() even mid-bind
                    await session.open()
            except Exception as exc:  # refused, unreachable, TLS, or a bad option: retry
                failures += 1
                self.stats.fail(_describe(exc))
                log.warning(
                    "smpp bind failed; retrying",
                    connector=self.name,
                    slot=self.slot,
                    error=_describe(exc),
                    attempt=failures,
                )
                await self._close_all()
                await asyncio.sleep(backoff(failures))
                continue
            if self.stats.binds:
                self.stats.reconnects += 1
                SMPP_RECONNECTS.labels(self.name).inc()
            self.stats.binds += 1
            failures = 0
            self.sender = sessions[0]
            log.info("smpp bound", connector=self.name, slot=self.slot, binds=binds)
            waiters = [asyncio.ensure_future(s.closed.wait()) for s in sessions]
            try:
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
            self.sender = None
            if not self._stopping:
                self.stats.fail("connection lost")
                log.warning("smpp link lost; reconnecting", connector=self.name, slot=self.slot)
            await self._close_all()
            if not self._stopping:
                await asyncio.sleep(backoff(1))

    async def _close_all(self) -> None:
        sessions, self._sessions = self._sessions, []
        for session in sessions:
            with contextlib.suppress(Exception):
                await session.close()

    async def stop(self) -> None:
        """Unbind and close; what was in flight fails with ConnectionLost (and is requeued
        by its submit)."""
        self._stopping = True
        self.sender = None
        await stop_task(self._task)
        await self._close_all()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BindFailed):
        try:
            name = f"ESME_{Status(exc.status).name}"
        except ValueError:
            name = "bind refused"
        return f"{name} (0x{exc.status:08x})"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
