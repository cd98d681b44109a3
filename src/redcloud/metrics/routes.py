"""GET /metrics on the API's port (outside the CORE API: not in the OpenAPI, no rate limit)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from redcloud.metrics.exposition import CONTENT_TYPE, refusal, render

router = APIRouter(include_in_schema=False)
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="metrics"'}


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    refused = refusal(request.app.state.settings, request.headers.get("authorization"))
    if refused is not None:
        status, text = refused
        return PlainTextResponse(text, status, headers=CHALLENGE if status == 401 else None)
    return Response(await render(request.app.state.db), media_type=CONTENT_TYPE)
