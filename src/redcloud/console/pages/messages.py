"""Messages: search everything, open one with its whole history, redeliver an event."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from redcloud.console.pages.overview import default_connector
from redcloud.console.web import Refused, Viewer, admin_form, back, record, render
from redcloud.deps import database_of
from redcloud.messages.models import Message, MessageEvent
from redcloud.messages.queries import newest_first, segments_of
from redcloud.numbers.models import Number
from redcloud.providers.smpp.models import SmppPart
from redcloud.webhooks import service as webhooks
from redcloud.webhooks.models import WebhookAttempt

router = APIRouter()
PAGE = 50
FILTERS = ("message", "reference", "client", "number", "recipient", "status", "text")
STATUSES = ("queued", "sent", "delivered", "failed", "received")


def clean(raw: str | None, limit: int = 255) -> str:
    """A search field as the database can take it: no NUL, bounded, trimmed."""
    return (raw or "").replace("\x00", "").strip()[:limit]


def moment(raw: str | None) -> dt.datetime | None:
    """A datetime-local field (UTC), or None when empty or not a time."""
    value = clean(raw, 40)
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def search(session: AsyncSession, params: dict[str, str]) -> dict[str, Any]:
    query = select(Message)
    if params["message"]:
        query = query.where(Message.id == params["message"])
    if params["reference"]:
        query = query.where(Message.external_reference == params["reference"])
    if params["client"]:
        query = query.where(Message.api_client_id == params["client"])
    if params["number"]:
        query = query.where(
            or_(Message.number_id == params["number"], Message.send_from == params["number"])
        )
    if params["recipient"]:
        query = query.where(
            or_(Message.to == params["recipient"], Message.send_from == params["recipient"])
        )
    if params["status"]:
        query = query.where(Message.status == params["status"])
    if params["text"]:
        query = query.where(Message.text.ilike(_like(params["text"]), escape="\\"))
    since, until = moment(params["since"]), moment(params["until"])
    if since:
        query = query.where(Message.created_at >= since)
    if until:
        query = query.where(Message.created_at < until)
    rows, older = await newest_first(session, query, params["after"] or None, PAGE)
    return {"rows": rows, "next": older}


@router.get("/messages")
async def messages(request: Request, viewer: Viewer) -> HTMLResponse:
    names = (*FILTERS, "since", "until", "after")
    params = {name: clean(request.query_params.get(name)) for name in names}
    async with database_of(request).session() as session:
        found = await search(session, params)
    query = {k: v for k, v in params.items() if v and k != "after"}
    partial = request.headers.get("hx-request") and request.headers.get("hx-target") == "results"
    return render(
        request,
        viewer,
        "messages_results.html" if partial else "messages.html",
        section="messages",
        title="Messages",
        params=params,
        query=query,
        statuses=STATUSES,
        **found,
    )


async def history(session: AsyncSession, message_id: str) -> dict[str, Any]:
    message = await session.get(Message, message_id)
    if message is None:
        raise Refused(404, "No such message", f"There is no message {message_id}.")
    number = await session.get(Number, message.number_id)
    events = list(
        await session.scalars(
            select(MessageEvent)
            .where(MessageEvent.message_id == message_id)
            .order_by(MessageEvent.sequence)
        )
    )
    attempts: dict[str, list[WebhookAttempt]] = {e.id: [] for e in events}
    if events:
        for attempt in await session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.event_id.in_(list(attempts)))
            .order_by(WebhookAttempt.id)
        ):
            attempts[attempt.event_id].append(attempt)
    parts = list(
        await session.scalars(
            select(SmppPart).where(SmppPart.message_id == message_id).order_by(SmppPart.part)
        )
    )
    connector = (number.connector if number else None) or await default_connector(session)
    return {
        "message": message,
        "number": number,
        "connector": connector,
        "shape": segments_of(message),
        "events": events,
        "attempts": attempts,
        "parts": parts,
    }


@router.get("/messages/{message_id}")
async def message_page(request: Request, viewer: Viewer, message_id: str) -> HTMLResponse:
    async with database_of(request).session() as session:
        found = await history(session, message_id[:64])
    return render(request, viewer, "message.html", section="messages", title=message_id, **found)


@router.post("/messages/{message_id}/events/{event_id}/redeliver", response_model=None)
async def redeliver(request: Request, viewer: Viewer, message_id: str, event_id: str) -> Response:
    await admin_form(request, viewer)
    async with database_of(request).session(write=True) as session:
        event = await session.get(MessageEvent, event_id[:64])
        if event is None or event.message_id != message_id:
            raise Refused(404, "No such event", f"Message {message_id} has no event {event_id}.")
        before = {"deliveryStatus": event.delivery_status, "attempts": event.delivery_attempts}
        await webhooks.redeliver(session, event.id)
        record(
            session,
            viewer,
            "webhook.redeliver",
            event.id,
            before,
            {"deliveryStatus": event.delivery_status},
        )
    return back(
        f"/console/messages/{message_id}",
        notice=f"{event.event_type} queued for redelivery; its attempt appears below.",
    )
