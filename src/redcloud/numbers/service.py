"""What an API client can see and change of its numbers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from redcloud.auth.service import AuthenticatedClient
from redcloud.config import Settings
from redcloud.errors import Forbidden, InvalidRequest, NotFound
from redcloud.numbers.models import ACTIVE, RELEASED, Number
from redcloud.numbers.schemas import NumberOut
from redcloud.urls import WebhookUrlError, check_webhook_url

_COLUMNS = {
    "campaignregId": "campaign_reg_id",
    "smsEnabled": "sms_enabled",
    "mmsEnabled": "mms_enabled",
    "webhookInboundOverride": "webhook_inbound_override",
    "webhookDeliveryOverride": "webhook_delivery_override",
}


@dataclass(frozen=True, slots=True)
class AssignedSummary:
    total: int
    sms_enabled: int
    mms_enabled: int
    inbound_overrides: int
    delivery_overrides: int


def to_schema(number: Number) -> NumberOut:
    return NumberOut(
        numberId=number.id,
        e164=number.e164,
        status=number.status,
        campaignRegId=number.campaign_reg_id,
        smsEnabled=number.sms_enabled,
        mmsEnabled=number.mms_enabled,
        webhookInboundOverride=number.webhook_inbound_override,
        webhookDeliveryOverride=number.webhook_delivery_override,
    )


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


async def assigned_summary(session: AsyncSession, client_id: str) -> AssignedSummary:
    """Counts over the client's ACTIVE numbers, for whoami."""
    row = (
        await session.execute(
            select(
                func.count(Number.id),
                _count(Number.sms_enabled.is_(True)),
                _count(Number.mms_enabled.is_(True)),
                _count(Number.webhook_inbound_override.is_not(None)),
                _count(Number.webhook_delivery_override.is_not(None)),
            ).where(Number.api_client_id == client_id, Number.status == ACTIVE)
        )
    ).one()
    return AssignedSummary(*(int(value) for value in row))


async def list_active(session: AsyncSession, client_id: str) -> list[Number]:
    query = (
        select(Number)
        .where(Number.api_client_id == client_id, Number.status == ACTIVE)
        .order_by(Number.created_at, Number.id)
    )
    return list((await session.scalars(query)).all())


async def get_owned(session: AsyncSession, client_id: str, number_id: str) -> Number:
    """The client's number: 404 if there is no such (unreleased) number, 403 if not theirs."""
    number = await session.get(Number, number_id)
    if number is None or number.status == RELEASED:
        raise NotFound(f"Number {number_id} was not found", {"numberId": number_id})
    if number.api_client_id != client_id:
        raise Forbidden(
            f"Number {number_id} is not owned by this API client", {"numberId": number_id}
        )
    return number


async def update_settings(
    session: AsyncSession,
    client: AuthenticatedClient,
    number_id: str,
    changes: dict[str, Any],
    settings: Settings,
) -> Number:
    number = await get_owned(session, client.id, number_id)
    for field in ("webhookInboundOverride", "webhookDeliveryOverride"):
        url = changes.get(field)
        if url is not None:
            try:
                check_webhook_url(
                    url, settings.webhooks_allow_http, settings.webhooks_allow_private
                )
            except WebhookUrlError as exc:
                raise InvalidRequest(
                    f"Invalid field {field}: {exc}", {"field": field, "reason": str(exc)}
                ) from exc
    for field, value in changes.items():
        setattr(number, _COLUMNS[field], value)
    await session.flush()
    return number
