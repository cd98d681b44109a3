"""Group commit for sends: the sends waiting in one process share one write transaction.

Each send is still decided on its own (`service.plan`: its idempotency record, its number,
its answer or its error), but the rows of every send in a batch go to the database as one
multi-row INSERT per table and one commit. A request is answered only after the commit
that made its rows durable, so a 202 means exactly what it meant with one transaction per
send. While a batch is being written the next one gathers, so a lone send waits for
nobody and a busy process commits far less often (bench/NOTES.md has the figures).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import structlog

from redcloud.db import Database
from redcloud.messages import service
from redcloud.messages.service import PlannedSend, PreparedSend, SendOutcome

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
        planned: list[tuple[_Waiting, PlannedSend]] = []
        refused: list[tuple[_Waiting, Exception]] = []
        failure: Exception | None = None
        try:
            async with self.db.transaction(write=True) as conn:
                for waiting in batch:
                    if waiting.answer.done():
                        continue  # its request went away before it was decided: no rows
                    try:
                        planned.append((waiting, await service.plan(conn, waiting.send)))
                    except Exception as exc:  # this send's own refusal: the rest go on
                        refused.append((waiting, exc))
                await service.write(conn, [p for _, p in planned])
        except Exception as exc:
            log.exception("a batch of sends could not be written", sends=len(batch))
            failure = exc
        except BaseException:  # cancelled at shutdown: nothing was committed
            for waiting in batch:
                _answer(waiting, RuntimeError("the platform is shutting down"))
            raise
        # Every answer, refusals included, waits until the batch's transaction has ended:
        # a request that has its answer holds nothing of the database any more. Refusals
        # keep their own answer; every other send gets the batch's failure, if it failed.
        for waiting, refusal in refused:
            _answer(waiting, refusal)
        for waiting, plan in planned:
            _answer(waiting, failure or plan.outcome)
        if failure is not None:
            for waiting in batch:  # those a failed connection or plan never reached
                _answer(waiting, failure)


def _answer(waiting: _Waiting, answer: SendOutcome | BaseException) -> None:
    if waiting.answer.done():
        return  # answered already, or its request went away
    if isinstance(answer, BaseException):
        waiting.answer.set_exception(answer)
    else:
        waiting.answer.set_result(answer)
