"""Run the test SMSC (tests/smsc/smsc.js, on the npm `smpp` package) as a real process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
Event = dict[str, Any]


class Smsc:
    def __init__(self, **config: Any) -> None:
        self.config = config
        self.events: list[Event] = []
        self.port = 0
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._changed = asyncio.Condition()

    async def start(self) -> Smsc:
        node = shutil.which("node")
        assert node, "Node.js is needed for the test SMSC"
        assert (HERE / "node_modules" / "smpp").is_dir(), "run npm ci in tests/smsc"
        self._process = await asyncio.create_subprocess_exec(
            node,
            str(HERE / "smsc.js"),
            json.dumps(self.config),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        self._reader = asyncio.create_task(self._read())
        listening = await self.wait_for(lambda e: e["event"] == "listening")
        self.port = int(listening["port"])
        return self

    async def _read(self) -> None:
        assert self._process is not None
        assert self._process.stdout is not None
        async for line in self._process.stdout:
            async with self._changed:
                self.events.append(json.loads(line))
                self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[Event], bool], timeout: float = 10) -> Event:
        """The first event (seen already or to come) that satisfies `predicate`."""

        def found() -> Event | None:
            return next((e for e in self.events if predicate(e)), None)

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: found() is not None), timeout)
        event = found()
        assert event is not None
        return event

    async def stats(self) -> Event:
        """The SMSC's counters now: submits, receipts, sessions bound and the most at once."""
        asked = len(self.of("stats"))
        await self.command(cmd="stats")
        return await self.wait_for(
            lambda e: e["event"] == "stats" and len(self.of("stats")) > asked
        )

    def of(self, kind: str) -> list[Event]:
        return [e for e in self.events if e["event"] == kind]

    async def command(self, **command: Any) -> None:
        assert self._process is not None
        assert self._process.stdin is not None
        self._process.stdin.write((json.dumps(command) + "\n").encode())
        await self._process.stdin.drain()

    async def stop(self) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.terminate()
            await self._process.wait()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
