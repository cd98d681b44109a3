"""What the sandbox carrier received: its captured submissions, like LocalStack's SMS log."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text
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
