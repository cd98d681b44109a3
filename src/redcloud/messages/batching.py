"""Group commit for sends: the sends waiting in one process share one write transaction.

Each send is still decided on its own (`service.plan`: its idempotency record, its number,
its answer or its error), but the rows of every send in a batch go to the database as one
multi-row INSERT per table and one commit. A request is answered only after the commit
that made its rows durable, so a 202 means exactly what it meant with one transaction per
send. While a batch is being written the next one gathers, so a lone send waits for
nobody and a busy process commits far less often (bench/NOTES.md has the figures).

A batch that cannot be written is split in halves until the send that spoils it stands
alone: that send gets the error, every other send is written and answered as if it had
had its own transaction. Only the contract's refusals are a send's own answer while it is
planned; any other exception spoils the batch and sends it through the split.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import structlog

from redcloud.db import Database
from redcloud.errors import CoreError
from redcloud.logs import safe_error
from redcloud.messages import service
from redcloud.messages.service import PlannedSend, PreparedSend, SendOutcome
from redcloud.metrics import record

log = structlog.get_logger("redcloud.sends")
MAX_BATCH = 64


@dataclass(slots=True)
class _Waiting:
    send: PreparedSend
    answer: asyncio.Future[SendOutcome]


class SendBatcher:
    """Writes the sends waiting in this process, a batch at a time. Its writer task lives
    while sends are waiting and ends when none are, so an idle process holds no task."""

    def __init__(self, db: Database, max_batch: int = MAX_BATCH) -> None:
        self.db = db
        self.max_batch = max_batch
        self._waiting: list[_Waiting] = []
        self._writer: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def send(self, send: PreparedSend) -> SendOutcome:
        """The send's answer once its rows are committed, or its error."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # an app served by a new event loop (tests do this)
            self._loop, self._writer, self._waiting = loop, None, []
        answer: asyncio.Future[SendOutcome] = loop.create_future()
        self._waiting.append(_Waiting(send, answer))
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._write_batches(), name="send-batcher")
        return await answer

    async def close(self) -> None:
        """Let a batch being written finish, so its requests get their answers."""
        writer = self._writer
        if writer is not None and not writer.done() and self._loop is asyncio.get_running_loop():
            await writer

    async def _write_batches(self) -> None:
        while self._waiting:
            batch = self._waiting[: self.max_batch]
            del self._waiting[: self.max_batch]
            await self._write(batch)

    async def _write(self, batch: list[_Waiting]) -> None:
        """Write a batch; if it cannot be written, find the send that spoils it by writing
        each half on its own, so that one send's fault is that send's answer alone."""
        failure, reached = await self._attempt(batch)
        if failure is None:
            return
        pending = [w for w in batch if not w.answer.done()]
        if len(pending) <= 1 or not reached:
            # One send left, or the database was never reached: the failure is theirs.
            for waiting in pending:
                _answer(waiting, failure)
            return
        middle = len(pending) // 2
        await self._write(pending[:middle])
        await self._write(pending[middle:])

    async def _attempt(self, batch: list[_Waiting]) -> tuple[Exception | None, bool]:
        """One transaction for the batch. Sends it refuses (the contract's refusals) are
        answered with their error, and if it commits every other send has its answer.
        Otherwise returns the failure, whether the database was reached, and leaves the
        sends it did not refuse unanswered and unwritten."""
        planned: list[tuple[_Waiting, PlannedSend]] = []
        refused: list[tuple[_Waiting, CoreError]] = []
        failure: Exception | None = None
        reached = False
        try:
            async with self.db.transaction(write=True) as conn:
                reached = True
                for waiting in batch:
                    if waiting.answer.done():
                        continue  # its request went away before it was decided: no rows
                    try:
                        planned.append((waiting, await service.plan(conn, waiting.send)))
                    except CoreError as exc:  # this send's own refusal: the rest go on
                        refused.append((waiting, exc))
                await service.write(conn, [p for _, p in planned])
        except Exception as exc:
            log.error(
                "a batch of sends could not be written",
                sends=len(batch),
                error=safe_error(exc),
            )
            failure = exc
        except BaseException:  # cancelled at shutdown: nothing was committed
            for waiting in batch:
                _answer(waiting, RuntimeError("the platform is shutting down"))
            raise
        # Every answer, refusals included, waits until the batch's transaction has ended:
        # a request that has its answer holds nothing of the database any more.
        for waiting, refusal in refused:
            if isinstance(refusal.details, dict):  # "no recipient could be accepted"
                record.suppressed(refusal.details.get("errors", []))
            _answer(waiting, refusal)
        if failure is None:
            for waiting, plan in planned:
                if not plan.outcome.replayed:
                    record.accepted((m["message_type"], m["text"]) for m in plan.messages)
                    record.suppressed(plan.outcome.body.get("errors", []))
                _answer(waiting, plan.outcome)
        return failure, reached


def _answer(waiting: _Waiting, answer: SendOutcome | BaseException) -> None:
    if waiting.answer.done():
        return  # answered already, or its request went away
    if isinstance(answer, BaseException):
        waiting.answer.set_exception(answer)
    else:
        waiting.answer.set_result(answer)
