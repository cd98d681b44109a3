"""The worker: claim due jobs in batches, run them with bounded concurrency, retry by policy.

A handler is an idempotent shell around plain functions: it checks state first, so running
a job twice (after a crash, a lost lease) does no harm. It raises RetryLater to be run again
after a delay; any other exception is a bug or an outage, retried with backoff until
MAX_ATTEMPTS, then parked as failed for an operator to see.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Awaitable, Callable, Mapping

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from redcloud import tracing
from redcloud.db import Database, utcnow
from redcloud.jobs import claim as q
from redcloud.jobs.claim import ClaimedJob
from redcloud.jobs.wakeup import PostgresListener

log = structlog.get_logger("redcloud.worker")
MAX_ATTEMPTS = 10
RECORD_TRIES = 5  # attempts to write a job's outcome before leaving it to its lease
Handler = Callable[[ClaimedJob], Awaitable[None]]
# Runs in the transaction that parks a job for good, so the job's subject reaches its own
# end state (a message fails) exactly when the job stops being tried.
GiveUp = Callable[[AsyncConnection, ClaimedJob, str], Awaitable[None]]


class RetryLater(Exception):
    """Run this job again after `delay` seconds (a planned retry, not an error)."""

    def __init__(self, delay: float, reason: str = "") -> None:
        super().__init__(reason)
        self.delay = delay
        self.reason = reason


def backoff(attempts: int) -> float:
    return float(min(2**attempts, 300))


class Worker:
    def __init__(
        self,
        db: Database,
        handlers: Mapping[str, Handler],
        *,
        concurrency: int = 64,
        poll_seconds: float = 1.0,
        lease_seconds: float = 60.0,
        name: str | None = None,
        give_up: Mapping[str, GiveUp] | None = None,
    ) -> None:
        self.db = db
        self.handlers = dict(handlers)
        self.give_up = dict(give_up or {})
        self.concurrency = concurrency
        self.poll_seconds = poll_seconds
        self.lease_seconds = lease_seconds
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._kick = asyncio.Event()
        self._running: dict[asyncio.Task[None], int] = {}
        # Jobs that succeeded, deleted in the next claim's transaction: one write instead of
        # one per job. Until then a crash only means they run again, which handlers allow.
        self._finished: list[int] = []
        self.completed = 0

    async def run(self, stop: asyncio.Event, grace_seconds: float = 30.0) -> None:
        """Work until `stop` is set, then finish in-flight jobs (or hand them back)."""
        self.db.wakeups.add(self._kick)
        listener = PostgresListener(self.db.url, self._kick) if not self.db.is_sqlite else None
        if listener:
            await listener.start()
        log.info("worker started", worker=self.name, concurrency=self.concurrency)
        heartbeat = asyncio.create_task(self._heartbeat())
        try:
            while not stop.is_set():
                # Cleared before the claim, never after: a wake-up that arrives while the
                # claim or the idle check is awaiting the database must survive until the
                # idle wait, or the new job waits a whole poll interval (a PostgreSQL p99
                # of 1.5 s at low load, bench/NOTES.md).
                self._kick.clear()
                try:
                    claimed = await self._claim_some()
                except Exception:
                    log.exception("claim failed; retrying", worker=self.name)
                    claimed = 0
                if claimed and len(self._running) < self.concurrency:
                    continue  # a full batch: more may be waiting
                await self._idle(stop)
        finally:
            heartbeat.cancel()
            self.db.wakeups.discard(self._kick)
            if listener:
                await listener.stop()
            await self._drain(grace_seconds)
            finished, self._finished = self._finished, []
            try:
                await self._record(lambda conn: q.finish(conn, finished, self.name))
            except Exception:  # they run again once their leases run out; handlers allow it
                log.exception("could not delete finished jobs", count=len(finished))
            log.info("worker stopped", worker=self.name, completed=self.completed)

    async def _heartbeat(self) -> None:
        """Renew the leases of running jobs every third of a lease, so a job that is slow
        (a slow webhook endpoint, a busy database) is never taken over while its worker
        lives; a dead worker stops renewing and its jobs run again once the lease is out."""
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            running = list(self._running.values())
            if not running:
                continue
            try:
                async with self.db.transaction(write=True) as conn:
                    await q.extend_leases(conn, running, self.name, self.lease_seconds)
            except Exception:
                log.exception("lease renewal failed; retrying", worker=self.name)

    async def _claim_some(self) -> int:
        free = self.concurrency - len(self._running)
        finished, self._finished = self._finished, []
        if free <= 0 and not finished:
            return 0
        try:
            async with self.db.transaction(write=True) as conn:
                await q.finish(conn, finished, self.name)
                jobs = await q.claim(conn, self.name, free, self.lease_seconds) if free else []
        except BaseException:
            self._finished[:0] = finished  # not recorded: with the next claim, then
            raise
        for job in jobs:
            task = asyncio.create_task(self._execute(job))
            self._running[task] = job.id
            task.add_done_callback(self._done)
        return len(jobs)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._running.pop(task, None)
        self._kick.set()

    async def _idle(self, stop: asyncio.Event) -> None:
        timeout = self.poll_seconds
        if len(self._running) < self.concurrency:
            with contextlib.suppress(Exception):
                async with self.db.lone_read() as conn:
                    due = await q.next_due(conn)
                if due is not None:
                    timeout = max(0.005, min(timeout, (due - utcnow()).total_seconds()))
        stopper = asyncio.ensure_future(stop.wait())
        kicker = asyncio.ensure_future(self._kick.wait())
        await asyncio.wait({stopper, kicker}, timeout=timeout, return_when="FIRST_COMPLETED")
        stopper.cancel()
        kicker.cancel()

    async def _execute(self, job: ClaimedJob) -> None:
        handler = self.handlers.get(job.kind)
        # Each job runs in a task of its own: what is bound here is this job's log context,
        # and the request id is carried into the jobs it enqueues (redcloud.logs.bound).
        structlog.contextvars.bind_contextvars(
            job_id=job.id,
            job_kind=job.kind,
            **{
                name: job.payload[key]
                for name, key in (("message_id", "messageId"), ("request_id", "requestId"))
                if job.payload.get(key)
            },
        )
        try:
            if handler is None:
                raise LookupError(f"no handler for job kind {job.kind!r}")
            parent = job.payload.get("traceparent")  # the span that queued it, if traced
            with tracing.span(
                job.kind, parent=parent, job_id=job.id, attempt=job.attempts, worker=self.name
            ):
                await handler(job)
        except asyncio.CancelledError:
            raise
        except RetryLater as retry:
            await self._settle(job, retry.delay, retry.reason or "retry requested")
            return
        except Exception as exc:
            give_up = job.attempts >= MAX_ATTEMPTS
            log.exception("job failed", job=job.id, kind=job.kind, attempts=job.attempts)
            await self._settle(job, backoff(job.attempts), repr(exc), give_up=give_up)
            return
        self._finished.append(job.id)
        self.completed += 1

    async def _settle(
        self, job: ClaimedJob, delay: float, error: str, *, give_up: bool = False
    ) -> None:
        hook = self.give_up.get(job.kind) if give_up else None

        async def write(conn: AsyncConnection) -> None:
            await q.reschedule(conn, job.id, self.name, delay, error, give_up=give_up)
            if hook is not None:
                await hook(conn, job, error)

        await self._record(write)

    async def _record(self, write: Callable[[AsyncConnection], Awaitable[None]]) -> None:
        """Write a job's outcome, retrying a busy or briefly unreachable database: a lost
        outcome would make the job run again once its lease runs out."""
        for attempt in range(RECORD_TRIES):
            try:
                async with self.db.transaction(write=True) as conn:
                    await write(conn)
                return
            except Exception:
                if attempt == RECORD_TRIES - 1:
                    raise
                log.warning("recording a job outcome failed; retrying", attempt=attempt + 1)
                await asyncio.sleep(0.1 * 2**attempt)

    async def _drain(self, grace_seconds: float) -> None:
        if not self._running:
            return
        _, pending = await asyncio.wait(set(self._running), timeout=grace_seconds)
        unfinished = [self._running[t] for t in pending]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if unfinished:
            async with self.db.transaction(write=True) as conn:
                await q.release(conn, unfinished, self.name)
            log.info("released unfinished jobs", count=len(unfinished))
