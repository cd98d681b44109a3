"""AsyncRedCloud: the asyncio client, the same surface as RedCloud with awaitables."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
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


class AsyncRedCloud:
    """The asyncio Red Cloud client: `await rc.messages.send(...)`. Share one per process."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        timeout: float = 30.0,
        max_retries: int = 3,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self._core = Core(
            base_url, client_id, client_secret, max_retries=max_retries, user_agent=USER_AGENT
        )
        self._http = http_client or httpx.AsyncClient(timeout=timeout)
        self._token_lock = asyncio.Lock()
        self.numbers = AsyncNumbers(self)
        self.messages = AsyncMessages(self)

    async def whoami(self) -> WhoAmI:
        """The API client these credentials belong to, its capabilities and numbers."""
        return await self._run(ops.whoami())

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _run(self, call: Call[T]) -> T:
        return await self._drive(self._core.call_plan(call))

    async def _drive(self, plan: Plan[T]) -> T:
        outcome: Any = None
        try:
            while True:
                step = plan.send(outcome)
                if isinstance(step, Send):
                    try:
                        outcome = await self._http.send(step.request)
                    except httpx.TransportError as exc:
                        outcome = exc
                elif isinstance(step, NeedToken):
                    outcome = await self._token(step.stale)
                else:
                    await asyncio.sleep(step.seconds)
                    outcome = None
        except StopIteration as done:
            result: T = done.value
            return result

    async def _token(self, stale: str | None) -> str:
        async with self._token_lock:  # one fetch at a time; the others reuse its token
            cached = self._core.tokens.usable(stale)
            return cached if cached is not None else await self._drive(self._core.token_plan())


class AsyncNumbers:
    def __init__(self, client: AsyncRedCloud) -> None:
        self._client = client

    async def list(self) -> list[Number]:
        """The numbers assigned to this API client."""
        return await self._client._run(ops.list_numbers())

    async def search(self, **filters: Unpack[ops.SearchFilters]) -> SearchResult:
        """Available numbers, grouped by exchange: `search(npa="512", state="TX")`."""
        return await self._client._run(ops.search_numbers(filters))

    async def update(self, number_id: str, **changes: Unpack[ops.NumberChanges]) -> Number:
        """Change a number's settings; `campaign_reg_id` is sent as `campaignregId`."""
        return await self._client._run(ops.update_number(number_id, changes))


class AsyncMessages:
    def __init__(self, client: AsyncRedCloud) -> None:
        self._client = client

    async def send(
        self,
        send_from: str,
        to: str | Sequence[str],
        message_type: ops.MessageType,
        **options: Unpack[ops.SendOptions],
    ) -> SendResult:
        """Queue a message; retried with the same Idempotency-Key, so it is sent once."""
        return await self._client._run(ops.send_message(send_from, to, message_type, options))

    async def get(self, message_id: str) -> Message:
        """One message with its lifecycle events and their webhook status."""
        return await self._client._run(ops.get_message(message_id))

    async def list(
        self, *, cursor: str | None = None, **filters: Unpack[ops.MessageFilters]
    ) -> MessagePage:
        """One page of messages, newest first; pass `next_cursor` back for the next."""
        return await self._client._run(ops.list_messages(filters, cursor))

    async def iter(self, **filters: Unpack[ops.MessageFilters]) -> AsyncIterator[MessageSummary]:
        """Every matching message, following the cursor page by page."""
        cursor: str | None = None
        while True:
            page = await self.list(cursor=cursor, **filters)
            for message in page.messages:
                yield message
            if page.next_cursor is None:
                return
            cursor = page.next_cursor
