"""Webhooks: the destinations failing now, their recent attempts, and recovery: redeliver
every failed event of a destination since a time."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from redcloud.console.pages.messages import clean, moment
from redcloud.console.web import Viewer, admin_form, back, record, render, text
from redcloud.db import utcnow
from redcloud.deps import database_of
from redcloud.messages.models import WEBHOOK_FAILED, MessageEvent
from redcloud.webhooks import service as webhooks
from redcloud.webhooks.models import WebhookAttempt

router = APIRouter()
WINDOW = dt.timedelta(hours=24)


async def destinations(session: AsyncSession, since: dt.datetime) -> list[dict[str, Any]]:
    """Every destination attempted since `since`, failing ones first, with the events that
    failed for good and the last answer."""
    ok = (WebhookAttempt.status_code >= 200) & (WebhookAttempt.status_code < 300)
    failures = func.sum(case((ok, 0), else_=1))
    rows = await session.execute(
        select(
            WebhookAttempt.url,
            func.count(),
            failures,
            func.max(WebhookAttempt.id),
        )
        .where(WebhookAttempt.attempted_at >= since, WebhookAttempt.url.is_not(None))
        .group_by(WebhookAttempt.url)
        .order_by(failures.desc(), WebhookAttempt.url)
        .limit(100)
    )
    rows = rows.all()
    if not rows:
        return []
    urls = [url for url, *_ in rows]
    # The last answer of each, and the events that failed for good: one read each, not
    # two per destination.
    last = {
        a.id: a
        for a in await session.scalars(
            select(WebhookAttempt).where(WebhookAttempt.id.in_([r[3] for r in rows]))
        )
    }
    given_up = dict(
        (
            await session.execute(
                select(WebhookAttempt.url, func.count(func.distinct(MessageEvent.id)))
                .join(MessageEvent, WebhookAttempt.event_id == MessageEvent.id)
                .where(WebhookAttempt.url.in_(urls), MessageEvent.delivery_status == WEBHOOK_FAILED)
                .group_by(WebhookAttempt.url)
            )
        ).all()
    )
    return [
        {
            "url": url,
            "attempts": int(attempts),
            "failures": int(failed or 0),
            "failed_events": int(given_up.get(url) or 0),
            "last": last[last_id],
        }
        for url, attempts, failed, last_id in rows
    ]


async def recover(session: AsyncSession, url: str, since: dt.datetime) -> int:
    """Redeliver every event that failed for good, occurred since `since`, and whose
    attempts went to `url`."""
    since_ms = int(since.timestamp() * 1000)
    events = list(
        await session.scalars(
            select(MessageEvent.id)
            .join(WebhookAttempt, WebhookAttempt.event_id == MessageEvent.id)
            .where(
                WebhookAttempt.url == url,
                MessageEvent.delivery_status == WEBHOOK_FAILED,
                MessageEvent.occurred_at_ms >= since_ms,
            )
            .distinct()
        )
    )
    for event_id in events:
        await webhooks.redeliver(session, event_id)
    return len(events)


@router.get("/webhooks")
async def webhooks_page(request: Request, viewer: Viewer) -> HTMLResponse:
    chosen = clean(request.query_params.get("url"), 2048)
    async with database_of(request).session() as session:
        found = await destinations(session, utcnow() - WINDOW)
        if chosen:
            recent = await _attempts_to(session, chosen)
        else:
            recent = await webhooks.attempts(session, limit=50)
    default_since = (utcnow() - WINDOW).strftime("%Y-%m-%dT%H:%M")
    return render(
        request,
        viewer,
        "webhooks.html",
        section="webhooks",
        title="Webhooks",
        destinations=found,
        recent=recent,
        chosen=chosen,
        default_since=default_since,
    )


async def _attempts_to(
    session: AsyncSession, url: str
) -> list[tuple[WebhookAttempt, MessageEvent]]:
    rows = await session.execute(
        select(WebhookAttempt, MessageEvent)
        .join(MessageEvent, MessageEvent.id == WebhookAttempt.event_id)
        .where(WebhookAttempt.url == url)
        .order_by(WebhookAttempt.id.desc())
        .limit(50)
    )
    return [(a, e) for a, e in rows.all()]


@router.post("/webhooks/recover", response_model=None)
async def recover_destination(request: Request, viewer: Viewer) -> Response:
    form = await admin_form(request, viewer)
    url = text(form, "url")[:2048]
    since = moment(text(form, "since"))
    if not url or since is None:
        return back("/console/webhooks", error="Choose a destination and a time to recover from.")
    async with database_of(request).session(write=True) as session:
        count = await recover(session, url, since)
        record(
            session,
            viewer,
            "webhook.recover",
            url,
            None,
            {"since": since.isoformat(), "events": count},
        )
    return back(
        "/console/webhooks?url=" + quote(url, safe=""),
        notice=f"{count} failed event(s) sent to {url} since {since:%Y-%m-%d %H:%M} UTC "
        "queued for redelivery.",
    )
