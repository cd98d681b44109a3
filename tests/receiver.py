"""A real webhook receiver on 127.0.0.1 that verifies signatures the way the docs say to.

The recipe (as in the public Node.js and Python snippets): HMAC-SHA256 over
`timestamp + "." + rawBody` with the signing secret, lower-case hex, compared in constant
time against X-RedCloud-Signature.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


def verify_like_the_docs(secret: str, timestamp: str, raw_body: bytes, signature: str) -> bool:
    expected = hmac.new(
        secret.encode("utf-8"), f"{timestamp}.".encode() + raw_body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, signature)


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    raw: bytes
    verified: bool | None

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.raw)
        return parsed


@dataclass
class Receiver:
    secret: str | None = "rc_webhook_secret_demo"
    fail_first: int = 0  # answer 500 to this many requests first
    status: int = 200
    deliveries: list[Delivery] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None
    port: int = 0

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        headers = dict(request.headers)
        verified = None
        if self.secret is not None and "X-RedCloud-Signature" in request.headers:
            verified = verify_like_the_docs(
                self.secret,
                request.headers["X-RedCloud-Timestamp"],
                raw,
                request.headers["X-RedCloud-Signature"],
            )
        self.deliveries.append(Delivery(request.path, headers, raw, verified))
        self.arrived.set()
        if self.fail_first > 0:
            self.fail_first -= 1
            return web.Response(status=500, text="not today")
        return web.Response(status=self.status, text="ok")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self, path: str = "/hooks") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def events(self) -> list[dict[str, Any]]:
        return [d.event for d in self.deliveries]

    def of(self, message_id: str) -> list[dict[str, Any]]:
        return [e for e in self.events() if e["messageId"] == message_id]

    async def wait_for(self, predicate: Any, timeout: float = 15.0) -> None:
        """Wait until predicate(self) is true, or fail after `timeout` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate(self):
            remaining = deadline - loop.time()
            if remaining <= 0:
                seen = [(e["eventType"], e["messageId"]) for e in self.events()]
                raise AssertionError(f"timed out; received {seen}")
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), min(remaining, 0.25))
