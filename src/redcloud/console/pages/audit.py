"""The audit log: every change an operator made, newest first."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from redcloud.console import audit
from redcloud.console.web import Viewer, render
from redcloud.deps import database_of

router = APIRouter()
PAGE = 50


@router.get("/audit")
async def audit_page(request: Request, viewer: Viewer) -> HTMLResponse:
    raw = request.query_params.get("before", "")
    before = int(raw) if raw.isdigit() and len(raw) < 19 else None
    async with database_of(request).session() as session:
        rows = await audit.entries(session, before_id=before, limit=PAGE)
    return render(
        request,
        viewer,
        "audit.html",
        section="audit",
        title="Audit log",
        rows=rows,
        next=rows[-1].id if len(rows) == PAGE else None,
    )
