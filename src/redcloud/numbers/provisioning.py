"""Operator actions on numbers: assign to a client, set the campaign, release."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from redcloud import ids
from redcloud.auth.provisioning import ProvisioningError, get_client
from redcloud.numbers.models import ACTIVE, RELEASED, STATUSES, Number
from redcloud.numbers.schemas import CAMPAIGN_PATTERN
from redcloud.phone import Rejection, normalize
from redcloud.providers.connectors import get_connector
from redcloud.urls import WebhookUrlError, check_webhook_url


async def assign(
    session: AsyncSession,
    e164: str,
    client_id: str,
    *,
    number_id: str | None = None,
    campaign: str | None = None,
    sms_enabled: bool = True,
    mms_enabled: bool = True,
) -> Number:
    """Give a number to a client, creating it if the platform does not hold it yet."""
    await get_client(session, client_id)
    normalized = normalize(e164.strip())
    if isinstance(normalized, Rejection):
        raise ProvisioningError(f"{e164!r} is not a possible E.164 number, e.g. +15551234567")
    number = await session.scalar(select(Number).where(Number.e164 == normalized))
    if number is not None and number.status != RELEASED and number.api_client_id != client_id:
        raise ProvisioningError(
            f"{normalized} is assigned to {number.api_client_id}; release it first with "
            f"`redcloud numbers release {number.id}`"
        )
    if number is None:
        chosen_id = number_id or ids.number_id()
        if await session.get(Number, chosen_id) is not None:
            raise ProvisioningError(f"Number id {chosen_id} is already in use")
        number = Number(id=chosen_id, e164=normalized)
        session.add(number)
    elif number_id and number_id != number.id:
        raise ProvisioningError(f"{normalized} already has the id {number.id}")
    number.api_client_id = client_id
    number.status = ACTIVE
    number.sms_enabled = sms_enabled
    number.mms_enabled = mms_enabled
    if campaign is not None:
        number.campaign_reg_id = _campaign(campaign)
    await session.flush()
    return number


async def get_number(session: AsyncSession, number_id: str) -> Number:
    number = await session.get(Number, number_id)
    if number is None:
        raise ProvisioningError(
            f"No number {number_id!r}. List numbers with `redcloud numbers list`."
        )
    return number


async def set_campaign(session: AsyncSession, number_id: str, campaign: str | None) -> Number:
    number = await get_number(session, number_id)
    number.campaign_reg_id = _campaign(campaign) if campaign is not None else None
    await session.flush()
    return number


async def set_connector(session: AsyncSession, number_id: str, name: str | None) -> Number:
    """Route the number's outbound messages through connector `name` (None: the default)."""
    number = await get_number(session, number_id)
    if name is not None:
        await get_connector(session, name)
    number.connector = name
    await session.flush()
    return number


async def set_overrides(
    session: AsyncSession,
    number_id: str,
    *,
    inbound: str | None,
    delivery: str | None,
    allow_http: bool,
    allow_private: bool,
) -> Number:
    """The number's own webhook URLs (None: the client's), checked like the client's."""
    number = await get_number(session, number_id)
    try:
        for url in (inbound, delivery):
            if url is not None:
                check_webhook_url(url, allow_http, allow_private)
    except WebhookUrlError as exc:
        raise ProvisioningError(str(exc)) from exc
    number.webhook_inbound_override = inbound
    number.webhook_delivery_override = delivery
    await session.flush()
    return number


async def set_status(session: AsyncSession, number_id: str, status: str) -> Number:
    number = await get_number(session, number_id)
    value = status.upper()
    if value not in STATUSES or value == RELEASED:
        raise ProvisioningError("Status must be ACTIVE or INACTIVE; use `release` to release.")
    if number.api_client_id is None:
        raise ProvisioningError(f"{number.id} is not assigned; assign it first.")
    number.status = value
    await session.flush()
    return number


async def release(session: AsyncSession, number_id: str) -> Number:
    """Take a number back: unassigned, settings cleared, searchable again."""
    number = await get_number(session, number_id)
    number.status = RELEASED
    number.api_client_id = None
    number.campaign_reg_id = None
    number.webhook_inbound_override = None
    number.webhook_delivery_override = None
    number.connector = None
    await session.flush()
    return number


async def list_numbers(session: AsyncSession, client_id: str | None = None) -> list[Number]:
    query = select(Number).order_by(Number.created_at, Number.id)
    if client_id:
        query = query.where(Number.api_client_id == client_id)
    return list((await session.scalars(query)).all())


def _campaign(value: str) -> str:
    if not re.fullmatch(CAMPAIGN_PATTERN, value):
        raise ProvisioningError("A campaign id is 1-64 letters, digits, '-' or '_'.")
    return value
