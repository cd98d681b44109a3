"""Consent records: who opted out of whom, the replies that confirm keywords, and the
messages flagged for an operator's review."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from redcloud.db import Base, UTCDateTime, utcnow
from redcloud.jobs.models import JobId

NUMBER, CLIENT = "number", "client"  # what an opt-out suppresses: one number, or a client
SCOPES = (NUMBER, CLIENT)
KEYWORD, OPERATOR, IMPORT = "keyword", "operator", "import"  # where an entry came from


class OptOut(Base):
    """`recipient` gets nothing from the number (scope `number`) or from any number of the
    API client (scope `client`) named by `scope_id`, until they opt in again."""

    __tablename__ = "optouts"

    scope: Mapped[str] = mapped_column(String(8), primary_key=True)
    scope_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    recipient: Mapped[str] = mapped_column(String(16), primary_key=True)
    api_client_id: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))
    keyword: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_optouts_recipient", "recipient"),
        Index("ix_optouts_client", "api_client_id"),
    )


class ConsentReply(Base):
    """An operator's own text for an automatic reply (`opt-out`, `opt-in`, `help`), for a
    number or for every number of a client; the platform's default otherwise."""

    __tablename__ = "consent_replies"

    scope: Mapped[str] = mapped_column(String(8), primary_key=True)
    scope_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    text: Mapped[str] = mapped_column(Text)


class ConsentReview(Base):
    """An inbound message that mentions revocation without being a keyword."""

    __tablename__ = "consent_reviews"

    id: Mapped[int] = mapped_column(JobId, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(64))
    api_client_id: Mapped[str] = mapped_column(String(64))
    number_id: Mapped[str] = mapped_column(String(64))
    sender: Mapped[str] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text)
    treated_as_opt_out: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
