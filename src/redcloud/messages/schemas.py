"""Send request and response schemas, spelled exactly as the contract spells them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from redcloud.inputs import (
    MEDIA_URL_PATTERN,
    NUMBER_ID_PATTERN,
    JsonInt,
    Text,
    present,
)
from redcloud.schemas import ErrorDetail

MAX_RECIPIENTS = 100
MAX_TEXT = 1600
MAX_MEDIA = 10
MAX_MEDIA_BYTES = 5 * 1024 * 1024


class MediaIn(BaseModel):
    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={"anyOf": present("storageKey", "sourceUrl")},
    )

    storageKey: Text | None = Field(default=None, min_length=1, max_length=255)
    mimeType: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}$",
        examples=["image/jpeg"],
    )
    byteLength: JsonInt = Field(gt=0, le=MAX_MEDIA_BYTES, examples=[182340])
    sourceUrl: Text | None = Field(
        default=None,
        min_length=1,
        max_length=2048,
        json_schema_extra={"pattern": MEDIA_URL_PATTERN},
        description="An absolute http(s) URL the carrier can fetch the media from.",
    )
    fileName: Text | None = Field(default=None, min_length=1, max_length=255)


class SendRequest(BaseModel):
    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={
            # text, media or both; media only with MMS, and MMS needs it
            "anyOf": [
                *present("text"),
                {"required": ["media"], "properties": {"media": {"type": "array"}}},
            ],
            "oneOf": [
                {
                    "properties": {"messageType": {"const": "SMS"}},
                    "not": {"required": ["media"], "properties": {"media": {"type": "array"}}},
                },
                {
                    "properties": {
                        "messageType": {"const": "MMS"},
                        "media": {"type": "array", "minItems": 1},
                    },
                    "required": ["media"],
                },
            ],
        },
    )

    sendFrom: Text = Field(
        min_length=1,
        max_length=64,
        description="A Red Cloud number identifier (numberId), not an E.164 phone number.",
        json_schema_extra={"pattern": NUMBER_ID_PATTERN},
        examples=["num_abc123"],
    )
    to: list[Text] = Field(
        min_length=1,
        max_length=MAX_RECIPIENTS,
        description="One or more E.164 recipient phone numbers. Each is checked on its own: "
        "one that is not a possible number for its country (libphonenumber's rule, which a "
        "schema cannot state) is refused in `errors[]` while the others are accepted, as is "
        "a repeat (`DUPLICATE_RECIPIENT`) and a recipient who opted out of this sender by "
        "replying STOP (`RECIPIENT_OPTED_OUT`); if none can be accepted the request is "
        "refused.",
        examples=[["+15551234567"]],
    )
    messageType: Literal["SMS", "MMS"]
    text: Text | None = Field(default=None, min_length=1, max_length=MAX_TEXT)
    media: list[MediaIn] | None = Field(
        default=None, max_length=MAX_MEDIA, description="Required for MMS; omit for SMS."
    )
    externalReference: Text = Field(
        min_length=1, max_length=255, description="Caller-defined business correlation key."
    )


class SendResult(BaseModel):
    to: str
    messageId: str
    status: Literal["QUEUED"]


class RecipientError(BaseModel):
    to: str
    error: ErrorDetail = Field(
        description="`code` is `INVALID_RECIPIENT`, `DUPLICATE_RECIPIENT` or "
        "`RECIPIENT_OPTED_OUT` (the recipient replied STOP to this number or client; they "
        "opt back in by texting START)."
    )


class SendResponse(BaseModel):
    results: list[SendResult]
    errors: list[RecipientError]


class MessageError(BaseModel):
    code: str
    message: str | None


class LastAttempt(BaseModel):
    at: str
    url: str | None
    statusCode: int | None
    latencyMs: int | None
    error: str | None


class WebhookSummary(BaseModel):
    status: Literal["pending", "delivered", "failed", "no_destination"]
    attempts: int
    deliveredAt: str | None
    lastAttempt: LastAttempt | None


class EventSummary(BaseModel):
    eventId: str
    eventType: str
    sequence: int
    occurredAt: int
    webhook: WebhookSummary


MessageStatus = Literal["queued", "sent", "delivered", "failed", "received"]


class MessageSummary(BaseModel):
    messageId: str
    direction: Literal["outbound", "inbound"]
    status: MessageStatus
    messageType: Literal["SMS", "MMS"]
    sendFrom: str
    to: str
    numberId: str
    externalReference: str | None
    providerMessageRef: str | None
    error: MessageError | None
    createdAt: str
    updatedAt: str


class MessageDetail(MessageSummary):
    text: str | None
    media: list[dict[str, Any]] | None
    encoding: Literal["GSM-7", "UCS-2"] | None = Field(
        description="How an SMS's text travels: GSM-7 (GSM 03.38) or UCS-2; null for MMS."
    )
    segments: int = Field(
        description="SMS parts the text takes (160/153 GSM-7 septets, 70/67 UCS-2 units); "
        "1 for MMS.",
        examples=[1],
    )
    events: list[EventSummary]


class MessagePage(BaseModel):
    messages: list[MessageSummary]
    nextCursor: str | None
