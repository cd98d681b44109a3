"""POST /api/core/messages/send."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from redcloud.deps import AppDatabase, AppSettings, CurrentClient
from redcloud.messages import idempotency, service
from redcloud.messages.schemas import SendRequest, SendResponse
from redcloud.schemas import core_errors

router = APIRouter(prefix="/api/core/messages", tags=["CORE"])

_KEY_PARAMETER: dict[str, Any] = {
    "parameters": [
        {
            "name": idempotency.HEADER,
            "in": "header",
            "required": True,
            "description": "Stable key for this business operation; 1-255 printable ASCII.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            "example": "idem_order_789",
        }
    ]
}
_SEND_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {
        "description": "Accepted: each accepted recipient is QUEUED. A replay carries "
        "`Idempotent-Replayed: true`.",
        "headers": {
            "Idempotent-Replayed": {
                "description": "Present (true) when this is a stored response replayed",
                "schema": {"type": "string", "enum": ["true"]},
            }
        },
    },
    **core_errors(403, 404, 409),
}


def _key(request: Request) -> str:
    return idempotency.check_key(request.headers.get(idempotency.HEADER))


def _in_flight(request: Request) -> idempotency.InFlightKeys:
    keys: idempotency.InFlightKeys = request.app.state.in_flight
    return keys


@router.post(
    "/send",
    summary="Queue an outbound message",
    status_code=202,
    response_model=SendResponse,
    responses=_SEND_RESPONSES,
    openapi_extra=_KEY_PARAMETER,
)
async def send_message(
    client: CurrentClient,
    key: Annotated[str, Depends(_key)],
    body: SendRequest,
    db: AppDatabase,
    settings: AppSettings,
    in_flight: Annotated[idempotency.InFlightKeys, Depends(_in_flight)],
) -> JSONResponse:
    # The key is held until the transaction has committed, so a twin request sees either
    # "in progress" or the stored response, never a half-finished one.
    async with in_flight.hold(client.id, key), db.session(write=True) as session:
        outcome = await service.send(session, client, key, body, settings)
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    return JSONResponse(outcome.body, status_code=outcome.status, headers=headers)
