"""The client's behaviour, written once for the sync and async clients (sans-I/O).

A call is a generator that yields steps — fetch a token, send a request, sleep — and
receives their outcomes; `RedCloud` and `AsyncRedCloud` only carry the steps out. So the
token, retry and error rules below are the same code for both clients:

- a token is cached with its expiry and renewed ahead of it, and once more after a 401,
  after which the call is retried once; `invalid_client` is never retried;
- network errors, timeouts, 429 and 5xx are retried with exponential backoff (honouring
  `Retry-After`), with the same request — for a send, the same Idempotency-Key and body;
- any other 4xx is raised at once as its RedCloudError subclass.
"""

from __future__ import annotations

import base64
import random
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx

from redcloud_client._errors import APIConnectionError, error_from_response

T = TypeVar("T")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_BACKOFF = 8.0
MAX_RETRY_AFTER = 60.0


@dataclass(frozen=True)
class Call(Generic[T]):
    """One API operation: what to send and how to read a successful answer."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    json: Any = None
    params: Mapping[str, str] | None = None
    headers: Mapping[str, str] | None = None


@dataclass(frozen=True)
class NeedToken:
    """Give me a usable access token; `stale` is one the server just refused."""

    stale: str | None


@dataclass(frozen=True)
class Send:
    request: httpx.Request


@dataclass(frozen=True)
class Sleep:
    seconds: float


Step = NeedToken | Send | Sleep
Plan = Generator[Step, Any, T]


class TokenCache:
    """The current access token and when to stop using it (monotonic seconds)."""

    def __init__(self) -> None:
        self.token: str | None = None
        self.renew_at = 0.0

    def usable(self, stale: str | None) -> str | None:
        if self.token is None or self.token == stale or time.monotonic() >= self.renew_at:
            return None
        return self.token

    def store(self, token: str, expires_in: float, fetched_at: float) -> None:
        # Renew ahead of expiry: a tenth of the lifetime early, at most a minute.
        self.token = token
        self.renew_at = fetched_at + expires_in - min(60.0, expires_in / 10)


class Core:
    """Builds requests and runs the plans; holds no connection of its own."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        max_retries: int,
        user_agent: str,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        # RFC 6749 §2.3.1: each part is form-encoded before Basic; the server decodes them.
        pair = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"
        self._basic = base64.b64encode(pair.encode()).decode()
        self.max_retries = max_retries
        self.user_agent = user_agent
        self.tokens = TokenCache()

    def token_plan(self) -> Plan[str]:
        """Fetch a token by client credentials (HTTP Basic) and cache it."""
        request = httpx.Request(
            "POST",
            f"{self.base_url}/api/auth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {self._basic}", "User-Agent": self.user_agent},
        )
        fetched_at = time.monotonic()
        response = yield from self._exchange(lambda: request)
        if response.status_code != 200:
            raise error_from_response(response)  # invalid_client and friends: never retried
        body = response.json()
        self.tokens.store(body["access_token"], float(body["expires_in"]), fetched_at)
        return str(body["access_token"])

    def call_plan(self, call: Call[T]) -> Plan[T]:
        token: str = yield NeedToken(None)
        response = yield from self._exchange(lambda: self._request(call, token))
        if response.status_code == 401:
            token = yield NeedToken(token)  # the token was revoked or expired early: once
            response = yield from self._exchange(lambda: self._request(call, token))
        if response.is_success:
            return call.parse(response)
        raise error_from_response(response)

    def _request(self, call: Call[Any], token: str) -> httpx.Request:
        headers = {"Authorization": f"Bearer {token}", "User-Agent": self.user_agent}
        headers.update(call.headers or {})
        return httpx.Request(
            call.method,
            f"{self.base_url}{call.path}",
            json=call.json,
            params=call.params,
            headers=headers,
        )

    def _exchange(self, build: Callable[[], httpx.Request]) -> Plan[httpx.Response]:
        """Send until an answer that is not worth retrying, or the retries run out."""
        attempt = 0
        while True:
            outcome = yield Send(build())
            retries_left = attempt < self.max_retries
            if isinstance(outcome, httpx.TransportError):
                if not retries_left:
                    raise APIConnectionError(
                        f"{type(outcome).__name__}: {outcome} (after {attempt + 1} attempts)",
                        code="connection_error",
                    ) from outcome
                yield Sleep(backoff(attempt))
            elif outcome.status_code in RETRY_STATUSES and retries_left:
                yield Sleep(retry_after(outcome) or backoff(attempt))
            else:
                response: httpx.Response = outcome
                return response
            attempt += 1


def backoff(attempt: int) -> float:
    """0.25 s, 0.5 s, 1 s, ... up to 8 s, with jitter so clients do not retry in step."""
    ceiling: float = min(MAX_BACKOFF, 0.25 * 2.0**attempt)
    return random.uniform(0.5, 1.0) * ceiling


def retry_after(response: httpx.Response) -> float | None:
    try:
        seconds = float(response.headers.get("retry-after", ""))
    except ValueError:
        return None
    return min(MAX_RETRY_AFTER, max(0.0, seconds))
