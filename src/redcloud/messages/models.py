"""Messages, their lifecycle events, and stored idempotent responses."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from redcloud.db import Base, UTCDateTime, utcnow

QUEUED = "queued"
SENT = "sent"
DELIVERED = "delivered"
FAILED = "failed"
RECEIVED = "received"  # an inbound message, delivered to us

# What became of an event's webhook.
PENDING = "pending"
WEBHOOK_DELIVERED = "delivered"
WEBHOOK_FAILED = "failed"
NO_DESTINATION = "no_destination"


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    api_client_id: Mapped[str] = mapped_column(ForeignKey("api_clients.id"))
    number_id: Mapped[str] = mapped_column(ForeignKey("numbers.id"))
    direction: Mapped[str] = mapped_column(String(8), default="outbound")
    message_type: Mapped[str] = mapped_column(String(3))
    send_from: Mapped[str] = mapped_column(String(16))
    to: Mapped[str] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text)
    media: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    external_reference: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    last_sequence: Mapped[int] = mapped_column(Integer, default=1)
    provider_message_ref: Mapped[str | None] = mapped_column(String(128))
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(String(500))
    # The span the message was accepted in (W3C traceparent), kept only when tracing is on:
    # a receipt arrives with no context of ours and joins the send's trace through it.
    traceparent: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        Index("ix_messages_client_created", "api_client_id", "created_at"),
        Index("ix_messages_client_external_reference", "api_client_id", "external_reference"),
        Index("ix_messages_provider_message_ref", "provider_message_ref"),
        Index("ix_messages_status_updated", "status", "updated_at"),
    )


class MessageEvent(Base):
    """One lifecycle step of a message; payload is the exact webhook body to deliver."""

    __tablename__ = "message_events"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id"))
    api_client_id: Mapped[str] = mapped_column(ForeignKey("api_clients.id"))
    sequence: Mapped[int] = mapped_column(Integer)
    event_type: Mapped[str] = mapped_column(String(32))
    occurred_at_ms: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    delivery_status: Mapped[str] = mapped_column(String(16), default=PENDING)
    delivery_attempts: Mapped[int] = mapped_column(Integer, default=0)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("message_id", "sequence"),
        Index(
            "ix_message_events_client_delivery",
            "api_client_id",
            "delivery_status",
            "occurred_at_ms",
        ),
    )


class IdempotencyRecord(Base):
    """An accepted send, kept so the same key and payload replay the same 202."""

    __tablename__ = "idempotency_records"

    api_client_id: Mapped[str] = mapped_column(ForeignKey("api_clients.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_idempotency_records_expires_at", "expires_at"),)


class UnroutedInbound(Base):
    """An inbound message to a number nobody owns: kept for the operator, never dropped."""

    __tablename__ = "unrouted_inbound"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    from_e164: Mapped[str] = mapped_column(String(16))
    to_e164: Mapped[str] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text)
    media: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
