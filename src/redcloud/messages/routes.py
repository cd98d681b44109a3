"""POST /api/core/messages/send, and reading messages back (an extension of the contract)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse

from redcloud.deps import CurrentClient, ReadSession, settings_of
from redcloud.inputs import IsoDateTime, Text
from redcloud.messages import idempotency, queries, service
from redcloud.messages.batching import SendBatcher
from redcloud.messages.schemas import (
    MessageDetail,
    MessagePage,
    MessageStatus,
    SendRequest,
    SendResponse,
)
from redcloud.schemas import core_errors

router = APIRouter(prefix="/api/core/messages", tags=["CORE"])

_KEY_PARAMETER: dict[str, Any] = {
    "parameters": [
        {
            "name": idempotency.HEADER,
            "in": "header",
            "required": True,
            "description": "Stable key for this business operation; 1-255 printable ASCII.",
            "schema": {
                "type": "string",
                "minLength": 1,
                "maxLength": 255,
                "pattern": "^[\\x20-\\x7E]+$",
            },
            "example": "idem_order_789",
        }
    ]
}
_SEND_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {
        "description": "Accepted: each accepted recipient is QUEUED. A replay carries "
        "`Idempotent-Replayed: true`.",
        "headers": {
            "Idempotent-Replayed": {
                "description": "Present (true) when this is a stored response replayed",
                "schema": {"type": "string", "enum": ["true"]},
            }
        },
    },
    **core_errors(403, 404, 409),
}


async def _key(request: Request) -> str:
    return idempotency.check_key(request.headers.get(idempotency.HEADER))


@router.post(
    "/send",
    summary="Queue an outbound message",
    status_code=202,
    response_model=SendResponse,
    responses=_SEND_RESPONSES,
    openapi_extra=_KEY_PARAMETER,
)
async def send_message(
    request: Request,
    client: CurrentClient,
    key: Annotated[str, Depends(_key)],
    body: SendRequest,
) -> JSONResponse:
    # The hot path: the app's state is read here, not through three more dependencies
    # (FastAPI spends tens of microseconds resolving each; bench/NOTES.md).
    prepared = service.prepare(client, key, body, settings_of(request))
    in_flight: idempotency.InFlightKeys = request.app.state.in_flight
    sends: SendBatcher = request.app.state.sends
    # The key is held until the send's batch has committed, so a twin request sees either
    # "in progress" or the stored response, never a half-finished one.
    async with in_flight.hold(client.id, key):
        outcome = await sends.send(prepared)
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    return JSONResponse(outcome.body, status_code=outcome.status, headers=headers)


@router.get(
    "",
    summary="List messages (newest first, filtered, cursor-paginated)",
    description="An extension of the CORE contract: look up messages by externalReference, "
    "status or creation time. Follow `nextCursor` until it is null.",
    response_model=MessagePage,
    responses=core_errors(),
)
async def list_messages(
    client: CurrentClient,
    session: ReadSession,
    externalReference: Annotated[Text | None, Query(max_length=255)] = None,  # noqa: N803
    status: Annotated[MessageStatus | None, Query()] = None,
    since: Annotated[IsoDateTime | None, Query(description="Created at or after")] = None,
    until: Annotated[IsoDateTime | None, Query(description="Created before")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[Text | None, Query(max_length=512)] = None,
) -> dict[str, Any]:
    return await queries.page(
        session,
        client.id,
        external_reference=externalReference,
        status=status,
        since=_aware(since),
        until=_aware(until),
        limit=limit,
        cursor=cursor,
    )


@router.get(
    "/{messageId}",
    summary="Get one message with its lifecycle events and webhook attempts",
    description="An extension of the CORE contract.",
    response_model=MessageDetail,
    responses=core_errors(404),
)
async def get_message(
    client: CurrentClient,
    session: ReadSession,
    messageId: Annotated[Text, Path(max_length=64, examples=["msg_abc123"])],  # noqa: N803
) -> dict[str, Any]:
    return await queries.detail(session, client.id, messageId)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)
