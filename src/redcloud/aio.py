"""Stopping background tasks without swallowing the stopper's own cancellation."""

from __future__ import annotations

import asyncio


async def stop_task(task: asyncio.Task[None] | None, timeout: float = 5.0) -> None:
    """Cancel `task` and wait (at most `timeout` seconds) for it to end.

    `with suppress(CancelledError): await task` would also swallow a cancellation aimed at
    the caller while it waits, and a loop that swallowed one never stops; asyncio.wait
    neither raises the task's outcome nor hides the caller's."""
    if task is None or task.done():
        return
    task.cancel()
    await asyncio.wait({task}, timeout=timeout)
