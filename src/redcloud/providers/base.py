"""The Provider protocol: how the platform talks to a carrier.

Outbound, `submit` hands a message over and returns the carrier's reference or a
classified error. Inbound and delivery reports come back through one entry point,
`redcloud.messages.lifecycle` (`delivery_report` and `receive_inbound`), whatever the
carrier's transport. Submits are keyed by our messageId so that a carrier which supports
idempotent submission never sends a message twice when a worker retries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    message_id: str
    send_from: str
    to: str
    message_type: str
    text: str | None
    media: list[dict[str, Any]] | None


@dataclass(frozen=True, slots=True)
class Accepted:
    provider_ref: str


@dataclass(frozen=True, slots=True)
class Rejected:
    """The carrier refused the submit; `retryable` says whether trying again can help."""

    code: str
    message: str
    retryable: bool


SubmitResult = Accepted | Rejected


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
