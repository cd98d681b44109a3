"""The API's operations as Calls: paths, the contract's spellings, and result types.

Shared by the sync and async clients, so both send exactly the same requests.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Required, TypedDict
from urllib.parse import quote

import httpx

from redcloud_client._core import Call
from redcloud_client._models import (
    Message,
    MessagePage,
    Number,
    SearchResult,
    SendResult,
    WhoAmI,
    _camel,
    decode,
)

MessageType = Literal["SMS", "MMS"]


class SearchFilters(TypedDict, total=False):
    """At least one filter is required by the server; `quantity` is 1–250 (default 250)."""

    npa: str
    nxx: str
    city: str
    state: str
    zip_code: str
    rate_center: str
    quantity: int


class NumberChanges(TypedDict, total=False):
    """Only the fields you pass change; None clears a nullable one."""

    campaign_reg_id: str | None
    sms_enabled: bool
    mms_enabled: bool
    webhook_inbound_override: str | None
    webhook_delivery_override: str | None


class SendOptions(TypedDict, total=False):
    """`external_reference` is required; `text` for SMS, `media` (and optional text) for MMS.
    Without `idempotency_key` one is generated for the call."""

    external_reference: Required[str]
    text: str | None
    media: Sequence[Mapping[str, Any]] | None
    idempotency_key: str | None


class MessageFilters(TypedDict, total=False):
    external_reference: str
    status: Literal["queued", "sent", "delivered", "failed", "received"]
    since: dt.datetime
    until: dt.datetime
    limit: int


# The request spelling of the campaign field has a lower-case r (the contract's, verbatim).
_REQUEST_NAMES = {"campaign_reg_id": "campaignregId"}


def _json_of(response: httpx.Response) -> Any:
    return response.json()


def whoami() -> Call[WhoAmI]:
    return Call("GET", "/api/core/whoami", lambda r: decode(WhoAmI, _json_of(r)))


def list_numbers() -> Call[list[Number]]:
    return Call(
        "GET",
        "/api/core/numbers",
        lambda r: [decode(Number, item) for item in _json_of(r)["numbers"]],
    )


def search_numbers(filters: SearchFilters) -> Call[SearchResult]:
    body = {_camel(name): value for name, value in filters.items() if value is not None}
    return Call(
        "POST",
        "/api/core/numbers/search",
        lambda r: decode(SearchResult, _json_of(r)),
        json=body,
    )


def update_number(number_id: str, changes: NumberChanges) -> Call[Number]:
    if not changes:
        raise ValueError("numbers.update needs at least one change")
    body = {_REQUEST_NAMES.get(name, _camel(name)): value for name, value in changes.items()}
    return Call(
        "PATCH",
        f"/api/core/numbers/{quote(number_id, safe='')}",
        lambda r: decode(Number, _json_of(r)),
        json=body,
    )


def send_message(
    send_from: str,
    to: str | Sequence[str],
    message_type: MessageType,
    options: SendOptions,
) -> Call[SendResult]:
    """One key per call (generated unless given), reused by every retry of that call."""
    key = options.get("idempotency_key") or f"rc-sdk-{uuid.uuid4()}"
    body: dict[str, Any] = {
        "sendFrom": send_from,
        "to": [to] if isinstance(to, str) else list(to),
        "messageType": message_type,
        "externalReference": options["external_reference"],
    }
    if (text := options.get("text")) is not None:
        body["text"] = text
    if (media := options.get("media")) is not None:
        body["media"] = [{_camel(k): v for k, v in item.items()} for item in media]

    def parse(response: httpx.Response) -> SendResult:
        return dataclasses.replace(
            decode(SendResult, _json_of(response)),
            idempotency_key=key,
            replayed=response.headers.get("idempotent-replayed") == "true",
            request_id=response.headers.get("x-request-id"),
        )

    return Call(
        "POST", "/api/core/messages/send", parse, json=body, headers={"Idempotency-Key": key}
    )


def get_message(message_id: str) -> Call[Message]:
    return Call(
        "GET",
        f"/api/core/messages/{quote(message_id, safe='')}",
        lambda r: decode(Message, _json_of(r)),
    )


def list_messages(filters: MessageFilters, cursor: str | None) -> Call[MessagePage]:
    params: dict[str, str] = {}
    for name, value in filters.items():
        if value is not None:
            text = value.isoformat() if isinstance(value, dt.datetime) else str(value)
            params[_camel(name)] = text
    if cursor:
        params["cursor"] = cursor
    return Call(
        "GET", "/api/core/messages", lambda r: decode(MessagePage, _json_of(r)), params=params
    )
