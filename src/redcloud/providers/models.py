"""What the sandbox carrier received: its captured submissions, like LocalStack's SMS log."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from redcloud.db import Base, UTCDateTime, utcnow
from redcloud.jobs.models import JobId


class SandboxSubmission(Base):
    __tablename__ = "sandbox_submissions"

    id: Mapped[int] = mapped_column(JobId, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(64))
    attempt: Mapped[int] = mapped_column(Integer)
    provider_ref: Mapped[str | None] = mapped_column(String(128))
    from_e164: Mapped[str] = mapped_column(String(16))
    to_e164: Mapped[str] = mapped_column(String(16))
    message_type: Mapped[str] = mapped_column(String(3))
    text: Mapped[str | None] = mapped_column(Text)
    media: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    outcome: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_sandbox_submissions_message", "message_id"),
        Index("ix_sandbox_submissions_to", "to_e164"),
    )


ENABLED = "enabled"
DISABLED = "disabled"
CONNECTOR_STATUSES = (ENABLED, DISABLED)
SANDBOX = "sandbox"  # the built-in connector's name and kind
SMPP = "smpp"


class Connector(Base):
    """A configured carrier link. Connectors are data: workers pick up changes without a
    restart (redcloud.providers.registry). `settings` holds the kind's own options."""

    __tablename__ = "connectors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=ENABLED)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
