"""What SMPP connectors keep in the database: bind leases, each worker's live state, the
carrier's id for every part sent, and inbound parts waiting for the rest of their message."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from redcloud.db import Base, UTCDateTime, utcnow
from redcloud.jobs.models import JobId


class SmppBind(Base):
    """One of a connector's `--binds` slots. A worker holds a slot while its lease is fresh
    and runs one session (or a TX+RX pair) for it; a dead worker's slot is taken over once
    its lease runs out, so the cluster holds exactly `--binds` sessions."""

    __tablename__ = "smpp_binds"

    connector: Mapped[str] = mapped_column(String(64), primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    holder: Mapped[str | None] = mapped_column(String(128))
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class SmppMember(Base):
    """A worker process running a connector, and its live state (sessions, counters, the
    last error) for `redcloud connectors show`."""

    __tablename__ = "smpp_members"

    connector: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128), primary_key=True)
    seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class SmppPart(Base):
    """One part as the carrier knows it, by the id its submit_sm_resp gave (normalised by
    the connector's --dlr-id-format). A receipt that arrives first is kept here with no
    message yet, and applied when the part's submit is recorded; one that never finds its
    part stays, counted as unmatched."""

    __tablename__ = "smpp_parts"

    connector: Mapped[str] = mapped_column(String(64), primary_key=True)
    carrier_id: Mapped[str] = mapped_column(String(72), primary_key=True)
    message_id: Mapped[str | None] = mapped_column(String(64))
    part: Mapped[int | None] = mapped_column(Integer)
    parts: Mapped[int | None] = mapped_column(Integer)
    stat: Mapped[str | None] = mapped_column(String(16))
    err: Mapped[str | None] = mapped_column(String(16))
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reported_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_smpp_parts_message", "message_id"),)


class SmppInboundPart(Base):
    """A part of a concatenated inbound message, kept until every part has come (or the
    reassembly timeout passes). Parts may arrive on different sessions and workers."""

    __tablename__ = "smpp_inbound_parts"

    id: Mapped[int] = mapped_column(JobId, primary_key=True, autoincrement=True)
    connector: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(24))
    destination: Mapped[str] = mapped_column(String(24))
    reference: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    payload: Mapped[str] = mapped_column(Text)  # "<data_coding>:<octets in hex>"
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint(
            "connector",
            "source",
            "destination",
            "reference",
            "seq",
            name="uq_smpp_inbound_parts_part",
        ),
        Index("ix_smpp_inbound_parts_received", "received_at"),
    )
