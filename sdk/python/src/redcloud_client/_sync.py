"""RedCloud: the blocking client."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any, Self, TypeVar, Unpack

import httpx

from redcloud_client import _operations as ops
from redcloud_client._core import Call, Core, NeedToken, Plan, Send
from redcloud_client._models import (
    Message,
    MessagePage,
    MessageSummary,
    Number,
    SearchResult,
    SendResult,
    WhoAmI,
)
from redcloud_client._version import USER_AGENT

T = TypeVar("T")


class RedCloud:
    """A Red Cloud CORE API client that caches its token and retries safely.

    >>> rc = RedCloud("http://127.0.0.1:8080", "rc_test_client_123", "rc_secret_abc123")
    >>> rc.whoami().api_client_id
    'rc_test_client_123'
    """

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        timeout: float = 30.0,
        max_retries: int = 3,
        http_client: httpx.Client | None = None,
    ) -> None:
        self._core = Core(
            base_url, client_id, client_secret, max_retries=max_retries, user_agent=USER_AGENT
        )
        self._http = http_client or httpx.Client(timeout=timeout)
        self._token_lock = threading.Lock()
        self.numbers = Numbers(self)
        self.messages = Messages(self)

    def whoami(self) -> WhoAmI:
        """The API client these credentials belong to, its capabilities and numbers."""
        return self._run(ops.whoami())

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, call: Call[T]) -> T:
        return self._drive(self._core.call_plan(call))

    def _drive(self, plan: Plan[T]) -> T:
        outcome: Any = None
        try:
            while True:
                step = plan.send(outcome)
                if isinstance(step, Send):
                    try:
                        outcome = self._http.send(step.request)
                    except httpx.TransportError as exc:
                        outcome = exc
                elif isinstance(step, NeedToken):
                    outcome = self._token(step.stale)
                else:
                    time.sleep(step.seconds)
                    outcome = None
        except StopIteration as done:
            result: T = done.value
            return result

    def _token(self, stale: str | None) -> str:
        with self._token_lock:  # one fetch at a time; the others reuse its token
            cached = self._core.tokens.usable(stale)
            return cached if cached is not None else self._drive(self._core.token_plan())


class Numbers:
    def __init__(self, client: RedCloud) -> None:
        self._client = client

    def list(self) -> list[Number]:
        """The numbers assigned to this API client."""
        return self._client._run(ops.list_numbers())

    def search(self, **filters: Unpack[ops.SearchFilters]) -> SearchResult:
        """Available numbers, grouped by exchange: `search(npa="512", state="TX")`."""
        return self._client._run(ops.search_numbers(filters))

    def update(self, number_id: str, **changes: Unpack[ops.NumberChanges]) -> Number:
        """Change a number's settings; `campaign_reg_id` is sent as `campaignregId`."""
        return self._client._run(ops.update_number(number_id, changes))


class Messages:
    def __init__(self, client: RedCloud) -> None:
        self._client = client

    def send(
        self,
        send_from: str,
        to: str | Sequence[str],
        message_type: ops.MessageType,
        **options: Unpack[ops.SendOptions],
    ) -> SendResult:
        """Queue a message; retried with the same Idempotency-Key, so it is sent once."""
        return self._client._run(ops.send_message(send_from, to, message_type, options))

    def get(self, message_id: str) -> Message:
        """One message with its lifecycle events and their webhook status."""
        return self._client._run(ops.get_message(message_id))

    def list(
        self, *, cursor: str | None = None, **filters: Unpack[ops.MessageFilters]
    ) -> MessagePage:
        """One page of messages, newest first; pass `next_cursor` back for the next."""
        return self._client._run(ops.list_messages(filters, cursor))

    def iter(self, **filters: Unpack[ops.MessageFilters]) -> Iterator[MessageSummary]:
        """Every matching message, following the cursor page by page."""
        cursor: str | None = None
        while True:
            page = self.list(cursor=cursor, **filters)
            yield from page.messages
            if page.next_cursor is None:
                return
            cursor = page.next_cursor
