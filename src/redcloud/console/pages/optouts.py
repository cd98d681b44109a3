"""Opt-outs: search, add, remove, export CSV; the inbound messages flagged as possible
opt-outs for review."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from redcloud.compliance import operators
from redcloud.compliance.models import OPERATOR, OptOut
from redcloud.console.pages.messages import clean
from redcloud.console.web import Viewer, admin_form, back, record, render, text
from redcloud.deps import database_of

router = APIRouter()
PAGE = 200


def _filters(request: Request) -> dict[str, str]:
    return {k: clean(request.query_params.get(k)) for k in ("recipient", "number", "client")}


async def _found(request: Request, params: dict[str, str], limit: int | None) -> list[OptOut]:
    async with database_of(request).session() as session:
        return await operators.entries(
            session,
            number_id=params["number"] or None,
            client_id=params["client"] or None,
            recipient=params["recipient"] or None,
            limit=limit,
        )


@router.get("/optouts")
async def optouts_page(request: Request, viewer: Viewer) -> HTMLResponse:
    params = _filters(request)
    found = await _found(request, params, PAGE)
    async with database_of(request).session() as session:
        reviews = await operators.reviews(session, limit=50)
    return render(
        request,
        viewer,
        "optouts.html",
        section="optouts",
        title="Opt-outs",
        rows=found,
        reviews=reviews,
        params=params,
        query={k: v for k, v in params.items() if v},
        page=PAGE,
    )


@router.get("/optouts.csv")
async def export(request: Request, viewer: Viewer) -> Response:
    found = await _found(request, _filters(request), None)
    return Response(
        operators.to_csv(found),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="optouts.csv"'},
    )


def _scope(number: str, client: str) -> tuple[str | None, str | None]:
    return (number or None, client or None)


@router.post("/optouts", response_model=None)
async def add(request: Request, viewer: Viewer) -> Response:
    form = await admin_form(request, viewer)
    number, client = _scope(text(form, "number"), text(form, "client"))
    recipient = text(form, "recipient")
    async with database_of(request).session(write=True) as session:
        await operators.add(session, [recipient], number, client, OPERATOR)
        record(
            session,
            viewer,
            "optout.add",
            recipient,
            None,
            {"number": number, "client": client},
        )
    return back("/console/optouts", notice=f"{recipient} opted out.")


@router.post("/optouts/remove", response_model=None)
async def remove(request: Request, viewer: Viewer) -> Response:
    form = await admin_form(request, viewer)
    number, client = _scope(text(form, "number"), text(form, "client"))
    recipient = text(form, "recipient")
    async with database_of(request).session(write=True) as session:
        removed = await operators.remove(session, recipient, number, client)
        record(
            session,
            viewer,
            "optout.remove",
            recipient,
            {"number": number, "client": client},
            {"removed": removed},
        )
    if not removed:
        return back("/console/optouts", error=f"{recipient} had no such opt-out.")
    return back("/console/optouts", notice=f"{recipient} may receive messages again.")
