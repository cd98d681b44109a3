"""The Provider protocol: how the platform talks to a carrier.

Outbound, `submit` hands a message over and returns the carrier's reference or a
classified error. Inbound and delivery reports come back through one entry point,
`redcloud.messages.lifecycle` (`delivery_report` and `receive_inbound`), whatever the
carrier's transport. Submits are keyed by our messageId so that a carrier which supports
idempotent submission never sends a message twice when a worker retries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

Recorder = Callable[[AsyncConnection], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    message_id: str
    send_from: str
    to: str
    message_type: str
    text: str | None
    media: list[dict[str, Any]] | None
    accepted_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Accepted:
    """The carrier took the message. `record`, if given, runs in the transaction that marks
    the message sent (an adapter keeps its own references there, such as part ids)."""

    provider_ref: str
    record: Recorder | None = None


@dataclass(frozen=True, slots=True)
class Rejected:
    """The carrier refused the submit; `retryable` says whether trying again can help."""

    code: str
    message: str
    retryable: bool


@dataclass(frozen=True, slots=True)
class Deferred:
    """The carrier asked us to wait (throttled, queue full) or no link is up: try again
    after `delay` seconds. Never a failure; the message's validity bounds the waiting."""

    reason: str
    delay: float


SubmitResult = Accepted | Rejected | Deferred


class Provider(Protocol):
    """A carrier adapter. Adapters that hold connections open them in `start` and close
    them in `stop`; the registry calls both as connectors come and go."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def health(self) -> dict[str, object]:
        """Live state for operators: up or down, counters, the last error."""
        ...

    async def submit(self, message: OutboundMessage) -> SubmitResult: ...
