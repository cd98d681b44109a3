"""The jobs table: the transactional outbox the pipeline's workers drain."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from redcloud.db import Base, UTCDateTime, utcnow

PENDING = "pending"
RUNNING = "running"
DONE = "done"
FAILED = "failed"

# SQLite only auto-increments an INTEGER PRIMARY KEY, so the id type forks there.
JobId = BigInteger().with_variant(Integer(), "sqlite")


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(JobId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    run_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    locked_by: Mapped[str | None] = mapped_column(String(128))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (Index("ix_jobs_status_run_at", "status", "run_at"),)
