"""POSTing webhooks: pooled aiohttp, a timeout, no redirects, and an SSRF guard."""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from redcloud import __version__
from redcloud.urls import is_documentation_host, is_internal_address, is_internal_host

USER_AGENT = f"RedCloud-Webhooks/{__version__}"


@dataclass(frozen=True, slots=True)
class AttemptResult:
    ok: bool
    status_code: int | None
    latency_ms: int
    error: str | None
    response_excerpt: str | None


class BlockedDestination(OSError):
    """The destination resolves only to addresses the operator has not allowed."""


class GuardedResolver(AbstractResolver):
    """Resolves names, then drops every answer that is not a public address."""

    def __init__(self, allow_private: bool) -> None:
        self._inner = DefaultResolver()
        self._allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self._inner.resolve(host, port, family)
        if self._allow_private:
            return answers
        public = [a for a in answers if not is_internal_address(ipaddress.ip_address(a["host"]))]
        if not public:
            raise BlockedDestination(f"{host} resolves only to internal addresses")
        return public

    async def close(self) -> None:
        await self._inner.close()


class WebhookSender:
    """One pooled HTTP client per worker process."""

    def __init__(self, *, timeout_seconds: float, allow_private: bool) -> None:
        self.timeout_seconds = timeout_seconds
        self.allow_private = allow_private
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=256,
                limit_per_host=64,
                resolver=GuardedResolver(self.allow_private),
                ttl_dns_cache=60,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self.timeout_seconds),
                headers={"User-Agent": USER_AGENT},
            )
        return self._session

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> AttemptResult:
        started = time.perf_counter()
        host = urlsplit(url).hostname or ""
        if is_documentation_host(host):
            return _failed(
                started,
                f"{host} is reserved for documentation and never receives webhooks; "
                "set this webhook to your own endpoint",
            )
        if not self.allow_private and is_internal_host(host):
            return _failed(started, "destination is not a public host (internal address or name)")
        try:
            async with self._client().post(
                url, data=body, headers=headers, allow_redirects=False
            ) as response:
                excerpt = (await response.content.read(500)).decode("utf-8", "replace")
                ok = 200 <= response.status < 300
                return AttemptResult(
                    ok=ok,
                    status_code=response.status,
                    latency_ms=_ms(started),
                    error=None if ok else f"HTTP {response.status}",
                    response_excerpt=excerpt or None,
                )
        except TimeoutError:
            return _failed(started, f"no response within {self.timeout_seconds:g} s")
        except BlockedDestination as exc:
            return _failed(started, str(exc))
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            return _failed(started, f"{type(exc).__name__}: {exc}"[:500])

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def _failed(started: float, error: str) -> AttemptResult:
    return AttemptResult(False, None, _ms(started), error, None)
