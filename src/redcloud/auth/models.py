"""Accounts, API clients and their access tokens."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from redcloud.db import Base, UTCDateTime, utcnow

ACTIVE = "ACTIVE"
INACTIVE = "INACTIVE"
STATUSES = (ACTIVE, INACTIVE)


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiClient(Base):
    __tablename__ = "api_clients"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    secret_hash: Mapped[str] = mapped_column(String(200))
    capabilities: Mapped[list[str]] = mapped_column(JSON, default=list)
    inbound_webhook_url: Mapped[str | None] = mapped_column(String(2048))
    delivery_webhook_url: Mapped[str | None] = mapped_column(String(2048))
    webhook_secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    # What a recipient's STOP suppresses: the number it was sent to, or the whole client.
    optout_scope: Mapped[str] = mapped_column(String(8), default="number", server_default="number")
    # CORE API requests a minute for this client; None: REDCLOUD_CLIENT_REQUESTS_PER_MINUTE.
    requests_per_minute: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    account: Mapped[Account] = relationship(lazy="joined")


class AccessToken(Base):
    __tablename__ = "access_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    api_client_id: Mapped[str] = mapped_column(ForeignKey("api_clients.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # NULL only for the demo's static token, which is honoured in demo mode alone.
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    is_static: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (Index("ix_access_tokens_expires_at", "expires_at"),)
