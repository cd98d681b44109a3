"""Numbers the platform holds, and the searchable inventory of NPA-NXX blocks."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from redcloud.db import Base, UTCDateTime, utcnow

ACTIVE = "ACTIVE"
INACTIVE = "INACTIVE"
RELEASED = "RELEASED"
STATUSES = (ACTIVE, INACTIVE, RELEASED)


class Number(Base):
    __tablename__ = "numbers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    e164: Mapped[str] = mapped_column(String(16), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    api_client_id: Mapped[str | None] = mapped_column(ForeignKey("api_clients.id"))
    campaign_reg_id: Mapped[str | None] = mapped_column(String(64))
    sms_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    mms_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    webhook_inbound_override: Mapped[str | None] = mapped_column(String(2048))
    webhook_delivery_override: Mapped[str | None] = mapped_column(String(2048))
    # The connector that carries its messages; None: the default connector.
    connector: Mapped[str | None] = mapped_column(String(64))
    # Segments per second its messages are released at (redcloud.pacing); None: no cap.
    segments_per_second: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (Index("ix_numbers_client_status", "api_client_id", "status"),)


class InventoryBlock(Base):
    """One NPA-NXX exchange: the unit a carrier hands out numbers from, with its location."""

    __tablename__ = "inventory_blocks"

    npa: Mapped[str] = mapped_column(String(3), primary_key=True)
    nxx: Mapped[str] = mapped_column(String(3), primary_key=True)
    city: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(2))
    rate_center: Mapped[str] = mapped_column(String(10))

    __table_args__ = (
        Index("ix_inventory_blocks_state_city", "state", "city"),
        Index("ix_inventory_blocks_rate_center", "rate_center"),
    )


class InventoryZipCode(Base):
    """Which area codes serve a ZIP code, and the ZIP's city: how zipCode search finds blocks."""

    __tablename__ = "inventory_zip_codes"

    zip_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    npa: Mapped[str] = mapped_column(String(3), primary_key=True)
    city: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(2))
