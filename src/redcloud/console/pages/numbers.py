"""Numbers: search the platform's numbers; assign and release; campaign, webhook overrides,
connector, throughput cap and status."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import or_, select
from starlette.datastructures import FormData

from redcloud.console.pages.messages import clean
from redcloud.console.web import Viewer, admin_form, back, record, render, text
from redcloud.deps import database_of, settings_of
from redcloud.numbers import provisioning
from redcloud.numbers.models import STATUSES, Number
from redcloud.pacing import caps
from redcloud.providers import connectors

router = APIRouter()
PAGE = 100


def state(number: Number) -> dict[str, Any]:
    return {
        "e164": number.e164,
        "client": number.api_client_id,
        "status": number.status,
        "campaign": number.campaign_reg_id,
        "connector": number.connector,
        "segmentsPerSecond": number.segments_per_second,
        "webhookInboundOverride": number.webhook_inbound_override,
        "webhookDeliveryOverride": number.webhook_delivery_override,
    }


@router.get("/numbers")
async def numbers_page(request: Request, viewer: Viewer) -> HTMLResponse:
    params = {k: clean(request.query_params.get(k)) for k in ("q", "client", "status")}
    query = select(Number).order_by(Number.e164).limit(PAGE)
    if params["q"]:
        query = query.where(or_(Number.e164.contains(params["q"]), Number.id == params["q"]))
    if params["client"]:
        query = query.where(Number.api_client_id == params["client"])
    if params["status"]:
        query = query.where(Number.status == params["status"].upper())
    async with database_of(request).session() as session:
        rows = list(await session.scalars(query))
    return render(
        request,
        viewer,
        "numbers.html",
        section="numbers",
        title="Numbers",
        rows=rows,
        params=params,
        statuses=STATUSES,
        page=PAGE,
    )


@router.get("/numbers/{number_id}")
async def number_page(request: Request, viewer: Viewer, number_id: str) -> HTMLResponse:
    async with database_of(request).session(write=True) as session:  # lists the connectors
        number = await provisioning.get_number(session, number_id[:64])
        links = await connectors.list_connectors(session)
    return render(
        request,
        viewer,
        "number.html",
        section="numbers",
        title=number.e164,
        number=number,
        connectors=links,
    )


@router.post("/numbers/assign", response_model=None)
async def assign(request: Request, viewer: Viewer) -> Response:
    form = await admin_form(request, viewer)
    async with database_of(request).session(write=True) as session:
        number = await provisioning.assign(
            session,
            text(form, "e164"),
            text(form, "client"),
            campaign=text(form, "campaign") or None,
        )
        record(session, viewer, "number.assign", number.id, None, state(number))
    return back(f"/console/numbers/{number.id}", notice=f"{number.e164} assigned.")


def _optional(form: FormData, name: str) -> str | None:
    return text(form, name) or None


@router.post("/numbers/{number_id}", response_model=None)
async def update(request: Request, viewer: Viewer, number_id: str) -> Response:
    """One form for a number's settings: each is applied through its operator service."""
    form = await admin_form(request, viewer)
    settings = settings_of(request)
    async with database_of(request).session(write=True) as session:
        number = await provisioning.get_number(session, number_id[:64])
        before = state(number)
        await provisioning.set_campaign(session, number.id, _optional(form, "campaign"))
        await provisioning.set_connector(session, number.id, _optional(form, "connector"))
        await provisioning.set_overrides(
            session,
            number.id,
            inbound=_optional(form, "inbound"),
            delivery=_optional(form, "delivery"),
            allow_http=settings.webhooks_allow_http,
            allow_private=settings.webhooks_allow_private,
        )
        try:
            cap = float(text(form, "cap") or 0)
        except ValueError:
            cap = -1.0  # refused by the cap's own check, with its message
        await caps.set_number_cap(session, number.id, cap)
        if number.api_client_id is not None and _optional(form, "status"):
            await provisioning.set_status(session, number.id, text(form, "status"))
        record(session, viewer, "number.update", number.id, before, state(number))
    return back(f"/console/numbers/{number.id}", notice="Saved.")


@router.post("/numbers/{number_id}/release", response_model=None)
async def release(request: Request, viewer: Viewer, number_id: str) -> Response:
    await admin_form(request, viewer)
    async with database_of(request).session(write=True) as session:
        number = await provisioning.get_number(session, number_id[:64])
        before = state(number)
        await provisioning.release(session, number.id)
        record(session, viewer, "number.release", number.id, before, state(number))
    return back(f"/console/numbers/{number.id}", notice=f"{number.e164} released.")
