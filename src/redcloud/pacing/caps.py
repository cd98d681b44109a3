"""Operator actions: set or clear a number's or a campaign's cap."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from redcloud.auth.provisioning import ProvisioningError
from redcloud.numbers.models import Number
from redcloud.numbers.provisioning import get_number
from redcloud.pacing.models import CampaignCap

MAX_PER_SECOND = 10_000.0


def checked(per_second: float) -> float | None:
    """A cap in segments per second (0 clears it)."""
    if not 0 <= per_second <= MAX_PER_SECOND:
        raise ProvisioningError(f"A cap is 0 (none) to {MAX_PER_SECOND:,.0f} segments a second.")
    return per_second or None


async def set_number_cap(session: AsyncSession, number_id: str, per_second: float) -> Number:
    number = await get_number(session, number_id)
    number.segments_per_second = checked(per_second)
    await session.flush()
    return number


async def set_campaign_cap(
    session: AsyncSession, campaign_reg_id: str, per_second: float
) -> float | None:
    cap = checked(per_second)
    existing = await session.get(CampaignCap, campaign_reg_id)
    if existing is not None:
        await session.delete(existing)
        await session.flush()
    if cap is not None:
        session.add(CampaignCap(campaign_reg_id=campaign_reg_id, segments_per_second=cap))
    return cap
