"""The sandbox carrier over HTTP: simulate an inbound message, see what the carrier received."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from redcloud.deps import AppSettings, CurrentClient, ReadSession, WriteSession
from redcloud.errors import Forbidden, InvalidRequest, NotFound
from redcloud.inputs import E164_PATTERN, Text, present
from redcloud.messages import lifecycle
from redcloud.numbers.models import Number
from redcloud.phone import Rejection, normalize
from redcloud.providers.sandbox import captured
from redcloud.schemas import core_errors

router = APIRouter(prefix="/api/sandbox", tags=["Sandbox"])


class InboundRequest(BaseModel):
    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={"anyOf": present("text", "mediaUrl")},
    )

    from_: Text = Field(
        alias="from",
        min_length=2,
        max_length=16,
        examples=["+15005550006"],
        json_schema_extra={"pattern": E164_PATTERN},
    )
    to: Text = Field(min_length=2, max_length=16, examples=["+15551234567"])
    text: Text | None = Field(default=None, max_length=1600)
    mediaUrl: Text | None = Field(default=None, max_length=2048)


class InboundResult(BaseModel):
    messageId: str


class Captured(BaseModel):
    messageId: str
    attempt: int
    providerRef: str | None
    sendFrom: str
    to: str
    messageType: str
    text: str | None
    outcome: str
    receivedAt: str


class CapturedList(BaseModel):
    messages: list[Captured]


@router.post(
    "/inbound",
    summary="Simulate a customer's message to one of your numbers",
    response_model=InboundResult,
    status_code=202,
    responses=core_errors(403, 404),
)
async def simulate_inbound(
    body: InboundRequest, client: CurrentClient, session: WriteSession, settings: AppSettings
) -> InboundResult:
    sender = normalize(body.from_)
    if isinstance(sender, Rejection):
        raise InvalidRequest("from must be an E.164 number", {"field": "from"})
    if body.text is None and body.mediaUrl is None:
        raise InvalidRequest("Give text, mediaUrl, or both", {"field": "text"})
    number = await session.scalar(select(Number).where(Number.e164 == body.to))
    if number is None:
        raise NotFound(f"No number {body.to} on this platform", {"field": "to"})
    if number.api_client_id != client.id:
        raise Forbidden("to is not a number owned by this API client", {"field": "to"})
    media = [{"sourceUrl": body.mediaUrl}] if body.mediaUrl else None
    message = await lifecycle.receive_inbound(
        session,
        from_e164=sender,
        to_e164=body.to,
        text=body.text,
        media=media,
        revocation_opts_out=settings.optout_on_revocation_words,
    )
    return InboundResult(messageId=message.id)


@router.get(
    "/messages",
    summary="What the sandbox carrier received from your numbers, newest first",
    response_model=CapturedList,
    responses=core_errors(),
)
async def list_captured(
    client: CurrentClient,
    session: ReadSession,
    to: Annotated[Text | None, Query(max_length=16)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    rows = await captured(session, to=to, client_id=client.id, limit=limit)
    return {"messages": [captured_json(r) for r in rows]}


def captured_json(row: Any) -> dict[str, Any]:
    return {
        "messageId": row.message_id,
        "attempt": row.attempt,
        "providerRef": row.provider_ref,
        "sendFrom": row.from_e164,
        "to": row.to_e164,
        "messageType": row.message_type,
        "text": row.text,
        "outcome": row.outcome,
        "receivedAt": row.received_at.isoformat(),
    }
