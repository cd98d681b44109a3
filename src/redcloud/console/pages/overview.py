"""The overview: the last hour and day at a glance."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from redcloud.console.charts import grouped_bars
from redcloud.console.web import Viewer, render
from redcloud.db import hour_label, utcnow
from redcloud.deps import database_of, settings_of
from redcloud.messages.models import DELIVERED, FAILED, PENDING, Message, MessageEvent
from redcloud.metrics.queue import snapshot
from redcloud.numbers.models import Number
from redcloud.providers import connectors
from redcloud.providers.models import SMPP, Connector
from redcloud.webhooks.models import WebhookAttempt

router = APIRouter()


async def default_connector(session: AsyncSession) -> str:
    name = await session.scalar(select(Connector.name).where(Connector.is_default.is_(True)))
    return name or "sandbox"


async def traffic(session: AsyncSession, since: dt.datetime) -> list[dict[str, Any]]:
    """Outbound messages accepted since `since`, and those that reached delivered or failed
    since then, by the connector that carries their number."""
    carrier = func.coalesce(Number.connector, literal(await default_connector(session)))
    accepted = func.sum(case((Message.created_at >= since, 1), else_=0))
    finished = Message.updated_at >= since
    delivered = func.sum(case(((Message.status == DELIVERED) & finished, 1), else_=0))
    failed = func.sum(case(((Message.status == FAILED) & finished, 1), else_=0))
    rows = await session.execute(
        select(carrier, accepted, delivered, failed)
        .select_from(Message)
        .outerjoin(Number, Number.id == Message.number_id)
        .where(Message.direction == "outbound", Message.updated_at >= since)
        .group_by(carrier)
        .order_by(carrier)
    )
    return [
        {"connector": c, "accepted": int(a or 0), "delivered": int(d or 0), "failed": int(f or 0)}
        for c, a, d, f in rows
    ]


async def hourly(session: AsyncSession, now: dt.datetime) -> dict[str, Any]:
    """Accepted, delivered and failed per hour over the last day, grouped in the database."""
    start = now.replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=23)
    dialect = (await session.connection()).dialect.name
    created = hour_label(dialect, Message.created_at)
    updated = hour_label(dialect, Message.updated_at)
    outbound = Message.direction == "outbound"
    labels = [(start + dt.timedelta(hours=h)).strftime("%Y-%m-%d %H:00") for h in range(24)]
    index = {label: i for i, label in enumerate(labels)}
    series = {"accepted": [0] * 24, "delivered": [0] * 24, "failed": [0] * 24}
    accepted = await session.execute(
        select(created, func.count()).where(outbound, Message.created_at >= start).group_by(created)
    )
    for hour, count in accepted:
        if hour in index:
            series["accepted"][index[hour]] = int(count)
    finished = await session.execute(
        select(updated, Message.status, func.count())
        .where(outbound, Message.updated_at >= start, Message.status.in_([DELIVERED, FAILED]))
        .group_by(updated, Message.status)
    )
    for hour, status, count in finished:
        if hour in index:
            series[status][index[hour]] = int(count)
    return {"chart": grouped_bars("Messages per hour, last 24 hours (UTC)", labels, series)}


async def webhook_health(session: AsyncSession, since: dt.datetime) -> dict[str, Any]:
    backlog = await session.scalar(
        select(func.count())
        .select_from(MessageEvent)
        .where(MessageEvent.delivery_status == PENDING)
    )
    ok = (WebhookAttempt.status_code >= 200) & (WebhookAttempt.status_code < 300)
    failures = func.sum(case((ok, 0), else_=1))
    rows = await session.execute(
        select(WebhookAttempt.url, func.count(), failures, func.max(WebhookAttempt.attempted_at))
        .where(WebhookAttempt.attempted_at >= since, WebhookAttempt.url.is_not(None))
        .group_by(WebhookAttempt.url)
        .having(failures > 0)
        .order_by(failures.desc())
        .limit(10)
    )
    failing = [
        {"url": url, "attempts": int(n), "failures": int(f or 0), "last": last}
        for url, n, f, last in rows
    ]
    return {"backlog": int(backlog or 0), "failing": failing}


async def connector_states(session: AsyncSession, lease_seconds: float) -> list[dict[str, Any]]:
    states = []
    for connector in await connectors.list_connectors(session):
        live = None
        if connector.kind == SMPP:
            live = await connectors.live_state(session, connector, lease_seconds)
        up = connector.status == "enabled" and (live is None or live["bound_sessions"] > 0)
        states.append({"connector": connector, "live": live, "up": up})
    return states


@router.get("/")
async def overview(request: Request, viewer: Viewer) -> HTMLResponse:
    now = utcnow()
    settings = settings_of(request)
    async with database_of(request).session() as session:
        hour = await traffic(session, now - dt.timedelta(hours=1))
        day = await traffic(session, now - dt.timedelta(days=1))
        chart = await hourly(session, now)
        hooks = await webhook_health(session, now - dt.timedelta(hours=1))
        links = await connector_states(session, settings.smpp_lease_seconds)
    queue = await snapshot(database_of(request))
    return render(
        request,
        viewer,
        "overview.html",
        section="overview",
        title="Overview",
        hour=hour,
        day=day,
        totals={
            "hour": {k: sum(r[k] for r in hour) for k in ("accepted", "delivered", "failed")},
            "day": {k: sum(r[k] for r in day) for k in ("accepted", "delivered", "failed")},
        },
        queue=queue,
        hooks=hooks,
        links=links,
        **chart,
    )
