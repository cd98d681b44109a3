"""Caps set by operators, and the shared clock that spaces each capped sender's messages."""

from __future__ import annotations

from sqlalchemy import Float, String
from sqlalchemy.orm import Mapped, mapped_column

from redcloud.db import Base


class CampaignCap(Base):
    """Segments per second for every number of a 10DLC campaign, together."""

    __tablename__ = "campaign_caps"

    campaign_reg_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    segments_per_second: Mapped[float] = mapped_column(Float)


class SenderPace(Base):
    """When a capped sender's next segment may go (seconds since the epoch). Every worker
    process takes its slots here, so the cap holds across the cluster."""

    __tablename__ = "sender_pacing"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    next_at: Mapped[float] = mapped_column(Float)
