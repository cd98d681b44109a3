"""The log of webhook delivery attempts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from redcloud.db import Base, UTCDateTime, utcnow
from redcloud.jobs.models import JobId


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(JobId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("message_events.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    url: Mapped[str | None] = mapped_column(String(2048))
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    response_excerpt: Mapped[str | None] = mapped_column(String(500))
    attempted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
