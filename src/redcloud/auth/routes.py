"""POST /api/auth/token and GET /api/core/whoami."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from redcloud.auth import service
from redcloud.auth.schemas import AssignedNumbers, TokenResponse, WhoAmI
from redcloud.auth.token_request import FORM, JSON, read_token_request
from redcloud.deps import AppDatabase, AppSettings, CurrentClient, ReadSession
from redcloud.errors import OAuthError
from redcloud.inputs import NO_NUL_PATTERN
from redcloud.metrics.families import RATE_LIMITED
from redcloud.numbers.service import assigned_summary
from redcloud.ratelimit import FailureCounter, retry_after
from redcloud.schemas import OAuthErrorResponse, core_errors

router = APIRouter()
log = structlog.get_logger("redcloud.auth")
# RFC 6749 registers no error for rate limiting; this one is registered for overload
# (docs/api-decisions.md).
RATE_LIMITED_ERROR = "temporarily_unavailable"

# The body as the client_secret_post method sends it. With HTTP Basic (the BasicAuth
# security alternative) the body carries grant_type alone: a body secret beside Basic is
# refused as two methods at once.
_TOKEN_FIELDS: dict[str, Any] = {
    "type": "object",
    "required": ["grant_type", "client_id", "client_secret"],
    "properties": {
        "grant_type": {"type": "string", "enum": ["client_credentials"]},
        "client_id": {
            "type": "string",
            "minLength": 1,
            "pattern": NO_NUL_PATTERN,
            "examples": ["rc_test_client_123"],
        },
        "client_secret": {
            "type": "string",
            "minLength": 1,
            "pattern": NO_NUL_PATTERN,
            "examples": ["rc_secret_abc123"],
        },
    },
}
_TOKEN_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {FORM: {"schema": _TOKEN_FIELDS}, JSON: {"schema": _TOKEN_FIELDS}},
    },
    "security": [{"BasicAuth": []}, {}],
}


@router.post(
    "/api/auth/token",
    tags=["Authentication"],
    summary="Issue a bearer access token",
    description=(
        "OAuth 2 client_credentials. Authenticate with HTTP Basic or with client_id and "
        "client_secret in a form-encoded (or JSON) body. Errors use the OAuth error body."
    ),
    response_model=TokenResponse,
    responses={
        400: {"model": OAuthErrorResponse, "description": "Malformed or unsupported request"},
        401: {"model": OAuthErrorResponse, "description": "Client authentication failed"},
        405: {"model": OAuthErrorResponse, "description": "Use POST"},
        429: {
            "model": OAuthErrorResponse,
            "description": "Too many failed attempts for this client_id or source address; "
            "retry after the Retry-After header's seconds",
        },
        500: {"model": OAuthErrorResponse, "description": "Server error"},
    },
    openapi_extra=_TOKEN_OPENAPI,
)
async def issue_token(
    request: Request,
    settings: AppSettings,
    db: AppDatabase,
) -> JSONResponse:
    credentials = await read_token_request(request)
    source = request.client.host if request.client else "unknown"
    failures: FailureCounter = request.app.state.auth_failures
    # Over the limit, refuse before hashing anything: a flood costs a read, not a scrypt.
    buckets = {
        f"auth:client:{credentials.client_id[:128]}": settings.auth_failures_per_client,
        f"auth:address:{source}": settings.auth_failures_per_address,
    }
    wait = await failures.blocked(buckets)
    if wait is not None:
        seconds = retry_after(wait)
        # Unauthenticated: the client_id is whatever the caller typed, so no label of it.
        RATE_LIMITED.labels("", "auth_failures").inc()
        log.warning(
            "token request refused: too many failed attempts",
            client_id=credentials.client_id[:128],
            source=source,
        )
        raise OAuthError(
            429,
            RATE_LIMITED_ERROR,
            f"Too many failed authentication attempts; retry after {seconds} s",
            {"Retry-After": seconds},
        )
    # Check the secret in a read transaction, then write the token in a short one, so the
    # deliberately slow hash never holds the (SQLite) write lock.
    async with db.session() as session:
        client, reason = await service.authenticate_client(
            session, credentials.client_id, credentials.client_secret
        )
    if client is None:
        log.warning(
            "client authentication failed",
            client_id=credentials.client_id[:128],
            source=source,
            reason=reason,
        )
        await failures.record(list(buckets))
        headers = {"WWW-Authenticate": 'Basic realm="token"'} if credentials.used_basic else {}
        raise OAuthError(401, "invalid_client", "Client authentication failed", headers)
    async with db.session(write=True) as session:
        token = await service.issue_token(session, client, settings.token_ttl_seconds)
    body = TokenResponse(access_token=token, expires_in=settings.token_ttl_seconds)
    return JSONResponse(
        body.model_dump(), headers={"Cache-Control": "no-store", "Pragma": "no-cache"}
    )


@router.get(
    "/api/core/whoami",
    tags=["CORE"],
    summary="Return the current API client context",
    response_model=WhoAmI,
    responses=core_errors(),
)
async def whoami(client: CurrentClient, session: ReadSession) -> WhoAmI:
    summary = await assigned_summary(session, client.id)
    return WhoAmI(
        apiClientId=client.id,
        apiClientName=client.name,
        apiClientStatus="ACTIVE" if client.status == "ACTIVE" else "INACTIVE",
        capabilities=list(client.capabilities),
        assignedNumbers=AssignedNumbers(
            total=summary.total,
            smsEnabledCount=summary.sms_enabled,
            mmsEnabledCount=summary.mms_enabled,
        ),
        inboundWebhookConfigured=bool(client.inbound_webhook_url) or summary.inbound_overrides > 0,
        deliveryWebhookConfigured=bool(client.delivery_webhook_url)
        or summary.delivery_overrides > 0,
    )
