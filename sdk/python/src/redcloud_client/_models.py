"""Typed results: snake_case attributes over the contract's camelCase JSON, raw JSON kept.

Each model is a frozen dataclass decoded field by field: `api_client_id` reads
`apiClientId`, unless the field names its JSON key in metadata (`from_` reads `from`).
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

M = TypeVar("M")


def _camel(name: str) -> str:
    head, *rest = name.rstrip("_").split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def decode(cls: type[M], data: Mapping[str, Any]) -> M:
    """Build `cls` from its JSON object; `raw` receives the object itself. A key the model
    requires must be present (null is fine where the type allows it)."""
    hints = get_type_hints(cls)
    values: dict[str, Any] = {}
    for spec in dataclasses.fields(cls):  # type: ignore[arg-type]
        if spec.name == "raw":
            values["raw"] = dict(data)
        elif not spec.metadata.get("local"):
            key = spec.metadata.get("json", _camel(spec.name))
            if key in data:
                values[spec.name] = _convert(hints[spec.name], data[key])
            elif spec.default is dataclasses.MISSING:
                raise ValueError(f"{cls.__name__} needs {key!r}, which is missing")
    return cls(**values)


def _convert(kind: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = get_origin(kind)
    if origin in (Union, types.UnionType):
        (inner,) = [arg for arg in get_args(kind) if arg is not type(None)]
        return _convert(inner, value)
    if origin is list:
        (inner,) = get_args(kind)
        return [_convert(inner, item) for item in value]
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        return decode(kind, value)
    return value


def _raw() -> Any:
    return field(default_factory=dict, repr=False, compare=False)


def _local(default: Any) -> Any:
    """A field the client fills in itself (from headers), not read from the JSON body."""
    return field(default=default, metadata={"local": True})


@dataclass(frozen=True, kw_only=True)
class AssignedNumbers:
    total: int
    sms_enabled_count: int
    mms_enabled_count: int


@dataclass(frozen=True, kw_only=True)
class WhoAmI:
    api_client_id: str
    api_client_name: str
    api_client_status: str
    capabilities: list[str]
    assigned_numbers: AssignedNumbers
    inbound_webhook_configured: bool
    delivery_webhook_configured: bool
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True, kw_only=True)
class Number:
    number_id: str
    e164: str
    status: str
    campaign_reg_id: str | None
    sms_enabled: bool
    mms_enabled: bool
    webhook_inbound_override: str | None
    webhook_delivery_override: str | None
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True, kw_only=True)
class AvailableNumber:
    e164: str
    npa: str
    nxx: str
    rate_center: str
    city: str
    state: str


@dataclass(frozen=True, kw_only=True)
class SearchGroup:
    npa: str
    nxx: str
    rate_center: str
    city: str
    state: str
    count: int
    numbers: list[AvailableNumber]


@dataclass(frozen=True, kw_only=True)
class SearchResult:
    groups: list[SearchGroup]
    provider_result_count: int
    requested_quantity: int
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True, kw_only=True)
class ErrorInfo:
    code: str
    message: str | None
    details: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class QueuedMessage:
    to: str
    message_id: str
    status: str


@dataclass(frozen=True, kw_only=True)
class RecipientError:
    to: str
    error: ErrorInfo


@dataclass(frozen=True, kw_only=True)
class SendResult:
    """The 202 answer: one entry per accepted recipient, one per refused recipient."""

    results: list[QueuedMessage]
    errors: list[RecipientError]
    idempotency_key: str = _local("")
    replayed: bool = _local(False)
    request_id: str | None = _local(None)
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True, kw_only=True)
class LastAttempt:
    at: str
    url: str | None
    status_code: int | None
    latency_ms: int | None
    error: str | None


@dataclass(frozen=True, kw_only=True)
class WebhookStatus:
    status: str
    attempts: int
    delivered_at: str | None
    last_attempt: LastAttempt | None


@dataclass(frozen=True, kw_only=True)
class LifecycleEvent:
    event_id: str
    event_type: str
    sequence: int
    occurred_at: int
    webhook: WebhookStatus


@dataclass(frozen=True, kw_only=True)
class MessageSummary:
    message_id: str
    direction: str
    status: str
    message_type: str
    send_from: str
    to: str
    number_id: str
    external_reference: str | None
    provider_message_ref: str | None
    error: ErrorInfo | None
    created_at: str
    updated_at: str
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True, kw_only=True)
class Message(MessageSummary):
    """One message with its text, media and lifecycle events (`messages.get`)."""

    text: str | None
    media: list[dict[str, Any]] | None
    events: list[LifecycleEvent]


@dataclass(frozen=True, kw_only=True)
class MessagePage:
    messages: list[MessageSummary]
    next_cursor: str | None
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True, kw_only=True)
class OutboundEventData:
    message_id: str
    external_reference: str | None
    send_from: str
    to: str
    status: str
    error: ErrorInfo | None
    provider_message_ref: str | None = None


@dataclass(frozen=True, kw_only=True)
class InboundEventData:
    message_id: str
    from_: str = field(metadata={"json": "from"})
    to: str
    number_id: str
    message_type: str
    text: str | None
    media: list[dict[str, Any]] | None


@dataclass(frozen=True, kw_only=True)
class _Event:
    event_type: str
    direction: str
    occurred_at: int
    api_client_id: str
    message_id: str
    sequence: int
    event_id: str = _local("")
    timestamp: int = _local(0)
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True, kw_only=True)
class OutboundEvent(_Event):
    """message.queued, message.sent, message.delivery or message.failed."""

    data: OutboundEventData


@dataclass(frozen=True, kw_only=True)
class InboundEvent(_Event):
    """message.inbound: a customer's message to one of your numbers."""

    data: InboundEventData
