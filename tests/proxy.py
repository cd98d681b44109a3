"""A real HTTP proxy on 127.0.0.1 that can lose or replace answers, to test client retries."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int | None = None  # what the client was answered (None: the answer was lost)


@dataclass
class FaultProxy:
    """Forwards to `upstream`; for a request whose path starts with a planned prefix, the
    next planned fault applies: "drop" forwards it and then cuts the connection without
    answering (the response is lost after the server acted), an int answers that status
    without forwarding."""

    upstream: str
    plans: dict[str, deque[str | int]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None
    _http: aiohttp.ClientSession | None = None

    def plan(self, prefix: str, *faults: str | int) -> None:
        self.plans.setdefault(prefix, deque()).extend(faults)

    def to(self, prefix: str) -> list[Seen]:
        return [s for s in self.seen if s.path.startswith(prefix)]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        seen = Seen(request.method, request.path, dict(request.headers), body)
        self.seen.append(seen)
        fault = next(
            (q.popleft() for p, q in self.plans.items() if request.path.startswith(p) and q),
            None,
        )
        if isinstance(fault, int):
            seen.status = fault
            headers = {"Retry-After": "0"} if fault == 429 else None
            return web.Response(status=fault, text="injected by the test proxy", headers=headers)
        assert self._http is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        async with self._http.request(
            request.method, self.upstream + request.path_qs, data=body, headers=headers
        ) as answer:
            payload = await answer.read()
            if fault == "drop":
                assert request.transport is not None
                request.transport.abort()  # the server acted; its answer never arrives
                raise web.HTTPInternalServerError()
            seen.status = answer.status
            kept = {
                k: v
                for k, v in answer.headers.items()
                if k.lower() not in {"content-length", "transfer-encoding", "connection"}
            }
            return web.Response(status=answer.status, body=payload, headers=kept)

    async def start(self) -> FaultProxy:
        self._http = aiohttp.ClientSession(auto_decompress=False)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._http is not None:
            await self._http.close()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"
